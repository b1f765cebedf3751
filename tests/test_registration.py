"""Dynamic client registration (RFC 7591) through DOT's view, with authstatus's permission,
and the RFC 8414 metadata that advertises it (demo settings, black box)."""

from __future__ import annotations

import json

import pytest
from django.conf import settings
from django.test import override_settings
from hypothesis import given
from hypothesis import strategies as st
from oauth2_provider.models import AccessToken, Application

from authstatus.contrib.oauth2_provider.registration import redirect_uri_problem
from tests.factories import UserFactory
from tests.http import bearer_auth

pytestmark = pytest.mark.django_db

REGISTER = "/o/register/"
SERVER_METADATA = "/.well-known/oauth-authorization-server/o"
LOOPBACK = ["http://127.0.0.1:33418/callback"]


def register(client, metadata, **extra):
    body = metadata if isinstance(metadata, str | bytes) else json.dumps(metadata)
    return client.post(REGISTER, body, content_type="application/json", **extra)


def rfc7591_error(response, error: str) -> str:
    """``response`` is an RFC 7591 §3.2.2 error: 400, JSON ``error``; returns the description."""
    assert response.status_code == 400, response.content
    assert response["Content-Type"] == "application/json"
    body = json.loads(response.content)
    assert body["error"] == error, body
    assert set(body) == {"error", "error_description"}
    return str(body["error_description"])


# --- RFC 8414 metadata at the root, path-inserted -------------------------------------------


def test_authorization_server_metadata_at_the_path_inserted_root(client):
    response = client.get(SERVER_METADATA)
    assert response.status_code == 200
    metadata = json.loads(response.content)
    assert metadata["issuer"] == "http://testserver/o"
    assert metadata["registration_endpoint"] == "http://testserver/o/register/"
    assert metadata["code_challenge_methods_supported"] == ["S256"]
    assert response["Access-Control-Allow-Origin"] == "*"
    assert response["Cache-Control"] == "public, max-age=3600"
    # the same document DOT serves under its prefix
    assert metadata == json.loads(client.get("/o/.well-known/oauth-authorization-server").content)


@pytest.mark.parametrize("suffix", ["/p", "/o/extra", "/api"])
def test_no_document_for_an_issuer_that_does_not_exist(client, suffix):
    """RFC 8414 §3.3: the issuer must be the URL the client built the well-known URL from;
    DOT would publish one for any path, so every other path is a 404."""
    assert client.get("/.well-known/oauth-authorization-server" + suffix).status_code == 404


@pytest.mark.parametrize("issuer", ["http://testserver/t1", "https://auth.example/t1"])
def test_with_an_issuer_endpoint_setting_only_its_path_is_served(client, issuer):
    """Compared by path: behind a TLS-terminating proxy the request may arrive as http."""
    with override_settings(
        OAUTH2_PROVIDER={**settings.OAUTH2_PROVIDER, "OIDC_ISS_ENDPOINT": issuer}
    ):
        response = client.get("/.well-known/oauth-authorization-server/t1")
        assert response.status_code == 200
        assert json.loads(response.content)["issuer"] == issuer
        assert client.get(SERVER_METADATA).status_code == 404


def test_registration_is_not_advertised_when_off(client):
    with override_settings(OAUTH2_PROVIDER={**settings.OAUTH2_PROVIDER, "DCR_ENABLED": False}):
        metadata = json.loads(client.get(SERVER_METADATA).content)
        assert "registration_endpoint" not in metadata
        assert register(client, {"redirect_uris": LOOPBACK}).status_code == 404


# --- anonymous registration ----------------------------------------------------------------


