"""JWT access tokens (RFC 9068) from a real issuer process, through the whole stack.

The issuer (tests/issuer/jwt_issuer.py) is another process that signs with authlib's RFC 9068
generator and publishes its keys over HTTP on loopback; authstatus verifies with jwcrypto.
Every failure reason has its own ``Failure`` and ``error_description``, asserted on the parsed
``WWW-Authenticate`` and the problem document.
"""

from __future__ import annotations

import base64
import json
import time
import uuid
from collections.abc import Iterator

import pytest
from django.conf import settings
from django.db import connection
from django.test import override_settings
from django.test.utils import CaptureQueriesContext
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from authstatus import tokens
from authstatus.core.challenges import Challenge
from authstatus.core.decision import Failure
from authstatus.tokens.jwt import DESCRIPTIONS
from tests.factories import UserFactory
from tests.http import assert_refusal, bearer, challenges, problem
from tests.issuer import Issuer, running

AUDIENCE = "https://api.example"
ECHO = "/t/drf/semantics/authstatus/"
SCOPED = "/t/drf/semantics/authstatus-scoped/"  # needs scope "write"


@pytest.fixture(scope="module")
def issuer() -> Iterator[Issuer]:
    with running() as started:
        yield started


def backend_settings(issuer: Issuer, **options: object) -> dict[str, object]:
    entry = {
        "BACKEND": "authstatus.tokens.jwt.JWTBackend",
        "ISSUER": issuer.url,
        "JWKS_URI": issuer.url + "/jwks",
        "AUDIENCE": AUDIENCE,
        **options,
    }
    return {**settings.AUTHSTATUS, "TOKEN_BACKENDS": [entry]}


@pytest.fixture
def jwt_settings(issuer: Issuer) -> Iterator[Issuer]:
    """A fresh JWT backend (empty key cache) for each test, the issuer reset."""
    issuer.control(jwks_down=False, clock_offset=0)
    with override_settings(AUTHSTATUS=backend_settings(issuer)):
        yield issuer


def get(client, path: str, token: str):
    return client.get(path, HTTP_AUTHORIZATION=f"Bearer {token}", HTTP_ACCEPT="application/json")


def invalid_token(description: str) -> tuple[Challenge, ...]:
    return (bearer(("error", "invalid_token"), ("error_description", description)),)


def tampered(token: str) -> str:
    head, payload, signature = token.split(".")
    flipped = ("A" if signature[0] != "A" else "B") + signature[1:]
    return f"{head}.{payload}.{flipped}"


NOW = time.time


# --- the failure matrix -----------------------------------------------------------------

FAILURES = [
    ("expired", lambda i: i.token(claims={"exp": int(NOW()) - 120}), Failure.EXPIRED_TOKEN),
    ("not yet valid", lambda i: i.token(claims={"nbf": int(NOW()) + 600}), Failure.NOT_YET_VALID),
    ("bad signature", lambda i: tampered(i.token()), Failure.BAD_SIGNATURE),
    ("unknown key", lambda i: i.token(kid="unpublished"), Failure.UNKNOWN_KEY),
    (
        "wrong issuer",
        lambda i: i.token(claims={"iss": "https://evil.example"}),
        Failure.WRONG_ISSUER,
    ),
    ("wrong audience", lambda i: i.token(aud="https://other.example"), Failure.WRONG_AUDIENCE),
    ("typ JWT, not at+jwt", lambda i: i.token(header={"typ": "JWT"}), Failure.WRONG_TOKEN_TYPE),
    ("alg none", lambda i: i.token(attack="none"), Failure.DISALLOWED_ALGORITHM),
    ("HS256 keyed with the JWK", lambda i: i.token(attack="hs256"), Failure.DISALLOWED_ALGORITHM),
    (
        "HS256 keyed with the PEM",
        lambda i: i.token(attack="hs256", secret="pem"),
        Failure.DISALLOWED_ALGORITHM,
    ),
    ("no exp claim", lambda i: i.token(claims={"exp": None}), Failure.MALFORMED_TOKEN),
    ("crit header", lambda i: i.token(header={"crit": ["x"], "x": 1}), Failure.MALFORMED_TOKEN),
]


