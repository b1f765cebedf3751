"""Real OAuth 2.0 clients against the demo on a real HTTP server (pytest-django ``live_server``).

The client starts from nothing but the API's URL, as RFC 9728 intends: the first ``401`` names
the metadata document (``resource_metadata``), the document names the authorization server,
whose RFC 8414 metadata names the token endpoint. requests-oauthlib — a real OAuth client
library (``OAuth2Session`` with oauthlib's ``LegacyApplicationClient``, the password grant of
RFC 6749 §4.3) — gets a token there; :func:`authstatus.client.interpret` reads every refusal
and drives what happens next: refresh the expired token (RFC 6749 §6), re-authorise for the
missing scope. Once with the opt-in ``OAuth2`` flow challenge and once without it.

Every ``WWW-Authenticate`` seen is parsed twice and the two must agree on schemes and
parameters: by authstatus's RFC 9110 parser, and independently with werkzeug — its
``parse_list_header`` splits the field value at the commas outside quoted strings, an element
that starts with ``token SP`` begins a new challenge (an ``auth-param`` is ``token "="``,
RFC 9110 §11.6.1), and each challenge's text goes to
``werkzeug.datastructures.WWWAuthenticate.from_header`` (one challenge per call, parameters
through ``parse_dict_header``).

``pytest -s tests/test_real_clients.py`` prints the transcript of every exchange.
"""

from __future__ import annotations

import hashlib
import json
import re
import urllib.error
import urllib.request
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
import requests
from django.utils import timezone
from oauth2_provider.models import AccessToken, Application
from oauthlib.oauth2 import LegacyApplicationClient
from requests.auth import HTTPBasicAuth
from requests_oauthlib import OAuth2Session
from werkzeug.datastructures import WWWAuthenticate
from werkzeug.http import parse_list_header

from authstatus.client import Action, Advice, header_values, interpret
from authstatus.core.challenges import Challenge, parse_challenges
from tests.factories import ApplicationFactory, UserFactory

# The password grant (RFC 6749 §4.3) keeps the flow non-interactive; RFC 9700 discourages it
# and DOT 3.4 says so with a DeprecationWarning on every token request.
pytestmark = pytest.mark.filterwarnings(
    "ignore:The OAuth 2.0 resource owner password credentials grant:DeprecationWarning"
)

CLIENT_ID = "real-client"
CLIENT_SECRET = "real-client-secret"  # plaintext here; DOT stores it hashed
TIMEOUT = 10

_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")


# --- the independent parser ------------------------------------------------------------------


def werkzeug_challenges(value: str) -> list[WWWAuthenticate]:
    """``value`` split into challenges with werkzeug (see the module docstring)."""
    groups: list[list[str]] = []
    for item in parse_list_header(value):
        head = item.split(" ", 1)[0]
        starts_challenge = "=" not in head and _TOKEN.fullmatch(head) is not None
        if starts_challenge or not groups:
            groups.append([item])
        else:
            groups[-1].append(item)
    out = []
    for group in groups:
        parsed = WWWAuthenticate.from_header(", ".join(group))
        assert parsed is not None, group
        out.append(parsed)
    return out


def agree(value: str) -> tuple[Challenge, ...]:
    """Parse ``value`` with both parsers, assert they agree, return ours."""
    ours = parse_challenges(value)
    theirs = werkzeug_challenges(value)
    assert [c.scheme.lower() for c in ours] == [w.type for w in theirs], value
    for mine, other in zip(ours, theirs, strict=True):
        assert dict(mine.params) == dict(other.parameters), (mine, other)
        assert mine.token68 == (other.token or None)  # werkzeug: "" for a bare scheme
    return ours


# --- the transcript ---------------------------------------------------------------------------


class Transcript:
    """Prints each exchange (shown with ``pytest -s``) and checks every challenge twice."""

    def __init__(self, title: str, origin: str) -> None:
        self.origin = origin
        self.step = 0
        self.challenges_checked = 0
        print(f"\n{'=' * 100}\n{title}\n{'=' * 100}")

    def note(self, text: str) -> None:
        print(f"    # {text}")

    def exchange(
        self, label: str, response: Any, *, body: Any = None, advise: bool = True
    ) -> Advice:
        """Log one request/response; parse its challenges with both parsers; return advice."""
        self.step += 1
        request = response.request
        method = request.method
        url = str(request.url).replace(self.origin, "")
        status = getattr(response, "status_code", None) or getattr(response, "status", None)
        auth = request.headers.get("Authorization")
        shown = "" if auth is None else f"  [Authorization: {_redact(auth)}]"
        print(f"[{self.step}] {label}\n    {method} {url}{shown}\n    -> {status}")
        for line in header_values(response.headers, "WWW-Authenticate"):
            print(f"       WWW-Authenticate: {line}")
            agree(line)
            self.challenges_checked += 1
        content = response.content if body is None else body
        advice = interpret(status, response.headers, content)
        if advise:
            print(f"       advice: {_summary(advice)}")
        return advice