@pytest.mark.parametrize(
    "uris",
    [
        LOOPBACK,
        ["http://127.0.0.1/cb"],  # RFC 8252 §7.3: the port may be left to request time
        ["http://[::1]:8080/"],
        ["https://app.example/cb", "http://127.0.0.1:9000/cb"],
    ],
)
def test_anonymous_registration_of_a_loopback_or_https_client(client, uris):
    response = register(
        client,
        {
            "redirect_uris": uris,
            "client_name": "MCP client",
            "grant_types": ["authorization_code", "refresh_token"],
            "token_endpoint_auth_method": "none",
        },
    )
    assert response.status_code == 201, response.content
    assert response["Cache-Control"] == "no-store"
    body = json.loads(response.content)
    app = Application.objects.get(client_id=body["client_id"])
    assert app.user is None
    assert app.client_type == Application.CLIENT_PUBLIC
    assert app.authorization_grant_type == Application.GRANT_AUTHORIZATION_CODE
    assert body["redirect_uris"] == uris
    assert body["token_endpoint_auth_method"] == "none"
    assert body["client_id_issued_at"] == int(app.created.timestamp())
    assert "client_secret" not in body
    assert "client_secret_expires_at" not in body


def test_confidential_registration_gets_client_secret_expires_at(client):
    """RFC 7591 §3.2.1: client_secret_expires_at is REQUIRED with a secret; DOT leaves it out."""
    response = register(client, {"redirect_uris": LOOPBACK})
    assert response.status_code == 201, response.content
    body = json.loads(response.content)
    assert body["client_secret"]
    assert body["client_secret_expires_at"] == 0
    assert body["token_endpoint_auth_method"] == "client_secret_basic"


@pytest.mark.parametrize(
    ("uri", "says"),
    [
        ("http://app.example/cb", "neither https nor a loopback"),
        ("http://localhost:8080/cb", "instead of localhost"),
        ("http://10.0.0.1:8080/cb", "neither https nor a loopback"),
        ("com.example.app:/oauth2redirect", "custom URI schemes"),
        ("https://app.example/cb#frag", "fragment"),
        ("https://user:pw@app.example/cb", "user information"),
        ("http://127.0.0.1:notaport/cb", "not a valid URI"),
        ("", "non-empty string"),
    ],
)
def test_anonymous_registration_refuses_other_redirect_uris(client, uri, says):
    response = register(client, {"redirect_uris": [*LOOPBACK, uri]})
    assert says in rfc7591_error(response, "invalid_redirect_uri")
    assert not Application.objects.exists()


@pytest.mark.parametrize("metadata", [{}, {"redirect_uris": []}, {"redirect_uris": "x"}])
def test_anonymous_registration_needs_redirect_uris(client, metadata):
    rfc7591_error(register(client, metadata), "invalid_redirect_uri")


@pytest.mark.parametrize(
    "grant_types",
    [["client_credentials"], ["password"], ["implicit"], ["refresh_token"], "authorization_code"],
)
def test_anonymous_registration_is_for_the_authorization_code_grant_only(client, grant_types):
    """A client credentials client registered by anyone would hand anyone a token."""
    response = register(client, {"redirect_uris": LOOPBACK, "grant_types": grant_types})
    rfc7591_error(response, "invalid_client_metadata")
    assert not Application.objects.exists()


@pytest.mark.parametrize("body", ["not json", "[1, 2]", b"\xff\xfe", "null"])
def test_anonymous_registration_with_a_bad_body(client, body):
    rfc7591_error(register(client, body), "invalid_client_metadata")


def test_a_logged_in_user_may_register_anything_dot_accepts(client):
    """Authenticated registration is DOT's IsAuthenticatedDCRPermission, CSRF included."""
    from django.test import Client

    user = UserFactory(username="dev")
    csrf_client = Client(enforce_csrf_checks=True)
    csrf_client.force_login(user)
    metadata = {"redirect_uris": ["http://app.example/cb"], "grant_types": ["client_credentials"]}
    # a session without the CSRF token is still refused — as anonymous, with the reason
    rfc7591_error(register(csrf_client, metadata), "invalid_client_metadata")
    client.force_login(user)
    response = register(client, metadata)
    assert response.status_code == 201, response.content
    assert Application.objects.get().user == user


