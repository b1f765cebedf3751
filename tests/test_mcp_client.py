"""The official MCP Python SDK (``mcp`` 2.x) against the live demo: no custom client code.

``mcp.client.auth.OAuthClientProvider`` is an httpx2 auth. Given nothing but the API's URL it
reads the ``401``'s ``resource_metadata`` (RFC 9728 §5.1), the resource metadata (§3), the
authorization server's RFC 8414 metadata at the path-inserted root URL (§3.1, served by
``authstatus.urls``), registers itself at ``registration_endpoint`` (RFC 7591, authstatus's
loopback permission), runs the authorization code flow with PKCE S256, and retries. The user's
part — log in at ``/accounts/login/``, approve DOT's consent form (its ``allow`` button) — is
played by a second HTTP client with its own cookies, as a browser would.

Every exchange is printed (``pytest -s tests/test_mcp_client.py``): the transcript of the
zero-configuration connect in the closing note comes from here. Against pytest-django's
``live_server`` (a real HTTP server thread on 127.0.0.1, free port).
"""

from __future__ import annotations

import asyncio
import hashlib
import html.parser
import socket
import time
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import httpx2
import pytest
from django.utils import timezone
from mcp.client.auth import OAuthClientProvider
from mcp.client.auth.extensions.client_credentials import ClientCredentialsOAuthProvider
from mcp.shared.auth import (
    AuthorizationCodeResult,
    OAuthClientInformationFull,
    OAuthClientMetadata,
    OAuthToken,
)
from oauth2_provider.models import AccessToken, Application, Grant, RefreshToken

from authstatus.client import Action, interpret
from authstatus.core.challenges import parse_challenges
from tests.factories import ApplicationFactory, UserFactory

TIMEOUT = 15
PASSWORD = "secret"  # tests.factories.UserFactory's


# --- the transcript -------------------------------------------------------------------------------


class Transcript:
    """Every request the SDK or the user's browser makes, with its status, in order."""

    def __init__(self, title: str, origin: str) -> None:
        self.origin = origin
        self.lines: list[tuple[str, str, str, int]] = []
        print(f"\n{'=' * 100}\n{title}\n{'=' * 100}")

    def record(self, who: str, request: Any, response: Any) -> None:
        url = str(request.url).replace(self.origin, "")
        status = response.status_code
        self.lines.append((who, request.method, url.split("?")[0], status))
        auth = request.headers.get("Authorization")
        shown = f"  [Authorization: {auth.split(' ')[0]} …]" if auth else ""
        step = len(self.lines)
        print(f"[{step:2}] {who:<4} {request.method} {_short(url)}{shown}\n     -> {status}")
        for line in response.headers.get_list("WWW-Authenticate"):
            print(f"        WWW-Authenticate: {line}")
        location = response.headers.get("Location")
        if location:
            print(f"        Location: {_short(location.replace(self.origin, ''))}")

    def note(self, text: str) -> None:
        print(f"     # {text}")

    def requests(self, who: str | None = None) -> list[tuple[str, str, int]]:
        return [(m, u, s) for w, m, u, s in self.lines if who is None or w == who]


def _short(url: str, limit: int = 110) -> str:
    return url if len(url) <= limit else url[:limit] + "…"


# --- the user, in a browser -----------------------------------------------------------------------


