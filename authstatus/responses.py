"""Render a :class:`~authstatus.core.decision.Decision` as an HTTP response.

API clients get RFC 9457 problem details (``application/problem+json``) with a stable
``type`` per outcome, ``title``, ``status`` (always the HTTP status), ``detail`` and the
extension member ``resolution`` (what the client can do); ``required_scopes`` is added for
``insufficient_scope``. Clients that prefer ``text/html`` get a short page; the ``401`` page
links to the login URL. Every refusal carries ``Cache-Control: no-store`` and varies on
``Authorization``, ``Cookie`` and ``Accept`` — the same URL answers differently per client.
No response ever contains the credentials that were sent.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.http import HttpResponse
from django.shortcuts import resolve_url
from django.template.loader import render_to_string
from django.utils.cache import patch_vary_headers
from django.utils.translation import gettext as _

from authstatus.conf import app_settings
from authstatus.core.challenges import format_challenges
from authstatus.core.decision import (
    Access,
    Credentials,
    Decision,
    Outcome,
    Policy,
    Resolution,
    decide,
)

if TYPE_CHECKING:
    from django.http import HttpRequest

__all__ = [
    "PROBLEM_JSON",
    "not_found_response",
    "problem",
    "render_decision",
    "unavailable_response",
]

PROBLEM_JSON = "application/problem+json"
HTML = "text/html"
VARY = ("Authorization", "Cookie", "Accept")


def _titles() -> dict[Outcome, str]:
    return {
        Outcome.INVALID_REQUEST: _("Invalid request"),
        Outcome.AUTHENTICATION_REQUIRED: _("Authentication required"),
        Outcome.INVALID_CREDENTIALS: _("Invalid credentials"),
        Outcome.CLOSED: _("Not available"),
        Outcome.FORBIDDEN: _("Forbidden"),
        Outcome.INSUFFICIENT_SCOPE: _("Insufficient scope"),
        Outcome.NOT_FOUND: _("Not found"),
    }


def problem(decision: Decision) -> dict[str, object]:
    """The RFC 9457 problem details object for ``decision``."""
    body: dict[str, object] = {
        "type": app_settings.PROBLEM_TYPE_BASE + decision.outcome.value,
        "title": _titles()[decision.outcome],
        "status": decision.status,
        "detail": decision.description,
        "resolution": decision.resolution.value,
    }
    if decision.outcome is Outcome.INSUFFICIENT_SCOPE:
        body["required_scopes"] = sorted(decision.required_scopes)
    return body


def _prefers_html(request: HttpRequest) -> bool:
    preferred = request.get_preferred_type([PROBLEM_JSON, "application/json", HTML])
    return preferred == HTML


def render_decision(request: HttpRequest, decision: Decision) -> HttpResponse:
    """The response for a refusal; ``decision`` must not be an allowed one."""
    if decision.allowed:
        raise ValueError("an allowed decision has no refusal response")
    html = _prefers_html(request)
    if (
        html
        and decision.outcome is Outcome.AUTHENTICATION_REQUIRED
        and app_settings.REDIRECT_BROWSERS_TO_LOGIN
    ):
        response: HttpResponse = redirect_to_login(request.get_full_path())
    elif html:
        response = HttpResponse(
            render_to_string(
                "authstatus/problem.html",
                {
                    "problem": problem(decision),
                    "login_url": _login_url(request, decision),
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
    if decision.challenges and response.status_code == decision.status:
        response["WWW-Authenticate"] = format_challenges(decision.challenges)
    response["Cache-Control"] = "no-store"
    patch_vary_headers(response, VARY)
    return response


def _login_url(request: HttpRequest, decision: Decision) -> str | None:
    if decision.resolution not in (Resolution.AUTHENTICATE, Resolution.REAUTHENTICATE):
        return None
    return str(redirect_to_login(request.get_full_path(), resolve_url(settings.LOGIN_URL)).url)


def not_found_response(request: HttpRequest) -> HttpResponse:
    """The 404 every DRF route answers, concealed or genuinely missing: one function, so the
    two cannot differ."""
    return render_decision(request, decide(Credentials.absent(), CONCEALED, None, ()))


CONCEALED = Policy(access=Access.NOBODY, conceal=True, source="not-found")


RETRY_AFTER_SECONDS = 5


def unavailable_response(request: HttpRequest) -> HttpResponse:
    """``503`` with ``Retry-After`` when no policies could ever be loaded (RFC 9110 §15.6.4):
    authstatus refuses rather than guess."""
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
    return response
