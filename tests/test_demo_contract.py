"""The decision table of DESIGN.md, row by row, on the demo project's routes (black box).

Demo settings: REALM "api", DEFAULT_ACCESS authenticated, DRF authentication classes Bearer,
Session, Basic (in that order); the middleware enforces the plain Django views.
"""

from __future__ import annotations

import json
import re
from io import StringIO

import pytest
from django.conf import settings
from django.contrib.auth.models import Group, User
from django.core.management import call_command
from django.test import override_settings
from oauth2_provider.models import AccessToken, Application

from authstatus.models import ResourcePolicy
from demo_project.api.models import Note, Order, VaultItem
from demo_project.api.policies import BASELINE_POLICIES, DEMO_POLICIES
from demo_project.api.tour import READ_TOKEN, READ_WRITE_TOKEN, STEPS
from tests.factories import (
    AccessTokenFactory,
    ApplicationFactory,
    GroupFactory,
    UserFactory,
    VaultItemFactory,
)
from tests.http import (
    BAD_PASSWORD,
    BASIC,
    COOKIE,
    DRF_CHALLENGES,
    EXPIRED_TOKEN,
    INVALID_TOKEN,
    LOGIN_URL,
    assert_nqschar,
    assert_refusal,
    assert_uncacheable,
    basic_auth,
    bearer,
    bearer_auth,
    challenges,
    error_params,
    headers_without_date,
    links,
    media_type,
    problem,
    with_invalid_token,
)

pytestmark = pytest.mark.django_db

ALL_SCHEMES = DRF_CHALLENGES
ALICE = basic_auth("alice", "secret")


# --- rows 1-3: no credentials ------------------------------------------------------------


def test_anonymous_on_anonymous_allowed_route_is_allowed(client):
    response = client.get("/api/public/")
    assert response.status_code == 200
    assert challenges(response) == ()


def test_anonymous_on_authenticated_route_is_challenged_with_every_scheme(client):
    response = client.get("/api/profile/")
    assert_refusal(response, 401, "authentication-required", "authenticate", challenge=ALL_SCHEMES)
    assert all(error_params(c) == {} for c in challenges(response))


def test_anonymous_on_scoped_route_is_told_the_scope(client):
    # RFC 6750 §3: scope may accompany a 401; no error code when no credentials were sent.
    response = client.get("/api/notes/")
    assert_refusal(
        response,
        401,
        "authentication-required",
        "authenticate",
        challenge=(bearer(("scope", "read")), COOKIE, BASIC),
    )


@pytest.mark.parametrize("credentials", ["none", "basic", "bearer"])
def test_closed_route_is_forbidden_without_challenge(client, alice, token, credentials):
    authorization = {"none": None, "basic": ALICE, "bearer": bearer_auth(token.token)}[credentials]
    extra = {"HTTP_AUTHORIZATION": authorization} if authorization else {}
    response = client.get("/api/closed/", **extra)
    assert_refusal(response, 403, "closed", "not_available")
    assert not response.has_header("WWW-Authenticate")


# --- row 4: credentials sent but not valid ----------------------------------------------


def test_expired_token_says_refresh(client, expired_token):
    response = client.get("/api/profile/", HTTP_AUTHORIZATION=bearer_auth(expired_token.token))
    assert_refusal(
        response,
        401,
        "invalid-credentials",
        "refresh_token",
        challenge=with_invalid_token(description=EXPIRED_TOKEN),
        detail=EXPIRED_TOKEN,
    )


@pytest.mark.parametrize(
    ("path", "token"),
    [
        pytest.param("/api/profile/", "no-such-token", id="unknown token"),
        # Never silently anonymous, even where anonymous clients are welcome.
        pytest.param("/api/public/", "no-such-token", id="unknown token, anonymous route"),
        pytest.param("/api/profile/", "inactive", id="token of an inactive user"),
    ],
)
def test_invalid_token_says_reauthenticate(client, db, path, token):
    if token == "inactive":
        token = AccessTokenFactory(user=UserFactory(is_active=False)).token
    response = client.get(path, HTTP_AUTHORIZATION=bearer_auth(token))
    assert_refusal(
        response,
        401,
        "invalid-credentials",
        "reauthenticate",
        challenge=with_invalid_token(),
        detail=INVALID_TOKEN,
    )