def test_the_registration_access_token_is_no_access_token_for_the_api(client):
    """DOT stores the RFC 7592 registration access token as an AccessToken (no user, scope
    DCR_REGISTRATION_SCOPE, no expiry): it must not authenticate API requests."""
    body = json.loads(register(client, {"redirect_uris": LOOPBACK}).content)
    token = body["registration_access_token"]
    assert AccessToken.objects.filter(scope="oauth2_provider:registration").count() == 1
    response = client.get("/api/profile/", HTTP_AUTHORIZATION=bearer_auth(token))
    assert response.status_code == 401
    assert json.loads(response.content)["detail"] == (
        "A registration access token is not an access token for this resource."
    )
    # and it still manages the registration (RFC 7592)
    management = client.get(body["registration_client_uri"], HTTP_AUTHORIZATION=f"Bearer {token}")
    assert management.status_code == 200


def test_dot_own_view_with_the_permission_refuses_without_the_reason(client):
    """With DOT's URLs (not provider_urls) the permission still holds; DOT says 401."""
    with override_settings(ROOT_URLCONF="tests.urls_no_metadata"):
        response = register(client, {"redirect_uris": ["http://app.example/cb"]})
        assert response.status_code == 401
        assert json.loads(response.content)["error"] == "access_denied"
        assert register(client, {"redirect_uris": LOOPBACK}).status_code == 201


@given(
    st.sampled_from(["http", "https", "ftp", "com.example"]),
    st.sampled_from(["127.0.0.1", "127.1.2.3", "[::1]", "localhost", "app.example", "[::2]"]),
    st.one_of(st.none(), st.integers(1, 65535)),
    st.text(alphabet="abc/?=&", max_size=10),
)
def test_redirect_uri_rule(scheme, host, port, rest):
    uri = f"{scheme}://{host}{'' if port is None else f':{port}'}/{rest}"
    loopback = host in ("127.0.0.1", "127.1.2.3", "[::1]")
    allowed = scheme == "https" or (scheme == "http" and loopback)
    assert (redirect_uri_problem(uri) is None) is allowed, uri


# --- RFC 7592 updates ----------------------------------------------------------------------


def _registered(client, **metadata):
    response = register(client, {"redirect_uris": LOOPBACK, **metadata})
    assert response.status_code == 201, response.content
    body = json.loads(response.content)
    return body, {"HTTP_AUTHORIZATION": f"Bearer {body['registration_access_token']}"}


def _update(client, body, auth, metadata):
    return client.put(
        body["registration_client_uri"],
        json.dumps(metadata),
        content_type="application/json",
        **auth,
    )


@pytest.mark.parametrize(
    ("metadata", "error"),
    [
        (
            {"redirect_uris": LOOPBACK, "grant_types": ["client_credentials"]},
            "invalid_client_metadata",
        ),
        ({"redirect_uris": ["http://app.example/cb"]}, "invalid_redirect_uri"),
    ],
)
def test_an_anonymous_client_cannot_be_updated_out_of_the_rules(client, metadata, error):
    """DOT's RFC 7592 update asks no permission: the registration access token would turn a
    loopback client into a client credentials client, i.e. a token for anyone."""
    body, auth = _registered(client)
    rfc7591_error(_update(client, body, auth, metadata), error)
    app = Application.objects.get(client_id=body["client_id"])
    assert app.authorization_grant_type == Application.GRANT_AUTHORIZATION_CODE
    assert app.redirect_uris == LOOPBACK[0]


def test_an_anonymous_client_may_be_updated_within_the_rules(client):
    body, auth = _registered(client)
    response = _update(client, body, auth, {"redirect_uris": ["http://[::1]:9000/cb"]})
    assert response.status_code == 200, response.content
    assert Application.objects.get(client_id=body["client_id"]).redirect_uris == (
        "http://[::1]:9000/cb"
    )


def test_an_update_without_the_token_is_dots_401(client):
    body, _ = _registered(client)
    response = _update(client, body, {"HTTP_AUTHORIZATION": "Bearer nope"}, {"redirect_uris": []})
    assert response.status_code == 401
    assert json.loads(response.content)["error"] == "invalid_token"


def test_a_client_registered_by_a_user_is_updated_as_dot_decides(client):
    client.force_login(UserFactory(username="dev"))
    body, auth = _registered(client)
    client.logout()
    metadata = {"redirect_uris": ["http://app.example/cb"], "grant_types": ["authorization_code"]}
    assert _update(client, body, auth, metadata).status_code == 200