def _redact(authorization: str) -> str:
    scheme, _, credentials = authorization.partition(" ")
    return f"{scheme} {credentials[:6]}…" if len(credentials) > 6 else authorization


def _summary(advice: Advice) -> str:
    parts = [advice.action.value]
    for name in ("schemes", "scopes", "flows"):
        value = getattr(advice, name)
        if value:
            parts.append(f"{name}={' '.join(value)}")
    for name in ("error", "resolution", "token_endpoint"):
        value = getattr(advice, name)
        if value:
            parts.append(f"{name}={value}")
    if advice.step_up is not None:
        acr = " ".join(advice.step_up.acr_values) or "-"
        parts.append(f"step_up(max_age={advice.step_up.max_age}, acr_values={acr})")
    return ", ".join(parts)


# --- fixtures -----------------------------------------------------------------------------------


@pytest.fixture
def origin(transactional_db, live_server, monkeypatch) -> str:
    """The live demo, with user alice (password "secret") and a confidential client allowed
    the password grant."""
    # oauthlib refuses http:// token endpoints (RFC 6749 §3.1.2.1 wants TLS); the live server
    # speaks plain HTTP on loopback.
    monkeypatch.setenv("OAUTHLIB_INSECURE_TRANSPORT", "1")
    UserFactory(username="alice")
    ApplicationFactory(
        name="real client",
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
        client_type=Application.CLIENT_CONFIDENTIAL,
        authorization_grant_type=Application.GRANT_PASSWORD,
    )
    return str(live_server.url)


def expire(access_token: str) -> None:
    """Expire the token on the server (the client still believes it valid)."""
    checksum = hashlib.sha256(access_token.encode("ascii")).hexdigest()
    changed = AccessToken.objects.filter(token_checksum=checksum).update(
        expires=timezone.now() - timedelta(seconds=1)
    )
    assert changed == 1


def discover_token_endpoint(log: Transcript, advice: Advice) -> str:
    """RFC 9728 §5.1 → §3 → RFC 8414 §3.1: from a 401's resource_metadata to the token URL."""
    assert advice.resource_metadata == log.origin + "/.well-known/oauth-protected-resource"
    response = requests.get(advice.resource_metadata, timeout=TIMEOUT)
    log.exchange("the resource metadata named by resource_metadata", response, advise=False)
    assert response.status_code == 200
    metadata = response.json()
    print("       " + json.dumps(metadata, indent=2).replace("\n", "\n       "))
    assert metadata["resource"] == log.origin
    assert metadata["bearer_methods_supported"] == ["header"]
    (issuer,) = metadata["authorization_servers"]
    parts = urlsplit(issuer)
    well_known = f"{parts.scheme}://{parts.netloc}/.well-known/oauth-authorization-server"
    response = requests.get(well_known + parts.path, timeout=TIMEOUT)
    log.exchange("its authorization server's RFC 8414 metadata", response, advise=False)
    server = response.json()
    assert server["issuer"] == issuer
    assert "password" in server["grant_types_supported"]
    assert "refresh_token" in server["grant_types_supported"]
    log.note(f"issuer {issuer}: token_endpoint {server['token_endpoint']}")
    return str(server["token_endpoint"])


def password_grant(token_endpoint: str, scopes: list[str]) -> OAuth2Session:
    # The scope goes on oauthlib's client: requests-oauthlib's fetch_token sends the client's.
    session = OAuth2Session(client=LegacyApplicationClient(client_id=CLIENT_ID, scope=scopes))
    session.fetch_token(
        token_url=token_endpoint,
        username="alice",
        password="secret",
        client_secret=CLIENT_SECRET,
        timeout=TIMEOUT,
    )
    return session


# --- the flow -----------------------------------------------------------------------------------


