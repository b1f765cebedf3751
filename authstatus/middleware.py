"""``AuthStatusMiddleware``: policies enforced for plain Django views.

Place it after ``AuthenticationMiddleware``. In ``process_view`` it decides every plain
Django view (function or class-based) with the same core, challenges and bodies as DRF views,
using the authenticators in ``MIDDLEWARE_AUTHENTICATORS`` (the session by default). It leaves
alone:

* DRF views — ``PolicyPermission`` enforces those, with the view's own authentication classes;
* views in the ``EXEMPT_NAMESPACES`` (the admin, DOT's endpoints, authstatus's own), the view
  serving ``settings.LOGIN_URL``, and views marked ``@authstatus.decorators.exempt``: they do
  their own access control, and a login page must stay reachable.

A concealed refusal raises ``Http404``, so Django's own 404 handling (``handler404``) answers
it exactly as it answers a URL that does not exist.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.http import Http404
from django.shortcuts import resolve_url
from django.utils.cache import patch_cache_control, patch_vary_headers

from authstatus.authentication import URI_TOKEN_ATTRIBUTE, challenges_for
from authstatus.conf import app_settings
from authstatus.core.decision import CredentialState
from authstatus.decorators import is_exempt, view_policy
from authstatus.enforcement import evaluate, middleware_authenticators
from authstatus.policies import PoliciesUnavailable
from authstatus.responses import render_decision, unavailable_response

if TYPE_CHECKING:
    from django.http import HttpRequest, HttpResponse

__all__ = ["AuthStatusMiddleware"]


def is_drf_view(view_func: Any) -> bool:
    cls = getattr(view_func, "cls", None)
    if cls is None:
        return False
    from rest_framework.views import APIView

    return isinstance(cls, type) and issubclass(cls, APIView)


def is_exempt_view(view_func: Any, namespaces: Iterable[str], *paths: str) -> bool:
    """Whether the middleware leaves this plain view alone (see the module docstring).

    ``paths`` are the request's paths to compare with ``LOGIN_URL``: ``request.path`` (with
    the script prefix, as a reversed URL name resolves) and ``request.path_info`` (without
    it, as a literal ``LOGIN_URL`` path is usually written).
    """
    if is_exempt(view_func) or set(namespaces) & app_settings.EXEMPT_NAMESPACES:
        return True
    return resolve_url(settings.LOGIN_URL) in paths


class AuthStatusMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if response.status_code == 404:
            # Deciding a concealed refusal reads the session, so SessionMiddleware marks that
            # 404 "Vary: Cookie"; a URL that does not exist is answered without reading it.
            # Every 404 varies alike, so the header cannot tell the two apart.
            patch_vary_headers(response, ("Cookie",))
        if getattr(request, URI_TOKEN_ATTRIBUTE, False):
            # RFC 6750 §2.3: a response to a request with the token in the URI query.
            patch_cache_control(response, private=True)
        return response

    def process_view(
        self,
        request: HttpRequest,
        view_func: Callable[..., Any],
        view_args: tuple[Any, ...],
        view_kwargs: dict[str, Any],
    ) -> HttpResponse | None:
        match = request.resolver_match
        namespaces = match.namespaces if match is not None else ()
        if is_drf_view(view_func) or is_exempt_view(
            view_func, namespaces, request.path, request.path_info
        ):
            return None
        authenticators = middleware_authenticators()
        try:
            decision, result = evaluate(
                request,
                results=[a.authenticate(request) for a in authenticators],
                challenges=challenges_for(authenticators, request),
                view_policy=view_policy(view_func),
                sender=type(self),
            )
        except PoliciesUnavailable:
            return unavailable_response(request)
        if decision.allowed:
            if result.credentials.state is CredentialState.VALID:
                request.user = result.user
            return None
        if decision.status == 404:
            raise Http404
        return render_decision(request, decision)
