"""What a client should do about a response: :func:`interpret` turns status and headers into
:class:`Advice`.

For the clients of an authstatus API (or of any API that follows RFC 6750 and RFC 9728)::

    from authstatus.client import Action, interpret

    response = requests.get(url, headers={"Authorization": f"Bearer {token}"})
    advice = interpret(response.status_code, response.headers, response.content)
    if advice.action is Action.REFRESH_TOKEN:
        ...  # refresh at advice.token_endpoint (or your known token URL), then retry

It takes the headers of requests (a case-insensitive mapping), httpx (``httpx.Headers``: every
``WWW-Authenticate`` field line via ``get_list``), urllib (``http.client.HTTPMessage``: via
``get_all``), or a plain list of ``(name, value)`` pairs, and never raises for anything the
server sent: a ``WWW-Authenticate`` that does not parse (RFC 9110 §11.6.1) gives advice with no
challenges and the action the status alone implies.

This module uses the standard library and :mod:`authstatus.core` only: it does not import
Django, so a client can install authstatus and use it without a Django project.
"""

from __future__ import annotations

import enum
import json
import math
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from email.utils import parsedate_to_datetime
from typing import Any

from authstatus.core.challenges import Challenge, ChallengeSyntaxError, parse_challenges
from authstatus.core.decision import BEARER, OAUTH2, Flow, Resolution

__all__ = ["Action", "Advice", "StepUp", "header_values", "interpret"]


class Action(enum.StrEnum):
    """What to do next, one value per kind of answer."""

    PROCEED = "proceed"
    """Not a refusal (2xx, 3xx): use the response."""
    SEND_CREDENTIALS = "send_credentials"
    """``401`` without an error: send credentials with one of :attr:`Advice.schemes`."""
    REFRESH_TOKEN = "refresh_token"
    """``401``, the access token expired: refresh it (RFC 6749 §6) and retry."""
    REQUEST_CLIENT_TOKEN = "request_client_token"
    """``401``, the client's own token (client credentials grant, RFC 6749 §4.4) expired or
    is not valid here: request a new one with the client's credentials and retry — there is
    no refresh token to use (§4.4.3) and no user to ask."""
    REAUTHORIZE = "reauthorize"
    """``403 insufficient_scope``: get a token with :attr:`Advice.scopes` and retry."""
    STEP_UP = "step_up"
    """``401 insufficient_user_authentication`` (RFC 9470 §3): the user must authenticate
    again — recently enough, or with another context class — as :attr:`Advice.step_up` says;
    e.g. a new authorization request with ``max_age``, ``acr_values`` or ``prompt=login``."""
    LOG_IN = "log_in"
    """``401``: the credentials are invalid, or only a login form is offered: log in again."""
    FIX_REQUEST = "fix_request"
    """``400``: the request is malformed (e.g. RFC 6750 §3.1 ``invalid_request``)."""
    GIVE_UP = "give_up"
    """``403`` that no credentials fix, or another error: tell the user."""
    NOT_FOUND = "not_found"
    """``404``/``410``: the resource does not exist (for this client)."""
    RETRY_LATER = "retry_later"
    """``503``/``429``: retry after :attr:`Advice.retry_after` seconds."""


@dataclass(frozen=True, slots=True)
class StepUp:
    """What a new authentication must meet (RFC 9470 §3): at most ``max_age`` seconds old
    (``None``: any age), with one of ``acr_values`` (``()``: any class)."""

    max_age: int | None = None
    acr_values: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Advice:
    """What a response says, and what to do about it.

    ``challenges`` are every ``WWW-Authenticate`` challenge in order; ``schemes`` the
    authentication schemes they offer (the ``OAuth2`` flow challenge names flows, not a
    scheme to send credentials with, so it is not among them). ``scopes`` are the scopes
    needed (the ``scope`` parameter, RFC 6750 §3; else the problem body's
    ``required_scopes``). ``error``, ``error_description`` and ``resource_metadata``
    (RFC 9728 §5.1) come from the challenge carrying them; ``flows``, ``token_endpoint`` and
    ``authorization_endpoint`` from the ``OAuth2`` challenge when the server sends one.
    ``retry_after`` is in seconds (``Retry-After``, RFC 9110 §10.2.3), ``resolution`` the
    problem body's ``resolution`` member when a body was given. ``step_up`` is set on an RFC
    9470 refusal: from the challenge's ``max_age`` and ``acr_values``, else the problem body's.
    """

    status: int
    action: Action
    challenges: tuple[Challenge, ...] = ()
    schemes: tuple[str, ...] = ()
    scopes: tuple[str, ...] = ()
    error: str | None = None
    error_description: str | None = None
    resource_metadata: str | None = None
    flows: tuple[str, ...] = ()
    authorization_endpoint: str | None = None
    token_endpoint: str | None = None
    retry_after: int | None = None
    resolution: str | None = None
    step_up: StepUp | None = None

    @property
    def ok(self) -> bool:
        return self.action is Action.PROCEED