@pytest.mark.parametrize("flow_challenge", [True, False], ids=["with-OAuth2-challenge", "Bearer"])
def test_obtain_call_expire_refresh_reauthorize(origin, settings, flow_challenge):
    settings.AUTHSTATUS = {**settings.AUTHSTATUS, "OAUTH2_CHALLENGE": flow_challenge}
    log = Transcript(
        f"requests-oauthlib against {origin}, OAUTH2_CHALLENGE={flow_challenge}", origin
    )
    notes = origin + "/api/notes/"

    # 1. No credentials: the 401 says what to send, and where the metadata is.
    advice = log.exchange("no credentials", requests.get(notes, timeout=TIMEOUT))
    assert advice.action is Action.SEND_CREDENTIALS
    assert advice.schemes == ("Bearer", "Cookie", "Basic")
    assert advice.scopes == ("read",)

    # 2. Discovery: resource_metadata → authorization server → token endpoint.
    token_endpoint = discover_token_endpoint(log, advice)
    assert token_endpoint == origin + "/o/token/"
    if flow_challenge:
        assert advice.flows == ("authorization_code",)
        assert advice.token_endpoint == token_endpoint
        assert advice.authorization_endpoint == origin + "/o/authorize/"
    else:
        assert advice.flows == ()
        assert advice.token_endpoint is None

    # 3. Obtain a token with the scope the 401 named (password grant, RFC 6749 §4.3).
    session = password_grant(token_endpoint, list(advice.scopes))
    log.note(
        f"requests-oauthlib fetch_token (password grant) at {token_endpoint}: scope "
        f"{session.token['scope']!r}, expires_in {session.token['expires_in']}, "
        f"refresh_token {'yes' if session.token.get('refresh_token') else 'no'}"
    )

    # 4. Call the API.
    advice = log.exchange("with the token", session.get(notes, timeout=TIMEOUT))
    assert advice.action is Action.PROCEED

    # 5. The token expires on the server; the 401 says refresh.
    expire(session.token["access_token"])
    log.note("the access token now expires on the server (AccessToken.expires in the past)")
    response = session.get(notes, timeout=TIMEOUT)
    advice = log.exchange("with the expired token", response)
    assert response.status_code == 401
    assert advice.action is Action.REFRESH_TOKEN
    assert advice.error == "invalid_token"
    if flow_challenge:
        assert advice.flows == ("refresh_token", "authorization_code")
    else:
        assert (advice.flows, advice.resolution) == ((), "refresh_token")

    # The metadata stays reachable with the refused token still attached (RFC 9728 §5.1).
    response = session.get(advice.resource_metadata, timeout=TIMEOUT)
    log.exchange("the metadata, still sending the expired token", response, advise=False)
    assert response.status_code == 200

    # 6. The helper drives the refresh (RFC 6749 §6), through the library, then the retry.
    refresh_at = advice.token_endpoint or token_endpoint
    old = session.token["access_token"]
    session.refresh_token(refresh_at, auth=HTTPBasicAuth(CLIENT_ID, CLIENT_SECRET), timeout=TIMEOUT)
    assert session.token["access_token"] != old
    log.note(f"requests-oauthlib refresh_token at {refresh_at}: a new access token")
    advice = log.exchange("retry with the refreshed token", session.get(notes, timeout=TIMEOUT))
    assert advice.action is Action.PROCEED

    # 7. Writing needs scope "write": 403 insufficient_scope, re-authorise with it.
    response = session.post(notes, data={"text": "hello"}, timeout=TIMEOUT)
    advice = log.exchange("POST with a read-only token", response)
    assert response.status_code == 403
    assert advice.action is Action.REAUTHORIZE
    assert advice.scopes == ("write",)
    assert advice.error == "insufficient_scope"
    if flow_challenge:
        assert advice.flows == ("authorization_code",)

    granted = sorted({*session.token["scope"], *advice.scopes})
    session = password_grant(token_endpoint, granted)
    log.note(f"re-authorised with scope {' '.join(granted)!r}")
    response = session.post(notes, data={"text": "hello"}, timeout=TIMEOUT)
    advice = log.exchange("POST again", response)
    assert response.status_code == 201
    assert advice.action is Action.PROCEED

    # 8. A malformed bearer request is the client's bug.
    response = requests.get(notes, headers={"Authorization": "Bearer"}, timeout=TIMEOUT)
    advice = log.exchange("bare 'Authorization: Bearer'", response)
    assert (response.status_code, advice.action) == (400, Action.FIX_REQUEST)
    assert [c.scheme for c in advice.challenges] == ["Bearer"]
    log.note(f"{log.challenges_checked} WWW-Authenticate fields parsed by both parsers, agreeing")
    assert log.challenges_checked == 4  # 401, 401 expired, 403, 400


