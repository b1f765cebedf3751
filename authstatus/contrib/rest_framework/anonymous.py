"""Concealed refusals of requests without credentials, answered before DRF dispatches.

A ``GET`` or ``HEAD`` that presents no credentials to a concealed DRF route ends, through DRF,
in the project's one ``404`` (:func:`~authstatus.concealment.notfound.not_found_response`): DRF's
``Request``, content negotiation, authentication loop, permission check and exception handler
change nothing in that answer, but cost more than the rest of the request (a concealed
refusal took 2.6 times a missing URL).
:class:`~authstatus.middleware.AuthStatusMiddleware` answers it in ``process_view`` instead,
with the very steps DRF would take:

* the view's own authentication classes, run through their neutral authenticators (the
  results are left on the request, so a request that does present credentials is not
  authenticated twice when DRF takes over);
* the policy :class:`~authstatus.contrib.rest_framework.PolicyPermission` would resolve
  (:func:`authstatus.policies.resolution.request_policy` of the callback: its action for viewsets),
  left on the request for ``PolicyPermission`` when DRF takes over;
* the same decision, and the same ``access_denied`` signal (sender: the view class).

Only where the outcome is certain, decided once per view (:func:`plan`): every authentication
class is authstatus's, ``PolicyPermission`` (not overridden) is the first permission class, the
view overrides none of the DRF steps that run before the permission check, and DRF's
``EXCEPTION_HANDLER`` is authstatus's. Anything else — credentials of any kind, any other
method, a view that customises those steps — goes through DRF as before.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.core.exceptions import SuspiciousOperation
from rest_framework.settings import api_settings
from rest_framework.views import APIView
from rest_framework.viewsets import ViewSetMixin

from authstatus.concealment.notfound import not_found_response
from authstatus.concealment.uniform import match_as_a_route, walk_later_patterns
from authstatus.conf import on_reload
from authstatus.contrib.rest_framework.authentication import (
    RESULTS_ATTRIBUTE,
    AuthStatusAuthentication,
)
from authstatus.contrib.rest_framework.decisions import remember_policy
from authstatus.contrib.rest_framework.exceptions import exception_handler
from authstatus.contrib.rest_framework.permissions import PolicyPermission
from authstatus.core.decision import Access, CredentialState, Policy
from authstatus.enforcement.authenticators import Authenticator, Result
from authstatus.enforcement.evaluation import evaluate, notify
from authstatus.policies.resolution import request_policy

if TYPE_CHECKING:
    from django.http import HttpRequest, HttpResponse

__all__ = ["Plan", "plan", "refuse_anonymous"]

METHODS = frozenset({"GET", "HEAD"})

# The DRF steps before the permission check (and its exception handling): a view overriding
# one of them may answer differently, so DRF runs it.
_STEPS = (
    "dispatch",
    "initialize_request",
    "initial",
    "perform_content_negotiation",
    "determine_version",
    "perform_authentication",
    "check_permissions",
    "get_permissions",
    "get_authenticators",
    "get_exception_handler",
    "handle_exception",
    "permission_denied",
)


@dataclass(frozen=True, slots=True)
class Plan:
    """How to authenticate a view's requests without DRF: its authentication classes and the
    neutral authenticator of each, in order."""

    view_class: type
    authenticators: tuple[tuple[type, Authenticator], ...]


_plans: dict[Any, Plan | None] = {}


def plan(view_func: Any, *, uniform: bool = False) -> Plan | None:
    """The :class:`Plan` of a DRF callback, or ``None`` when DRF must run it. ``uniform``: the
    view of :mod:`authstatus.contrib.rest_framework.uniform`, whose own permission class and
    exception handler refuse everything with the project's 404."""
    key = (view_func, uniform)
    if key not in _plans:
        _plans[key] = _plan(view_func, uniform)
    return _plans[key]


def _plan(view_func: Any, uniform: bool) -> Plan | None:
    cls = getattr(view_func, "cls", None)
    if not isinstance(cls, type) or not issubclass(cls, APIView):
        return None
    for name in _STEPS:
        if uniform and name == "get_exception_handler":
            continue
        own = getattr(cls, name, None)
        if own is not getattr(APIView, name, None) and own is not getattr(ViewSetMixin, name, None):
            return None
    initkwargs = getattr(view_func, "initkwargs", None) or {}
    classes = list(initkwargs.get("authentication_classes", cls.authentication_classes))
    if not classes or not all(
        isinstance(c, type) and issubclass(c, AuthStatusAuthentication) for c in classes
    ):
        return None
    if not uniform:
        if not _authstatus_handler():
            return None
        permissions = list(initkwargs.get("permission_classes", cls.permission_classes))
        first = permissions[0] if permissions else None
        if not (
            isinstance(first, type)
            and issubclass(first, PolicyPermission)
            and first.has_permission is PolicyPermission.has_permission
        ):
            return None
    return Plan(cls, tuple((c, c.authenticator_class()) for c in classes))


on_reload(_plans.clear, settings=("REST_FRAMEWORK",))


def refuse_anonymous(
    request: HttpRequest, view_func: Any, *, policy: Policy | None = None
) -> HttpResponse | None:
    """The concealed ``404`` for ``request`` to the DRF view ``view_func`` when it presents no
    credentials and its policy — the one ``PolicyPermission`` resolves, or ``policy`` for the
    uniform view (:mod:`authstatus.concealment.uniform`) — is concealed and refuses that;
    ``None`` when DRF must answer."""
    if request.method not in METHODS:
        return None
    uniform = policy is not None
    found = plan(view_func, uniform=uniform)
    if found is None:
        return None
    if policy is None:
        policy = request_policy(request, view_func)
        remember_policy(request, request.method, policy)
    if not policy.conceal or policy.access is Access.ANONYMOUS:
        return None  # before authenticating: most routes are not concealed
    cache: dict[type, Result] = request.__dict__.setdefault(RESULTS_ATTRIBUTE, {})
    for drf_class, authenticator in found.authenticators:
        result = cache.get(drf_class)
        if result is None:
            try:
                result = cache[drf_class] = authenticator.authenticate(request)
            except SuspiciousOperation:
                return None  # a query too large to read: DRF's path logs it and answers
        if result.credentials.state is not CredentialState.ABSENT:
            return None
    decision, result = evaluate(
        request,
        results=[Result.absent()],
        challenges=(),
        policy=policy,
        sender=found.view_class,
        announce=False,
    )
    if decision.allowed or decision.status != 404:
        return None
    notify(request, decision, result, found.view_class)
    # Uniform concealment: each side pays what Django spent on the other before this point.
    if uniform:
        match_as_a_route(request, view_func)
    else:
        walk_later_patterns(request)
    return not_found_response(request)


def _authstatus_handler() -> bool:
    return api_settings.EXCEPTION_HANDLER is exception_handler