def test_expired_and_unknown_tokens_are_described_differently(client, expired_token):
    expired = client.get("/api/profile/", HTTP_AUTHORIZATION=bearer_auth(expired_token.token))
    unknown = client.get("/api/profile/", HTTP_AUTHORIZATION=bearer_auth("no-such-token"))
    expired_bearer, unknown_bearer = challenges(expired)[0], challenges(unknown)[0]
    assert expired_bearer.param("error") == unknown_bearer.param("error") == "invalid_token"
    assert expired_bearer.param("error_description") != unknown_bearer.param("error_description")


def test_revoked_token_is_invalid(client, token):
    raw = token.token
    assert client.get("/api/profile/", HTTP_AUTHORIZATION=bearer_auth(raw)).status_code == 200
    token.revoke()  # DOT deletes revoked access tokens
    response = client.get("/api/profile/", HTTP_AUTHORIZATION=bearer_auth(raw))
    assert_refusal(
        response,
        401,
        "invalid-credentials",
        "reauthenticate",
        challenge=with_invalid_token(),
        detail=INVALID_TOKEN,
    )


@pytest.mark.parametrize("path", ["/api/profile/", "/api/public/", "/api/notes/"])
def test_only_the_bearer_challenge_carries_error_params(client, db, path):
    response = client.get(path, HTTP_AUTHORIZATION=bearer_auth("no-such-token"))
    assert response.status_code == 401
    found = challenges(response)
    assert [c.scheme for c in found] == ["Bearer", "Cookie", "Basic"]
    assert error_params(found[0])["error"] == "invalid_token"
    assert found[1:] == (COOKIE, BASIC)


def test_wrong_basic_password_is_challenged_without_error(client, alice):
    response = client.get("/api/profile/", HTTP_AUTHORIZATION=basic_auth("alice", "wrong"))
    assert_refusal(
        response,
        401,
        "invalid-credentials",
        "reauthenticate",
        challenge=ALL_SCHEMES,
        detail=BAD_PASSWORD,
    )
    assert all(error_params(c) == {} for c in challenges(response))


# --- row 5: valid credentials, not allowed -----------------------------------------------


def test_valid_user_outside_group_is_forbidden_without_challenge(client, alice):
    response = client.get("/api/staff/", HTTP_AUTHORIZATION=ALICE)
    assert_refusal(response, 403, "forbidden", "not_permitted")


def test_user_in_group_is_allowed(client, staff_user):
    response = client.get("/api/staff/", HTTP_AUTHORIZATION=basic_auth("staffer", "secret"))
    assert response.status_code == 200


def test_group_member_with_token_is_allowed(client):
    user = UserFactory(groups=[GroupFactory(name="staff-api")])
    token = AccessTokenFactory(user=user)
    response = client.get("/api/staff/", HTTP_AUTHORIZATION=bearer_auth(token.token))
    assert response.status_code == 200


def test_token_lacking_scope_gets_insufficient_scope(client, read_token):
    response = client.post(
        "/api/notes/", {"text": "hello"}, HTTP_AUTHORIZATION=bearer_auth(read_token.token)
    )
    assert_refusal(
        response,
        403,
        "insufficient-scope",
        "request_scope",
        challenge=(bearer(("scope", "write"), ("error", "insufficient_scope")),),
        required_scopes=["write"],
    )
    assert not Note.objects.exists()


def test_token_with_scope_write_creates(client, token):
    response = client.post(
        "/api/notes/", {"text": "hello"}, HTTP_AUTHORIZATION=bearer_auth(token.token)
    )
    assert response.status_code == 201
    assert response.json()["text"] == "hello"
    assert Note.objects.get().owner == token.user


def test_token_with_scope_read_reads(client, read_token):
    response = client.get("/api/notes/", HTTP_AUTHORIZATION=bearer_auth(read_token.token))
    assert response.status_code == 200
    assert response.json() == []


@pytest.mark.parametrize("how", ["session", "basic"])
def test_first_party_logins_are_not_scope_limited(client, alice, how):
    if how == "session":
        client.force_login(alice)
        response = client.get("/api/notes/")
    else:
        response = client.get("/api/notes/", HTTP_AUTHORIZATION=ALICE)
    assert response.status_code == 200


# --- malformed bearer requests -----------------------------------------------------------


