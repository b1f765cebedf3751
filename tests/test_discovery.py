"""OAuth 2.0 discovery: the RFC 9728 metadata document, ``resource_metadata`` on every Bearer
challenge, and the opt-in ``OAuth2`` flow challenge (demo settings, black box)."""

from __future__ import annotations

import json
from urllib.parse import urlsplit

import pytest
from django.conf import settings
from django.test import override_settings

from authstatus.core.challenges import parse_challenges
from tests.factories import AccessTokenFactory, UserFactory, VaultItemFactory
from tests.http import (
    AUTHORIZATION_ENDPOINT,
    BASIC,
    BEARER,
    COOKIE,
    EXPIRED_TOKEN,
    INVALID_TOKEN,
    RESOURCE_METADATA,
    TOKEN_ENDPOINT,
    assert_refusal,
    basic_auth,
    bearer,
    bearer_auth,
    challenges,
    oauth2,
    vary,
)

pytestmark = pytest.mark.django_db

WELL_KNOWN = "/.well-known/oauth-protected-resource"
DOCUMENT = {
    "resource": "http://testserver",
    "authorization_servers": ["http://testserver/o"],
    "scopes_supported": ["read", "write"],
    "bearer_methods_supported": ["header"],
    "resource_name": "authstatus demo notes API",
}
CODE = "authorization_code"
REFRESH = "refresh_token authorization_code"


def _authstatus(**changes) -> override_settings:
    return override_settings(AUTHSTATUS={**settings.AUTHSTATUS, **changes})


def _oauth2_provider(**changes) -> override_settings:
    return override_settings(OAUTH2_PROVIDER={**settings.OAUTH2_PROVIDER, **changes})


@pytest.fixture
def flows_on():
    with _authstatus(OAUTH2_CHALLENGE=True):
        yield


def document(response) -> dict:
    assert response.status_code == 200, response.content
    assert response["Content-Type"] == "application/json"
    return json.loads(response.content)


def path_of(url: str) -> str:
    return urlsplit(url).path


# --- the metadata document ------------------------------------------------------------


def test_metadata_document(client):
    response = client.get(WELL_KNOWN)
    assert document(response) == DOCUMENT
    assert response["Cache-Control"] == "public, max-age=3600"
    assert response["Access-Control-Allow-Origin"] == "*"
    assert "WWW-Authenticate" not in response
    assert "authorization" not in vary(response)


def test_head_is_answered_like_get(client):
    response = client.head(WELL_KNOWN)
    assert response.status_code == 200
    assert response["Cache-Control"] == "public, max-age=3600"


class NoScopes:
    """A DOT scopes backend with no scope at all."""

    def get_all_scopes(self):
        return {}

    def get_available_scopes(self, application=None, request=None, *args, **kwargs):
        return []

    def get_default_scopes(self, application=None, request=None, *args, **kwargs):
        return []


def test_no_member_is_null_or_empty(client):
    """RFC 9728 §3.2: parameters with zero elements are omitted, and none is null."""
    with _oauth2_provider(
        SCOPES_BACKEND_CLASS="tests.test_discovery.NoScopes", OAUTH2_PROTECTED_RESOURCE_NAME=""
    ):
        body = document(client.get(WELL_KNOWN))
    assert "scopes_supported" not in body
    assert "resource_name" not in body
    assert all(value not in (None, [], "") for value in body.values()), body


@pytest.mark.parametrize(
    ("suffix", "resource"),
    [
        ("/api/notes/", "http://testserver/api/notes/"),
        ("/tenant1", "http://testserver/tenant1"),
        ("/a/b", "http://testserver/a/b"),
    ],
)
def test_path_inserted_form_maps_back_to_its_resource(client, suffix, resource):
    """RFC 9728 §3.1: /.well-known/oauth-protected-resource/<path> describes host/<path>,
    exactly (§3.3 compares the two), trailing slash included."""
    assert document(client.get(WELL_KNOWN + suffix)) == {**DOCUMENT, "resource": resource}


def test_bearer_methods_are_authstatus_bearer_methods(client):
    with _authstatus(BEARER_METHODS=["body", "header"]):
        body = document(client.get(WELL_KNOWN))
    assert body["bearer_methods_supported"] == ["header", "body"]


def test_scopes_come_from_dot_scopes_backend(client):
    with _oauth2_provider(SCOPES={"read": "r", "write": "w", "admin": "a"}):
        body = document(client.get(WELL_KNOWN))
    assert body["scopes_supported"] == ["admin", "read", "write"]