@pytest.mark.django_db
@pytest.mark.parametrize(("name", "make", "failure"), FAILURES, ids=[f[0] for f in FAILURES])
def test_each_failure_has_its_own_reason_and_challenge(client, jwt_settings, name, make, failure):
    response = get(client, ECHO, make(jwt_settings))
    resolution = "refresh_token" if failure is Failure.EXPIRED_TOKEN else "reauthenticate"
    assert_refusal(
        response,
        401,
        "invalid-credentials",
        resolution,
        challenge=invalid_token(DESCRIPTIONS[failure]),
        detail=DESCRIPTIONS[failure],
    )


def test_every_description_is_distinct():
    shown = [DESCRIPTIONS[f] for f in {f[2] for f in FAILURES}]
    assert len(set(shown)) == len(shown)


@pytest.mark.django_db
def test_algorithm_outside_the_allow_list(client, issuer):
    with override_settings(AUTHSTATUS=backend_settings(issuer, ALGORITHMS=["ES256"])):
        response = get(client, ECHO, issuer.token())
    assert challenges(response) == invalid_token(DESCRIPTIONS[Failure.DISALLOWED_ALGORITHM])


@pytest.mark.django_db
def test_unknown_and_inactive_users(client, issuer):
    UserFactory(username="carol", is_active=False)
    with override_settings(AUTHSTATUS=backend_settings(issuer, USER_FIELD="username")):
        unknown = get(client, ECHO, issuer.token(sub="nobody"))
        inactive = get(client, ECHO, issuer.token(sub="carol"))
    assert challenges(unknown) == invalid_token(DESCRIPTIONS[Failure.UNKNOWN_USER])
    assert challenges(inactive) == invalid_token(DESCRIPTIONS[Failure.INACTIVE_USER])


# --- valid tokens -----------------------------------------------------------------------


@pytest.mark.django_db
def test_client_token_is_accepted_without_any_query(client, jwt_settings):
    token = jwt_settings.token(scope="read")
    get(client, ECHO, token)  # warms the key cache
    with CaptureQueriesContext(connection) as queries:
        response = get(client, ECHO, jwt_settings.token(scope="read"))
    assert response.status_code == 200
    assert response.json() == {"user": ""}  # no user: authenticated as the client
    assert len(queries) == 0


@pytest.mark.django_db
def test_sub_maps_to_a_user_by_username(client, issuer):
    UserFactory(username="alice")
    with override_settings(AUTHSTATUS=backend_settings(issuer, USER_FIELD="username")):
        get(client, ECHO, issuer.token(sub="alice"))  # loads policies and keys
        with CaptureQueriesContext(connection) as queries:
            response = get(client, ECHO, issuer.token(sub="alice"))
    assert response.status_code == 200
    assert response.json() == {"user": "alice"}
    assert len(queries) == 1, [q["sql"] for q in queries.captured_queries]


def resolve_user(claims):
    from django.contrib.auth import get_user_model

    return get_user_model().objects.filter(email=claims.get("sub")).first()


@pytest.mark.django_db
def test_sub_maps_to_a_user_through_a_callable(client, issuer):
    UserFactory(username="dora", email="dora@example.com")
    options = {"USER_RESOLVER": "tests.test_jwt_backend.resolve_user"}
    with override_settings(AUTHSTATUS=backend_settings(issuer, **options)):
        response = get(client, ECHO, issuer.token(sub="dora@example.com"))
    assert response.json() == {"user": "dora"}


@pytest.mark.django_db
def test_scopes_come_from_the_scope_claim(client, jwt_settings):
    lacking = get(client, SCOPED, jwt_settings.token(scope="read"))
    assert_refusal(
        lacking,
        403,
        "insufficient-scope",
        "request_scope",
        challenge=(bearer(("scope", "write"), ("error", "insufficient_scope")),),
        required_scopes=["write"],
    )
    assert get(client, SCOPED, jwt_settings.token(scope="read write")).status_code == 200


