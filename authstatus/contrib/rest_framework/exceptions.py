"""``exception_handler``: DRF's ``EXCEPTION_HANDLER`` rendering authstatus decisions.

* :class:`~authstatus.contrib.rest_framework.permissions.AccessDenied` is rendered as decided
  (a refused CORS preflight as the empty ``200`` of
  :func:`~authstatus.enforcement.responses.preflight_response`: the handler method has not run).
* Authentication failures (ours or a third party's), ``NotAuthenticated`` and
  ``PermissionDenied`` from any permission class are decided again with everything the
  request presented, so the status no longer depends on which authentication class is first
  (DRF's ``APIView.handle_exception`` consults only ``authenticators[0]``).
* Every 404 — ``Http404``, ``NotFound`` or a concealed refusal — is rendered by the same function as
  ``handler404`` (:func:`~authstatus.concealment.notfound.not_found_response`), and without the
  ``Allow`` and ``Vary: Accept`` headers DRF adds to every response of its views: a concealed DRF
  route answers exactly like a URL no route matches.
* An exception raised before authentication ran (content negotiation's ``406``, a versioning
  error, a query string too large to read) would otherwise answer before the policy could
  refuse — a ``406`` where a missing URL gets ``404``. The request is decided first; a refusal
  wins, and on a concealed route a request that cannot even be read is a ``404``.
* Anything else goes to DRF's default handler; with ``PROBLEM_DETAILS_FOR_ALL_ERRORS`` its
  answer is rewritten as problem details (:mod:`authstatus.contrib.rest_framework.problems`).
* A browser's ``401`` or ``403`` on a view whose negotiated renderer is DRF's browsable API
  is rendered inside the browsable API page (:mod:`authstatus.contrib.rest_framework.browsable`).
"""

from __future__ import annotations

import dataclasses
from typing import Any

from django.http import Http404, HttpResponse
from rest_framework import exceptions
from rest_framework.response import Response

from authstatus.concealment.notfound import not_found_response
from authstatus.concealment.uniform import under_uniform_paths, walk_later_patterns
from authstatus.conf import app_settings
from authstatus.contrib.rest_framework.browsable import browsable_refusal
from authstatus.contrib.rest_framework.decisions import (
    decide_view,
    is_object_route,
    refuse_view,
    view_policy_in_force,
)
from authstatus.contrib.rest_framework.permissions import AccessDenied, PolicyPermission
from authstatus.contrib.rest_framework.problems import problem_response
from authstatus.core.decision import Access, Decision, Outcome, refuse
from authstatus.enforcement.evaluation import log_concealed_failure
from authstatus.enforcement.responses import (
    preflight_response,
    render_decision,
    unavailable_response,
)
from authstatus.policies.propagation import PoliciesUnavailable

__all__ = ["exception_handler"]


def exception_handler(exc: Exception, context: dict[str, Any]) -> HttpResponse | None:
    request = context["request"]
    view = context["view"]
    if isinstance(exc, (Http404, exceptions.NotFound)):
        _refuse_missing_object(request, view)
        return _not_found(request, view)
    if isinstance(exc, PoliciesUnavailable):
        return _unavailable(request, view)
    decision: Decision | None = None
    try:
        if isinstance(exc, AccessDenied):
            decision = exc.decision
        elif isinstance(exc, exceptions.AuthenticationFailed):
            decision = decide_view(request, view, raised=exc)
        elif isinstance(exc, (exceptions.NotAuthenticated, exceptions.PermissionDenied)):
            decision = _third_party_refusal(request, view, exc)
        elif not _authenticated(request):
            decision = _undecided(request, view)
    except PoliciesUnavailable:
        return _unavailable(request, view)
    if decision is None or decision.allowed:
        # Imported here: rest_framework.views imports the authentication classes at import.
        from rest_framework.views import exception_handler as drf_exception_handler

        response: HttpResponse | None = drf_exception_handler(exc, context)
        if (
            app_settings.PROBLEM_DETAILS_FOR_ALL_ERRORS
            and isinstance(response, Response)
            and isinstance(exc, exceptions.APIException)
        ):
            return problem_response(exc, response)
        return response
    if decision.status == 404:
        return _not_found(request, view)
    if decision.outcome is Outcome.PREFLIGHT:
        view.headers = {}  # as the middleware answers a plain view's: no Allow, no Vary
        return preflight_response()
    browsable = browsable_refusal(request, decision)
    if browsable is not None:
        return browsable
    return render_decision(request._request, decision)