class _Inputs(html.parser.HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.inputs: list[dict[str, str | None]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "input":
            self.inputs.append(dict(attrs))


def form_fields(page: str) -> dict[str, str]:
    """The hidden fields of the (only) form on ``page``: what a browser would post back."""
    parser = _Inputs()
    parser.feed(page)
    return {
        str(i["name"]): str(i.get("value") or "")
        for i in parser.inputs
        if i.get("type") == "hidden" and i.get("name")
    }


_browsers: list[httpx.Client] = []


@pytest.fixture(autouse=True)
def _close_browsers():
    """Close the users' connections before the live server stops (no request in flight)."""
    yield
    while _browsers:
        _browsers.pop().close()


class User:
    """alice at her browser: logs in at /accounts/login/ once, then approves each consent."""

    def __init__(self, origin: str, log: Transcript, username: str = "alice") -> None:
        self.origin = origin
        self.username = username
        self.approvals = 0
        self.challenge_methods: list[str] = []  # PKCE, as the consent form carries it
        self.browser = httpx.Client(
            base_url=origin,
            timeout=TIMEOUT,
            event_hooks={"response": [lambda r: log.record("user", r.request, r)]},
        )
        self.redirect: str | None = None
        _browsers.append(self.browser)

    def log_in(self) -> None:
        page = self.browser.get("/accounts/login/")
        assert page.status_code == 200
        response = self.browser.post(
            "/accounts/login/",
            data={
                **form_fields(page.text),
                "username": self.username,
                "password": PASSWORD,
            },
        )
        assert response.status_code == 302, response.text

    def approve(self, authorization_url: str) -> None:
        """Open the authorization URL, check DOT's consent form, press "Authorize"."""
        if not self.browser.cookies.get("sessionid"):
            self.log_in()
        page = self.browser.get(authorization_url)
        assert page.status_code == 200, page.text
        assert 'name="allow"' in page.text
        fields = form_fields(page.text)
        self.challenge_methods.append(fields["code_challenge_method"])
        response = self.browser.post(authorization_url, data={**fields, "allow": "Authorize"})
        assert response.status_code == 302, response.text
        self.redirect = response.headers["Location"]
        self.approvals += 1

    async def redirect_handler(self, authorization_url: str) -> None:
        self.approve(authorization_url)

    async def callback_handler(self) -> AuthorizationCodeResult:
        assert self.redirect is not None
        query = parse_qs(urlsplit(self.redirect).query)
        assert "error" not in query, query
        return AuthorizationCodeResult(
            code=query["code"][0], state=query["state"][0], iss=query.get("iss", [None])[0]
        )


# --- the SDK's side -------------------------------------------------------------------------


class MemoryStorage:
    """The SDK's ``TokenStorage``, in memory."""

    def __init__(self) -> None:
        self.tokens: OAuthToken | None = None
        self.client_info: OAuthClientInformationFull | None = None

    async def get_tokens(self) -> OAuthToken | None:
        return self.tokens

    async def set_tokens(self, tokens: OAuthToken) -> None:
        self.tokens = tokens

    async def get_client_info(self) -> OAuthClientInformationFull | None:
        return self.client_info

    async def set_client_info(self, client_info: OAuthClientInformationFull) -> None:
        self.client_info = client_info


def free_loopback_redirect_uri() -> str:
    """An RFC 8252 §7.3 loopback redirect URI on a port nothing else uses (the user's browser
    is the test's client: it reads the redirect instead of following it)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/callback"


def call(
    log: Transcript, auth: httpx2.Auth, method: str, url: str, **kwargs: Any
) -> httpx2.Response:
    """One API call through the SDK's auth, in its own event loop (the ORM stays outside)."""

    async def hook(response: httpx2.Response) -> None:
        log.record("mcp", response.request, response)

    async def run() -> httpx2.Response:
        async with httpx2.AsyncClient(
            auth=auth, timeout=TIMEOUT, event_hooks={"response": [hook]}
        ) as client:
            response = await client.request(method, url, **kwargs)
            await response.aread()
            return response

    return asyncio.run(run())


@pytest.fixture
def origin(transactional_db, live_server) -> str:
    UserFactory(username="alice")
    return str(live_server.url)


def provider_for(origin: str, user: User, **metadata: Any) -> OAuthClientProvider:
    return OAuthClientProvider(
        server_url=origin + "/api/notes/",
        client_metadata=OAuthClientMetadata(
            redirect_uris=[free_loopback_redirect_uri()], client_name="MCP test client", **metadata
        ),
        storage=MemoryStorage(),
        redirect_handler=user.redirect_handler,
        callback_handler=user.callback_handler,
    )


def token_of(provider: OAuthClientProvider) -> AccessToken:
    tokens = provider.context.current_tokens
    assert tokens is not None
    checksum = hashlib.sha256(tokens.access_token.encode("ascii")).hexdigest()
    return AccessToken.objects.select_related("application").get(token_checksum=checksum)


# --- the scenarios --------------------------------------------------------------------------


def test_zero_configuration_connect(origin):
    """The SDK with its defaults and nothing but the API's URL: 401 → discovery →
    registration → login and consent → token (PKCE S256) → 200."""
    log = Transcript(f"MCP Python SDK, zero configuration, against {origin}", origin)
    user = User(origin, log)
    provider = provider_for(origin, user)

    response = call(log, provider, "GET", origin + "/api/notes/")

    assert response.status_code == 200, response.text
    assert log.requests("mcp") == [
        ("GET", "/api/notes/", 401),
        ("GET", "/.well-known/oauth-protected-resource", 200),
        ("GET", "/.well-known/oauth-authorization-server/o", 200),
        ("POST", "/o/register/", 201),
        ("POST", "/o/token/", 200),
        ("GET", "/api/notes/", 200),
    ]
    assert log.requests("user") == [
        ("GET", "/accounts/login/", 200),
        ("POST", "/accounts/login/", 302),
        ("GET", "/o/authorize/", 200),
        ("POST", "/o/authorize/", 302),
    ]
    assert user.challenge_methods == ["S256"]
    client_info = provider.context.client_info
    assert client_info is not None
    app = Application.objects.get(client_id=client_info.client_id)
    assert app.user is None  # registered anonymously
    assert app.registration_source == Application.RegistrationSource.DCR
    assert app.redirect_uris == str(provider.context.client_metadata.redirect_uris[0])
    token = token_of(provider)
    assert token.user.username == "alice"
    assert token.scope == "read"  # what the 401's challenge named (MCP: scope selection)
    assert token.resource == [origin]  # RFC 8707, from the resource metadata
    tokens = provider.context.current_tokens
    assert tokens is not None
    assert tokens.refresh_token
    log.note(f"registered {client_info.client_id} ({client_info.token_endpoint_auth_method})")
    log.note(f"token scope {tokens.scope!r}, expires_in {tokens.expires_in}, refresh token: yes")


def test_public_client(origin):
    """``token_endpoint_auth_method: none``: a public client, no secret; PKCE carries it."""
    log = Transcript(f"MCP Python SDK, public client, against {origin}", origin)
    user = User(origin, log)
    provider = provider_for(origin, user, token_endpoint_auth_method="none")

    response = call(log, provider, "GET", origin + "/api/notes/")

    assert response.status_code == 200, response.text
    client_info = provider.context.client_info
    assert client_info is not None
    assert client_info.client_secret is None
    assert client_info.token_endpoint_auth_method == "none"
    app = Application.objects.get(client_id=client_info.client_id)
    assert app.client_type == Application.CLIENT_PUBLIC
    token_requests = [line for line in log.lines if line[2] == "/o/token/"]
    assert [status for *_, status in token_requests] == [200]
    assert token_of(provider).user.username == "alice"


def test_step_up_from_a_read_only_token(origin):
    """POST /api/notes/ with a read token: 403 insufficient_scope scope="write"; the SDK unions
    it with what it holds (SEP-2350: "read write"), the user approves again, 201."""
    log = Transcript(f"MCP Python SDK, step-up on POST /api/notes/, against {origin}", origin)
    user = User(origin, log)
    provider = provider_for(origin, user)
    assert call(log, provider, "GET", origin + "/api/notes/").status_code == 200
    assert token_of(provider).scope == "read"
    log.lines.clear()

    response = call(log, provider, "POST", origin + "/api/notes/", json={"text": "hello"})

    assert response.status_code == 201, response.text
    assert log.requests("mcp") == [
        ("POST", "/api/notes/", 403),
        ("POST", "/o/token/", 200),
        ("POST", "/api/notes/", 201),
    ]
    refusal = next(line for line in log.lines if line[3] == 403)
    assert refusal[:3] == ("mcp", "POST", "/api/notes/")
    assert user.approvals == 2
    assert sorted(token_of(provider).scope.split()) == ["read", "write"]


def test_step_up_challenge_names_what_the_operation_needs(origin):
    """The 403's ``scope`` is the operation's requirement, not the union: the client adds it
    to the scopes it holds (MCP 2026-07-28, SEP-2350)."""
    log = Transcript(f"the 403 of POST /api/notes/ with a read token, against {origin}", origin)
    user = User(origin, log)
    provider = provider_for(origin, user)
    assert call(log, provider, "GET", origin + "/api/notes/").status_code == 200
    tokens = provider.context.current_tokens
    assert tokens is not None
    response = httpx.post(
        origin + "/api/notes/",
        json={"text": "x"},
        headers={"Authorization": f"Bearer {tokens.access_token}"},
        timeout=TIMEOUT,
    )
    assert response.status_code == 403
    (bearer,) = parse_challenges(response.headers["WWW-Authenticate"])
    assert (bearer.param("error"), bearer.param("scope")) == ("insufficient_scope", "write")
    advice = interpret(response.status_code, response.headers, response.content)
    assert (advice.action, advice.scopes) == (Action.REAUTHORIZE, ("write",))


def test_refresh_after_expiry(origin, settings):
    """Tokens that live 2 s: once both sides see it expired, the SDK refreshes (RFC 6749 §6)
    instead of asking the user again."""
    # DOT builds its oauthlib server once per process, with the token lifetime of that moment.
    settings.OAUTH2_PROVIDER = {
        **settings.OAUTH2_PROVIDER,
        "ACCESS_TOKEN_EXPIRE_SECONDS": 2,
        "ALWAYS_RELOAD_OAUTHLIB_CORE": True,
    }
    log = Transcript(f"MCP Python SDK, refresh after expiry, against {origin}", origin)
    user = User(origin, log)
    provider = provider_for(origin, user)
    assert call(log, provider, "GET", origin + "/api/notes/").status_code == 200
    first = token_of(provider)
    time.sleep(2.5)
    assert first.is_expired()
    log.note("2.5 s later: the access token has expired")
    log.lines.clear()

    response = call(log, provider, "GET", origin + "/api/notes/")

    assert response.status_code == 200, response.text
    assert log.requests("mcp") == [("POST", "/o/token/", 200), ("GET", "/api/notes/", 200)]
    assert user.approvals == 1  # no second consent
    second = token_of(provider)
    assert second.pk != first.pk
    assert second.user.username == "alice"
    assert RefreshToken.objects.filter(access_token=second).exists()


def test_expired_token_the_client_still_holds_is_answered_refresh(origin):
    """The server's side of an expiry the client has not noticed (clock skew, revocation by
    expiry): 401 invalid_token that ``authstatus.client`` reads as "refresh"."""
    log = Transcript(f"an expired user token, against {origin}", origin)
    user = User(origin, log)
    provider = provider_for(origin, user)
    assert call(log, provider, "GET", origin + "/api/notes/").status_code == 200
    token = token_of(provider)
    AccessToken.objects.filter(pk=token.pk).update(expires=timezone.now() - timedelta(seconds=1))
    tokens = provider.context.current_tokens
    assert tokens is not None
    response = httpx.get(
        origin + "/api/notes/",
        headers={"Authorization": f"Bearer {tokens.access_token}"},
        timeout=TIMEOUT,
    )
    advice = interpret(response.status_code, response.headers, response.content)
    assert (response.status_code, advice.error, advice.action, advice.resolution) == (
        401,
        "invalid_token",
        Action.REFRESH_TOKEN,
        "refresh_token",
    )


def test_client_credentials_token_after_expiry(origin, settings):
    """A machine client (``ClientCredentialsOAuthProvider``) whose token expired on the server:
    the 401 says ``client_credentials`` — no refresh token exists (RFC 6749 §4.4.3) — and the
    SDK runs that grant again, with no user anywhere."""
    settings.AUTHSTATUS = {**settings.AUTHSTATUS, "OAUTH2_CHALLENGE": True}
    ApplicationFactory(
        name="machine",
        client_id="machine-client",
        client_secret="machine-secret",
        client_type=Application.CLIENT_CONFIDENTIAL,
        authorization_grant_type=Application.GRANT_CLIENT_CREDENTIALS,
    )
    log = Transcript(f"MCP Python SDK, client credentials after expiry, against {origin}", origin)
    provider = ClientCredentialsOAuthProvider(
        server_url=origin + "/api/notes/",
        storage=MemoryStorage(),
        client_id="machine-client",
        client_secret="machine-secret",
        scope="read",
        issuer=origin + "/o",
    )
    assert call(log, provider, "GET", origin + "/api/notes/").status_code == 200
    first = token_of(provider)
    assert first.user is None
    assert not RefreshToken.objects.exists()
    AccessToken.objects.filter(pk=first.pk).update(expires=timezone.now() - timedelta(seconds=1))
    log.note("the server expires the token; the client still holds it")
    log.lines.clear()

    response = call(log, provider, "GET", origin + "/api/notes/")

    assert response.status_code == 200, response.text
    statuses = log.requests("mcp")
    assert statuses[0] == ("GET", "/api/notes/", 401)
    assert statuses[-2:] == [("POST", "/o/token/", 200), ("GET", "/api/notes/", 200)]
    assert token_of(provider).pk != first.pk

    # what that 401 said, read the way any client would
    tokens = provider.context.current_tokens
    assert tokens is not None
    AccessToken.objects.filter(token_checksum=token_of(provider).token_checksum).update(
        expires=timezone.now() - timedelta(seconds=1)
    )
    refusal = httpx.get(
        origin + "/api/notes/",
        headers={"Authorization": f"Bearer {tokens.access_token}"},
        timeout=TIMEOUT,
    )
    advice = interpret(refusal.status_code, refusal.headers, refusal.content)
    assert refusal.status_code == 401
    assert advice.flows == ("client_credentials",)
    assert advice.resolution == "client_credentials"
    assert advice.action is Action.REQUEST_CLIENT_TOKEN
    assert advice.token_endpoint == origin + "/o/token/"


def test_pkce_is_required_for_a_registered_public_client(origin):
    """The demo's PKCE rule, without the SDK: an authorization request of a public client
    without ``code_challenge``, or with ``plain``, is refused (RFC 9700 §2.1.1)."""
    redirect_uri = free_loopback_redirect_uri()
    registration = httpx.post(
        origin + "/o/register/",
        json={"redirect_uris": [redirect_uri], "token_endpoint_auth_method": "none"},
        timeout=TIMEOUT,
    )
    assert registration.status_code == 201
    client_id = registration.json()["client_id"]
    log = Transcript("PKCE", origin)
    user = User(origin, log)
    user.log_in()
    base = {"response_type": "code", "client_id": client_id, "redirect_uri": redirect_uri}
    # no code_challenge: refused before the consent form
    response = user.browser.get("/o/authorize/", params={**base, "state": "s"})
    assert response.status_code == 302, response.text
    location = response.headers["Location"]
    assert location.startswith(redirect_uri)
    assert parse_qs(urlsplit(location).query)["error"] == ["invalid_request"]
    # "plain": refused when the user approves (COMPLIANT_BCP_RFC9700_PKCE_METHOD)
    plain = {**base, "state": "s", "code_challenge": "x" * 43, "code_challenge_method": "plain"}
    url = str(httpx.URL(origin + "/o/authorize/", params=plain))
    user.approve(url)
    assert user.redirect is not None
    assert parse_qs(urlsplit(user.redirect).query)["error"] == ["invalid_request"]
    assert not Grant.objects.exists()
