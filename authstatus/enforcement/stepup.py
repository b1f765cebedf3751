"""Step-up authentication (RFC 9470): when, and how, a session's user last authenticated.

Django's ``login()`` sends ``user_logged_in``; :func:`user_logged_in` (connected in
:meth:`authstatus.apps.AuthStatusConfig.ready`) records the time in the session, and
:class:`~authstatus.enforcement.authenticators.SessionAuthenticator` reads it into the request's
credentials, where ``max_age`` policies compare it with the clock. A session that logged in
before this was installed has no recorded time: it fails ``max_age`` policies until the user
logs in again (fail closed).

The session's authentication context class (``acr``) is unknown unless the project says it:
an MFA step calls :func:`record_authentication` with the class it achieved, e.g.
``record_authentication(request, acr="mfa")`` once a second factor was verified.

Authorization requests to django-oauth-toolkit carry the session's authentication into the
tokens they produce (:mod:`authstatus.contrib.oauth2_provider.authtime`); this module keeps
the request being authorised in :data:`authorizing` for that.
"""

from __future__ import annotations

import contextvars
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from django.http import HttpRequest

__all__ = [
    "SESSION_ACR",
    "SESSION_AUTH_TIME",
    "authorizing",
    "claims_authentication",
    "record_authentication",
    "session_authentication",
    "user_logged_in",
]

SESSION_AUTH_TIME = "_authstatus_auth_time"
"""Session key: the epoch second of the last login (an ``int``)."""
SESSION_ACR = "_authstatus_acr"
"""Session key: the authentication context class of the last login, when known."""

authorizing: contextvars.ContextVar[HttpRequest | None] = contextvars.ContextVar(
    "authstatus_authorizing", default=None
)
"""The authorization request (the user's, with their session) being handled, if any: set by
:class:`~authstatus.middleware.AuthStatusMiddleware` for django-oauth-toolkit's authorization
views and cleared when the next request starts."""


def record_authentication(
    request: HttpRequest, *, acr: str | None = None, when: float | None = None
) -> None:
    """Record in ``request.session`` that its user authenticated now (or at ``when``), with
    the authentication context class ``acr`` when known (RFC 9470 §3, OpenID Connect
    ``auth_time`` and ``acr``)."""
    session = request.session
    session[SESSION_AUTH_TIME] = int(time.time() if when is None else when)
    if acr:
        session[SESSION_ACR] = str(acr)
    else:
        session.pop(SESSION_ACR, None)


def session_authentication(request: HttpRequest) -> tuple[float | None, str | None]:
    """``(auth_time, acr)`` recorded in the request's session; ``None`` for what is unknown
    (no session, a login before authstatus recorded it, a value of the wrong type)."""
    session = getattr(request, "session", None)
    if session is None:
        return None, None
    auth_time = session.get(SESSION_AUTH_TIME)
    acr = session.get(SESSION_ACR)
    if isinstance(auth_time, bool) or not isinstance(auth_time, int | float):
        auth_time = None
    return auth_time, acr if isinstance(acr, str) and acr else None


def claims_authentication(claims: Mapping[str, Any]) -> tuple[float | None, str | None]:
    """``(auth_time, acr)`` from a token's claims: a JWT access token (RFC 9068 §2.2.1) or an
    introspection response (RFC 9470 §6.2, RFC 7662). ``auth_time`` must be a number of
    epoch seconds and ``acr`` a non-empty string; anything else is unknown (``None``), which
    fails step-up policies rather than passing them."""
    auth_time = claims.get("auth_time")
    acr = claims.get("acr")
    if isinstance(auth_time, bool) or not isinstance(auth_time, int | float):
        auth_time = None
    elif auth_time != auth_time or auth_time in (float("inf"), float("-inf")):
        auth_time = None  # NaN and infinities: not a time
    return auth_time, acr if isinstance(acr, str) and acr else None


def user_logged_in(sender: Any, request: HttpRequest | None = None, **kwargs: Any) -> None:
    """``user_logged_in`` receiver: the login is a new authentication, of no known class."""
    if request is not None and getattr(request, "session", None) is not None:
        record_authentication(request)


def clear_authorizing(sender: Any, **kwargs: Any) -> None:
    """``request_started`` receiver: no authorization request is carried over to the next."""
    authorizing.set(None)
