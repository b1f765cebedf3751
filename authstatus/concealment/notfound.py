"""The one ``404`` of the project, and the hint it may carry: a concealed refusal and a URL no
route matches are answered by the same function, from the same decision."""

from __future__ import annotations

import functools

from django.conf import settings
from django.http import HttpRequest, HttpResponse

from authstatus.conf import app_settings, on_reload
from authstatus.core.challenges import Challenge, format_challenges
from authstatus.core.decision import Access, Credentials, Policy, decide
from authstatus.core.matching import Matcher, PatternError, Rule
from authstatus.enforcement import adapters
from authstatus.enforcement.authenticators import in_query
from authstatus.enforcement.responses import (
    TOKEN_PARAMETER,
    render_decision,
    settle_session,
    unavailable_response,
)
from authstatus.policies import propagation as policies

__all__ = ["CONCEALED", "NOT_FOUND", "concealed_challenges", "not_found_response"]


def not_found_response(request: HttpRequest) -> HttpResponse:
    """The one 404 of the project: concealed refusals (DRF and plain views), ``Http404`` and
    ``NotFound`` from views, and — as ``handler404``, through
    :func:`authstatus.views.page_not_found` — URLs no route matches. One function, so a
    concealed resource and a missing one cannot differ.

    With ``CONCEALED_CHALLENGE_PATHS``, a request under one of those paths that carries no
    credentials gets the ``Bearer`` challenge as a hint (RFC 9110 §11.6.1 allows a challenge
    on any response): the same on every such path, existing or not. While no policies can be
    loaded it is the ``503`` every enforced route answers, so an outage does not tell
    existing routes from missing ones either.
    """
    try:
        # A concealed route cannot be decided without policies (503, below); a missing one
        # must not answer differently: the same cached matcher, loaded if needed.
        policies.registry.matcher()
    except policies.PoliciesUnavailable:
        return unavailable_response(request)
    settle_session(request)
    response = render_decision(request, NOT_FOUND)
    hint = concealed_challenges(request)
    if hint:
        response["WWW-Authenticate"] = format_challenges(hint)
    return response


CONCEALED = Policy(access=Access.NOBODY, conceal=True, source="not-found")
NOT_FOUND = decide(Credentials.absent(), CONCEALED, None, ())
"""The decision every ``404`` is rendered from, concealed or missing: decided once, here (the
core is pure), so that rendering a concealed refusal does not decide the request again."""


@functools.cache
def _hint_paths() -> Matcher[bool]:
    try:
        return Matcher(Rule(pattern, True) for pattern in app_settings.CONCEALED_CHALLENGE_PATHS)
    except (PatternError, TypeError, AttributeError):
        # authstatus.E012 reports it; a 404 handler must not fail, and a hint can wait.
        return Matcher(())


on_reload(_hint_paths.cache_clear)


def concealed_challenges(request: HttpRequest) -> tuple[Challenge, ...]:
    """The hint challenges of a 404 to ``request``: the ``Bearer`` challenge when its path is
    under ``CONCEALED_CHALLENGE_PATHS`` and it carries no credentials, else none.

    Both conditions look at the request only — its path, an ``Authorization`` header, an
    ``access_token`` query parameter, the session cookie — never at what exists or who the
    credentials belong to, so existing and missing paths get the same answer. The body is not
    read (a 404 handler must not fail on it).
    """
    if not app_settings.CONCEALED_CHALLENGE_PATHS:
        return ()
    if _hint_paths().match(request.method or "GET", request.path_info) is None:
        return ()
    if _presents_credentials(request):
        return ()
    challenge = adapters.bearer_challenge(request)
    return () if challenge is None else (challenge,)


def _presents_credentials(request: HttpRequest) -> bool:
    return (
        "HTTP_AUTHORIZATION" in request.META
        or settings.SESSION_COOKIE_NAME in request.COOKIES
        or in_query(request, TOKEN_PARAMETER)
    )
