"""The DRF adapter: authentication classes, PolicyPermission and the exception handler.

Uses the test-only views under /t/drf/ (tests/testapp/views.py). No policy in the demo
settings matches /t/..., so those routes get the view's declared access or DEFAULT_ACCESS.
"""

from __future__ import annotations

import pytest
from django.conf import settings
from django.test import override_settings
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from authstatus.core.challenges import Challenge
from authstatus.core.decision import CredentialState, Decision, Outcome
from tests.factories import AccessTokenFactory, GroupFactory, UserFactory, VaultItemFactory
from tests.http import (
    BAD_PASSWORD,
    BASIC,
    BEARER,
    COOKIE,
    INVALID_TOKEN,
    assert_refusal,
    basic_auth,
    bearer,
    bearer_auth,
    challenges,
    with_invalid_token,
)

pytestmark = pytest.mark.django_db

ECHO = "/t/drf/echo/"

# Each view's authentication classes, in order, as challenges.
ORDERS = {
    ECHO: (BEARER, COOKIE, BASIC),
    "/t/drf/session-first/": (COOKIE, BASIC, BEARER),
    "/t/drf/basic-first/": (BASIC, BEARER, COOKIE),
}
ORDERED_PATHS = list(ORDERS)


# --- order independence ------------------------------------------------------------------


@pytest.mark.parametrize("path", ORDERED_PATHS)
def test_anonymous_is_challenged_in_the_views_class_order(client, path):
    response = client.get(path)
    assert_refusal(response, 401, "authentication-required", "authenticate", challenge=ORDERS[path])


@pytest.mark.parametrize("path", ORDERED_PATHS)
def test_wrong_basic_password_is_401_in_any_order(client, alice, path):
    response = client.get(path, HTTP_AUTHORIZATION=basic_auth("alice", "wrong"))
    assert_refusal(
        response,
        401,
        "invalid-credentials",
        "reauthenticate",
        challenge=ORDERS[path],
        detail=BAD_PASSWORD,
    )


@pytest.mark.parametrize("path", ORDERED_PATHS)
def test_bad_token_is_reported_even_with_a_valid_session(client, alice, path):
    client.force_login(alice)
    assert client.get(path).status_code == 200
    response = client.get(path, HTTP_AUTHORIZATION=bearer_auth("no-such-token"))
    assert_refusal(
        response,
        401,
        "invalid-credentials",
        "reauthenticate",
        challenge=with_invalid_token(ORDERS[path]),
        detail=INVALID_TOKEN,
    )


@pytest.mark.parametrize("path", ORDERED_PATHS)
def test_expired_token_is_reported_even_with_a_valid_session(client, alice, expired_token, path):
    client.force_login(alice)
    response = client.get(path, HTTP_AUTHORIZATION=bearer_auth(expired_token.token))
    assert response.status_code == 401
    assert response.json()["resolution"] == "refresh_token"


@pytest.mark.parametrize("path", ORDERED_PATHS)
def test_valid_bearer_is_allowed_in_any_order(client, token, path):
    response = client.get(path, HTTP_AUTHORIZATION=bearer_auth(token.token))
    assert response.status_code == 200
    assert response.json() == {"user": "alice"}


@pytest.mark.parametrize("path", ORDERED_PATHS)
def test_valid_basic_is_allowed_in_any_order(client, alice, path):
    response = client.get(path, HTTP_AUTHORIZATION=basic_auth("alice", "secret"))
    assert response.status_code == 200
    assert response.json() == {"user": "alice"}


@pytest.mark.parametrize("path", ORDERED_PATHS)
def test_malformed_bearer_is_400_in_any_order(client, alice, path):
    client.force_login(alice)
    response = client.get(path, HTTP_AUTHORIZATION="Bearer")
    assert response.status_code == 400
    (challenge,) = challenges(response)
    assert challenge.scheme == "Bearer"
    assert challenge.param("error") == "invalid_request"


def test_session_only_view_challenges_only_the_session(client):
    response = client.get("/t/drf/session-only/")
    assert_refusal(response, 401, "authentication-required", "authenticate", challenge=(COOKIE,))


def test_session_only_view_ignores_other_schemes(client, alice):
    # No authenticator of this view understands Bearer or Basic: they are absent.
    for authorization in (basic_auth("alice", "secret"), bearer_auth("no-such-token")):
        response = client.get("/t/drf/session-only/", HTTP_AUTHORIZATION=authorization)
        assert_refusal(
            response, 401, "authentication-required", "authenticate", challenge=(COOKIE,)
        )


# --- declared access and DEFAULT_ACCESS ------------------------------------------------------