@pytest.mark.django_db
def test_audience_list_and_default_audience(client, issuer):
    with override_settings(AUTHSTATUS=backend_settings(issuer)):
        token = issuer.token(aud=["https://other.example", AUDIENCE + "/"])
        assert get(client, ECHO, token).status_code == 200
    settings_without = backend_settings(issuer)
    del settings_without["TOKEN_BACKENDS"][0]["AUDIENCE"]  # type: ignore[index]
    with override_settings(AUTHSTATUS=settings_without):
        # No AUDIENCE and no OAUTH2_PROTECTED_RESOURCE_IDENTIFIER: the request's origin.
        assert get(client, ECHO, issuer.token(aud="http://testserver")).status_code == 200
        assert get(client, ECHO, issuer.token(aud=AUDIENCE)).status_code == 401


@pytest.mark.django_db
def test_jwks_uri_from_the_issuer_metadata(client, issuer):
    with override_settings(AUTHSTATUS=backend_settings(issuer, JWKS_URI=None)):
        assert get(client, ECHO, issuer.token()).status_code == 200


# --- keys: rotation, refetch rate, outage -------------------------------------------------


@pytest.mark.django_db
def test_key_rotation_mid_run(client, issuer):
    issuer.control(jwks_down=False)
    with override_settings(AUTHSTATUS=backend_settings(issuer, JWKS_MIN_REFRESH_SECONDS=0)):
        before = issuer.token()
        assert get(client, ECHO, before).status_code == 200
        issuer.control(rotate=True)
        after = issuer.token()
        assert get(client, ECHO, after).status_code == 200  # unknown kid: refetched
        assert get(client, ECHO, before).status_code == 200  # the old key still published
        issuer.control(rotate=True, retire=True)
        assert get(client, ECHO, issuer.token()).status_code == 200
        # The set no longer holds the retired key, but tokens verified before stay accepted
        # until they expire (the process remembers verified tokens).
        assert get(client, ECHO, before).status_code == 200


@pytest.mark.django_db
def test_a_flood_of_made_up_kids_costs_the_issuer_one_fetch(client, issuer):
    issuer.control(jwks_down=False)
    with override_settings(AUTHSTATUS=backend_settings(issuer, JWKS_MIN_REFRESH_SECONDS=60)):
        assert get(client, ECHO, issuer.token()).status_code == 200
        fetches = issuer.jwks_fetches()
        statuses = {
            get(
                client, ECHO, issuer.token(kid="unpublished", header={"kid": uuid.uuid4().hex})
            ).status_code
            for _ in range(30)
        }
        assert issuer.jwks_fetches() - fetches <= 1
    # Each made-up kid was either called unknown (after the one refetch) or, while the set
    # may not be refetched, "retry later": never accepted.
    assert statuses <= {401, 503}


@pytest.mark.django_db
def test_rotation_within_the_refetch_interval_is_retry_later_not_invalid(client, issuer):
    issuer.control(jwks_down=False)
    with override_settings(
        AUTHSTATUS=backend_settings(issuer, JWKS_MIN_REFRESH_SECONDS=60, LEEWAY=0)
    ):
        assert get(client, ECHO, issuer.token()).status_code == 200
        time.sleep(1.1)  # the new key's token is issued after the set was fetched
        issuer.control(rotate=True)
        response = get(client, ECHO, issuer.token())
    assert response.status_code == 503
    assert 1 <= int(response["Retry-After"]) <= 60
    assert "WWW-Authenticate" not in response