def test_dot_resource_settings_are_kept(client):
    with _oauth2_provider(
        OAUTH2_PROTECTED_RESOURCE_IDENTIFIER="https://api.example",
        OAUTH2_PROTECTED_RESOURCE_AUTHORIZATION_SERVERS=["https://as.example"],
        OAUTH2_PROTECTED_RESOURCE_DOCUMENTATION="https://docs.example/api",
    ):
        body = document(client.get(WELL_KNOWN))
    assert body["resource"] == "https://api.example"
    assert body["authorization_servers"] == ["https://as.example"]
    assert body["resource_documentation"] == "https://docs.example/api"


def test_document_names_the_host_the_client_used(client):
    body = document(client.get(WELL_KNOWN, HTTP_HOST="localhost"))
    assert body["resource"] == "http://localhost"
    assert body["authorization_servers"] == ["http://localhost/o"]


@pytest.mark.parametrize(
    "authorization",
    [
        None,
        "Bearer",
        "Bearer two tokens",
        "Bearer !!!",
        "Bearer no-such-token",
        "EXPIRED",
        "VALID",
        "Basic not-base64",
        "WRONG_PASSWORD",
        "Negotiate abc",
    ],
)
@pytest.mark.parametrize("flows", [False, True])
@pytest.mark.parametrize("suffix", ["", "/api/notes/"])
def test_reachable_with_any_authorization_header(client, alice, authorization, flows, suffix):
    """Never 400 or 401 at the metadata document: a client reads it right after a refusal,
    usually still holding the token that was refused."""
    if authorization == "EXPIRED":
        authorization = bearer_auth(AccessTokenFactory(user=alice, expired=True).token)
    elif authorization == "VALID":
        authorization = bearer_auth(AccessTokenFactory(user=alice).token)
    elif authorization == "WRONG_PASSWORD":
        authorization = basic_auth("alice", "wrong")
    extra = {} if authorization is None else {"HTTP_AUTHORIZATION": authorization}
    with _authstatus(
        OAUTH2_CHALLENGE=flows,
        MIDDLEWARE_AUTHENTICATORS=[
            "authstatus.enforcement.authenticators.SessionAuthenticator",
            "authstatus.contrib.oauth2_provider.BearerAuthenticator",
            "authstatus.enforcement.authenticators.BasicAuthenticator",
        ],
    ):
        response = client.get(WELL_KNOWN + suffix, **extra)
    assert response.status_code == 200
    assert document(response)["bearer_methods_supported"] == ["header"]
    assert "WWW-Authenticate" not in response


def test_reachable_even_when_the_namespace_is_not_exempt(client):
    with _authstatus(
        EXEMPT_NAMESPACES=[],
        MIDDLEWARE_AUTHENTICATORS=["authstatus.contrib.oauth2_provider.BearerAuthenticator"],
    ):
        response = client.get(WELL_KNOWN, HTTP_AUTHORIZATION="Bearer no-such-token")
    assert response.status_code == 200


def test_authorization_servers_are_discoverable_by_rfc8414(client):
    """Each authorization server's metadata is where RFC 8414 §3.1 says (the well-known
    suffix inserted between host and path) and names it as its issuer (§3.3)."""
    for issuer in document(client.get(WELL_KNOWN))["authorization_servers"]:
        parts = urlsplit(issuer)
        response = client.get("/.well-known/oauth-authorization-server" + parts.path)
        assert response.status_code == 200, issuer
        metadata = json.loads(response.content)
        assert metadata["issuer"] == issuer
        assert metadata["authorization_endpoint"] == AUTHORIZATION_ENDPOINT
        assert metadata["token_endpoint"] == TOKEN_ENDPOINT
        assert "password" in metadata["grant_types_supported"]


# --- resource_metadata on every Bearer challenge -------------------------------------------


def _every_bearer_refusal(client, token, read_token, expired_token):
    return {
        "401 anonymous": client.get("/api/profile/"),
        "401 scoped": client.get("/api/notes/"),
        "401 invalid": client.get("/api/profile/", HTTP_AUTHORIZATION="Bearer nope"),
        "401 expired": client.get(
            "/api/public/", HTTP_AUTHORIZATION=bearer_auth(expired_token.token)
        ),
        "401 wrong password": client.get(
            "/api/profile/", HTTP_AUTHORIZATION=basic_auth("alice", "wrong")
        ),
        "400": client.get("/api/profile/", HTTP_AUTHORIZATION="Bearer"),
        "403 insufficient scope": client.post(
            "/api/notes/", {"text": "x"}, HTTP_AUTHORIZATION=bearer_auth(read_token.token)
        ),
    }


