"""``APPEND_SLASH`` without revealing a concealed resource: Django's ``CommonMiddleware``, less
the redirect to a concealed route (public as ``authstatus.middleware.CommonMiddleware``)."""

from __future__ import annotations

from collections.abc import Awaitable
from typing import TYPE_CHECKING, cast

from django.middleware import common
from django.urls import Resolver404, resolve

from authstatus.policies import propagation as policies
from authstatus.policies.propagation import PoliciesUnavailable
from authstatus.policies.resolution import policy_for

if TYPE_CHECKING:
    from django.http import HttpRequest, HttpResponseBase

__all__ = ["CommonMiddleware"]


class CommonMiddleware(common.CommonMiddleware):
    """Django's ``CommonMiddleware``, except that it never redirects to a concealed resource.

    Use it in place of ``django.middleware.common.CommonMiddleware`` (check
    ``authstatus.W010``). With ``APPEND_SLASH``, Django answers ``/api/vault`` with a redirect
    to ``/api/vault/`` because that URL has a route, and ``/api/nothere`` with a 404: the
    redirect alone would tell a concealed route from a missing one. Here a path whose slashed
    form is concealed for the request's method gets the 404 a missing path gets — for
    everyone, its audience included (they use the canonical URL with the slash). Deciding who
    may follow the redirect would mean authenticating the request for a view that does not
    serve it; and while policies cannot be loaded, nothing is redirected. ``PREPEND_WWW``
    redirects then keep the path as sent.
    """

    async def __acall__(self, request: HttpRequest) -> HttpResponseBase:
        """Django's ``MiddlewareMixin`` runs ``process_request`` and ``process_response`` in
        a thread under ASGI; both only read settings and resolve URLs, so they run on the
        event loop here (policies are made ready first, in a thread only when a load is
        due)."""
        response: HttpResponseBase | None = self.process_request(request)
        if response is None:
            response = await cast("Awaitable[HttpResponseBase]", self.get_response(request))
        if response.status_code == 404:
            await policies.registry.aready()
        return self.process_response(request, response)

    def should_redirect_with_slash(self, request: HttpRequest) -> bool:
        if not super().should_redirect_with_slash(request):
            return False
        return not _conceals(request, f"{request.path_info}/")


def _conceals(request: HttpRequest, path: str) -> bool:
    """Whether the policy in force on ``path`` for the request's method conceals it."""
    try:
        match = resolve(path, getattr(request, "urlconf", None))
    except Resolver404:
        return False
    try:
        policy = policy_for(
            request.method or "GET",
            path,
            match,
            match.func,
            urlconf=getattr(request, "urlconf", None),
        )
    except PoliciesUnavailable:
        return True
    return policy.conceal