@pytest.mark.django_db
def test_jwks_down_known_keys_work_unknown_fail_closed(client, issuer):
    issuer.control(jwks_down=False)
    with override_settings(AUTHSTATUS=backend_settings(issuer, JWKS_MIN_REFRESH_SECONDS=0)):
        assert get(client, ECHO, issuer.token()).status_code == 200
        issuer.control(jwks_down=True)
        try:
            assert get(client, ECHO, issuer.token()).status_code == 200  # known key
            issuer.control(rotate=True)
            response = get(client, ECHO, issuer.token())  # a key we cannot fetch
        finally:
            issuer.control(jwks_down=False)
    assert response.status_code == 503
    assert response["Retry-After"].isdigit()
    assert "WWW-Authenticate" not in response
    assert problem(response)["resolution"] == "retry_later"


@pytest.mark.django_db
def test_issuer_never_reached_fails_closed(client, issuer):
    dead = {"JWKS_URI": "http://127.0.0.1:9/jwks", "TIMEOUT": 1}
    with override_settings(AUTHSTATUS=backend_settings(issuer, **dead)):
        response = get(client, ECHO, issuer.token())
    assert response.status_code == 503
    assert problem(response)["type"].endswith("verification-unavailable")


# --- clock skew ---------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("offset", "leeway", "status", "failure"),
    [
        (20, 30, 200, None),  # issuer 20 s ahead: iat in the future, within the leeway
        (120, 30, 401, Failure.NOT_YET_VALID),  # beyond it
        (-320, 30, 200, None),  # issuer behind: a 300 s token expired 20 s ago, in leeway
        (-400, 30, 401, Failure.EXPIRED_TOKEN),
        (20, 0, 401, Failure.NOT_YET_VALID),  # no leeway configured
    ],
)
def test_clock_skew_and_leeway(client, issuer, offset, leeway, status, failure):
    issuer.control(jwks_down=False, clock_offset=offset)
    try:
        token = issuer.token(expires_in=300)
    finally:
        issuer.control(clock_offset=0)
    with override_settings(AUTHSTATUS=backend_settings(issuer, LEEWAY=leeway)):
        response = get(client, ECHO, token)
    assert response.status_code == status
    if failure is not None:
        assert challenges(response) == invalid_token(DESCRIPTIONS[failure])


# --- alongside DOT's database -------------------------------------------------------------


@pytest.mark.django_db
def test_jwt_backend_beside_the_database_backend(client, issuer):
    from tests.factories import AccessTokenFactory

    alice = UserFactory(username="alice")
    database = {"BACKEND": tokens.DATABASE_BACKEND}
    config = backend_settings(issuer)
    config["TOKEN_BACKENDS"] = [*config["TOKEN_BACKENDS"], database]  # type: ignore[misc]
    with override_settings(AUTHSTATUS=config):
        assert get(client, ECHO, issuer.token()).status_code == 200
        assert get(client, ECHO, AccessTokenFactory(user=alice).token).json() == {"user": "alice"}
        unknown = get(client, ECHO, "not-a-token-anyone-issued")
        foreign = get(client, ECHO, issuer.token(claims={"iss": "https://evil.example"}))
    assert challenges(unknown) == invalid_token("The access token is invalid.")
    assert challenges(foreign) == invalid_token(DESCRIPTIONS[Failure.WRONG_ISSUER])


# --- the rest of the stack ------------------------------------------------------------------


@pytest.mark.django_db
def test_resource_metadata_lists_every_configured_issuer(client, issuer):
    database = {"BACKEND": tokens.DATABASE_BACKEND}
    config = backend_settings(issuer)
    config["TOKEN_BACKENDS"] = [*config["TOKEN_BACKENDS"], database]  # type: ignore[misc]
    default = client.get("/.well-known/oauth-protected-resource").json()
    with override_settings(AUTHSTATUS=config):
        both = client.get("/.well-known/oauth-protected-resource").json()
    with override_settings(AUTHSTATUS=backend_settings(issuer)):
        jwt_only = client.get("/.well-known/oauth-protected-resource").json()
    assert both["authorization_servers"] == [*default["authorization_servers"], issuer.url]
    assert jwt_only["authorization_servers"] == [issuer.url]