def _assert_invalid_request(response, scope: str | None = None) -> None:
    """400, exactly one challenge: ``Bearer realm="api", [scope=…,] error="invalid_request",
    error_description=…`` (RFC 6750 §3.1), the description within NQSCHAR."""
    assert response.status_code == 400, response.content
    (challenge,) = challenges(response)
    description = challenge.param("error_description")
    assert_nqschar(description)
    scoped = (("scope", scope),) if scope else ()
    assert challenge == bearer(
        *scoped, ("error", "invalid_request"), ("error_description", description)
    )
    assert_uncacheable(response)
    body = problem(response)
    assert body["type"].endswith("#invalid-request")
    assert body["title"] == "Invalid request"
    assert body["status"] == 400
    assert body["resolution"] == "fix_request"
    assert body["detail"] == challenge.param("error_description")


@pytest.mark.parametrize("authorization", ["Bearer", "Bearer ", "Bearer a b", "Bearer a,b"])
def test_malformed_authorization_header_is_invalid_request(client, db, authorization):
    _assert_invalid_request(client.get("/api/profile/", HTTP_AUTHORIZATION=authorization))


def test_token_in_query_and_header_is_invalid_request(client, token):
    response = client.get(
        "/api/profile/?access_token=x", HTTP_AUTHORIZATION=bearer_auth(token.token)
    )
    _assert_invalid_request(response)


def test_token_in_body_and_header_is_invalid_request(client, token):
    response = client.post(
        "/api/notes/",
        "text=hello&access_token=",
        content_type="application/x-www-form-urlencoded",
        HTTP_AUTHORIZATION=bearer_auth(token.token),
    )
    # The route's policy asks for scope "write" on POST; RFC 6750 §3 allows it on any challenge.
    _assert_invalid_request(response, scope="write")
    assert not Note.objects.exists()


def test_malformed_request_on_anonymous_route_is_invalid_request(client, db):
    _assert_invalid_request(client.get("/api/public/", HTTP_AUTHORIZATION="Bearer"))


# --- concealed resources -----------------------------------------------------------------


@pytest.fixture
def alices_item(alice):
    return VaultItemFactory(owner=alice, name="diary", secret="dear diary")


@pytest.mark.parametrize("path", ["/api/vault/", "/api/vault/{pk}/"])
def test_anonymous_on_concealed_vault_is_not_found(client, alices_item, path):
    response = client.get(path.format(pk=alices_item.pk))
    assert_refusal(response, 404, "not-found", "not_found")


def test_others_item_is_indistinguishable_from_a_missing_one(client, alices_item, bob):
    bob_auth = basic_auth("bob", "secret")
    forbidden = client.get(f"/api/vault/{alices_item.pk}/", HTTP_AUTHORIZATION=bob_auth)
    missing = client.get("/api/vault/999999/", HTTP_AUTHORIZATION=bob_auth)
    assert forbidden.status_code == missing.status_code == 404
    assert forbidden.content == missing.content
    assert headers_without_date(forbidden) == headers_without_date(missing)
    assert_refusal(forbidden, 404, "not-found", "not_found")


def test_owner_sees_own_item(client, alices_item):
    response = client.get(f"/api/vault/{alices_item.pk}/", HTTP_AUTHORIZATION=ALICE)
    assert response.status_code == 200
    assert response.json() == {"id": alices_item.pk, "name": "diary", "secret": "dear diary"}


def test_owner_lists_only_own_items(client, alices_item, bob):
    VaultItemFactory(owner=bob)
    response = client.get("/api/vault/", HTTP_AUTHORIZATION=ALICE)
    assert response.status_code == 200
    assert [item["id"] for item in response.json()] == [alices_item.pk]


@pytest.mark.parametrize("authorization", ["Bearer no-such-token", "Bearer", "Basic !!"])
def test_concealment_beats_credential_errors(client, alices_item, authorization):
    response = client.get(f"/api/vault/{alices_item.pk}/", HTTP_AUTHORIZATION=authorization)
    assert_refusal(response, 404, "not-found", "not_found")


def test_expired_token_on_concealed_vault_is_not_found(client, alices_item, expired_token):
    response = client.get(
        f"/api/vault/{alices_item.pk}/", HTTP_AUTHORIZATION=bearer_auth(expired_token.token)
    )
    assert_refusal(response, 404, "not-found", "not_found")


# --- every refusal is uncacheable and varies on credentials -------------------------------


