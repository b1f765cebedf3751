"""CORS for browser-based clients (django-cors-headers, demo settings): the discovery documents
are public, preflights are never refused, refusals expose WWW-Authenticate."""

from __future__ import annotations

import pytest
from django.test import override_settings

from authstatus.core.challenges import parse_challenges
from tests.factories import VaultItemFactory
from tests.http import bearer_auth

pytestmark = pytest.mark.django_db

ORIGIN = "http://127.0.0.1:5173"


def header_list(response, name: str) -> list[str]:
    """A comma-separated header (RFC 9110 §5.6.1) as lower-case names."""
    return [v.strip().lower() for v in response.get(name, "").split(",") if v.strip()]


def preflight(client, path: str, method: str = "GET", headers: str = "authorization"):
    return client.options(
        path,
        HTTP_ORIGIN=ORIGIN,
        HTTP_ACCESS_CONTROL_REQUEST_METHOD=method,
        HTTP_ACCESS_CONTROL_REQUEST_HEADERS=headers,
    )


@pytest.mark.parametrize(
    "path",
    [
        "/.well-known/oauth-protected-resource",
        "/.well-known/oauth-protected-resource/api/notes/",
        "/.well-known/oauth-authorization-server/o",
        "/o/.well-known/oauth-authorization-server",
    ],
)
def test_discovery_documents_are_public(client, path):
    response = client.get(path, HTTP_ORIGIN=ORIGIN)
    assert response.status_code == 200
    assert response["Access-Control-Allow-Origin"] == "*"
    assert "Access-Control-Allow-Credentials" not in response


@pytest.mark.parametrize(
    ("path", "authorization"),
    [
        ("/api/profile/", None),
        ("/api/notes/", "Bearer no-such-token"),
    ],
)
def test_a_refusal_exposes_its_challenges(client, path, authorization):
    extra = {} if authorization is None else {"HTTP_AUTHORIZATION": authorization}
    response = client.get(path, HTTP_ORIGIN=ORIGIN, **extra)
    assert response.status_code == 401
    assert response["Access-Control-Allow-Origin"] == "*"
    assert "www-authenticate" in header_list(response, "Access-Control-Expose-Headers")
    assert parse_challenges(response["WWW-Authenticate"])[0].scheme == "Bearer"


def test_insufficient_scope_exposes_its_challenge(client, read_token):
    response = client.post(
        "/api/notes/",
        {"text": "x"},
        HTTP_ORIGIN=ORIGIN,
        HTTP_AUTHORIZATION=bearer_auth(read_token.token),
    )
    assert response.status_code == 403
    assert "www-authenticate" in header_list(response, "Access-Control-Expose-Headers")
    assert parse_challenges(response["WWW-Authenticate"])[0].param("scope") == "write"


@pytest.mark.parametrize(
    ("path", "method"),
    [
        ("/api/profile/", "GET"),
        ("/api/notes/", "POST"),
        ("/api/closed/", "GET"),
        ("/o/token/", "POST"),
        ("/o/register/", "POST"),
        ("/.well-known/oauth-protected-resource", "GET"),
    ],
)
def test_preflight_of_the_demo_endpoints(client, path, method):
    response = preflight(client, path, method, "authorization, mcp-protocol-version, content-type")
    assert response.status_code == 200
    assert response["Access-Control-Allow-Origin"] == "*"
    allowed = header_list(response, "Access-Control-Allow-Headers")
    assert {"authorization", "mcp-protocol-version", "content-type"} <= set(allowed)
    assert method in response["Access-Control-Allow-Methods"]
    assert "WWW-Authenticate" not in response


def test_the_admin_and_login_pages_are_not_cross_origin(client):
    response = client.get("/accounts/login/", HTTP_ORIGIN=ORIGIN)
    assert "Access-Control-Allow-Origin" not in response


# Without django-cors-headers answering (a URL outside CORS_URLS_REGEX), authstatus itself
# never refuses a preflight: it carries no credentials, so a 401 or 403 would only stop the
# browser from sending the real request.
NO_CORS = override_settings(CORS_URLS_REGEX=r"^/no-cors-here/")


@pytest.mark.parametrize(
    "path",
    [
        "/api/profile/",
        "/api/notes/",
        "/api/closed/",
        "/api/staff/",
        "/t/plain/",
        "/t/plain/nobody/",
    ],
)
def test_a_preflight_is_never_refused(client, path):
    with NO_CORS:
        response = preflight(client, path, "POST")
    assert response.status_code not in (401, 403), response.content
    assert response.status_code < 400
    assert "WWW-Authenticate" not in response


@pytest.mark.parametrize("path", ["/api/profile/", "/t/plain/"])
def test_options_without_cors_headers_is_still_enforced(client, path):
    """Only a real preflight (Origin and Access-Control-Request-Method) is exempt."""
    with NO_CORS:
        assert client.options(path).status_code == 401
        assert client.options(path, HTTP_ORIGIN=ORIGIN).status_code == 401


def test_a_preflight_to_a_concealed_resource_looks_like_one_to_a_missing_url(client, alice):
    item = VaultItemFactory(owner=alice)
    with NO_CORS:
        existing = preflight(client, f"/api/vault/{item.pk}/")
        missing = preflight(client, f"/api/vault/{item.pk + 1000}/")
    assert existing.status_code == missing.status_code == 404
    assert existing.content == missing.content
