"""The DRF side of uniform concealment (:mod:`authstatus.concealment.uniform`): a view that refuses
every request as a concealed DRF route would, with the project's default authentication classes.

It runs through DRF's ``APIView.dispatch`` — content negotiation, the authentication loop
(``request.user``), ``authenticate_header()`` on a failure, the permission check — and authstatus's
decision and ``404`` rendering, with :data:`~authstatus.concealment.uniform.UNIFORM_POLICY` in place
of the policy of the path. No throttling: a missing URL is never throttled.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from rest_framework import exceptions
from rest_framework.permissions import BasePermission
from rest_framework.views import APIView

from authstatus.concealment.uniform import UNIFORM_POLICY, call_as_routed, match_as_a_route
from authstatus.contrib.rest_framework.anonymous import refuse_anonymous
from authstatus.contrib.rest_framework.decisions import decide_view
from authstatus.contrib.rest_framework.exceptions import _authenticated, _not_found, _unavailable
from authstatus.contrib.rest_framework.permissions import AccessDenied
from authstatus.enforcement.evaluation import log_concealed_failure
from authstatus.policies.propagation import PoliciesUnavailable

if TYPE_CHECKING:
    from django.http import HttpRequest, HttpResponse
    from rest_framework.request import Request

__all__ = ["UniformNotFound", "uniform_exception_handler", "uniform_view"]


class _Concealed(BasePermission):
    """:class:`~authstatus.contrib.rest_framework.PolicyPermission` with the uniform policy:
    a refusal is the concealed 404; what it would allow is not there either."""

    def has_permission(self, request: Request, view: APIView) -> bool:
        request.user  # noqa: B018 - runs DRF's authentication: bad credentials raise here
        decision = decide_view(request, view, policy=UNIFORM_POLICY)
        if decision.allowed:
            raise exceptions.NotFound()
        raise AccessDenied(decision)


def uniform_exception_handler(exc: Exception, context: dict[str, Any]) -> HttpResponse:
    """Every exception ends in the project's 404, after the decision a concealed route makes
    for it: bad credentials are decided with what the request presented, and an exception
    raised before authentication (``406`` from content negotiation) decides the request
    first, as :func:`authstatus.contrib.rest_framework.exception_handler` does."""
    request, view = context["request"], context["view"]
    try:
        if isinstance(exc, exceptions.AuthenticationFailed):
            decide_view(request, view, policy=UNIFORM_POLICY, raised=exc)
        elif not isinstance(exc, AccessDenied | exceptions.NotFound) and not _authenticated(
            request
        ):
            try:
                decide_view(request, view, policy=UNIFORM_POLICY)
            except exceptions.AuthenticationFailed as failed:
                decide_view(request, view, policy=UNIFORM_POLICY, raised=failed)
    except PoliciesUnavailable:
        return _unavailable(request, view)
    except Exception as failure:
        log_concealed_failure(request._request, failure)
    if isinstance(exc, PoliciesUnavailable):
        return _unavailable(request, view)
    return _not_found(request, view)


class UniformNotFound(APIView):
    permission_classes = [_Concealed]
    throttle_classes: list[type] = []

    def get_exception_handler(self) -> Callable[..., Any]:
        return uniform_exception_handler


@functools.cache
def uniform_view() -> Callable[..., HttpResponse]:
    view: Callable[..., HttpResponse] = UniformNotFound.as_view()
    return view


def uniform_not_found(request: HttpRequest) -> HttpResponse:
    """The uniform ``404`` of a missing URL through DRF: without credentials, refused before
    DRF dispatches as a concealed DRF route's refusal is; else through the uniform view."""
    view = uniform_view()
    try:
        response = refuse_anonymous(request, view, policy=UNIFORM_POLICY)
    except PoliciesUnavailable:
        response = None  # DRF answers the 503, as on a concealed route
    if response is None:
        response = call_as_routed(request, view)
        match_as_a_route(request, view)  # what Django built for the concealed route
    return response