def test_view_declared_anonymous_is_open(client):
    response = client.get("/t/drf/declared-anonymous/")
    assert response.status_code == 200
    assert response.json() == {"user": ""}


def test_declared_anonymous_still_reports_a_bad_token(client):
    response = client.get(
        "/t/drf/declared-anonymous/", HTTP_AUTHORIZATION=bearer_auth("no-such-token")
    )
    assert response.status_code == 401


def test_default_access_applies_to_undeclared_views(client):
    assert client.get(ECHO).status_code == 401


def test_default_access_setting_is_honoured(client):
    with override_settings(AUTHSTATUS={**settings.AUTHSTATUS, "DEFAULT_ACCESS": "anonymous"}):
        assert client.get(ECHO).status_code == 200
    assert client.get(ECHO).status_code == 401


def test_policies_without_access_key_stay_authenticated_whatever_the_default(client):
    # DEFAULT_ACCESS is for routes no policy matches. The demo's policies for /api/notes/ and
    # /api/staff/ name scopes and groups without an "access" key: they are authenticated-only
    # (the ResourcePolicy default), not "anonymous" with requirements nothing could check.
    with override_settings(AUTHSTATUS={**settings.AUTHSTATUS, "DEFAULT_ACCESS": "anonymous"}):
        assert_refusal(
            client.get("/api/notes/"),
            401,
            "authentication-required",
            "authenticate",
            challenge=(bearer(("scope", "read")), COOKIE, BASIC),
        )
        assert client.get("/api/staff/").status_code == 401
        assert client.get("/api/public/").status_code == 200


# --- stock DRF permission classes ------------------------------------------------------------


def test_stock_is_authenticated_anonymous_gets_401_not_403(client):
    response = client.get("/t/drf/stock-is-authenticated/")
    assert_refusal(
        response,
        401,
        "authentication-required",
        "authenticate",
        challenge=(BEARER, COOKIE, BASIC),
    )


def test_stock_is_authenticated_invalid_token(client):
    response = client.get(
        "/t/drf/stock-is-authenticated/", HTTP_AUTHORIZATION=bearer_auth("no-such-token")
    )
    assert_refusal(
        response,
        401,
        "invalid-credentials",
        "reauthenticate",
        challenge=with_invalid_token((BEARER, COOKIE, BASIC)),
        detail=INVALID_TOKEN,
    )


def test_stock_is_authenticated_valid_token(client, token):
    response = client.get(
        "/t/drf/stock-is-authenticated/", HTTP_AUTHORIZATION=bearer_auth(token.token)
    )
    assert response.status_code == 200


def test_stock_allow_any_anonymous(client):
    assert client.get("/t/drf/stock-allow-any/").status_code == 200


def test_stock_allow_any_invalid_token_is_401(client):
    response = client.get(
        "/t/drf/stock-allow-any/", HTTP_AUTHORIZATION=bearer_auth("no-such-token")
    )
    assert_refusal(
        response,
        401,
        "invalid-credentials",
        "reauthenticate",
        challenge=with_invalid_token((BEARER, COOKIE, BASIC)),
        detail=INVALID_TOKEN,
    )


# --- a third-party authentication class next to ours ---------------------------------------


def test_foreign_class_challenges_are_merged_in_order(client):
    response = client.get("/t/drf/foreign-token/")
    assert_refusal(
        response,
        401,
        "authentication-required",
        "authenticate",
        challenge=(Challenge("Token"), BEARER),
    )


def test_foreign_class_failure_is_401(client):
    response = client.get("/t/drf/foreign-token/", HTTP_AUTHORIZATION="Token bogus")
    assert response.status_code == 401
    assert [c.scheme for c in challenges(response)] == ["Token", "Bearer"]
    assert challenges(response)[1] == BEARER
    body = response.json()
    assert body["status"] == 401
    assert body["resolution"] == "reauthenticate"


def test_foreign_class_success_is_allowed(client, alice):
    key = Token.objects.create(user=alice).key
    response = client.get("/t/drf/foreign-token/", HTTP_AUTHORIZATION=f"Token {key}")
    assert response.status_code == 200
    assert response.json() == {"user": "alice"}


def test_foreign_class_does_not_hide_our_bearer(client, token):
    response = client.get("/t/drf/foreign-token/", HTTP_AUTHORIZATION=bearer_auth(token.token))
    assert response.status_code == 200
    response = client.get("/t/drf/foreign-token/", HTTP_AUTHORIZATION="Bearer no-such-token")
    assert response.status_code == 401
    assert challenges(response)[1].param("error") == "invalid_token"


# --- CSRF -----------------------------------------------------------------------------------


