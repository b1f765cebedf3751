"""Render a :class:`~authstatus.core.decision.Decision` as an HTTP response.

API clients get RFC 9457 problem details (``application/problem+json``) with a stable
``type`` per outcome, ``title``, ``status`` (always the HTTP status), ``detail`` and the
extension member ``resolution`` (what the client can do); ``required_scopes`` is added for
``insufficient_scope``, ``max_age`` and ``acr_values`` for ``insufficient-user-authentication``
(RFC 9470). Clients that prefer ``text/html`` get a short page; the ``401`` page links to the
login URL (with ``next``), and on a step-up refusal asks the user to confirm who they are.
Every refusal carries ``Cache-Control: no-store`` and varies on ``Authorization``, ``Cookie``
and ``Accept`` — the same URL answers differently per client.
No response ever contains the credentials that were sent.

Every 404 of a project — concealed or genuinely missing, from a DRF view, a plain view or a
URL no route matches — is :func:`not_found_response` (``handler404`` is
:func:`authstatus.views.page_not_found`), so the two cannot be told apart. With
``CONCEALED_CHALLENGE_PATHS`` it may carry a ``Bearer`` challenge, decided by the path and the
request's headers alone, never by what exists.
"""

from __future__ import annotations

import functools
import json
from contextlib import suppress

from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse
from django.shortcuts import resolve_url
from django.template.loader import render_to_string
from django.utils.cache import patch_vary_headers
from django.utils.encoding import escape_uri_path
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from authstatus.conf import app_settings
from authstatus.core.challenges import Challenge, format_challenges
from authstatus.core.decision import (
    Decision,
    Outcome,
    Resolution,
)
from authstatus.enforcement.authenticators import query_may_carry
from authstatus.enforcement.i18n import describe

__all__ = [
    "PROBLEM_JSON",
    "VARY",
    "browser_navigation",
    "client_challenges",
    "finish_refusal",
    "login_url",
    "preflight_response",
    "problem",
    "render_decision",
    "settle_session",
    "unavailable_response",
]

PROBLEM_JSON = "application/problem+json"
HTML = "text/html"
VARY = ("Authorization", "Cookie", "Accept")


# Marked for translation here, translated per response: one lookup, not one per outcome.
TITLES: dict[Outcome, str] = {
    Outcome.INVALID_REQUEST: gettext_noop("Invalid request"),
    Outcome.AUTHENTICATION_REQUIRED: gettext_noop("Authentication required"),
    Outcome.INVALID_CREDENTIALS: gettext_noop("Invalid credentials"),
    Outcome.CLOSED: gettext_noop("Not available"),
    Outcome.FORBIDDEN: gettext_noop("Forbidden"),
    Outcome.INSUFFICIENT_SCOPE: gettext_noop("Insufficient scope"),
    Outcome.INSUFFICIENT_USER_AUTHENTICATION: gettext_noop("Confirm who you are"),
    Outcome.NOT_FOUND: gettext_noop("Not found"),
    Outcome.UNAVAILABLE: gettext_noop("Service unavailable"),
}


def problem(decision: Decision) -> dict[str, object]:
    """The RFC 9457 problem details object for ``decision``."""
    body: dict[str, object] = {
        "type": app_settings.PROBLEM_TYPE_BASE + decision.outcome.value,
        "title": _(TITLES[decision.outcome]),
        "status": decision.status,
        "detail": describe(decision),
        "resolution": decision.resolution.value,
    }
    if decision.outcome is Outcome.INSUFFICIENT_SCOPE:
        body["required_scopes"] = sorted(decision.required_scopes)
    elif decision.outcome is Outcome.INSUFFICIENT_USER_AUTHENTICATION:
        # RFC 9470 §3's challenge parameters, for clients of any scheme (sessions too).
        if decision.policy.max_age is not None:
            body["max_age"] = decision.policy.max_age
        if decision.policy.acr_values:
            body["acr_values"] = list(decision.policy.acr_values)
    return body


