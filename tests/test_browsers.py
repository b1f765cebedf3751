"""Browsers on DRF routes: refusals inside the browsable API, no Basic pop-up."""

from __future__ import annotations

import contextlib

import pytest
from django.conf import settings
from django.test import override_settings

from tests.http import BASIC, BEARER, COOKIE, challenges, media_type, vary

BROWSER_ACCEPT = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"


@contextlib.contextmanager
def _authstatus(**values):
    with override_settings(AUTHSTATUS={**settings.AUTHSTATUS, **values}):
        yield


def _schemes(response) -> list[str]:
    return [c.scheme for c in challenges(response)]


def test_anonymous_browser_401_renders_inside_the_browsable_api(client, db):
    response = client.get("/api/profile/", HTTP_ACCEPT=BROWSER_ACCEPT)
    assert response.status_code == 401
    assert media_type(response) == "text/html"
    page = response.content.decode()
    assert 'class="navbar' in page  # DRF's browsable API page, not the bare problem page
    assert '<li><a href="/accounts/login/?next=/api/profile/">Log in</a></li>' in page
    assert "<h2>Authentication required</h2>" in page
    assert "Log in, or send credentials with one of the challenged schemes." in page
    assert "authentication-required" in page  # the problem details in the response panel
    # Still a correct 401: challenges, minus Basic (no password dialog).
    assert challenges(response) == (BEARER, COOKIE)
    assert response["Cache-Control"] == "no-store"
    assert vary(response) >= {"authorization", "cookie", "accept", "sec-fetch-mode"}


def test_a_browsable_refusal_is_one_denial(client, db, denials):
    response = client.get("/api/notes/", HTTP_ACCEPT=BROWSER_ACCEPT)
    assert response.status_code == 401
    assert 'class="navbar' in response.content.decode()
    assert len(denials) == 1  # the page's forms are not decided again
    assert denials[0]["decision"].status == 401


def test_api_clients_still_get_every_challenge(client, db):
    response = client.get("/api/profile/")
    assert response.status_code == 401
    assert challenges(response) == (BEARER, COOKIE, BASIC)
    assert "sec-fetch-mode" in vary(response)


@pytest.mark.parametrize(
    ("headers", "basic"),
    [
        ({"HTTP_SEC_FETCH_MODE": "navigate"}, False),
        ({"HTTP_SEC_FETCH_MODE": "navigate", "HTTP_ACCEPT": "*/*"}, False),
        ({"HTTP_ACCEPT": "text/html"}, False),
        ({"HTTP_SEC_FETCH_MODE": "cors", "HTTP_ACCEPT": "application/json"}, True),
        ({"HTTP_ACCEPT": "*/*"}, True),
    ],
)
def test_basic_is_left_out_for_browser_navigations(client, db, headers, basic):
    response = client.get("/api/profile/", **headers)
    assert response.status_code == 401
    assert ("Basic" in _schemes(response)) is basic
    assert {"Bearer", "Cookie"} <= set(_schemes(response))


def test_hidden_schemes_are_configurable(client, db):
    with _authstatus(BROWSER_HIDDEN_SCHEMES=[]):
        response = client.get("/api/profile/", HTTP_ACCEPT=BROWSER_ACCEPT)
    assert _schemes(response) == ["Bearer", "Cookie", "Basic"]
    assert "sec-fetch-mode" not in vary(response)
    with _authstatus(BROWSER_HIDDEN_SCHEMES=["basic", "Cookie"]):
        response = client.get("/api/profile/", HTTP_SEC_FETCH_MODE="navigate")
    assert _schemes(response) == ["Bearer"]


def test_a_401_keeps_a_challenge_when_every_scheme_is_hidden(client, db):
    with _authstatus(BROWSER_HIDDEN_SCHEMES=["Bearer", "Cookie", "Basic"]):
        response = client.get("/api/profile/", HTTP_SEC_FETCH_MODE="navigate")
    assert response.status_code == 401
    assert _schemes(response) == ["Bearer", "Cookie", "Basic"]  # RFC 9110 §15.5.2


def test_invalid_basic_from_a_browser_is_not_challenged_with_basic(client, db):
    response = client.get(
        "/api/profile/", HTTP_ACCEPT=BROWSER_ACCEPT, HTTP_AUTHORIZATION="Basic eDp5"
    )
    assert response.status_code == 401
    assert _schemes(response) == ["Bearer", "Cookie"]


def test_forbidden_browser_renders_inside_the_browsable_api(client, alice):
    client.force_login(alice)
    response = client.get("/api/staff/", HTTP_ACCEPT=BROWSER_ACCEPT)
    assert response.status_code == 403
    page = response.content.decode()
    assert 'class="navbar' in page
    assert "<h2>Forbidden</h2>" in page
    assert "/accounts/login/" not in page  # logging in again would not help
    assert not response.has_header("WWW-Authenticate")


def test_closed_browser_page(client, db):
    response = client.get("/api/closed/", HTTP_ACCEPT=BROWSER_ACCEPT)
    assert response.status_code == 403
    assert "<h2>Not available</h2>" in response.content.decode()


def test_redirect_browsers_to_login_still_wins(client, db):
    with _authstatus(REDIRECT_BROWSERS_TO_LOGIN=True):
        response = client.get("/api/profile/", HTTP_ACCEPT=BROWSER_ACCEPT)
    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/?next=/api/profile/"


def test_concealed_refusal_of_a_browser_is_the_missing_page(client, alice, bob):
    from demo_project.api.models import VaultItem

    item = VaultItem.objects.create(owner=bob, name="b", secret="s")
    client.force_login(alice)
    concealed = client.get(f"/api/vault/{item.pk}/", HTTP_ACCEPT=BROWSER_ACCEPT)
    missing = client.get("/api/vault/999999/", HTTP_ACCEPT=BROWSER_ACCEPT)
    assert concealed.status_code == missing.status_code == 404
    assert concealed.content == missing.content
    assert 'class="navbar' not in concealed.content.decode()