def test_every_bearer_challenge_points_at_the_metadata(client, token, read_token, expired_token):
    for case, response in _every_bearer_refusal(client, token, read_token, expired_token).items():
        (challenge,) = [c for c in challenges(response) if c.scheme == "Bearer"]
        assert challenge.param("resource_metadata") == RESOURCE_METADATA, case
        assert challenge.params[-1][0] == "resource_metadata", case
    # ... and the URL serves the document.
    assert document(client.get(path_of(RESOURCE_METADATA))) == DOCUMENT


def test_challenges_with_metadata_exactly(client, read_token, expired_token):
    assert_refusal(
        client.get("/api/profile/", HTTP_AUTHORIZATION=bearer_auth(expired_token.token)),
        401,
        "invalid-credentials",
        "refresh_token",
        challenge=(
            bearer(("error", "invalid_token"), ("error_description", EXPIRED_TOKEN)),
            COOKIE,
            BASIC,
        ),
        detail=EXPIRED_TOKEN,
    )
    response = client.post(
        "/api/notes/", {"text": "x"}, HTTP_AUTHORIZATION=bearer_auth(read_token.token)
    )
    assert response["WWW-Authenticate"] == (
        'Bearer realm="api", scope="write", error="insufficient_scope", '
        f'resource_metadata="{RESOURCE_METADATA}"'
    )


def test_metadata_url_names_the_host_the_client_used(client):
    response = client.get("/api/profile/", HTTP_HOST="localhost")
    assert challenges(response)[0] == bearer(
        resource_metadata="http://localhost/.well-known/oauth-protected-resource"
    )


def test_plain_views_with_the_bearer_authenticator_point_at_it_too(client):
    with _authstatus(
        MIDDLEWARE_AUTHENTICATORS=[
            "authstatus.enforcement.authenticators.SessionAuthenticator",
            "authstatus.contrib.oauth2_provider.BearerAuthenticator",
        ]
    ):
        response = client.get("/t/plain/", HTTP_AUTHORIZATION="Bearer nope")
    assert challenges(response) == (
        COOKIE,
        bearer(("error", "invalid_token"), ("error_description", INVALID_TOKEN)),
    )


@override_settings(ROOT_URLCONF="tests.urls_no_metadata")
def test_without_authstatus_urls_dot_own_document_is_named(client):
    """Fallback: DOT's oauth2_settings.oauth2_resource_metadata_url (under DOT's prefix)."""
    response = client.get("/api/profile/")
    assert challenges(response)[0] == bearer(
        resource_metadata="http://testserver/o/.well-known/oauth-protected-resource"
    )


@override_settings(ROOT_URLCONF="tests.urls_bare")
def test_without_any_metadata_route_the_parameter_is_left_out(client):
    response = client.get("/api/profile/")
    assert challenges(response) == (bearer(resource_metadata=None), COOKIE, BASIC)


# --- the OAuth2 flow challenge (opt-in) -------------------------------------------------------


def test_flow_challenge_is_off_by_default(client, expired_token):
    for response in (
        client.get("/api/profile/"),
        client.get("/api/profile/", HTTP_AUTHORIZATION=bearer_auth(expired_token.token)),
    ):
        assert "OAuth2" not in [c.scheme for c in challenges(response)]


def test_no_token_authorization_code(client, flows_on):
    assert_refusal(
        client.get("/api/profile/"),
        401,
        "authentication-required",
        "authenticate",
        challenge=(BEARER, oauth2(CODE), COOKIE, BASIC),
    )


def test_no_token_on_a_scoped_route_names_the_scope(client, flows_on):
    response = client.get("/api/notes/")
    assert challenges(response) == (
        bearer(("scope", "read")),
        oauth2(CODE, scope="read"),
        COOKIE,
        BASIC,
    )


def test_expired_token_refresh_first(client, flows_on, expired_token):
    assert_refusal(
        client.get("/api/profile/", HTTP_AUTHORIZATION=bearer_auth(expired_token.token)),
        401,
        "invalid-credentials",
        "refresh_token",
        challenge=(
            bearer(("error", "invalid_token"), ("error_description", EXPIRED_TOKEN)),
            oauth2(REFRESH),
            COOKIE,
            BASIC,
        ),
        detail=EXPIRED_TOKEN,
    )


@pytest.fixture
def client_token():
    """An application's own token (client credentials grant, RFC 6749 §4.4): no user."""
    from oauth2_provider.models import Application

    from tests.factories import ApplicationFactory

    app = ApplicationFactory(authorization_grant_type=Application.GRANT_CLIENT_CREDENTIALS)
    return AccessTokenFactory(user=None, application=app, scope="read")