def test_httpx_and_urllib_responses_are_interpreted_alike(origin, settings):
    """The same refusals read through httpx.Headers and urllib's HTTPMessage."""
    settings.AUTHSTATUS = {**settings.AUTHSTATUS, "OAUTH2_CHALLENGE": True}
    log = Transcript(f"httpx and urllib against {origin}", origin)
    session = password_grant(origin + "/o/token/", ["read"])
    token = session.token["access_token"]
    expire(token)
    headers = {"Authorization": f"Bearer {token}"}

    with httpx.Client(timeout=TIMEOUT) as client:
        response = client.get(origin + "/api/profile/", headers=headers)
    by_httpx = log.exchange("httpx, expired token", response)

    request = urllib.request.Request(origin + "/api/profile/", headers=headers)
    with pytest.raises(urllib.error.HTTPError) as raised:
        urllib.request.urlopen(request, timeout=TIMEOUT)
    error = raised.value
    body = error.read()
    by_urllib = interpret(error.code, error.headers, body)
    for line in error.headers.get_all("WWW-Authenticate"):
        agree(line)
    print(f"[urllib] GET /api/profile/ -> {error.code}\n       advice: {_summary(by_urllib)}")

    assert by_httpx == by_urllib
    assert by_httpx.action is Action.REFRESH_TOKEN
    assert by_httpx.flows == ("refresh_token", "authorization_code")


@pytest.mark.parametrize(
    "value",
    [
        'Bearer realm="api", scope="read write", error="insufficient_scope", '
        'resource_metadata="https://rs.example/.well-known/oauth-protected-resource"',
        'Bearer realm="a, b", OAuth2 realm="x", flows="refresh_token authorization_code", '
        'Cookie realm="api", form-action="/accounts/login/", Basic realm="api", charset="UTF-8"',
        'Basic realm="say \\"hi\\""',
        "Negotiate abc==, Bearer",
    ],
)
def test_the_independent_parser_agrees_on_tricky_values(value):
    agree(value)


# --- the examples of docs/howto/client.md, run as written ----------------------------------------

HOWTO = Path(__file__).resolve().parent.parent / "docs" / "howto" / "client.md"


def howto(origin: str) -> dict[str, Any]:
    """The namespace of every ``python`` block under "## Examples", run in order, pointed at
    the live demo and the test's client."""
    text = HOWTO.read_text(encoding="utf-8").split("## Examples", 1)[1]
    namespace: dict[str, Any] = {"__name__": "client_howto"}
    for block in re.findall(r"```python\n(.*?)```", text, flags=re.DOTALL):
        exec(compile(block, str(HOWTO), "exec"), namespace)
    namespace.update(
        API=origin, TOKEN_URL=origin + "/o/token/", CLIENT_ID=CLIENT_ID, CLIENT_SECRET=CLIENT_SECRET
    )
    return namespace


def issue_tokens(origin: str, scope: str = "read") -> dict[str, Any]:
    response = requests.post(
        origin + "/o/token/",
        data={"grant_type": "password", "username": "alice", "password": "secret", "scope": scope},
        auth=(CLIENT_ID, CLIENT_SECRET),
        timeout=TIMEOUT,
    )
    assert response.status_code == 200, response.text
    return dict(response.json())


@pytest.mark.parametrize("flow_challenge", [True, False], ids=["with-OAuth2-challenge", "Bearer"])
def test_client_howto_examples_work(origin, settings, flow_challenge):
    settings.AUTHSTATUS = {**settings.AUTHSTATUS, "OAUTH2_CHALLENGE": flow_challenge}
    docs = howto(origin)

    tokens = issue_tokens(origin)
    expired = tokens["access_token"]
    expire(expired)
    assert docs["api_get"]("/api/notes/", tokens) == []
    assert tokens["access_token"] != expired

    tokens = issue_tokens(origin, "write")
    with pytest.raises(PermissionError, match="needs a token with scope read"):
        docs["api_get"]("/api/notes/", tokens)

    session = password_grant(origin + "/o/token/", ["read"])
    expire(session.token["access_token"])
    assert docs["session_get"](session, "/api/notes/").status_code == 200

    tokens = issue_tokens(origin)
    expire(tokens["access_token"])
    response = docs["httpx_get"]("/api/notes/", tokens)
    assert (response.status_code, response.json()) == (200, [])

    tokens = issue_tokens(origin)
    advice, _ = docs["urllib_get"]("/api/notes/", tokens["access_token"])
    assert advice.action is Action.PROCEED
    expire(tokens["access_token"])
    advice, body = docs["urllib_get"]("/api/notes/", tokens["access_token"])
    assert advice.action is Action.REFRESH_TOKEN
    assert json.loads(body)["resolution"] == "refresh_token"

    assert docs["discover_token_url"]("/api/notes/") == origin + "/o/token/"
