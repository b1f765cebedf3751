"""RFC 9470 step-up on the demo: sessions, Basic and DOT tokens carry when (and how) the user
authenticated; ``max_age``/``acr_values`` policies answer ``401 insufficient_user_authentication``.

Policies come from settings (the demo's ``DELETE /api/account/``: ``max_age`` 300) or are
overridden per test. Tokens are issued by DOT's real token and authorization endpoints.
"""

from __future__ import annotations

import hashlib
import time
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from django.conf import settings
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from oauth2_provider.models import AccessToken, Application, RefreshToken

from authstatus.client import Action, interpret
from authstatus.core.challenges import parse_challenges
from authstatus.enforcement.stepup import SESSION_AUTH_TIME
from authstatus.models import ResourcePolicy, TokenAuthentication
from authstatus.policies.propagation import PolicyError, rule_from_spec
from tests.factories import AccessTokenFactory, ApplicationFactory, UserFactory

pytestmark = pytest.mark.django_db

ACCOUNT = "/api/account/"
CLIENT_ID = "step-up-client"
CLIENT_SECRET = "step-up-secret"


def bearer(token: str) -> dict[str, str]:
    return {"HTTP_AUTHORIZATION": f"Bearer {token}"}


def www_authenticate(response):
    return parse_challenges(response["WWW-Authenticate"])


def authenticated_at(token: AccessToken, when) -> AccessToken:
    TokenAuthentication.objects.create(access_token=token, auth_time=when)
    return token


# --- bearer tokens -----------------------------------------------------------------------------


def test_fresh_token_may_delete_the_account(client):
    token = authenticated_at(AccessTokenFactory(), timezone.now() - timedelta(seconds=10))
    assert client.delete(ACCOUNT, **bearer(token.token)).status_code == 204


def test_stale_token_is_told_to_step_up(client):
    token = authenticated_at(AccessTokenFactory(), timezone.now() - timedelta(hours=1))
    response = client.delete(ACCOUNT, **bearer(token.token))
    assert response.status_code == 401
    bearer_challenge, *others = www_authenticate(response)
    assert bearer_challenge.scheme == "Bearer"
    assert bearer_challenge.param("error") == "insufficient_user_authentication"
    assert bearer_challenge.param("max_age") == "300"
    assert [c.scheme for c in others] == ["Cookie", "Basic"]
    assert all(c.param("error") is None for c in others)
    body = response.json()
    assert body["type"].endswith("insufficient-user-authentication")
    assert (body["status"], body["resolution"], body["max_age"]) == (401, "reauthenticate", 300)
    advice = interpret(response.status_code, response.headers, response.content)
    assert advice.action is Action.STEP_UP
    assert (advice.step_up.max_age, advice.step_up.acr_values) == (300, ())


def test_token_of_unknown_authentication_time_fails_max_age(client):
    token = AccessTokenFactory()  # issued outside DOT's endpoints: no authentication row
    response = client.delete(ACCOUNT, **bearer(token.token))
    assert response.status_code == 401
    assert www_authenticate(response)[0].param("error") == "insufficient_user_authentication"
    # ...but only where a policy asks: the rest of the API does not look at it.
    assert client.get("/api/profile/", **bearer(token.token)).status_code == 200


def test_bearer_step_up_costs_no_extra_query(client):
    token = authenticated_at(AccessTokenFactory(), timezone.now())
    with CaptureQueriesContext(connection) as queries:
        assert client.delete(ACCOUNT, **bearer(token.token)).status_code == 204
    assert len(queries) == 1, [q["sql"] for q in queries]


def test_acr_values_need_one_of_the_classes(client, settings):
    settings.AUTHSTATUS = {
        **settings.AUTHSTATUS,
        "POLICIES": [{"path": ACCOUNT, "methods": "DELETE", "acr_values": "mfa hwk"}],
    }
    weak = AccessTokenFactory()
    TokenAuthentication.objects.create(access_token=weak, auth_time=timezone.now(), acr="pwd")
    strong = AccessTokenFactory()
    TokenAuthentication.objects.create(access_token=strong, auth_time=timezone.now(), acr="hwk")
    response = client.delete(ACCOUNT, **bearer(weak.token))
    assert response.status_code == 401
    challenge = www_authenticate(response)[0]
    assert (challenge.param("acr_values"), challenge.param("max_age")) == ("mfa hwk", None)
    assert response.json()["acr_values"] == ["mfa", "hwk"]
    assert client.delete(ACCOUNT, **bearer(strong.token)).status_code == 204


def test_concealment_wins_over_step_up(client, settings):
    settings.AUTHSTATUS = {
        **settings.AUTHSTATUS,
        "POLICIES": [{"path": ACCOUNT, "methods": "DELETE", "max_age": 300, "conceal": True}],
    }
    token = authenticated_at(AccessTokenFactory(), timezone.now() - timedelta(hours=1))
    stale = client.delete(ACCOUNT, **bearer(token.token))
    missing = client.delete("/api/no-such-thing/", **bearer(token.token))
    assert (stale.status_code, missing.status_code) == (404, 404)
    assert stale.content == missing.content
    assert "WWW-Authenticate" not in stale