@pytest.mark.parametrize("flows", [True, False], ids=["OAuth2-challenge", "Bearer-only"])
def test_expired_client_credentials_token_is_not_told_to_refresh(client, client_token, flows):
    """RFC 6749 §4.4.3 issues no refresh token for the client credentials grant, and there is
    no user to ask: the client requests a new token with its own credentials."""
    from django.utils import timezone

    client_token.expires = timezone.now()
    client_token.save()
    bearer_challenge = bearer(("error", "invalid_token"), ("error_description", EXPIRED_TOKEN))
    with _authstatus(OAUTH2_CHALLENGE=flows):
        response = client.get("/api/profile/", HTTP_AUTHORIZATION=bearer_auth(client_token.token))
    assert_refusal(
        response,
        401,
        "invalid-credentials",
        "client_credentials",
        challenge=(bearer_challenge, oauth2("client_credentials"), COOKIE, BASIC)
        if flows
        else (bearer_challenge, COOKIE, BASIC),
        detail=EXPIRED_TOKEN,
    )


def test_client_credentials_token_lacking_scope_runs_that_grant_again(
    client, flows_on, client_token
):
    response = client.post(
        "/api/notes/", {"text": "x"}, HTTP_AUTHORIZATION=bearer_auth(client_token.token)
    )
    assert response.status_code == 403
    assert challenges(response) == (
        bearer(("scope", "write"), ("error", "insufficient_scope")),
        oauth2("client_credentials", scope="write"),
    )


def test_invalid_token_authorization_code(client, flows_on):
    response = client.get("/api/public/", HTTP_AUTHORIZATION="Bearer no-such-token")
    assert challenges(response) == (
        bearer(("error", "invalid_token"), ("error_description", INVALID_TOKEN)),
        oauth2(CODE),
        COOKIE,
        BASIC,
    )


def test_insufficient_scope_authorization_code_with_the_scope(client, flows_on, read_token):
    assert_refusal(
        client.post("/api/notes/", {"text": "x"}, HTTP_AUTHORIZATION=bearer_auth(read_token.token)),
        403,
        "insufficient-scope",
        "request_scope",
        challenge=(
            bearer(("scope", "write"), ("error", "insufficient_scope")),
            oauth2(CODE, scope="write"),
        ),
        required_scopes=["write"],
    )


def test_exact_header_text(client, flows_on, expired_token):
    response = client.get("/api/profile/", HTTP_AUTHORIZATION=bearer_auth(expired_token.token))
    assert response["WWW-Authenticate"] == (
        'Bearer realm="api", error="invalid_token", error_description="The access token '
        f'expired.", resource_metadata="{RESOURCE_METADATA}", '
        'OAuth2 realm="api", flows="refresh_token authorization_code", '
        f'authorization_endpoint="{AUTHORIZATION_ENDPOINT}", token_endpoint="{TOKEN_ENDPOINT}", '
        'Cookie realm="api", form-action="/accounts/login/", cookie-name="sessionid", '
        'Basic realm="api", charset="UTF-8"'
    )


def test_never_on_400(client, flows_on):
    response = client.get("/api/profile/", HTTP_AUTHORIZATION="Bearer")
    assert response.status_code == 400
    assert [c.scheme for c in challenges(response)] == ["Bearer"]


def test_never_on_a_concealed_404(client, flows_on, bob, expired_token):
    item = VaultItemFactory(owner=bob)
    for extra in ({}, {"HTTP_AUTHORIZATION": bearer_auth(expired_token.token)}):
        response = client.get(f"/api/vault/{item.pk}/", **extra)
        assert response.status_code == 404
        assert "WWW-Authenticate" not in response


def test_never_without_bearer(client, flows_on):
    response = client.get("/t/drf/session-only/")
    assert challenges(response) == (COOKIE,)
    response = client.get("/t/plain/")  # the middleware's default: the session only
    assert challenges(response) == (COOKIE,)


def test_never_on_403_that_no_token_fixes(client, flows_on, token):
    response = client.get("/api/staff/", HTTP_AUTHORIZATION=bearer_auth(token.token))
    assert response.status_code == 403
    assert "WWW-Authenticate" not in response
    response = client.get("/api/closed/")
    assert response.status_code == 403
    assert "WWW-Authenticate" not in response


def test_comes_right_after_bearer_in_any_authenticator_order(client, flows_on):
    schemes = [c.scheme for c in challenges(client.get("/t/drf/session-first/"))]
    assert schemes == ["Cookie", "Basic", "Bearer", "OAuth2"]