@pytest.mark.django_db
def test_middleware_enforces_plain_views_with_jwt(client, jwt_settings):
    config = {
        **backend_settings(jwt_settings),
        "MIDDLEWARE_AUTHENTICATORS": [
            "authstatus.enforcement.authenticators.SessionAuthenticator",
            "authstatus.contrib.oauth2_provider.BearerAuthenticator",
        ],
    }
    with override_settings(AUTHSTATUS=config):
        ok = get(client, "/members/", jwt_settings.token())
        bad = get(client, "/members/", tampered(jwt_settings.token()))
    assert ok.status_code == 200
    assert bad.status_code == 401
    bearer_challenge = next(c for c in challenges(bad) if c.scheme == "Bearer")
    assert dict(bearer_challenge.params)["error_description"] == DESCRIPTIONS[Failure.BAD_SIGNATURE]


@pytest.mark.django_db
def test_concealed_resource_answers_a_bad_jwt_like_a_missing_one(client, jwt_settings):
    concealed = get(client, "/api/vault/", tampered(jwt_settings.token()))
    missing = client.get("/api/no-such-thing/", HTTP_ACCEPT="application/json")
    assert concealed.status_code == missing.status_code == 404
    assert concealed.content == missing.content


@pytest.mark.django_db
def test_explain_with_scopes_names_the_token_backends(jwt_settings):
    from authstatus.explain import explain

    lines = explain("GET", SCOPED, scopes=["read"]).lines()
    described = [line for line in lines if line.startswith("token checked by: ")]
    assert described == [
        f"token checked by: JWT access tokens (RFC 9068) from {jwt_settings.url}, keys "
        f"{jwt_settings.url}/jwks, algorithms ES256 ES384 ES512 EdDSA PS256 PS384 PS512 "
        "RS256 RS384 RS512, user: no user"
    ]
    assert "status:      403" in lines


@pytest.mark.django_db
def test_client_helper_advises_on_jwt_refusals(client, jwt_settings):
    from authstatus.client import Action, interpret

    def advice(response):
        return interpret(response.status_code, response.headers, response.content)

    expired = advice(get(client, ECHO, jwt_settings.token(claims={"exp": int(NOW()) - 120})))
    forged = advice(get(client, ECHO, tampered(jwt_settings.token())))
    scoped = advice(get(client, SCOPED, jwt_settings.token(scope="read")))
    assert (expired.action, forged.action) == (Action.REFRESH_TOKEN, Action.LOG_IN)
    assert (scoped.action, scoped.scopes) == (Action.REAUTHORIZE, ("write",))
    assert forged.resource_metadata == "http://testserver/.well-known/oauth-protected-resource"
    with override_settings(
        AUTHSTATUS=backend_settings(jwt_settings, JWKS_URI="http://127.0.0.1:9/", TIMEOUT=1)
    ):
        unavailable = advice(get(client, ECHO, jwt_settings.token()))
    assert unavailable.action is Action.RETRY_LATER
    assert unavailable.retry_after == 30  # JWKS_MIN_REFRESH_SECONDS


# --- hostile input ------------------------------------------------------------------------

B64URL = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"


def jwt_like():
    part = st.text(alphabet=B64URL, max_size=60)
    json_part = st.dictionaries(
        st.sampled_from(["alg", "typ", "kid", "iss", "exp", "aud", "nbf", "crit", "scope"]),
        st.one_of(
            st.none(),
            st.booleans(),
            st.integers(),
            st.text(max_size=10),
            st.lists(st.integers(), max_size=2),
        ),
        max_size=6,
    ).map(lambda d: base64.urlsafe_b64encode(json.dumps(d).encode()).rstrip(b"=").decode())
    return st.tuples(st.one_of(json_part, part), st.one_of(json_part, part), part).map(".".join)


@pytest.mark.django_db
@given(token=jwt_like())
@hypothesis_settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
def test_any_jwt_shaped_token_is_refused_never_a_500(client, jwt_settings, token):
    response = get(client, ECHO, token)
    assert response.status_code in (400, 401), (token, response.status_code)
    (challenge,) = challenges(response)
    assert dict(challenge.params)["error"] in ("invalid_token", "invalid_request")