def test_session_post_without_csrf_token_is_forbidden_problem(alice):
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(alice)
    response = client.post(ECHO, {"x": "1"})
    assert response.status_code == 403
    assert response["Content-Type"] == "application/problem+json"
    assert challenges(response) == ()
    body = response.json()
    assert body["type"].endswith("#forbidden")
    assert body["title"] == "Forbidden"
    assert body["status"] == 403
    assert body["resolution"] == "not_permitted"
    assert body["detail"].startswith("CSRF Failed")


def test_bearer_post_needs_no_csrf_token(token):
    client = APIClient(enforce_csrf_checks=True)
    response = client.post(ECHO, {"x": "1"}, HTTP_AUTHORIZATION=bearer_auth(token.token))
    assert response.status_code == 200


# --- settings-driven policies ----------------------------------------------------------------


def _with_policies(*policies: dict) -> override_settings:
    authstatus = dict(settings.AUTHSTATUS)
    authstatus["POLICIES"] = [*settings.AUTHSTATUS["POLICIES"], *policies]
    return override_settings(AUTHSTATUS=authstatus)


def test_settings_policy_closes_a_route(client, alice, token):
    with _with_policies({"path": ECHO, "access": "nobody"}):
        assert_refusal(client.get(ECHO), 403, "closed", "not_available")
        response = client.get(ECHO, HTTP_AUTHORIZATION=bearer_auth(token.token))
        assert_refusal(response, 403, "closed", "not_available")
    # The registry is rebuilt when the setting changes back.
    assert client.get(ECHO).status_code == 401


def test_settings_policy_opens_a_route(client):
    with _with_policies({"path": ECHO, "access": "anonymous"}):
        assert client.get(ECHO).status_code == 200


def test_settings_policy_beats_the_views_declaration(client):
    with _with_policies({"path": "/t/drf/declared-anonymous/", "access": "authenticated"}):
        response = client.get("/t/drf/declared-anonymous/")
    assert_refusal(response, 401, "authentication-required", "authenticate", challenge=ORDERS[ECHO])


def test_settings_policy_with_method(client):
    with _with_policies({"path": ECHO, "methods": "GET", "access": "anonymous"}):
        assert client.get(ECHO).status_code == 200
        assert client.head(ECHO).status_code == 200  # GET implies HEAD
        assert client.post(ECHO).status_code == 401


def test_settings_policy_with_group(client, alice):
    group = GroupFactory(name="echoers")
    member = UserFactory(username="member", groups=[group])
    with _with_policies({"path": ECHO, "required_groups": ["echoers"]}):
        response = client.get(ECHO, HTTP_AUTHORIZATION=basic_auth("alice", "secret"))
        assert_refusal(response, 403, "forbidden", "not_permitted")
        response = client.get(ECHO, HTTP_AUTHORIZATION=basic_auth(member.username, "secret"))
        assert response.status_code == 200


def test_settings_policy_with_scope(client, read_token, token):
    with _with_policies({"path": ECHO, "required_scopes": "admin"}):
        response = client.get(ECHO)
        assert challenges(response)[0] == bearer(("scope", "admin"))
        response = client.get(ECHO, HTTP_AUTHORIZATION=bearer_auth(token.token))
        assert_refusal(
            response,
            403,
            "insufficient-scope",
            "request_scope",
            challenge=(bearer(("scope", "admin"), ("error", "insufficient_scope")),),
            required_scopes=["admin"],
        )


def test_settings_policy_conceals(client, alice):
    with _with_policies({"path": ECHO, "conceal": True}):
        assert_refusal(client.get(ECHO), 404, "not-found", "not_found")
        response = client.get(ECHO, HTTP_AUTHORIZATION=basic_auth("alice", "secret"))
        assert response.status_code == 200


# --- access_denied signal --------------------------------------------------------------------


def test_access_denied_fires_once_per_refusal(client, denials):
    client.get(ECHO)
    assert len(denials) == 1
    (sent,) = denials
    assert isinstance(sent["decision"], Decision)
    assert sent["decision"].outcome is Outcome.AUTHENTICATION_REQUIRED
    assert sent["decision"].status == 401
    assert sent["credentials"].state is CredentialState.ABSENT
    assert sent["request"].path == ECHO


def test_access_denied_carries_the_failed_credentials(client, denials):
    client.get(ECHO, HTTP_AUTHORIZATION=bearer_auth("no-such-token"))
    (sent,) = denials
    assert sent["decision"].outcome is Outcome.INVALID_CREDENTIALS
    assert sent["credentials"].state is CredentialState.INVALID
    assert sent["credentials"].scheme == "Bearer"
    # Never the secret itself.
    assert "no-such-token" not in repr(sent["credentials"])


