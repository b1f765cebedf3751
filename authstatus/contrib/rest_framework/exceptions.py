"""``exception_handler``: DRF's ``EXCEPTION_HANDLER`` rendering authstatus decisions.

* :class:`~authstatus.contrib.rest_framework.permissions.AccessDenied` is rendered as decided.
* Authentication failures (ours or a third party's), ``NotAuthenticated`` and
  ``PermissionDenied`` from any permission class are decided again with everything the
  request presented, so the status no longer depends on which authentication class is first
  (DRF's ``APIView.handle_exception`` consults only ``authenticators[0]``).
* Every 404 — ``Http404``, ``NotFound`` or a concealed refusal — is rendered by the same
  function, so a concealed resource and a missing one answer alike.
* Anything else goes to DRF's default handler.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from django.http import Http404, HttpResponse
from rest_framework import exceptions

from authstatus.contrib.rest_framework.decisions import decide_view, refuse_view
from authstatus.contrib.rest_framework.permissions import AccessDenied
from authstatus.core.decision import Access, Decision
from authstatus.decorators import view_policy
from authstatus.policies import PoliciesUnavailable, resolve
from authstatus.responses import not_found_response, render_decision, unavailable_response

__all__ = ["exception_handler"]


def exception_handler(exc: Exception, context: dict[str, Any]) -> HttpResponse | None:
    request = context["request"]
    view = context["view"]
    if isinstance(exc, (Http404, exceptions.NotFound)):
        return not_found_response(request._request)
    if isinstance(exc, PoliciesUnavailable):
        return unavailable_response(request._request)
    decision: Decision | None = None
    if isinstance(exc, AccessDenied):
        decision = exc.decision
    elif isinstance(exc, exceptions.AuthenticationFailed):
        decision = decide_view(request, view, raised=exc)
    elif isinstance(exc, (exceptions.NotAuthenticated, exceptions.PermissionDenied)):
        decision = _third_party_refusal(request, view, exc)
    if decision is None:
        # Imported here: rest_framework.views imports the authentication classes at import.
        from rest_framework.views import exception_handler as drf_exception_handler

        response: HttpResponse | None = drf_exception_handler(exc, context)
        return response
    if decision.status == 404:
        return not_found_response(request._request)
    return render_decision(request._request, decision)


def _third_party_refusal(request: Any, view: Any, exc: exceptions.APIException) -> Decision:
    """A permission class other than PolicyPermission refused: decide with a policy that
    demands authentication, and refuse with 403 if the request was authenticated anyway."""
    policy = resolve(request.method, request._request.path_info, view_policy(view))
    if policy.access is Access.ANONYMOUS:
        policy = dataclasses.replace(policy, access=Access.AUTHENTICATED)
    decision = decide_view(request, view, policy=policy, raised=None)
    if decision.allowed:
        return refuse_view(request, view, policy, str(exc.detail))
    return decision
