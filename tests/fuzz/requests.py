"""Hostile requests and what every answer to one must satisfy.

Used by the property tests in ``tests/test_hostile_input.py`` and ``tests/fuzz`` (``make
fuzz`` runs the latter with the ``fuzz`` hypothesis profile: 100,000 examples per target).

What a client controls, generated: the method; the path (percent-encoded bytes, unicode, dot
segments, double slashes, very long segments); the query (``access_token`` and ``format``
among junk); ``Authorization`` (any latin-1 text, CR/LF included — a WSGI server would never
deliver those, a test client can —, many schemes, base64 of arbitrary bytes, very long values,
repeated headers joined with ``", "`` as servers join them); ``Accept``; cookies (a forged
session id, a real one); the body and its content type (a form with ``access_token``).

:func:`check` asserts, for every response:

1. never a 5xx;
2. no header carries CR or LF, every header is latin-1 (Django would refuse to send it);
3. every ``WWW-Authenticate`` parses with the library's parser and holds a challenge;
4. a 401 on a route authstatus enforces offers only schemes the route accepts;
5. never a 2xx on a protected route (its policy is not ``anonymous``) without valid
   credentials;
6. a credential sent in the header or the body never appears in the response; one sent in
   the query never appears in a refusal (login links drop it);
7. every 404 varies on ``Authorization``, ``Cookie`` and ``Accept`` and is ``no-store``.
"""

from __future__ import annotations

import base64
import string
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote_to_bytes

from django.conf import settings
from hypothesis import strategies as st

from authstatus.contrib.rest_framework import PolicyPermission
from authstatus.contrib.rest_framework.authentication import AuthStatusAuthentication
from authstatus.core.challenges import ChallengeSyntaxError, parse_challenges
from authstatus.core.decision import Access
from authstatus.decorators import view_policy
from authstatus.enforcement import middleware_authenticators
from authstatus.enforcement.authenticators import challenges_for
from authstatus.policies import propagation as policies
from authstatus.policies.exemptions import is_exempt_view
from authstatus.policies.routes import is_drf_view

TCHARS = "!#$%&'*+-.^_`|~" + string.digits + string.ascii_letters
B64TOKEN_CHARS = string.ascii_letters + string.digits + "-._~+/"

# A credential that must never come back: every generated token starts with it.
CANARY = "QzCanary7"
VALID_TOKEN = "ValidFuzzToken0001"

# --- Authorization ----------------------------------------------------------------------------

latin1_text = st.text(alphabet=st.characters(min_codepoint=0, max_codepoint=0xFF), max_size=80)
schemes = st.one_of(
    st.sampled_from(
        ["Bearer", "bearer", "BEARER", "Basic", "basic", "Token", "Cookie", "OAuth2", "Digest"]
    ),
    st.text(alphabet=TCHARS, min_size=1, max_size=12),
)
b64tokenish = st.text(alphabet=B64TOKEN_CHARS + '= ,"\\\t\r\n', max_size=60)
separators = st.sampled_from([" ", "  ", "\t", "", " \t "])


@st.composite
def structured_authorization(draw: Any) -> str:
    token = draw(b64tokenish)
    if draw(st.booleans()):
        token = CANARY + token
    return draw(schemes) + draw(separators) + token + draw(st.sampled_from(["", " ", "="]))


@st.composite
def basic_authorization(draw: Any) -> str:
    """``Basic`` + base64 of random bytes: NUL, non-UTF-8, missing ``:``, huge, …"""
    raw = draw(
        st.one_of(
            st.binary(max_size=64),
            st.builds(
                lambda user, password: user + b":" + password,
                st.binary(max_size=24),
                st.binary(max_size=24),
            ),
            st.builds(
                lambda user, password: f"{user}:{CANARY}{password}".encode(),
                st.text(max_size=16),
                st.text(max_size=16),
            ),
        )
    )
    encoded = base64.b64encode(raw).decode("ascii")
    if draw(st.booleans()):
        encoded = encoded.rstrip("=")
    return draw(st.sampled_from(["Basic ", "basic ", "Basic  "])) + encoded


authorization_values = st.one_of(
    latin1_text,
    structured_authorization(),
    basic_authorization(),
    st.builds(lambda n: "Bearer " + CANARY + "A" * n, st.integers(0, 20_000)),
    st.just("Bearer " + VALID_TOKEN),
)

# --- paths, queries, Accept, bodies -------------------------------------------------------------