@pytest.mark.parametrize(
    ("path", "authorization", "outcome"),
    [
        ("/api/closed/", None, Outcome.CLOSED),
        ("/api/staff/", "alice", Outcome.FORBIDDEN),
        ("/api/profile/", "wrong-password", Outcome.INVALID_CREDENTIALS),
        ("/api/profile/", "Bearer", Outcome.INVALID_REQUEST),
        ("/api/vault/", None, Outcome.NOT_FOUND),
        ("/t/drf/stock-is-authenticated/", None, Outcome.AUTHENTICATION_REQUIRED),
    ],
)
def test_access_denied_for_each_kind_of_refusal(
    client, alice, denials, path, authorization, outcome
):
    authorization = {
        "alice": basic_auth("alice", "secret"),
        "wrong-password": basic_auth("alice", "wrong"),
    }.get(authorization, authorization)
    extra = {"HTTP_AUTHORIZATION": authorization} if authorization else {}
    client.get(path, **extra)
    assert [d["decision"].outcome for d in denials] == [outcome]


def test_access_denied_for_insufficient_scope(client, read_token, denials):
    client.post("/api/notes/", {"text": "x"}, HTTP_AUTHORIZATION=bearer_auth(read_token.token))
    (sent,) = denials
    assert sent["decision"].outcome is Outcome.INSUFFICIENT_SCOPE
    assert sent["credentials"].scopes == frozenset({"read"})
    assert sent["user"] == read_token.user


def test_access_denied_names_no_user_for_failed_credentials(client, alice, denials):
    client.force_login(alice)  # a session user, but the token sent is bad
    client.get(ECHO, HTTP_AUTHORIZATION=bearer_auth("no-such-token"))
    (sent,) = denials
    assert sent["user"] is None


def test_access_denied_for_csrf_refusal(alice, denials):
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(alice)
    response = client.post(ECHO, {"x": "1"})
    assert response.status_code == 403
    (sent,) = denials
    assert sent["decision"].outcome is Outcome.FORBIDDEN
    assert sent["credentials"].state is CredentialState.VALID


def test_access_denied_for_object_level_refusal(client, alice, bob, denials):
    item = VaultItemFactory(owner=alice)
    response = client.get(f"/api/vault/{item.pk}/", HTTP_AUTHORIZATION=basic_auth("bob", "secret"))
    assert response.status_code == 404
    (sent,) = denials
    assert sent["decision"].outcome is Outcome.NOT_FOUND
    assert sent["credentials"].state is CredentialState.VALID
    assert sent["credentials"].scheme == "Basic"


@pytest.mark.parametrize(
    ("path", "authorization"),
    [
        ("/api/public/", None),
        ("/api/profile/", "token"),
        (ECHO, "token"),
        ("/t/drf/stock-allow-any/", None),
    ],
)
def test_access_denied_not_sent_when_allowed(client, token, denials, path, authorization):
    extra = {"HTTP_AUTHORIZATION": bearer_auth(token.token)} if authorization else {}
    assert client.get(path, **extra).status_code == 200
    assert denials == []


# --- query counts ----------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/api/public/", "/api/profile/", ECHO])
def test_bearer_request_costs_one_query(client, token, django_assert_num_queries, path):
    authorization = bearer_auth(token.token)
    with django_assert_num_queries(1):
        response = client.get(path, HTTP_AUTHORIZATION=authorization)
    assert response.status_code == 200


@pytest.mark.parametrize("path", ["/api/profile/", ECHO])
def test_unknown_token_costs_one_query(client, db, django_assert_num_queries, path):
    with django_assert_num_queries(1):
        response = client.get(path, HTTP_AUTHORIZATION=bearer_auth("no-such-token"))
    assert response.status_code == 401


@pytest.mark.parametrize("path", ["/api/public/", "/api/profile/", ECHO, "/api/closed/"])
def test_anonymous_request_costs_no_query(client, db, django_assert_num_queries, path):
    with django_assert_num_queries(0):
        client.get(path)


def test_token_of_user_without_groups_on_group_route(client, django_assert_num_queries):
    # Group membership is one more query, made only when the policy asks for groups.
    token = AccessTokenFactory(user=UserFactory(username="nobody-special"))
    with django_assert_num_queries(2):
        response = client.get("/api/staff/", HTTP_AUTHORIZATION=bearer_auth(token.token))
    assert response.status_code == 403


# --- where a bearer token may be sent (BEARER_METHODS, RFC 6750 §2) ----------------------------