def _prefers_html(request: HttpRequest) -> bool:
    return _accept_prefers_html(request.META.get("HTTP_ACCEPT", "*/*"))


@functools.lru_cache(maxsize=256)
def _accept_prefers_html(accept: str) -> bool:
    """Whether an ``Accept`` value prefers HTML over problem details (RFC 9110 §12.5.1, as
    ``HttpRequest.get_preferred_type`` reads it). Clients send few distinct values: parsing
    each once keeps the negotiation off the per-request cost of a refusal."""
    probe = HttpRequest()
    probe.META["HTTP_ACCEPT"] = accept
    return probe.get_preferred_type([PROBLEM_JSON, "application/json", HTML]) == HTML


def render_decision(request: HttpRequest, decision: Decision) -> HttpResponse:
    """The response for a decision that does not let the view run; ``decision`` must not
    be an allowed one. A refused CORS preflight (``Outcome.PREFLIGHT``) is
    :func:`preflight_response`."""
    if decision.allowed:
        raise ValueError("an allowed decision has no refusal response")
    if decision.outcome is Outcome.PREFLIGHT:
        return preflight_response()
    html = _prefers_html(request)
    if (
        html
        and decision.outcome is Outcome.AUTHENTICATION_REQUIRED
        and app_settings.REDIRECT_BROWSERS_TO_LOGIN
    ):
        response: HttpResponse = redirect_to_login(_next_path(request))
    elif html:
        response = HttpResponse(
            render_to_string(
                "authstatus/problem.html",
                {
                    "problem": problem(decision),
                    "login_url": _login_url(request, decision),
                    "step_up": decision.outcome is Outcome.INSUFFICIENT_USER_AUTHENTICATION,
                },
                request=request,
            ),
            status=decision.status,
            content_type="text/html; charset=utf-8",
        )
    else:
        response = HttpResponse(
            json.dumps(problem(decision)), status=decision.status, content_type=PROBLEM_JSON
        )
    return finish_refusal(request, decision, response)


def preflight_response() -> HttpResponse:
    """A CORS preflight answered in the place of a view that may not run for it: ``200``
    with an empty body, as django-cors-headers answers the preflights it handles (Fetch
    standard: any ``2xx`` passes the CORS-preflight fetch's status check). It carries no
    ``Access-Control-Allow-*`` header: CORS is the project's choice, made by the middleware
    that answers preflights before authstatus (django-cors-headers' ``CorsMiddleware``); a
    URL it does not handle has no CORS, and the browser then refuses the real request."""
    response = HttpResponse(status=200)
    response["Content-Length"] = "0"
    return response


def finish_refusal(
    request: HttpRequest, decision: Decision, response: HttpResponse
) -> HttpResponse:
    """Add the headers every refusal carries: ``WWW-Authenticate`` (unless ``response`` is a
    redirect), ``Cache-Control: no-store`` and the refusal ``Vary``."""
    if decision.challenges and response.status_code == decision.status:
        response["WWW-Authenticate"] = format_challenges(client_challenges(request, decision))
    if decision.retry_after is not None:
        response["Retry-After"] = str(decision.retry_after)
    response["Cache-Control"] = "no-store"
    patch_vary_headers(response, VARY)
    if _hides_schemes(decision):
        patch_vary_headers(response, ("Sec-Fetch-Mode",))
    return response


def _hides_schemes(decision: Decision) -> bool:
    hidden = app_settings.BROWSER_HIDDEN_SCHEMES
    return (
        decision.status == 401
        and bool(hidden)
        and any(c.scheme.lower() in hidden for c in decision.challenges)
    )