# --- sessions and Basic ------------------------------------------------------------------------


def log_in(client, username="alice"):
    UserFactory(username=username)
    response = client.post(settings.LOGIN_URL, {"username": username, "password": "secret"})
    assert response.status_code == 302
    return client


def test_login_records_the_time_and_a_fresh_session_may_delete(client):
    before = int(time.time())
    log_in(client)
    assert before <= client.session[SESSION_AUTH_TIME] <= time.time()
    assert client.delete(ACCOUNT).status_code == 204


def age_session(client, seconds: int) -> None:
    session = client.session
    session[SESSION_AUTH_TIME] = int(time.time()) - seconds
    session.save()


def test_stale_session_gets_401_without_error_parameters(client):
    log_in(client)
    age_session(client, 301)
    response = client.delete(ACCOUNT)
    assert response.status_code == 401
    assert [c.scheme for c in www_authenticate(response)] == ["Bearer", "Cookie", "Basic"]
    assert all(c.param("error") is None for c in www_authenticate(response))
    assert response.json()["type"].endswith("insufficient-user-authentication")
    advice = interpret(response.status_code, response.headers, response.content)
    assert (advice.action, advice.step_up.max_age) == (Action.STEP_UP, 300)


def test_session_logged_in_before_the_upgrade_fails_max_age(client):
    log_in(client)
    session = client.session
    del session[SESSION_AUTH_TIME]
    session.save()
    assert client.delete(ACCOUNT).status_code == 401


def test_browser_is_asked_to_confirm_who_they_are(client):
    log_in(client)
    age_session(client, 3600)
    response = client.delete(ACCOUNT, HTTP_ACCEPT="text/html")
    assert response.status_code == 401
    page = response.content.decode()
    assert "Confirm who you are" in page
    assert f'href="{settings.LOGIN_URL}?next=/api/account/"' in page
    # Logging in again makes it fresh.
    client.post(settings.LOGIN_URL, {"username": "alice", "password": "secret"})
    assert client.delete(ACCOUNT).status_code == 204


def test_basic_credentials_are_an_authentication_now(client):
    import base64

    UserFactory(username="carol")
    auth = "Basic " + base64.b64encode(b"carol:secret").decode()
    assert client.delete(ACCOUNT, HTTP_AUTHORIZATION=auth).status_code == 204


# --- DOT's endpoints fill the side table ---------------------------------------------------------


@pytest.fixture
def password_app():
    UserFactory(username="alice")
    return ApplicationFactory(
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
        authorization_grant_type=Application.GRANT_PASSWORD,
    )


def token_request(client, **data):
    response = client.post("/o/token/", data, HTTP_AUTHORIZATION=_basic(CLIENT_ID, CLIENT_SECRET))
    assert response.status_code == 200, response.content
    return response.json()


def _basic(user: str, password: str) -> str:
    import base64

    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def row_of(access_token: str) -> TokenAuthentication:
    checksum = hashlib.sha256(access_token.encode()).hexdigest()
    return TokenAuthentication.objects.get(access_token__token_checksum=checksum)


@pytest.mark.filterwarnings("ignore:The OAuth 2.0 resource owner password:DeprecationWarning")
@pytest.mark.parametrize("rotate", [True, False], ids=["rotating", "reusing"])
def test_password_grant_is_authenticated_at_issue_and_refresh_keeps_it(
    client, password_app, settings, rotate
):
    settings.OAUTH2_PROVIDER = {**settings.OAUTH2_PROVIDER, "ROTATE_REFRESH_TOKEN": rotate}
    before = timezone.now()
    tokens = token_request(client, grant_type="password", username="alice", password="secret")
    issued = row_of(tokens["access_token"]).auth_time
    assert before - timedelta(seconds=1) <= issued <= timezone.now()
    # The user authenticated an hour ago, say; a refresh must not make it fresh.
    TokenAuthentication.objects.update(auth_time=issued - timedelta(hours=1))
    refreshed = token_request(
        client, grant_type="refresh_token", refresh_token=tokens["refresh_token"]
    )
    assert refreshed["access_token"] != tokens["access_token"]
    assert row_of(refreshed["access_token"]).auth_time == issued - timedelta(hours=1)
    assert client.delete(ACCOUNT, **bearer(refreshed["access_token"])).status_code == 401
    # And again: the lineage keeps it.
    again = token_request(
        client, grant_type="refresh_token", refresh_token=refreshed["refresh_token"]
    )
    assert row_of(again["access_token"]).auth_time == issued - timedelta(hours=1)
    assert RefreshToken.objects.filter(revoked__isnull=True).count() == 1