def test_plain_views_with_the_bearer_authenticator(client, flows_on, expired_token):
    with _authstatus(
        OAUTH2_CHALLENGE=True,
        MIDDLEWARE_AUTHENTICATORS=[
            "authstatus.enforcement.authenticators.SessionAuthenticator",
            "authstatus.contrib.oauth2_provider.BearerAuthenticator",
        ],
    ):
        response = client.get("/t/plain/", HTTP_AUTHORIZATION=bearer_auth(expired_token.token))
    assert challenges(response) == (
        COOKIE,
        bearer(("error", "invalid_token"), ("error_description", EXPIRED_TOKEN)),
        oauth2(REFRESH),
    )


def test_endpoints_are_those_of_dot_rfc8414_document(client, flows_on):
    flow = challenges(client.get("/api/profile/"))[1]
    metadata = json.loads(client.get("/o/.well-known/oauth-authorization-server").content)
    assert flow.param("authorization_endpoint") == metadata["authorization_endpoint"]
    assert flow.param("token_endpoint") == metadata["token_endpoint"]


@override_settings(ROOT_URLCONF="tests.urls_no_oauth")
def test_without_dot_urls_there_is_no_flow_to_point_at(client, flows_on):
    response = client.get("/api/profile/")
    assert challenges(response) == (BEARER, COOKIE, BASIC)


def test_explain_shows_the_flow_challenge(flows_on):
    from authstatus.explain import explain

    explanation = explain("GET", "/api/profile/", host="testserver")
    header = dict(explanation.headers)["WWW-Authenticate"]
    assert parse_challenges(header)[1] == oauth2(CODE)


def test_session_user_gets_no_flow_challenge_on_success(client, flows_on):
    client.force_login(UserFactory(username="carol"))
    assert client.get("/api/profile/").status_code == 200


def test_metadata_url_follows_the_script_prefix(client):
    """Reversed under the script prefix in force (and not cached across prefixes). The test
    client does not set the prefix from SCRIPT_NAME as the WSGI handler does; set it here."""
    from django.urls import set_script_prefix

    try:
        set_script_prefix("/mount/")
        prefixed = client.get("/api/profile/", SCRIPT_NAME="/mount")
    finally:
        set_script_prefix("/")
    plain = client.get("/api/profile/")
    assert challenges(prefixed)[0].param("resource_metadata") == (
        "http://testserver/mount/.well-known/oauth-protected-resource"
    )
    assert challenges(plain)[0].param("resource_metadata") == RESOURCE_METADATA


# --- under a script prefix, through Django's real WSGI handler ---------------------------------


@pytest.fixture
def wsgi():
    """A werkzeug test client over Django's WSGIHandler, which sets the script prefix from
    SCRIPT_NAME (or FORCE_SCRIPT_NAME) as a deployment under a sub-path does."""
    from django.core.handlers.wsgi import WSGIHandler
    from django.urls import set_script_prefix
    from werkzeug.test import Client

    yield Client(WSGIHandler())
    set_script_prefix("/")


MOUNTED = "http://localhost/mount"


@pytest.mark.parametrize("how", ["SCRIPT_NAME", "FORCE_SCRIPT_NAME"])
def test_metadata_under_a_script_prefix(wsgi, how):
    """RFC 9728 §3.1 / §5.1 under a sub-path: the resource is the prefixed URL, the challenge
    names the document under the prefix, and the document describes the prefixed resource
    and names the prefixed issuer, whose RFC 8414 document is served under the prefix too."""

    def get(path_info: str):
        if how == "SCRIPT_NAME":
            return wsgi.get(path_info, base_url=MOUNTED + "/")
        with override_settings(FORCE_SCRIPT_NAME="/mount"):
            return wsgi.get(path_info)

    refusal = get("/api/profile/")
    assert refusal.status_code == 401
    (bearer_challenge, *_) = parse_challenges(refusal.headers["WWW-Authenticate"])
    metadata_url = bearer_challenge.param("resource_metadata")
    assert metadata_url == MOUNTED + WELL_KNOWN
    document = get(path_of(metadata_url).removeprefix("/mount")).get_json()
    assert document["resource"] == MOUNTED
    assert document["authorization_servers"] == [MOUNTED + "/o"]
    inserted = get(WELL_KNOWN + "/api/notes/").get_json()
    assert inserted["resource"] == MOUNTED + "/api/notes/"
    server = get("/.well-known/oauth-authorization-server/o").get_json()
    assert server["issuer"] == MOUNTED + "/o"
    assert server["token_endpoint"] == MOUNTED + "/o/token/"
    assert server["registration_endpoint"] == MOUNTED + "/o/register/"