def browser_navigation(request: HttpRequest) -> bool:
    """Whether ``request`` is a browser loading a page: ``Sec-Fetch-Mode: navigate`` (Fetch
    metadata, sent by every current browser), or an ``Accept`` preferring ``text/html``."""
    # META, not request.headers: that builds a dict of every header, per refusal.
    return request.META.get("HTTP_SEC_FETCH_MODE") == "navigate" or _prefers_html(request)


def client_challenges(request: HttpRequest, decision: Decision) -> tuple[Challenge, ...]:
    """The challenges ``request`` is sent: the decision's, less ``BROWSER_HIDDEN_SCHEMES``
    on a ``401`` to a browser navigation (for ``Basic`` a browser pops up a password dialog
    instead of showing the page). At least one challenge stays: RFC 9110 §15.5.2 requires
    one on every ``401``, so a route that accepts only hidden schemes keeps them."""
    if not _hides_schemes(decision) or not browser_navigation(request):
        return decision.challenges
    hidden = app_settings.BROWSER_HIDDEN_SCHEMES
    kept = tuple(c for c in decision.challenges if c.scheme.lower() not in hidden)
    return kept or decision.challenges


def login_url(request: HttpRequest, decision: Decision) -> str | None:
    """``LOGIN_URL?next=<path>`` when logging in can fix ``decision``, else ``None``."""
    return _login_url(request, decision)


def _login_url(request: HttpRequest, decision: Decision) -> str | None:
    if decision.resolution not in (Resolution.AUTHENTICATE, Resolution.REAUTHENTICATE):
        return None
    return str(redirect_to_login(_next_path(request), resolve_url(settings.LOGIN_URL)).url)


def _next_path(request: HttpRequest) -> str:
    """Where the login page sends the user back: the request's path and query, without any
    ``access_token`` parameter — a page or a ``Location`` must not echo a credential
    (RFC 6750 §2.3, §5.3)."""
    # Not in_query(): a query Django refuses to read must raise here, never be echoed whole.
    if not query_may_carry(request, TOKEN_PARAMETER) or TOKEN_PARAMETER not in request.GET:
        return request.get_full_path()
    query = request.GET.copy()
    query.pop(TOKEN_PARAMETER, None)
    path = escape_uri_path(request.path)
    return f"{path}?{query.urlencode()}" if query else path


TOKEN_PARAMETER = "access_token"


def settle_session(request: HttpRequest) -> None:
    """Read the session login as deciding a refusal may have, whatever was decided.

    Deciding a concealed refusal can load the session (the session authenticator reads
    ``request.user``); a URL no route matches never would. ``SessionMiddleware`` answers what
    happened to the session: it deletes the cookie of an expired or forged session once
    loaded, and Django's ``get_user`` flushes a session whose password hash no longer
    matches. Calling ``get_user`` here for every 404 makes the session end in the same state
    — and the ``Set-Cookie`` the same — for a concealed resource and a missing one. It costs
    nothing without a session cookie, and one query with one (as the refusal did).
    """
    if getattr(request, "session", None) is None:
        return
    from django.contrib.auth import get_user

    get_user(request)


RETRY_AFTER_SECONDS = 5


def unavailable_response(request: HttpRequest) -> HttpResponse:
    """``503`` with ``Retry-After`` when no policies could ever be loaded (RFC 9110 §15.6.4):
    authstatus refuses rather than guess. Enforced routes and (as :func:`not_found_response`)
    missing URLs answer it alike: it varies like every refusal, and the session is read as
    deciding would have (unless the session store is down too)."""
    with suppress(Exception):
        settle_session(request)
    body = {
        "type": app_settings.PROBLEM_TYPE_BASE + "policies-unavailable",
        "title": _("Service unavailable"),
        "status": 503,
        "detail": _("Access policies could not be loaded. Try again later."),
        "resolution": Resolution.RETRY_LATER.value,
    }
    response = HttpResponse(json.dumps(body), status=503, content_type=PROBLEM_JSON)
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    response["Cache-Control"] = "no-store"
    patch_vary_headers(response, VARY)
    return response