def test_authorization_code_carries_the_sessions_login_time_not_the_consent(client):
    UserFactory(username="alice")
    ApplicationFactory(
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
        authorization_grant_type=Application.GRANT_AUTHORIZATION_CODE,
        redirect_uris="http://127.0.0.1/callback",
        skip_authorization=True,
    )
    log_in(client)
    logged_in = int(time.time()) - 120  # the session logged in two minutes ago
    session = client.session
    session[SESSION_AUTH_TIME] = logged_in
    session.save()
    verifier = "v" * 64
    import base64

    challenge = (
        base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    )
    response = client.get(
        "/o/authorize/",
        {
            "response_type": "code",
            "client_id": CLIENT_ID,
            "redirect_uri": "http://127.0.0.1/callback",
            "scope": "read write",
            "code_challenge": challenge,
            "code_challenge_method": "S256",
        },
    )
    assert response.status_code == 302, response.content
    code = parse_qs(urlsplit(response["Location"]).query)["code"][0]
    assert TokenAuthentication.objects.filter(code_checksum__isnull=False).count() == 1
    client.logout()
    tokens = token_request(
        client,
        grant_type="authorization_code",
        code=code,
        redirect_uri="http://127.0.0.1/callback",
        code_verifier=verifier,
    )
    row = row_of(tokens["access_token"])
    assert row.auth_time.timestamp() == logged_in
    assert TokenAuthentication.objects.filter(code_checksum__isnull=False).count() == 0
    refresh = RefreshToken.objects.get(access_token__token_checksum=row.access_token.token_checksum)
    assert refresh.authstatus_authentication.auth_time == row.auth_time
    assert client.delete(ACCOUNT, **bearer(tokens["access_token"])).status_code == 204


def test_deleting_a_token_deletes_its_row():
    token = authenticated_at(AccessTokenFactory(), timezone.now())
    token.revoke()
    assert not TokenAuthentication.objects.exists()


# --- policy fields --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("spec", "field"),
    [
        ({"max_age": 0}, "max_age"),
        ({"max_age": -5}, "max_age"),
        ({"max_age": "soon"}, "max_age"),
        ({"max_age": True}, "max_age"),
        ({"max_age": 1.5}, "max_age"),
        ({"acr_values": 'mfa "x"'}, "acr_values"),
        ({"access": "anonymous", "max_age": 60}, "access"),
        ({"access": "nobody", "acr_values": "mfa"}, "access"),
    ],
)
def test_invalid_step_up_fields_are_refused_with_the_field(spec, field):
    with pytest.raises(PolicyError) as raised:
        rule_from_spec({"path": "/x/", **spec}, source="settings", rank=0)
    assert raised.value.field == field


def test_model_validates_step_up_fields():
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError) as raised:
        ResourcePolicy(path="/x/", max_age=0).full_clean()
    assert "max_age" in raised.value.message_dict
    policy = ResourcePolicy(path="/x/", max_age=300, acr_values="mfa  hwk")
    policy.full_clean()
    assert (policy.rule().value.max_age, policy.rule().value.acr_values) == (300, ("mfa", "hwk"))


def test_access_decorator_takes_step_up_fields():
    from authstatus.decorators import access, view_policy

    @access("authenticated", max_age=60, acr_values="mfa")
    def view(request):
        return None

    policy = view_policy(view)
    assert (policy.max_age, policy.acr_values) == (60, ("mfa",))


@pytest.mark.parametrize(("logged_in_ago", "asks_login"), [(10, False), (301, True)])
def test_authorization_request_max_age_sends_a_stale_session_to_log_in(
    client, logged_in_ago, asks_login
):
    """DOT 3.4 ignores max_age (OpenID Connect Core §3.1.2.1); authstatus enforces it."""
    ApplicationFactory(
        client_id=CLIENT_ID,
        authorization_grant_type=Application.GRANT_AUTHORIZATION_CODE,
        redirect_uris="http://127.0.0.1/callback",
        skip_authorization=True,
    )
    log_in(client)
    age_session(client, logged_in_ago)
    query = {
        "response_type": "code",
        "client_id": CLIENT_ID,
        "redirect_uri": "http://127.0.0.1/callback",
        "code_challenge": "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
        "code_challenge_method": "S256",
        "max_age": "300",
    }
    response = client.get("/o/authorize/", query)
    assert response.status_code == 302
    location = response["Location"]
    if asks_login:
        assert location.startswith(settings.LOGIN_URL + "?next=/o/authorize/")
        assert "max_age%3D300" in location
    else:
        assert location.startswith("http://127.0.0.1/callback?code=")


@pytest.mark.parametrize(
    ("claims", "expected"),
    [
        ({"auth_time": 1_700_000_000, "acr": "mfa"}, (1_700_000_000, "mfa")),
        ({"auth_time": 1.5e9}, (1.5e9, None)),
        ({}, (None, None)),
        ({"auth_time": "1700000000", "acr": ""}, (None, None)),
        ({"auth_time": True, "acr": 2}, (None, None)),
        ({"auth_time": float("nan")}, (None, None)),
        ({"auth_time": float("inf")}, (None, None)),
    ],
)
def test_claims_authentication_reads_only_well_typed_claims(claims, expected):
    """For JWT access tokens (RFC 9068 §2.2.1) and introspection answers (RFC 9470 §6.2)."""
    from authstatus.enforcement.stepup import claims_authentication

    assert claims_authentication(claims) == expected