SEGMENTS = [
    "",
    ".",
    "..",
    "%2e%2e",
    "%2E",
    "%2F",
    "%2f..%2f",
    "%00",
    "%0d%0a",
    "%ff",
    "%c3%a9",
    "%e2%98%83",
    "%",
    "%zz",
    "%25",
    "vault",
    "1",
    "0",
    "-1",
    "999999999999999999999999",
    "public",
    "profile",
    "closed",
    "notes",
    "staff",
    "plain",
    "drf",
    "echo",
    "concealed",
    "conceal",
    "anonymous",
    "nobody",
    "exempt",
    "admin",
    "login",
    ".well-known",
    "oauth-protected-resource",
    "é",
    "☃",
    "\U0001f512",
    "?access_token=" + CANARY,
    "#frag",
    ";param",
    "~",
    " ",
    "a" * 300,
]
segment = st.one_of(
    st.sampled_from(SEGMENTS),
    st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=10),
)
PREFIXES = [
    "/",
    "//",
    "/api/",
    "/api/vault/",
    "/api/vault/1/",
    "/t/",
    "/t/plain/",
    "/t/drf/",
    "/t/conceal/",
    "/admin/",
    "/o/",
    "/accounts/",
    "/.well-known/",
    "/members/",
]


@st.composite
def hostile_paths(draw: Any) -> str:
    prefix = draw(st.sampled_from(PREFIXES))
    parts = draw(st.lists(segment, max_size=5))
    trailing = draw(st.sampled_from(["", "/", "//"]))
    path = prefix + "/".join(parts) + trailing
    # Django's test client parses its path argument as a URL: a leading "//" would be read as
    # a network location ("//[" raises "Invalid IPv6 URL" in the client, before any request).
    return "/" + path.lstrip("/") if path.startswith("//") else path


query_values = st.one_of(
    st.text(max_size=20),
    st.sampled_from(["json", "api", "xml", "", CANARY + "tok", "%0d%0a"]),
)
queries = st.one_of(
    st.just(""),
    st.lists(
        st.tuples(
            st.sampled_from(["access_token", "format", "page", "next", "x", "", "access_token[]"]),
            query_values,
        ),
        max_size=4,
    ).map(lambda pairs: "&".join(f"{k}={v}" for k, v in pairs)),
    st.text(alphabet=st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=40),
)
accepts = st.one_of(
    st.none(),
    st.sampled_from(
        [
            "*/*",
            "application/json",
            "application/problem+json",
            "text/html",
            "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
            "application/json;q=0, text/html;q=0",
            "text/*;q=abc",
            "image/png",
            ";;;,,,",
            "*/*;q=1;q=2",
        ]
    ),
    latin1_text,
)
bodies = st.one_of(
    st.tuples(st.just(b""), st.just("application/octet-stream")),
    st.tuples(
        st.lists(
            st.tuples(st.sampled_from(["access_token", "text", "name", ""]), query_values),
            max_size=4,
        ).map(lambda pairs: "&".join(f"{k}={v}" for k, v in pairs).encode()),
        st.sampled_from(
            [
                "application/x-www-form-urlencoded",
                "application/x-www-form-urlencoded; charset=latin-1",
                "application/x-www-form-urlencoded; charset=bogus",
            ]
        ),
    ),
    st.tuples(
        st.binary(max_size=200),
        st.sampled_from(
            ["multipart/form-data; boundary=x", "application/json", "text/plain", "a/b; c"]
        ),
    ),
)
METHODS = ["GET", "HEAD", "OPTIONS", "POST", "PUT", "PATCH", "DELETE", "TRACE", "CONNECT"]
methods = st.one_of(st.sampled_from(METHODS), st.text(alphabet=TCHARS, min_size=1, max_size=10))
COOKIES = [None, "forged", "valid"]


@dataclass(frozen=True)
class HostileRequest:
    method: str
    path: str
    query: str
    authorization: tuple[str, ...]
    accept: str | None
    cookie: str | None
    body: bytes
    content_type: str

    @property
    def valid(self) -> bool:
        """Whether the request carries valid credentials (the fuzz user's token or session);
        everything else any generator produces is invalid."""
        return self.cookie == "valid" or any(VALID_TOKEN in a for a in self.authorization)


@st.composite
def hostile_requests(draw: Any) -> HostileRequest:
    body, content_type = draw(bodies)
    return HostileRequest(
        method=draw(methods),
        path=draw(hostile_paths()),
        query=draw(queries),
        authorization=tuple(draw(st.lists(authorization_values, max_size=3))),
        accept=draw(accepts),
        cookie=draw(st.sampled_from(COOKIES)),
        body=body,
        content_type=content_type,
    )


