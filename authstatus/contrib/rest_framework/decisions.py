"""Gather a DRF request's credentials and challenges, and decide it.

Third-party DRF authentication classes take part too: one that succeeded counts as valid
credentials of its scheme (carrying no OAuth scopes: they meet a scope requirement only if the
class is in ``FIRST_PARTY_AUTHENTICATION``), one that raised ``AuthenticationFailed`` as
invalid ones, and its ``authenticate_header()`` is parsed into the route's challenges.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.utils.translation import gettext_noop
from rest_framework.exceptions import AuthenticationFailed

from authstatus.contrib.rest_framework.authentication import AuthStatusAuthentication
from authstatus.core.challenges import Challenge, ChallengeSyntaxError, parse_challenges
from authstatus.core.decision import Credentials, Decision, Failure, Policy, refuse
from authstatus.enforcement.authenticators import (
    LazyChallenges,
    Result,
    authorization_header,
    combine,
    is_first_party,
)
from authstatus.enforcement.evaluation import evaluate, notify
from authstatus.policies.resolution import request_policy

if TYPE_CHECKING:
    from django.http import HttpRequest
    from rest_framework.request import Request
    from rest_framework.views import APIView

__all__ = [
    "announce",
    "challenges",
    "decide_view",
    "is_object_route",
    "refuse_view",
    "remember_policy",
    "results",
    "view_policy_in_force",
]


def is_object_route(view: Any) -> bool:
    """Whether a DRF view serves one object here: its lookup parameter is in the URL
    (``GenericAPIView.get_object()`` would look the object up)."""
    if not hasattr(view, "get_object"):
        return False
    lookup = getattr(view, "lookup_url_kwarg", None) or getattr(view, "lookup_field", None)
    return lookup is not None and lookup in (getattr(view, "kwargs", None) or {})


# Where the policy resolved for a request is left on Django's request, with the method it was
# resolved for (not authstatus.policies.declarations.POLICY_ATTRIBUTE: a view's declared policy).
_RESOLVED_ATTRIBUTE = "_authstatus_resolved_policy"


def remember_policy(request: HttpRequest, method: str, policy: Policy) -> None:
    """Leave ``policy``, resolved for ``method``, on Django's ``request`` for
    :func:`view_policy_in_force`: the permission check, the list filter and the exception
    handler of one request decide with one resolution (the shortcut before DRF dispatches,
    :mod:`~authstatus.contrib.rest_framework.anonymous`, resolves it first)."""
    setattr(request, _RESOLVED_ATTRIBUTE, (method, policy))


def view_policy_in_force(request: Request, view: APIView) -> Policy:
    """The policy in force for a DRF request
    (:func:`authstatus.policies.resolution.request_policy`), resolved once per request and method
    (:func:`remember_policy`).

    ``request.method`` is DRF's: the method DRF decides for, which ``clone_request`` changes
    when the ``OPTIONS`` metadata asks what each method would be allowed (and a form's
    ``_method`` override), so a remembered policy counts only for the method it was
    resolved for.
    """
    method = request.method or "GET"
    remembered = getattr(request._request, _RESOLVED_ATTRIBUTE, None)
    if remembered is not None and remembered[0] == method:
        policy: Policy = remembered[1]
        return policy
    policy = request_policy(request._request, view, method=method)
    remember_policy(request._request, method, policy)
    return policy


def _foreign_challenges(authenticator: Any, request: Request) -> tuple[Challenge, ...]:
    header = authenticator.authenticate_header(request)
    if not header:
        return ()
    try:
        return parse_challenges(header)
    except ChallengeSyntaxError:
        return ()


def challenges(request: Request) -> tuple[Challenge, ...]:
    """One base challenge per scheme the view's authentication classes accept, in order."""
    out: list[Challenge] = []
    seen: set[str] = set()
    for authenticator in request.authenticators or ():
        if isinstance(authenticator, AuthStatusAuthentication):
            found = authenticator.authenticator.challenges(request._request)
        else:
            found = _foreign_challenges(authenticator, request)
        for challenge in found:
            if challenge.scheme.lower() not in seen:
                seen.add(challenge.scheme.lower())
                out.append(challenge)
    return tuple(out)


def results(request: Request, raised: AuthenticationFailed | None = None) -> list[Result]:
    """Every authenticator's result, in order; runs those DRF skipped that can still fail."""
    out: list[Result] = []
    successful = request.successful_authenticator
    for authenticator in request.authenticators or ():
        if isinstance(authenticator, AuthStatusAuthentication):
            if authenticator.authenticator.can_fail or authenticator.evaluated(request):
                out.append(authenticator.evaluate(request))
        elif authenticator is successful:
            scheme = next(iter(_foreign_challenges(authenticator, request)), None)
            credentials = Credentials.valid(
                scheme.scheme if scheme else type(authenticator).__name__,
                first_party=is_first_party(type(authenticator)),
            )
            out.append(Result(credentials, user=request.user, auth=request.auth))
    if raised is not None and not any(r.credentials.failure for r in out):
        out.append(_foreign_failure(request, raised))
    return out


def _foreign_failure(request: Request, raised: AuthenticationFailed) -> Result:
    """A third-party class raised: attribute it to the scheme the client sent, if any."""
    header = authorization_header(request._request)
    scheme = header[0] if header and header[0] else "Unknown"
    return Result(
        Credentials.invalid(scheme, Failure.REJECTED, gettext_noop("Invalid credentials."))
    )


def decide_view(
    request: Request,
    view: APIView,
    *,
    policy: Policy | None = None,
    raised: AuthenticationFailed | None = None,
    audience: bool = False,
    announce: bool = True,
) -> Decision:
    """The decision for a DRF request. Resolving ``request.user`` first runs DRF's own
    authentication loop (which may raise); the exception handler passes ``raised``.
    ``audience`` and ``announce`` as in :func:`authstatus.enforcement.evaluate`."""
    if raised is None:
        request.user  # noqa: B018 - runs DRF's authentication loop
    decision, _ = evaluate(
        request._request,
        results=results(request, raised),
        challenges=LazyChallenges(lambda: challenges(request)),
        policy=view_policy_in_force(request, view) if policy is None else policy,
        sender=type(view),
        audience=audience,
        announce=announce,
    )
    return decision


def announce(request: Request, view: APIView, decision: Decision) -> None:
    """Send ``access_denied`` for a refusal decided with ``announce=False``."""
    notify(request._request, decision, combine(results(request)), type(view))


def refuse_view(request: Request, view: APIView, policy: Policy, description: str = "") -> Decision:
    """A refusal decided outside the table (an object-level requirement, a third-party
    permission class): :func:`~authstatus.core.decision.refuse`, announced through
    ``access_denied`` like every other refusal."""
    decision = refuse(policy, description)
    announce(request, view, decision)
    return decision