def header_values(headers: Any, name: str) -> list[str]:
    """Every field line value of header ``name`` (case-insensitive), in order; ``[]`` when
    there is none or ``headers`` is of no known shape. Bytes are decoded as ISO-8859-1."""
    try:
        values = _lookup(headers, name)
    except Exception:  # any header object a caller passes: never raise
        return []
    out: list[str] = []
    for value in values:
        if isinstance(value, bytes | bytearray):
            value = bytes(value).decode("latin-1")
        if isinstance(value, str):
            out.append(value)
    return out


def _lookup(headers: Any, name: str) -> Iterable[Any]:
    if headers is None:
        return []
    for method in ("get_list", "get_all", "getall", "getlist"):
        # httpx.Headers.get_list, HTTPMessage.get_all, multidict getall, werkzeug getlist
        getter = getattr(headers, method, None)
        if callable(getter):
            found = getter(name)
            if found is None:
                return []
            return [found] if isinstance(found, str | bytes) else list(found)
    key = name.lower()
    if isinstance(headers, Mapping):
        items: Iterable[Any] = headers.items()
    elif isinstance(headers, str | bytes):
        return []
    else:
        items = headers
    out: list[Any] = []
    for k, v in items:
        k = k.decode("latin-1") if isinstance(k, bytes | bytearray) else k
        if isinstance(k, str) and k.lower() == key:
            out.extend(v if isinstance(v, list | tuple) else [v])
    return out


def _challenges(lines: list[str]) -> tuple[Challenge, ...]:
    # Each field line on its own: one malformed line does not hide the others.
    out: list[Challenge] = []
    for line in lines:
        try:
            out.extend(parse_challenges(line))
        except (ChallengeSyntaxError, ValueError, TypeError):
            continue
    return tuple(out)


def _problem(body: Any) -> Mapping[str, Any]:
    if body is None:
        return {}
    if isinstance(body, Mapping):
        return body
    try:
        if isinstance(body, bytes | bytearray):
            body = bytes(body).decode("utf-8")
        if isinstance(body, str):
            parsed = json.loads(body)
            return parsed if isinstance(parsed, Mapping) else {}
    except (ValueError, UnicodeDecodeError):
        pass
    return {}