@pytest.mark.parametrize(
    ("method", "path", "authorization", "status"),
    [
        ("GET", "/api/profile/", None, 401),
        ("GET", "/api/profile/", "Bearer no-such-token", 401),
        ("GET", "/api/profile/", "Basic YWxpY2U6d3Jvbmc=", 401),
        ("GET", "/api/profile/", "Bearer", 400),
        ("GET", "/api/closed/", None, 403),
        ("GET", "/api/staff/", "alice", 403),
        ("POST", "/api/notes/", "read-token", 403),
        ("GET", "/members/", None, 401),
        ("GET", "/api/vault/", None, 404),
    ],
)
def test_refusals_are_not_stored_and_vary_on_credentials(
    client, alice, read_token, method, path, authorization, status
):
    authorization = {"alice": ALICE, "read-token": bearer_auth(read_token.token)}.get(
        authorization, authorization
    )
    extra = {"HTTP_AUTHORIZATION": authorization} if authorization else {}
    response = client.generic(method, path, **extra)
    assert response.status_code == status
    assert_uncacheable(response)


# --- browsers and the session-only members page -------------------------------------------


def test_browser_gets_html_401_linking_to_login(client, db):
    response = client.get("/members/", HTTP_ACCEPT="text/html")
    assert response.status_code == 401
    assert media_type(response) == "text/html"
    # A session-only route never challenges Basic: no browser password dialog.
    assert challenges(response) == (COOKIE,)
    assert_uncacheable(response)
    assert f"{LOGIN_URL}?next=/members/" in links(response)


def test_browser_is_redirected_to_login_when_configured(client, db):
    with override_settings(AUTHSTATUS={**settings.AUTHSTATUS, "REDIRECT_BROWSERS_TO_LOGIN": True}):
        response = client.get("/members/", HTTP_ACCEPT="text/html")
    assert response.status_code == 302
    assert response["Location"] == f"{LOGIN_URL}?next=/members/"
    # A redirect is not a 401: a challenge on it would mean nothing (RFC 9110 §11.6.1).
    assert not response.has_header("WWW-Authenticate")


def test_api_client_on_members_page_gets_problem_json(client, db):
    response = client.get("/members/")
    assert_refusal(response, 401, "authentication-required", "authenticate", challenge=(COOKIE,))


def test_basic_credentials_do_not_open_the_session_only_page(client, alice):
    response = client.get("/members/", HTTP_AUTHORIZATION=ALICE)
    assert_refusal(response, 401, "authentication-required", "authenticate", challenge=(COOKIE,))


def test_logged_in_user_sees_members_page(client, alice):
    client.force_login(alice)
    response = client.get("/members/", HTTP_ACCEPT="text/html")
    assert response.status_code == 200
    assert b"alice" in response.content


def test_home_page_is_public(client, db):
    assert client.get("/", HTTP_ACCEPT="text/html").status_code == 200


@pytest.mark.parametrize("path", ["/accounts/login/", "/admin/login/"])
def test_login_pages_are_reachable(client, db, path):
    assert client.get(path, HTTP_ACCEPT="text/html").status_code == 200


def test_admin_does_its_own_access_control(client, db):
    response = client.get("/admin/", HTTP_ACCEPT="text/html")
    assert response.status_code == 302
    assert response["Location"] == "/admin/login/?next=/admin/"
    assert challenges(response) == ()


def test_login_form_logs_in(client, alice):
    response = client.post(
        "/accounts/login/", {"username": "alice", "password": "secret", "next": "/members/"}
    )
    assert response.status_code == 302
    assert response["Location"] == "/members/"
    assert client.get("/members/").status_code == 200


# --- django-oauth-toolkit's token endpoint ------------------------------------------------


PASSWORD_GRANT_DEPRECATED = pytest.mark.filterwarnings(
    "ignore:The OAuth 2.0 resource owner password credentials grant:DeprecationWarning"
)


@PASSWORD_GRANT_DEPRECATED
def test_password_grant_issues_a_working_token(client, alice):
    ApplicationFactory(client_id="test-client", client_secret="test-secret")
    response = client.post(
        "/o/token/",
        {
            "grant_type": "password",
            "username": "alice",
            "password": "secret",
            "scope": "read",
            "client_id": "test-client",
            "client_secret": "test-secret",
        },
    )
    assert response.status_code == 200, response.content
    issued = response.json()
    assert issued["token_type"] == "Bearer"
    assert issued["scope"] == "read"
    notes = client.get("/api/notes/", HTTP_AUTHORIZATION=bearer_auth(issued["access_token"]))
    assert notes.status_code == 200
    write = client.post(
        "/api/notes/", {"text": "x"}, HTTP_AUTHORIZATION=bearer_auth(issued["access_token"])
    )
    assert write.status_code == 403