@pytest.fixture
def all_bearer_methods():
    with override_settings(
        AUTHSTATUS={**settings.AUTHSTATUS, "BEARER_METHODS": ["header", "body", "query"]}
    ):
        yield


FORM = "application/x-www-form-urlencoded"


def test_query_token_is_ignored_unless_enabled(client, token):
    response = client.get(f"/api/profile/?access_token={token.token}")
    assert_refusal(response, 401, "authentication-required", "authenticate", challenge=ORDERS[ECHO])


def test_body_token_is_ignored_unless_enabled(client, token):
    response = client.post("/api/notes/", f"text=x&access_token={token.token}", content_type=FORM)
    assert response.status_code == 401
    assert challenges(response)[0] == bearer(("scope", "write"))


def test_query_token_when_enabled(client, token, all_bearer_methods):
    response = client.get(f"/api/profile/?access_token={token.token}")
    assert response.status_code == 200
    assert response.json()["username"] == "alice"
    # RFC 6750 §2.3: a response to a URI-query token must not be stored by shared caches.
    assert "private" in {d.strip() for d in response["Cache-Control"].split(",")}


def test_header_token_response_is_not_marked_private(client, token):
    response = client.get("/api/profile/", HTTP_AUTHORIZATION=f"Bearer {token.token}")
    assert response.status_code == 200
    assert not response.has_header("Cache-Control")


def test_form_body_token_when_enabled(client, token, all_bearer_methods):
    response = client.post("/api/notes/", f"text=x&access_token={token.token}", content_type=FORM)
    assert response.status_code == 201


def test_multipart_body_token_is_not_a_bearer_method(client, token, all_bearer_methods):
    # RFC 6750 §2.2: only a single-part application/x-www-form-urlencoded body.
    response = client.post("/api/notes/", {"text": "x", "access_token": token.token})
    assert response.status_code == 401
    assert challenges(response)[0] == bearer(("scope", "write"))


def test_unknown_query_token_when_enabled(client, db, all_bearer_methods):
    response = client.get("/api/public/?access_token=no-such-token")
    assert response.status_code == 401
    assert challenges(response)[0].param("error") == "invalid_token"


@pytest.mark.parametrize(
    ("query", "body"),
    [("?access_token=a&access_token=b", None), ("?access_token=a", "access_token=b")],
)
def test_token_in_two_places_when_enabled(client, db, all_bearer_methods, query, body):
    if body is None:
        response = client.get(f"/api/public/{query}")
    else:
        response = client.post(f"/api/notes/{query}", body, content_type=FORM)
    assert response.status_code == 400
    (challenge,) = challenges(response)
    assert challenge.param("error") == "invalid_request"


def test_invalid_query_token_syntax_when_enabled(client, db, all_bearer_methods):
    response = client.get("/api/public/?access_token=a%20b")
    assert response.status_code == 400
    (challenge,) = challenges(response)
    assert challenge.param("error") == "invalid_request"


def test_bad_token_behind_a_session_is_reported_on_an_anonymous_route(client, alice):
    """PolicyPermission's shortcut for anonymous-allowed routes must not skip an
    authenticator DRF never ran: the session succeeds first, the bearer token is bad."""
    policy = {"path": "/t/drf/session-first/", "access": "anonymous"}
    client.force_login(alice)
    with override_settings(
        AUTHSTATUS={**settings.AUTHSTATUS, "POLICIES": [*settings.AUTHSTATUS["POLICIES"], policy]}
    ):
        ok = client.get("/t/drf/session-first/")
        refused = client.get("/t/drf/session-first/", HTTP_AUTHORIZATION="Bearer no-such-token")
    assert ok.status_code == 200
    assert refused.status_code == 401
    assert challenges(refused)[-1].param("error") == "invalid_token"


# --- OPTIONS metadata advertises only what the token may do -----------------------------------


@pytest.mark.parametrize(("scope", "post_advertised"), [("read", False), ("read write", True)])
def test_options_metadata_advertises_post_only_to_a_token_that_may_post(
    client, db, scope, post_advertised
):
    """DRF's SimpleMetadata checks each action's permissions with clone_request(request,
    "POST"): the POST policy (scope write) must decide, not the OPTIONS request's."""
    token = AccessTokenFactory(scope=scope)
    auth = {"HTTP_AUTHORIZATION": f"Bearer {token.token}"}
    options = client.options("/api/notes/", **auth)
    assert options.status_code == 200
    assert ("POST" in options.json().get("actions", {})) is post_advertised
    post = client.post("/api/notes/", {"text": "hello"}, format="json", **auth)
    assert (post.status_code == 201) is post_advertised
    if not post_advertised:
        assert post.status_code == 403