def _retry_after(headers: Any) -> int | None:
    """RFC 9110 §10.2.3: ``delay-seconds`` or an HTTP-date, as seconds from now (>= 0)."""
    values = header_values(headers, "Retry-After")
    if not values:
        return None
    value = values[0].strip()
    if value.isdigit():
        return int(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        return None
    return max(0, math.ceil(when.timestamp() - time.time()))


def _first(challenges: tuple[Challenge, ...], scheme: str) -> Challenge | None:
    return next((c for c in challenges if c.matches_scheme(scheme)), None)


def _param(challenges: Iterable[Challenge | None], name: str) -> str | None:
    for challenge in challenges:
        if challenge is not None:
            value = challenge.param(name)
            if value is not None:
                return value
    return None


def _is_login_form(challenge: Challenge) -> bool:
    # A session scheme (draft-broyer-http-cookie-auth) names the login form to use.
    return challenge.param("form-action") is not None or challenge.matches_scheme("Cookie")


def interpret(status: int, headers: Any = None, body: Any = None) -> Advice:
    """The :class:`Advice` for a response with ``status`` and ``headers``.

    ``body`` is optional: the RFC 9457 problem document (bytes, str or an already parsed
    dict); its ``resolution`` and ``required_scopes`` members refine the advice. The rules:

    - 1xx-3xx → ``PROCEED``.
    - ``401`` with ``error="invalid_token"`` (RFC 6750 §3.1) → ``REQUEST_CLIENT_TOKEN`` for a
      client credentials token (the ``OAuth2`` challenge's ``flows`` is
      ``client_credentials``, or the body's ``resolution`` is), ``REFRESH_TOKEN`` when the
      token expired, else ``LOG_IN``. Expired is read, in order, from the ``OAuth2``
      challenge's ``flows`` (``refresh_token`` listed), the body's ``resolution``
      (``refresh_token``), and — without either — an ``error_description`` that says
      "expired".
    - ``401`` with ``error="insufficient_user_authentication"`` (RFC 9470 §3), or a problem
      body of type ``insufficient-user-authentication`` → ``STEP_UP``, with
      :attr:`Advice.step_up` (``max_age``, ``acr_values``).
    - ``401`` without an error → ``REFRESH_TOKEN``/``LOG_IN`` when the body's resolution says
      so (``refresh_token``/``reauthenticate``: credentials were sent and rejected), else
      ``SEND_CREDENTIALS`` — or ``LOG_IN`` when the only scheme offered is a login form (a
      session challenge with ``form-action``).
    - ``403`` with ``error="insufficient_scope"`` (or the body's ``request_scope``) →
      ``REAUTHORIZE`` with the scopes; any other ``403`` → ``GIVE_UP``.
    - ``400`` → ``FIX_REQUEST``; ``404``/``410`` → ``NOT_FOUND``; ``503``/``429`` →
      ``RETRY_LATER`` with ``retry_after``; anything else → ``GIVE_UP``.
    """
    status = int(status)
    challenges = _challenges(header_values(headers, "WWW-Authenticate"))
    problem = _problem(body)
    resolution = problem.get("resolution")
    resolution = resolution if isinstance(resolution, str) else None
    bearer = _first(challenges, BEARER)
    flow = _first(challenges, OAUTH2)
    errored = next((c for c in challenges if c.param("error") is not None), None)
    scope = _param((bearer, flow, errored), "scope")
    scopes: tuple[str, ...] = tuple(scope.split()) if scope else ()
    required = problem.get("required_scopes")
    if not scopes and isinstance(required, list):
        scopes = tuple(s for s in required if isinstance(s, str))
    base = Advice(
        status,
        Action.PROCEED,
        challenges=challenges,
        schemes=tuple(dict.fromkeys(c.scheme for c in challenges if not c.matches_scheme(OAUTH2))),
        scopes=scopes,
        error=errored.param("error") if errored is not None else None,
        error_description=errored.param("error_description") if errored is not None else None,
        resource_metadata=_param((bearer, *challenges), "resource_metadata"),
        flows=tuple((flow.param("flows") or "").split()) if flow is not None else (),
        authorization_endpoint=flow.param("authorization_endpoint") if flow else None,
        token_endpoint=flow.param("token_endpoint") if flow else None,
        resolution=resolution,
    )
    if status == 401:
        step_up = _step_up(base.error, errored, problem)
        if step_up is not None:
            return replace(base, action=Action.STEP_UP, step_up=step_up)
        return replace(base, action=_unauthorized(base, has_flow=flow is not None))
    if status == 403:
        scoped = base.error == "insufficient_scope" or resolution == Resolution.REQUEST_SCOPE
        return replace(base, action=Action.REAUTHORIZE if scoped else Action.GIVE_UP)
    if status in (503, 429):
        return replace(base, action=Action.RETRY_LATER, retry_after=_retry_after(headers))
    return replace(base, action=_by_status(status))


STEP_UP_ERROR = "insufficient_user_authentication"
STEP_UP_TYPE = "insufficient-user-authentication"


def _step_up(
    error: str | None, errored: Challenge | None, problem: Mapping[str, Any]
) -> StepUp | None:
    """RFC 9470 §3 advice from the error's challenge, or from an authstatus problem body (a
    session refused the same way has no Bearer error)."""
    problem_type = problem.get("type")
    from_body = isinstance(problem_type, str) and problem_type.endswith(STEP_UP_TYPE)
    if error != STEP_UP_ERROR and not from_body:
        return None
    max_age: Any = None
    acr: Any = None
    if error == STEP_UP_ERROR and errored is not None:
        max_age, acr = errored.param("max_age"), errored.param("acr_values")
    if max_age is None:
        max_age = problem.get("max_age")
    if acr is None:
        acr = problem.get("acr_values")
    if isinstance(acr, str):
        acr = acr.split()
    values = tuple(v for v in acr if isinstance(v, str)) if isinstance(acr, list | tuple) else ()
    seconds = None
    if isinstance(max_age, int) and not isinstance(max_age, bool):
        seconds = max_age
    elif isinstance(max_age, str) and max_age.strip().isdigit():
        seconds = int(max_age)
    return StepUp(max_age=seconds, acr_values=values)


def _unauthorized(advice: Advice, *, has_flow: bool) -> Action:
    error, resolution = advice.error, advice.resolution
    client_token = (
        Flow.CLIENT_CREDENTIALS in advice.flows
        if has_flow
        else resolution == Resolution.CLIENT_CREDENTIALS
    )
    if client_token and error in ("invalid_token", None):
        return Action.REQUEST_CLIENT_TOKEN
    if error == "invalid_token":
        if has_flow:
            expired = Flow.REFRESH_TOKEN in advice.flows
        elif resolution is not None:
            expired = resolution == Resolution.REFRESH_TOKEN
        else:
            expired = "expired" in (advice.error_description or "").lower()
        return Action.REFRESH_TOKEN if expired else Action.LOG_IN
    if error == "invalid_request":
        return Action.FIX_REQUEST
    if error is not None or resolution == Resolution.REAUTHENTICATE:
        return Action.LOG_IN
    if resolution == Resolution.REFRESH_TOKEN:
        return Action.REFRESH_TOKEN
    offered = [c for c in advice.challenges if not c.matches_scheme(OAUTH2)]
    if offered and all(_is_login_form(c) for c in offered):
        return Action.LOG_IN
    return Action.SEND_CREDENTIALS


def _by_status(status: int) -> Action:
    if status < 400:
        return Action.PROCEED
    if status == 400:
        return Action.FIX_REQUEST
    if status in (404, 410):
        return Action.NOT_FOUND
    return Action.GIVE_UP