@pytest.mark.django_db
def test_es256_tokens_and_key_type_matching(client, issuer):
    with override_settings(AUTHSTATUS=backend_settings(issuer)):
        assert get(client, ECHO, issuer.token(alg="ES256")).status_code == 200
        # The EC key's kid in an RS256 header: no RSA key fits, so no key is tried.
        forged = issuer.token(header={"kid": "ec-1"})
        assert challenges(get(client, ECHO, forged)) == invalid_token(
            DESCRIPTIONS[Failure.UNKNOWN_KEY]
        )
    with override_settings(AUTHSTATUS=backend_settings(issuer, ALGORITHMS=["RS256"])):
        refused = get(client, ECHO, issuer.token(alg="ES256"))
    assert challenges(refused) == invalid_token(DESCRIPTIONS[Failure.DISALLOWED_ALGORITHM])


@pytest.mark.django_db
def test_admin_try_a_request_names_the_token_backends(admin_client, jwt_settings):
    from django.urls import reverse

    from tests.test_policy_admin import TRY, explanation_fields

    response = admin_client.post(reverse(TRY), {"method": "GET", "path": SCOPED, "scopes": "read"})
    fields = explanation_fields(response)
    assert fields["status"] == "403"
    assert fields["token checked by"].startswith(
        f"JWT access tokens (RFC 9068) from {jwt_settings.url}, keys {jwt_settings.url}/jwks"
    )


@pytest.mark.django_db
def test_new_key_within_the_refetch_interval_and_the_leeway_is_retry_later(client, issuer):
    """The default leeway: a key published (and used) within it of our last fetch cannot be
    called unknown — the issuer's clock may be behind ours."""
    issuer.control(jwks_down=False)
    with override_settings(AUTHSTATUS=backend_settings(issuer, JWKS_MIN_REFRESH_SECONDS=60)):
        assert get(client, ECHO, issuer.token()).status_code == 200
        issuer.control(rotate=True)
        response = get(client, ECHO, issuer.token())
    assert response.status_code == 503
    assert problem(response)["resolution"] == "retry_later"


@pytest.mark.django_db
@pytest.mark.parametrize(("client_tokens", "status"), [(True, 200), (False, 401)])
def test_client_credentials_tokens_beside_user_mapping(client, issuer, client_tokens, status):
    # authlib's generator sets sub to the client id when no user is involved (RFC 9068 §2.2).
    options = {"USER_FIELD": "username", "CLIENT_TOKENS": client_tokens}
    with override_settings(AUTHSTATUS=backend_settings(issuer, **options)):
        response = get(client, ECHO, issuer.token(client_id="reporting-job"))
    assert response.status_code == status
    if status == 200:
        assert response.json() == {"user": ""}


# --- step-up (RFC 9470): auth_time and acr come from the token's claims ----------------------


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("claims", "status"),
    [
        ({"auth_time": "fresh"}, 204),
        ({"auth_time": "stale"}, 401),
        ({}, 401),  # no auth_time: step-up never passes on a guess
        ({"auth_time": True}, 401),  # not a number
    ],
    ids=["fresh", "too old", "unknown", "not a number"],
)
def test_a_jwt_meets_max_age_with_its_auth_time_claim(client, jwt_settings, claims, status):
    """DELETE /api/account/ needs an authentication at most 300 s old (the demo's policy)."""
    now = int(NOW())
    values = {"fresh": now - 10, "stale": now - 3600}
    claims = {k: values.get(v, v) if isinstance(v, str) else v for k, v in claims.items()}
    token = jwt_settings.token(claims=claims)
    response = client.delete("/api/account/", HTTP_AUTHORIZATION=f"Bearer {token}")
    assert response.status_code == status
    if status == 401:
        (challenge,) = [c for c in challenges(response) if c.scheme == "Bearer"]
        assert challenge.param("error") == "insufficient_user_authentication"
        assert challenge.param("max_age") == "300"