def _refuse_missing_object(request: Any, view: Any) -> None:
    """Uniform concealment at object level (``UNIFORM_CONCEALMENT_PATHS``): a valid login
    asking a concealed object route with requirements for an id that does not exist is
    refused as it is for another user's object, so that the two answers cost the same work,
    not only the same bytes. ``PolicyPermission``'s object check
    (:meth:`~authstatus.contrib.rest_framework.PolicyPermission.check_object`, what
    ``has_object_permission`` runs on the existing object) runs on a placeholder instance of
    the view's model (its field defaults, never saved), with the requirement predicates, the
    refusal's decision, its ``access_denied`` and the ``AccessDenied`` exception, under the
    policy resolved here once. What it answers does not matter: the answer is the 404, and
    a refusal is announced either way."""
    if not under_uniform_paths(request._request) or not _authenticated(request):
        return
    if not getattr(request.user, "is_authenticated", False) or not is_object_route(view):
        return
    try:
        policy = view_policy_in_force(request, view)
    except PoliciesUnavailable:
        return
    if not (policy.conceal and policy.requirements):
        return
    try:
        placeholder = _model(view)()
        if PolicyPermission.check_object(request, view, placeholder, policy):
            refuse_view(request, view, policy)
    except AccessDenied:
        pass  # refused and announced, as for another user's object
    except Exception:
        # A predicate that cannot handle an object which has no row: the answer is the 404
        # all the same, and the refusal is announced as for any other object.
        refuse_view(request, view, policy)


def _model(view: Any) -> Any:
    """The model of the view's objects; from its ``queryset`` attribute when it has one: the
    lookup of the missing id has already paid ``get_queryset()`` once, as the existing
    object's did."""
    queryset = getattr(view, "queryset", None)
    return (queryset if queryset is not None else view.get_queryset()).model


def _not_found(request: Any, view: Any) -> HttpResponse:
    """The project's one 404. DRF's ``finalize_response`` copies ``view.headers`` (``Allow``,
    ``Vary: Accept``) onto every response of the view; a URL that no route matches has
    neither, so neither may a 404 from here. Under the uniform concealment mode a concealed
    route's 404 also walks the URL patterns after its own (:func:`walk_later_patterns`): the
    work Django did for a missing neighbour, which the uniform view answers from here too."""
    view.headers = {}
    walk_later_patterns(request._request)
    return not_found_response(request._request)


def _unavailable(request: Any, view: Any) -> HttpResponse:
    """The ``503`` while no policies can be loaded, as every other route answers it (the
    ``404`` of a missing URL included): without DRF's ``Allow`` and ``Vary: Accept``."""
    view.headers = {}
    return unavailable_response(request._request)


def _authenticated(request: Any) -> bool:
    """Whether DRF's authentication ran (``APIView.initial`` authenticates, then checks the
    permissions). DRF's ``Request`` stores the outcome as ``_user``, even when it failed."""
    return "_user" in vars(request)


def _undecided(request: Any, view: Any) -> Decision | None:
    """Decide a request that failed before ``PolicyPermission`` ran; ``None`` if it cannot
    be decided. A request that cannot even be authenticated (its query string is too large
    to read) is refused as missing on a concealed route, left to DRF and Django elsewhere."""
    try:
        try:
            return decide_view(request, view)
        except exceptions.AuthenticationFailed as failed:
            return decide_view(request, view, raised=failed)
    except PoliciesUnavailable:
        raise
    except Exception as exc:
        policy = view_policy_in_force(request, view)
        if not policy.conceal:
            return None  # DRF or Django answers (and logs) it
        log_concealed_failure(request._request, exc)
        return refuse(policy)


def _third_party_refusal(request: Any, view: Any, exc: exceptions.APIException) -> Decision:
    """A permission class other than PolicyPermission refused: decide with a policy that
    demands authentication, and refuse with 403 if the request was authenticated anyway."""
    policy = view_policy_in_force(request, view)
    if policy.access is Access.ANONYMOUS:
        policy = dataclasses.replace(policy, access=Access.AUTHENTICATED)
    decision = decide_view(request, view, policy=policy, raised=None)
    if decision.allowed:
        return refuse_view(request, view, policy, str(exc.detail))
    return decision
