"""Parse what a response says, so tests compare structures instead of grepping headers.

* :func:`challenges` parses ``WWW-Authenticate`` with the library's own RFC 9110 parser.
* :func:`vary` parses ``Vary`` into a set of lower-cased field names.
* :func:`problem` parses an RFC 9457 problem+json body.
* :func:`assert_refusal` checks a whole refusal: status, challenges, caching headers and the
  exact problem document.
* Expected challenges of the demo settings are built here once (:func:`bearer`,
  :data:`BEARER`, :func:`oauth2`, :data:`COOKIE`, :data:`BASIC`).
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterable, Sequence
from html.parser import HTMLParser
from typing import Any

from django.http import HttpResponse

from authstatus.conf import app_settings
from authstatus.core.challenges import Challenge, parse_challenges

PROBLEM_JSON = "application/problem+json"
REFUSAL_VARY = frozenset({"authorization", "cookie", "accept"})

# RFC 6750 §3: NQSCHAR = %x20-21 / %x23-5B / %x5D-7E
NQSCHAR = frozenset(chr(c) for c in range(0x20, 0x7F)) - {'"', "\\"}

# The exact problem ``title`` and default ``detail`` for each outcome (RFC 9457 §3.1).
TITLES = {
    "invalid-request": "Invalid request",
    "authentication-required": "Authentication required",
    "invalid-credentials": "Invalid credentials",
    "closed": "Not available",
    "forbidden": "Forbidden",
    "insufficient-scope": "Insufficient scope",
    "not-found": "Not found",
}
DETAILS = {
    "authentication-required": "Authentication credentials were not provided.",
    "closed": "This resource is not available to anyone.",
    "forbidden": "You do not have permission to perform this action.",
    "insufficient-scope": "The access token does not carry the scope this request needs.",
    "not-found": "Not found.",
}
INVALID_TOKEN = "The access token is invalid."
EXPIRED_TOKEN = "The access token expired."
BAD_PASSWORD = "Invalid username or password."

# --- expected challenges of the demo settings -------------------------------------------

REALM = "api"
LOGIN_URL = "/accounts/login/"
COOKIE = Challenge(
    "Cookie", (("realm", REALM), ("form-action", LOGIN_URL), ("cookie-name", "sessionid"))
)
BASIC = Challenge("Basic", (("realm", REALM), ("charset", "UTF-8")))


# The test client's host is "testserver"; the demo mounts authstatus.urls at the root.
ORIGIN = "http://testserver"
RESOURCE_METADATA = ORIGIN + "/.well-known/oauth-protected-resource"
AUTHORIZATION_ENDPOINT = ORIGIN + "/o/authorize/"
TOKEN_ENDPOINT = ORIGIN + "/o/token/"


def bearer(*pairs: tuple[str, str], resource_metadata: str | None = RESOURCE_METADATA) -> Challenge:
    """``Bearer realm="api"``, ``pairs``, then ``resource_metadata`` (RFC 9728 §5.1).

    ``pairs`` are given in the canonical order (``scope``, ``error``, ``error_description``);
    ``resource_metadata=None`` for a challenge without the parameter.
    """
    tail = () if resource_metadata is None else (("resource_metadata", resource_metadata),)
    return Challenge("Bearer", (("realm", REALM), *pairs, *tail))


BEARER = bearer()
DRF_CHALLENGES = (BEARER, COOKIE, BASIC)
"""The demo's DRF routes: Bearer, Session and Basic, in that order."""


def with_invalid_token(
    order: tuple[Challenge, ...] = DRF_CHALLENGES, description: str = INVALID_TOKEN
) -> tuple[Challenge, ...]:
    """``order`` with the Bearer challenge carrying RFC 6750 ``invalid_token``."""
    error = bearer(("error", "invalid_token"), ("error_description", description))
    return tuple(error if c == BEARER else c for c in order)


def oauth2(flows: str, *, scope: str | None = None, origin: str = ORIGIN) -> Challenge:
    """The ``OAuth2`` flow challenge (``AUTHSTATUS["OAUTH2_CHALLENGE"]``) of the demo."""
    params = [("realm", REALM)]
    if scope is not None:
        params.append(("scope", scope))
    params += [
        ("flows", flows),
        ("authorization_endpoint", origin + "/o/authorize/"),
        ("token_endpoint", origin + "/o/token/"),
    ]
    return Challenge("OAuth2", tuple(params))


# --- parsing -----------------------------------------------------------------------------