@PASSWORD_GRANT_DEPRECATED
def test_token_endpoint_rejects_wrong_client_secret(client, alice):
    ApplicationFactory(client_id="test-client", client_secret="test-secret")
    response = client.post(
        "/o/token/",
        {
            "grant_type": "password",
            "username": "alice",
            "password": "secret",
            "client_id": "test-client",
            "client_secret": "wrong",
        },
    )
    assert response.status_code == 401


# --- `make demo`: seed_demo and the scenario tour ------------------------------------------


def _counts() -> dict[str, int]:
    return {
        "users": User.objects.count(),
        "groups": Group.objects.count(),
        "applications": Application.objects.count(),
        "tokens": AccessToken.objects.count(),
        "vault": VaultItem.objects.count(),
        "orders": Order.objects.count(),
        "policies": ResourcePolicy.objects.count(),
    }


def test_seed_demo_is_idempotent(db):
    call_command("seed_demo", stdout=StringIO())
    first = _counts()
    call_command("seed_demo", stdout=StringIO())
    assert _counts() == first
    assert first == {
        "users": 3,
        "groups": 1,
        "applications": 1,
        "tokens": 3,
        "vault": 2,
        "orders": 4,
        "policies": len(DEMO_POLICIES),
    }
    for name in ("alice", "bob", "admin"):
        assert User.objects.get(username=name).check_password(name)
    members = Group.objects.get(name="staff-api").user_set.values_list("username", flat=True)
    assert list(members) == ["admin"]
    application = Application.objects.get(client_id="demo-client")
    assert application.name == "demo-client"
    assert application.authorization_grant_type == Application.GRANT_PASSWORD


def _run_step(client, step) -> int:
    headers = step.request_headers()
    content_type = headers.pop("Content-Type", None)
    extra = {"data": step.data, "content_type": content_type} if step.data is not None else {}
    response = client.generic(step.method, step.path, headers=headers, **extra)
    return response.status_code


@pytest.fixture
def seeded_demo(db):
    """The demo as `make demo` runs it: seeded rows, and only the baseline policies in
    settings (the API's policies are the ResourcePolicy rows seed_demo creates)."""
    call_command("seed_demo", stdout=StringIO())
    with override_settings(AUTHSTATUS={**settings.AUTHSTATUS, "POLICIES": BASELINE_POLICIES}):
        yield


@pytest.mark.parametrize("step", STEPS, ids=[s.id for s in STEPS])
def test_tour_step_answers_as_announced(seeded_demo, client, step):
    match = re.match(r"\d{3}\b", step.expected)
    assert match, f"step {step.id}: expected text must start with a status: {step.expected!r}"
    assert _run_step(client, step) == int(match.group())


def test_tour_covers_every_row_of_the_decision_table():
    statuses = {re.match(r"\d{3}", step.expected).group() for step in STEPS}
    assert statuses >= {"200", "201", "400", "401", "403", "404"}


def test_client_credentials_token_reads_no_notes_and_cannot_write(client, db):
    """A token without a user (client-credentials grant) is valid but owns nothing."""
    from tests.factories import AccessTokenFactory

    token = AccessTokenFactory(user=None, scope="read write")
    auth = {"HTTP_AUTHORIZATION": f"Bearer {token.token}"}
    assert client.get("/api/notes/", **auth).json() == []
    response = client.post("/api/notes/", {"text": "x"}, **auth)
    assert_refusal(
        response,
        403,
        "forbidden",
        "not_permitted",
        challenge=(),
        detail="Notes belong to users; a client-credentials token has none.",
    )


# --- /api/orders/: DefaultRouter, format suffixes, the ship action (issue 9 §5) -------------


def _bearer(token: str) -> dict[str, str]:
    return {"HTTP_AUTHORIZATION": f"Bearer {token}"}


