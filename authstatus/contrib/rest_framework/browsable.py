"""Refusals inside DRF's browsable API.

A browser that DRF's content negotiation sent to the browsable API (its ``Accept`` prefers
``text/html``, or ``?format=api``) and that is refused ``401`` or ``403`` gets the browsable
API page — navbar, breadcrumbs, the problem details in the response panel — instead of
authstatus's bare HTML page. The page adds the refusal's title, detail and resolution, and,
when logging in can help, a "Log in" link to ``LOGIN_URL?next=<path>`` in the navbar (DRF's
own link needs ``rest_framework.urls``; this one does not).

Concealed ``404``\\ s are not rendered here: every ``404`` stays
:func:`~authstatus.concealment.notfound.not_found_response`, byte for byte the one of a missing
URL.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.utils.translation import gettext as _
from rest_framework.renderers import BrowsableAPIRenderer
from rest_framework.response import Response

from authstatus.conf import app_settings
from authstatus.core.decision import Outcome, Resolution
from authstatus.enforcement.responses import finish_refusal, login_url, problem

if TYPE_CHECKING:
    from django.http import HttpResponse
    from rest_framework.request import Request

    from authstatus.core.decision import Decision

__all__ = ["REFUSAL_TEMPLATE", "browsable_refusal"]

REFUSAL_TEMPLATE = "authstatus/rest_framework/refusal.html"
"""Extends the renderer's own template (``rest_framework/api.html`` unless a project's
subclass sets another), so a restyled browsable API stays restyled."""


def _advice() -> dict[Resolution, str]:
    return {
        Resolution.AUTHENTICATE: _(
            "Log in, or send credentials with one of the challenged schemes."
        ),
        Resolution.REAUTHENTICATE: _("The credentials sent are not valid: log in again."),
        Resolution.REFRESH_TOKEN: _("The access token expired: refresh it, or log in again."),
        Resolution.REQUEST_SCOPE: _("Obtain a token with the scopes this request needs."),
        Resolution.NOT_AVAILABLE: _("Nobody may do this: it is not available."),
        Resolution.NOT_PERMITTED: _("You may not do this: another login would not help."),
    }


class _RefusalMixin:
    """Renders with :data:`REFUSAL_TEMPLATE` and adds the refusal to the context."""

    authstatus_base_template: str
    authstatus_context: dict[str, Any]

    def get_context(self, *args: Any, **kwargs: Any) -> dict[str, Any]:
        context: dict[str, Any] = super().get_context(*args, **kwargs)  # type: ignore[misc]
        context.update(self.authstatus_context)
        context["authstatus_base_template"] = self.authstatus_base_template
        return context

    # No forms on a refusal page. DRF would decide each form's method again (through
    # PolicyPermission), and every such decision sends access_denied: one refusal would be
    # logged four times.

    def show_form_for_method(self, *args: Any, **kwargs: Any) -> bool:
        return False

    def get_rendered_html_form(self, *args: Any, **kwargs: Any) -> None:
        return None


_renderers: dict[type[BrowsableAPIRenderer], type[BrowsableAPIRenderer]] = {}


def _refusal_renderer(cls: type[BrowsableAPIRenderer]) -> type[BrowsableAPIRenderer]:
    """``cls`` rendering :data:`REFUSAL_TEMPLATE`, which extends ``cls.template``."""
    if cls not in _renderers:
        _renderers[cls] = type(
            f"Refusal{cls.__name__}",
            (_RefusalMixin, cls),
            {"template": REFUSAL_TEMPLATE, "authstatus_base_template": cls.template},
        )
    return _renderers[cls]


def browsable_refusal(request: Request, decision: Decision) -> HttpResponse | None:
    """The browsable API response for a ``401``/``403`` refusal, or ``None`` when the
    request was not negotiated to the browsable API (or browsers are redirected to log in)."""
    renderer = getattr(request, "accepted_renderer", None)
    if not isinstance(renderer, BrowsableAPIRenderer) or decision.status not in (401, 403):
        return None
    if (
        decision.outcome is Outcome.AUTHENTICATION_REQUIRED
        and app_settings.REDIRECT_BROWSERS_TO_LOGIN
    ):
        return None
    body = problem(decision)
    refusal = _refusal_renderer(type(renderer))()
    refusal.authstatus_context = {  # type: ignore[attr-defined]
        "problem": body,
        "authstatus_login_url": login_url(request._request, decision),
        "authstatus_advice": _advice().get(decision.resolution, ""),
        "authstatus_step_up": decision.outcome is Outcome.INSUFFICIENT_USER_AUTHENTICATION,
    }
    # DRF's finalize_response renders with the request's accepted renderer.
    request.accepted_renderer = refusal
    response = Response(body, status=decision.status)
    return finish_refusal(request._request, decision, response)
