"""``PolicyPermission``: the route's policy, decided by the core, as a DRF permission."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.http import Http404
from rest_framework.exceptions import APIException
from rest_framework.permissions import BasePermission

from authstatus.contrib.rest_framework.authentication import AuthStatusAuthentication
from authstatus.contrib.rest_framework.decisions import (
    announce,
    decide_view,
    is_object_route,
    refuse_view,
    view_policy_in_force,
)
from authstatus.core.decision import Access
from authstatus.enforcement.evaluation import UserPrincipal

if TYPE_CHECKING:
    from rest_framework.request import Request
    from rest_framework.views import APIView

    from authstatus.core.decision import Decision

__all__ = ["AccessDenied", "PolicyPermission"]


class AccessDenied(APIException):
    """Carries a refusal :class:`Decision` to the exception handler, which renders it.

    Raised instead of returning ``False``, because DRF's ``permission_denied`` would turn any
    refusal of an unauthenticated request into ``NotAuthenticated`` (a 401 even where
    authentication cannot help).
    """

    def __init__(self, decision: Decision) -> None:
        super().__init__(decision.description)
        self.status_code = decision.status
        self.decision = decision


def _unevaluated(request: Request) -> bool:
    """Whether an authstatus authenticator that can fail has not run yet (DRF stops at the
    first success; a later one may hold a bad token)."""
    return any(
        isinstance(a, AuthStatusAuthentication)
        and a.authenticator.can_fail
        and not a.evaluated(request)
        for a in request.authenticators or ()
    )


class PolicyPermission(BasePermission):
    """Allow or refuse by the policy in force for the request's method and path.

    Works with any order of ``DEFAULT_AUTHENTICATION_CLASSES``: every authstatus authenticator
    that can fail is consulted, so a bad token is reported even when a session let the
    request in. Pair it with :func:`authstatus.contrib.rest_framework.exception_handler`.
    """

    def has_permission(self, request: Request, view: APIView) -> bool:
        request.user  # noqa: B018 - runs DRF's authentication: bad credentials raise here
        # request.method, not request._request.method (view_policy_in_force): DRF's OPTIONS
        # metadata asks with a clone_request() whose method is the action's (POST, PUT) over
        # the same OPTIONS request, and must hear the policy of that method.
        policy = view_policy_in_force(request, view)
        if policy.access is Access.ANONYMOUS and (
            not request.authenticators or not _unevaluated(request)
        ):
            # decide() allows every absent or valid credential on an anonymous-allowed
            # resource, and malformed or invalid ones have raised above: skip the decision.
            return True
        # A concealed object route with requirements has an audience (its owner) who may be
        # told a refusal precisely; who that is depends on the object (decide's docstring).
        audience = bool(policy.conceal and policy.requirements and is_object_route(view))
        decision = decide_view(request, view, policy=policy, audience=audience, announce=False)
        if decision.allowed:
            return True
        if audience and decision.status != 404:
            self._only_for_the_audience(request, view, policy)
        announce(request, view, decision)
        raise AccessDenied(decision)

    @staticmethod
    def _only_for_the_audience(request: Request, view: APIView, policy: Any) -> None:
        """Raise the concealed 404 unless the requester satisfies the object requirements of
        an existing object: ``get_object()`` answers a missing id with ``Http404`` and
        another user's object, through :meth:`has_object_permission`, with the 404 refusal."""
        try:
            view.get_object()  # type: ignore[attr-defined]
        except Http404:
            announce(request, view, decide_view(request, view, policy=policy, announce=False))
            raise

    def has_object_permission(self, request: Request, view: APIView, obj: Any) -> bool:
        """Named requirements, now with the object (``predicate(user, obj)``). A refusal is a
        403 without challenge, or a 404 on a concealed resource."""
        return self.check_object(request, view, obj, view_policy_in_force(request, view))

    @staticmethod
    def check_object(request: Request, view: APIView, obj: Any, policy: Any) -> bool:
        """:meth:`has_object_permission` under ``policy`` (resolved by the caller)."""
        if not policy.requirements or UserPrincipal(request.user, obj).satisfies(
            policy.requirements
        ):
            return True
        raise AccessDenied(refuse_view(request, view, policy))