def challenges(response: HttpResponse) -> tuple[Challenge, ...]:
    """The challenges of ``WWW-Authenticate``, in order; ``()`` when the header is absent."""
    if not response.has_header("WWW-Authenticate"):
        return ()
    return parse_challenges(response["WWW-Authenticate"])


def vary(response: HttpResponse) -> frozenset[str]:
    """The field names in ``Vary``, lower-cased (field names are case-insensitive)."""
    if not response.has_header("Vary"):
        return frozenset()
    return frozenset(name.strip().lower() for name in response["Vary"].split(",") if name.strip())


def media_type(response: HttpResponse) -> str:
    """``Content-Type`` without parameters, lower-cased."""
    return response["Content-Type"].split(";", 1)[0].strip().lower()


def problem(response: HttpResponse) -> dict[str, Any]:
    """The RFC 9457 problem document of ``response`` (which must be problem+json)."""
    assert media_type(response) == PROBLEM_JSON, response["Content-Type"]
    body = json.loads(response.content)
    assert isinstance(body, dict)
    return body


def problem_type(outcome: str) -> str:
    return app_settings.PROBLEM_TYPE_BASE + outcome


def expected_problem(
    status: int,
    outcome: str,
    resolution: str,
    *,
    detail: str | None = None,
    required_scopes: Sequence[str] | None = None,
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "type": problem_type(outcome),
        "title": TITLES[outcome],
        "status": status,
        "detail": DETAILS[outcome] if detail is None else detail,
        "resolution": resolution,
    }
    if required_scopes is not None:
        body["required_scopes"] = list(required_scopes)
    return body


def headers_without_date(response: HttpResponse) -> dict[str, str]:
    """All response headers (names lower-cased) except ``Date``."""
    return {k.lower(): v for k, v in response.headers.items() if k.lower() != "date"}


def assert_refusal(
    response: HttpResponse,
    status: int,
    outcome: str,
    resolution: str,
    *,
    challenge: Iterable[Challenge] = (),
    detail: str | None = None,
    required_scopes: Sequence[str] | None = None,
) -> None:
    """``response`` is exactly the problem+json refusal described, with ``challenge`` as its
    complete ``WWW-Authenticate`` (none when empty), ``no-store`` and the refusal ``Vary``."""
    assert response.status_code == status, (response.status_code, response.content)
    assert challenges(response) == tuple(challenge)
    assert_uncacheable(response)
    assert problem(response) == expected_problem(
        status, outcome, resolution, detail=detail, required_scopes=required_scopes
    )


def assert_uncacheable(response: HttpResponse) -> None:
    assert response["Cache-Control"] == "no-store"
    assert vary(response) >= REFUSAL_VARY


def error_params(challenge: Challenge) -> dict[str, str]:
    """The RFC 6750 §3 error attributes a challenge carries."""
    return {
        name: value
        for name, value in challenge.params
        if name.lower() in ("error", "error_description", "error_uri")
    }


def assert_nqschar(value: str) -> None:
    assert value
    assert set(value) <= NQSCHAR, value


# --- requests ----------------------------------------------------------------------------


def basic_auth(username: str, password: str) -> str:
    """An ``Authorization`` value for HTTP Basic (RFC 7617), UTF-8 encoded."""
    raw = f"{username}:{password}".encode()
    return "Basic " + base64.b64encode(raw).decode("ascii")


def bearer_auth(token: str) -> str:
    return f"Bearer {token}"


# --- HTML ----------------------------------------------------------------------------------


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.hrefs: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "a":
            self.hrefs.extend(value for name, value in attrs if name == "href" and value)


def links(response: HttpResponse) -> list[str]:
    """The ``href`` of every ``<a>`` in an HTML response, entities decoded."""
    parser = _Links()
    parser.feed(response.content.decode(response.charset or "utf-8"))
    parser.close()
    return parser.hrefs


# --- the admin's policy form ---------------------------------------------------------------


def policy_form_data(path: str = "/api/new/", **overrides: Any) -> dict[str, Any]:
    """POST data of the ResourcePolicy admin form: a valid authenticated-only policy."""
    data: dict[str, Any] = {
        "path": path,
        "methods": "",
        "access": "authenticated",
        "required_scopes": "",
        "required_groups": [],
        "required_permissions": [],
        "requirements": [],
        "enabled": "on",
        "priority": "0",
        "description": "",
    }
    data.update(overrides)
    return data