def test_orders_are_router_routes_governed_by_resource_policy_rows(seeded_demo, client):
    rows = ResourcePolicy.objects.filter(path__startswith="/api/orders/")
    assert {(r.path, r.methods) for r in rows} == {
        ("/api/orders/", "GET"),
        ("/api/orders/", "POST"),
        ("/api/orders/*/", "GET"),
        ("/api/orders/*/", "PUT PATCH DELETE"),
        ("/api/orders/*/ship/", "POST"),
    }
    alice = User.objects.get(username="alice")
    response = client.get("/api/orders.json", **_bearer(READ_TOKEN))
    assert response.status_code == 200
    assert {o["owner"] for o in response.json()} == {"alice"}
    assert len(response.json()) == Order.objects.filter(owner=alice).count() == 2
    # POST {"title": ...} creates an order owned by the requester
    response = client.post(
        "/api/orders/", {"title": "kettle"}, format="json", **_bearer(READ_WRITE_TOKEN)
    )
    assert response.status_code == 201
    created = Order.objects.get(pk=response.json()["id"])
    assert (created.owner, created.title, created.shipped) == (alice, "kettle", False)
    # the ship action sets shipped
    response = client.post(f"/api/orders/{created.pk}/ship/", **_bearer(READ_WRITE_TOKEN))
    assert response.status_code == 200
    created.refresh_from_db()
    assert created.shipped is True


def test_the_orders_list_row_governs_its_format_suffix_url(seeded_demo, client):
    """Changing the one row for /api/orders/ changes /api/orders.json too."""
    row = ResourcePolicy.objects.get(path="/api/orders/", methods="GET")
    row.access, row.required_scopes = "nobody", ""
    row.full_clean()
    row.save()
    for url in ("/api/orders/", "/api/orders.json"):
        assert client.get(url, **_bearer(READ_TOKEN)).status_code == 403, url


# --- the OAuth 2.1 / MCP contract: discovery, registration, PKCE, consent, CORS -------------


def _register_loopback_public_client(client) -> tuple[str, str]:
    redirect_uri = "http://127.0.0.1:33418/callback"
    response = client.post(
        "/o/register/",
        # Encoded here: DRF 3.15's test client sends a dict with an explicit content type
        # as its repr, not as JSON (the oldest supported DRF, CI stage `oldest`).
        json.dumps({"redirect_uris": [redirect_uri], "token_endpoint_auth_method": "none"}),
        content_type="application/json",
    )
    assert response.status_code == 201, response.content
    return response.json()["client_id"], redirect_uri


def test_metadata_advertises_registration_and_s256(client):
    metadata = client.get("/.well-known/oauth-authorization-server/o").json()
    assert metadata["registration_endpoint"] == "http://testserver/o/register/"
    assert metadata["code_challenge_methods_supported"] == ["S256"]


def test_login_then_consent_with_pkce_s256(client, alice):
    """Anonymous registration of a loopback client; alice logs in at /accounts/login/ and
    approves DOT's consent form (field ``allow``); a request without PKCE is refused."""
    import base64
    import hashlib

    client_id, redirect_uri = _register_loopback_public_client(client)
    query = {"response_type": "code", "client_id": client_id, "redirect_uri": redirect_uri}
    login = client.post("/accounts/login/", {"username": "alice", "password": "secret"})
    assert login.status_code == 302
    refused = client.get("/o/authorize/", {**query, "state": "s"})
    assert refused.status_code == 302
    assert "error=invalid_request" in refused["Location"]
    verifier = "v" * 64
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
    pkce = {
        **query,
        "state": "s",
        "scope": "read",
        "code_challenge": challenge.decode().rstrip("="),
        "code_challenge_method": "S256",
    }
    form = client.get("/o/authorize/", pkce)
    assert form.status_code == 200
    assert b'name="allow"' in form.content
    approved = client.post(
        "/o/authorize/", {**pkce, "allow": "Authorize", "redirect_uri": redirect_uri}
    )
    assert approved.status_code == 302
    assert approved["Location"].startswith(redirect_uri + "?code=")


def test_cors_for_any_origin_on_api_and_oauth_endpoints(client):
    origin = "http://127.0.0.1:5173"
    for path in ("/api/profile/", "/.well-known/oauth-protected-resource", "/o/token/"):
        preflight = client.options(
            path,
            HTTP_ORIGIN=origin,
            HTTP_ACCESS_CONTROL_REQUEST_METHOD="POST",
            HTTP_ACCESS_CONTROL_REQUEST_HEADERS="authorization, mcp-protocol-version",
        )
        assert preflight.status_code == 200, path
        assert preflight["Access-Control-Allow-Origin"] == "*"
    refusal = client.get("/api/profile/", HTTP_ORIGIN=origin)
    assert refusal.status_code == 401
    assert refusal["Access-Control-Expose-Headers"].lower() == "www-authenticate"