def send(client: Any, request: HostileRequest, session: str | None) -> Any:
    """Send ``request`` with Django's test client (WSGI environ as a server would build it,
    repeated ``Authorization`` headers joined with ``", "``)."""
    extra: dict[str, str] = {}
    if request.authorization:
        extra["HTTP_AUTHORIZATION"] = ", ".join(request.authorization)
    if request.accept is not None:
        extra["HTTP_ACCEPT"] = request.accept
    client.cookies.clear()
    if request.cookie == "forged":
        client.cookies[settings.SESSION_COOKIE_NAME] = CANARY + "sessionid"
    elif request.cookie == "valid" and session is not None:
        client.cookies[settings.SESSION_COOKIE_NAME] = session
    # The WSGI environ as a server builds it from the request line: PATH_INFO percent-decoded,
    # both as latin-1 text of the bytes (PEP 3333), so any path reaches Django unparsed.
    extra["PATH_INFO"] = unquote_to_bytes(request.path).decode("iso-8859-1")
    extra["QUERY_STRING"] = request.query.encode("utf-8").decode("iso-8859-1")
    return client.generic(
        request.method, "/", request.body, content_type=request.content_type, **extra
    )


# --- the invariants -----------------------------------------------------------------------------


def _enforcement(response: Any) -> tuple[bool, Any]:
    """(authstatus enforces the route that served the request, the policy in force) —
    ``(False, None)`` when no view was resolved or authstatus leaves the view alone."""
    request = response.wsgi_request
    match = getattr(request, "resolver_match", None)
    if match is None:
        return False, None
    func = match.func
    if is_drf_view(func):
        if PolicyPermission not in list(func.cls.permission_classes):
            return False, None
    elif is_exempt_view(func, match.namespaces):
        return False, None
    return True, policies.resolve(request.method, request.path_info, view_policy(func))


def accepted_schemes(response: Any) -> set[str]:
    """The schemes (lower-cased) the resolved route would challenge with."""
    request = response.wsgi_request
    func = request.resolver_match.func
    if not is_drf_view(func):
        return {c.scheme.lower() for c in challenges_for(middleware_authenticators(), request)}
    out: set[str] = set()
    for cls in func.cls.authentication_classes:
        instance = cls()
        if isinstance(instance, AuthStatusAuthentication):
            out |= {c.scheme.lower() for c in instance.authenticator.challenges(request)}
        else:
            header = instance.authenticate_header(request)
            if header:
                out |= {c.scheme.lower() for c in parse_challenges(header)}
    return out


def _refusal_by_authstatus(response: Any) -> bool:
    """A refusal authstatus rendered: every one is ``no-store`` (others may be too; a
    stricter reading only makes the check stricter)."""
    return response.status_code in (302, 400, 401, 403, 404) and (
        "no-store" in response.get("Cache-Control", "")
    )


def check(request: HostileRequest, response: Any) -> None:
    """Assert the invariants of the module docstring for one request and its response."""
    status = response.status_code
    assert status < 500, (request, status)

    headers = dict(response.headers.items())
    for name, value in headers.items():
        assert "\r" not in value, (request, name, value)
        assert "\n" not in value, (request, name, value)
        value.encode("latin-1")
    cookies = response.cookies.output()
    assert "\r\n" not in cookies.replace("\r\nSet-Cookie:", "")

    if response.has_header("WWW-Authenticate"):
        try:
            found = parse_challenges(response["WWW-Authenticate"])
        except ChallengeSyntaxError as exc:  # pragma: no cover - the assertion's message
            raise AssertionError((request, response["WWW-Authenticate"])) from exc
        assert found

    enforced, policy = _enforcement(response)
    if status == 401 and enforced:
        offered = {c.scheme.lower() for c in parse_challenges(response["WWW-Authenticate"])}
        accepted = accepted_schemes(response)
        assert offered, request
        assert offered <= accepted, (request, offered, accepted)

    if 200 <= status < 300 and enforced and not request.valid:
        assert policy.access is Access.ANONYMOUS, (request, status, policy)

    sent_in_header_or_body = any(CANARY in a for a in request.authorization) or (
        CANARY.encode() in request.body
    )
    echoed = CANARY.encode() in response.content or any(CANARY in v for v in headers.values())
    if CANARY not in request.path + request.query:
        if sent_in_header_or_body or request.cookie == "forged":
            assert not echoed, (request, status)
    elif (
        f"access_token={CANARY}" in request.query
        # Only as the token: the same text as another parameter is the URL's, not a credential.
        and request.query.count(CANARY) == request.query.count(f"access_token={CANARY}")
        and CANARY not in request.path
        and (enforced or response.wsgi_request.resolver_match is None)
        and _refusal_by_authstatus(response)
    ):
        assert not echoed, (request, status)

    if status == 404:
        vary = {v.strip().lower() for v in response.get("Vary", "").split(",")}
        assert {"authorization", "cookie", "accept"} <= vary, (request, response.get("Vary"))
        assert "no-store" in response.get("Cache-Control", ""), request
