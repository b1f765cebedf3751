"""RFC 9470 round trip with a real OAuth client (requests-oauthlib) on a live server.

A token whose authentication is too old is refused ``401 insufficient_user_authentication``;
:func:`authstatus.client.interpret` says step up, with ``max_age``; the client makes a new
authorization request (RFC 6749 §4.1, PKCE) with ``prompt=login`` — which DOT 3.4 honours by
sending the user to the login form — or with ``max_age`` alone, which DOT ignores and
authstatus's middleware enforces at DOT's authorization view; the user logs in again, the new
code gives a fresh token, and the request passes.
A refresh of the old token does not help: the refresh keeps the old authentication time.

``pytest -s tests/test_step_up_real_client.py`` prints the transcript.
"""

from __future__ import annotations

import re
import time
from datetime import timedelta
from urllib.parse import urljoin

import pytest
import requests
from django.contrib.sessions.backends.db import SessionStore
from django.utils import timezone
from oauth2_provider.models import Application
from requests.auth import HTTPBasicAuth
from requests_oauthlib import OAuth2Session

from authstatus.client import Action
from authstatus.enforcement.stepup import SESSION_AUTH_TIME
from authstatus.models import TokenAuthentication
from tests.factories import ApplicationFactory, UserFactory
from tests.test_real_clients import TIMEOUT, Transcript

CLIENT_ID = "step-up-client"
CLIENT_SECRET = "step-up-secret"
REDIRECT_URI = "http://127.0.0.1/callback"


@pytest.fixture
def origin(transactional_db, live_server, monkeypatch) -> str:
    monkeypatch.setenv("OAUTHLIB_INSECURE_TRANSPORT", "1")
    UserFactory(username="alice")
    ApplicationFactory(
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
        client_type=Application.CLIENT_CONFIDENTIAL,
        authorization_grant_type=Application.GRANT_AUTHORIZATION_CODE,
        redirect_uris=REDIRECT_URI,
        skip_authorization=True,
    )
    return str(live_server.url)


def authorize(log: Transcript, browser: requests.Session, url: str) -> tuple[str, bool]:
    """Play the user agent: follow the authorization request through the login form (the
    user types the password) to the redirect back to the client; return that URL, and
    whether the user had to log in."""
    logged_in = False
    response = browser.get(url, allow_redirects=False, timeout=TIMEOUT)
    log.exchange("authorization request", response, advise=False)
    while response.status_code == 302:
        location = urljoin(response.url, response.headers["Location"])
        if location.startswith(REDIRECT_URI):
            return location, logged_in
        response = browser.get(location, allow_redirects=False, timeout=TIMEOUT)
        log.exchange("the user agent follows", response, advise=False)
        if response.status_code == 200 and 'name="password"' in response.text:
            csrf = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', response.text)
            nxt = re.search(r'name="next" value="([^"]*)"', response.text)
            assert csrf
            assert nxt
            log.note("the login form: alice types her password")
            logged_in = True
            response = browser.post(
                response.url,
                data={
                    "username": "alice",
                    "password": "secret",
                    "csrfmiddlewaretoken": csrf.group(1),
                    "next": nxt.group(1).replace("&amp;", "&"),
                },
                headers={"Referer": response.url},
                allow_redirects=False,
                timeout=TIMEOUT,
            )
            log.exchange("log in", response, advise=False)
    raise AssertionError(f"the authorization did not come back: {response.status_code}")


def new_token(log: Transcript, origin: str, browser: requests.Session, **extra: str):
    oauth = OAuth2Session(
        CLIENT_ID, redirect_uri=REDIRECT_URI, scope=["read", "write"], pkce="S256"
    )
    url, _ = oauth.authorization_url(origin + "/o/authorize/", **extra)
    callback, logged_in = authorize(log, browser, url)
    oauth.fetch_token(
        origin + "/o/token/",
        authorization_response=callback,
        client_secret=CLIENT_SECRET,
        timeout=TIMEOUT,
    )
    log.note(f"requests-oauthlib fetch_token (authorization code, {extra or 'no prompt'})")
    return oauth, logged_in


@pytest.mark.parametrize(
    "step_up_with",
    [("prompt", "max_age"), ("max_age",)],
    ids=["prompt=login+max_age", "max_age-only"],
)
def test_stale_token_step_up_round_trip(origin, step_up_with):
    log = Transcript(
        f"RFC 9470 step-up with requests-oauthlib against {origin}, new authorization with "
        f"{' + '.join(step_up_with)}",
        origin,
    )
    account = origin + "/api/account/"
    browser = requests.Session()

    oauth, logged_in = new_token(log, origin, browser)
    assert logged_in
    advice = log.exchange("DELETE with the fresh token", oauth.delete(account, timeout=TIMEOUT))
    assert (advice.status, advice.action) == (204, Action.PROCEED)

    # Ten minutes later, as far as the server knows: the login is 600 s old, for the grant
    # and for the browser's session alike.
    TokenAuthentication.objects.update(auth_time=timezone.now() - timedelta(seconds=600))
    session = SessionStore(session_key=browser.cookies["sessionid"])
    session[SESSION_AUTH_TIME] = int(time.time()) - 600
    session.save()
    log.note("alice's login (session and grant) is now 600 s old (max_age is 300)")
    response = oauth.delete(account, timeout=TIMEOUT)
    advice = log.exchange("DELETE with the token of a stale authentication", response)
    assert response.status_code == 401
    assert advice.action is Action.STEP_UP
    assert advice.error == "insufficient_user_authentication"
    assert advice.step_up is not None
    assert advice.step_up.max_age == 300

    # A refresh does not make the authentication fresh.
    oauth.refresh_token(
        origin + "/o/token/", auth=HTTPBasicAuth(CLIENT_ID, CLIENT_SECRET), timeout=TIMEOUT
    )
    advice = log.exchange("DELETE after a refresh", oauth.delete(account, timeout=TIMEOUT))
    assert advice.action is Action.STEP_UP

    # Step up: a new authorization request that makes the user log in again.
    extra = {"prompt": "login", "max_age": str(advice.step_up.max_age)}
    fresh, logged_in = new_token(log, origin, browser, **{k: extra[k] for k in step_up_with})
    assert logged_in, "the step-up authorization must make the user log in again"
    advice = log.exchange("DELETE with the new token", fresh.delete(account, timeout=TIMEOUT))
    assert (advice.status, advice.action) == (204, Action.PROCEED)
    assert log.challenges_checked == 2
