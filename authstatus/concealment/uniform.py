"""Uniform concealment: a missing URL under a concealed namespace costs what a concealed
route costs (``UNIFORM_CONCEALMENT_PATHS``, off by default).

A concealed refusal authenticates the request before it answers ``404``: a bearer token is a
database lookup, Basic credentials a password hash (PBKDF2, tens of milliseconds). A URL no
route matches is answered without any of it. One request's response time therefore tells a
concealed *route* from a missing one, even though status, headers and body are identical
(RFC 9110 §15.5.4 concealment is only as good as its weakest side channel).

With the mode on, :func:`authstatus.views.page_not_found` hands a URL no route matches under
one of the patterns to :func:`uniform_not_found`, which does the work of a concealed refusal
— the same authenticators, the same decision (against :data:`UNIFORM_POLICY`, concealed),
the same ``access_denied`` signal — and then answers the very same 404. With Django REST
framework installed it runs a DRF view with the ``DEFAULT_AUTHENTICATION_CLASSES``, through
DRF's dispatch and authstatus's exception handling exactly as a concealed DRF route does
(:mod:`authstatus.contrib.rest_framework.uniform`); without it, the middleware's
``MIDDLEWARE_AUTHENTICATORS``, as a concealed plain view.

The price: every unknown URL under the patterns costs a concealed refusal, a password hash
for any ``Basic`` header included. Rate-limit those paths (docs/howto/concealment.md).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from asgiref.sync import async_to_sync, iscoroutinefunction
from django.core.exceptions import SuspiciousOperation
from django.core.handlers.base import BaseHandler
from django.urls import Resolver404, ResolverMatch

from authstatus.concealment.notfound import not_found_response
from authstatus.conf import app_settings, on_reload
from authstatus.core.decision import Access, Policy
from authstatus.core.matching import Matcher, PatternError, Rule
from authstatus.enforcement import adapters
from authstatus.enforcement.authenticators import LazyChallenges, challenges_for
from authstatus.enforcement.evaluation import (
    evaluate,
    log_concealed_failure,
    middleware_authenticators,
)
from authstatus.enforcement.responses import unavailable_response
from authstatus.policies.propagation import PoliciesUnavailable

if TYPE_CHECKING:
    from django.http import HttpRequest, HttpResponse

__all__ = [
    "UNIFORM_GROUP",
    "UNIFORM_POLICY",
    "call_as_routed",
    "in_uniform_namespace",
    "match_as_a_route",
    "under_uniform_paths",
    "uniform_not_found",
    "walk_later_patterns",
]

UNIFORM_GROUP = "authstatus: uniform concealment (no such group)"

UNIFORM_POLICY = Policy(
    access=Access.AUTHENTICATED,
    conceal=True,
    required_groups=frozenset({UNIFORM_GROUP}),
    source="uniform-concealment",
    name="a URL no route matches, under UNIFORM_CONCEALMENT_PATHS",
)
"""What a missing URL under the patterns is decided against: concealed and authenticated-only,
with a group nobody is in (:data:`UNIFORM_GROUP`), so that valid credentials pay the group
lookup of a group-gated concealed route before they are refused. Every answer is the 404;
should someone be in that group, the view answers it anyway (nothing is there)."""


@functools.cache
def _patterns() -> Matcher[bool]:
    try:
        return Matcher(Rule(p, True) for p in app_settings.UNIFORM_CONCEALMENT_PATHS)
    except (PatternError, TypeError, AttributeError):
        # authstatus.E026 reports it; a 404 handler must not fail.
        return Matcher(())


on_reload(_patterns.cache_clear)


def under_uniform_paths(request: HttpRequest) -> bool:
    """Whether ``request``'s path is under ``UNIFORM_CONCEALMENT_PATHS`` (route or not)."""
    if not app_settings.UNIFORM_CONCEALMENT_PATHS:
        return False
    return _patterns().match(request.method or "GET", request.path_info) is not None


def in_uniform_namespace(request: HttpRequest) -> bool:
    """Whether ``request`` is for a URL no route matches, under the patterns. Only the path
    and whether a route matched are looked at; an ``Http404`` raised by a view (a missing
    object, a concealed plain view) has been authenticated already."""
    if not app_settings.UNIFORM_CONCEALMENT_PATHS:
        return False
    if getattr(request, "resolver_match", None) is not None:
        return False
    return _patterns().match(request.method or "GET", request.path_info) is not None


def walk_later_patterns(request: HttpRequest) -> None:
    """Under the patterns, what Django spends on the missing neighbour of a route that
    matched, for a concealed refusal answered before DRF dispatches
    (:mod:`authstatus.contrib.rest_framework.anonymous`). Django's resolver stops at the first
    pattern that matches; a URL next to it that no route matches goes on through every later
    pattern, at every level of ``include()``, and ends in ``Resolver404``. This walks the same
    later patterns with a path none of them matches (``NUL``, which no route contains).

    Called for every concealed 404 of a DRF route, before DRF dispatches or after (its
    exception handler's 404); a request that matched no route walks nothing."""
    if not app_settings.UNIFORM_CONCEALMENT_PATHS:
        return
    match = getattr(request, "resolver_match", None)
    if match is None or not match.tried:
        return
    if _patterns().match(request.method or "GET", request.path_info) is None:
        return
    path = request.path_info + "\x00"
    for prefix, later in _later_patterns(getattr(request, "urlconf", None), match.tried[-1]):
        level = prefix.match(path)
        if not level:
            break
        path = level[0]
        for pattern in later:
            try:  # noqa: SIM105 - cheaper than suppress() per pattern, per request
                pattern.resolve(path)
            except Resolver404:
                pass
    try:  # the raise is the point: Django's miss ends in one
        raise Resolver404({"path": path})
    except Resolver404:
        pass


_later: dict[tuple[object, ...], list[tuple[Any, tuple[Any, ...]]]] = {}


def _later_patterns(urlconf: object, chain: Sequence[Any]) -> list[tuple[Any, tuple[Any, ...]]]:
    """Per level of the matching ``chain`` (outermost first): the level's prefix pattern and
    the patterns after the one that matched. Static per URLconf and route: remembered."""
    key = (urlconf, *chain)  # the patterns themselves: an id could be reused
    if key not in _later:
        from django.urls import URLResolver, get_resolver

        levels = []
        resolver: Any = get_resolver(urlconf)  # type: ignore[arg-type]
        for pattern in chain:
            patterns = list(resolver.url_patterns)
            index = next((i for i, p in enumerate(patterns) if p is pattern), len(patterns))
            levels.append((resolver.pattern, tuple(patterns[index + 1 :])))
            if not isinstance(pattern, URLResolver):
                break
            resolver = pattern
        _later[key] = levels
    return _later[key]


on_reload(_later.clear, settings=("ROOT_URLCONF",))


def uniform_not_found(request: HttpRequest) -> HttpResponse:
    """The 404 of a missing URL, after the authentication work of a concealed refusal: through
    an adapter's view where one registered it (DRF's, so it costs what a concealed DRF route
    costs: :func:`authstatus.contrib.rest_framework.uniform.uniform_not_found`), else as
    :class:`~authstatus.middleware.AuthStatusMiddleware` refuses a concealed plain view."""
    handler = adapters.uniform_not_found()
    if handler is not None:
        return handler(request)
    return _plain(request)


_handler = BaseHandler()  # no middleware loaded: only its view-calling steps are used


def call_as_routed(request: HttpRequest, view: Callable[..., HttpResponse]) -> HttpResponse:
    """Call ``view`` as Django's handler calls the view a URL resolved to
    (``BaseHandler._get_response``): wrapped in a transaction per ``ATOMIC_REQUESTS``
    database (``make_view_atomic``: on a real database, the ``BEGIN`` and ``COMMIT`` a
    concealed route pays and a ``handler404`` does not), through ``async_to_sync`` when it is
    a coroutine function (never, for DRF's), and with the check of what it returned. The view
    middleware's ``process_view`` is not run: authstatus's is (:func:`uniform_not_found`
    refuses first), and a third party's could answer instead of the view."""
    wrapped: Callable[..., Any] = _handler.make_view_atomic(view)
    if iscoroutinefunction(wrapped):
        wrapped = async_to_sync(wrapped)
    response: HttpResponse = wrapped(request)
    _handler.check_response(response, view)
    return response


def match_as_a_route(request: HttpRequest, view: Callable[..., Any]) -> None:
    """For a missing URL refused by the uniform view (before DRF dispatches or after): the
    ``ResolverMatch`` Django builds
    for a route that matched, naming the uniform ``view`` that answers. Its construction is
    part of what a concealed route costs; it has no ``tried`` chain (none was walked)."""
    request.resolver_match = ResolverMatch(view, (), {}, route=request.path_info.lstrip("/"))


def _plain(request: HttpRequest) -> HttpResponse:
    """As :class:`authstatus.middleware.AuthStatusMiddleware` refuses a concealed view."""
    authenticators = middleware_authenticators()
    try:
        results = [a.authenticate(request) for a in authenticators]
        evaluate(
            request,
            results=results,
            challenges=LazyChallenges(lambda: challenges_for(authenticators, request)),
            policy=UNIFORM_POLICY,
            sender=adapters.plain_sender(),
        )
    except PoliciesUnavailable:
        return unavailable_response(request)
    except SuspiciousOperation as exc:
        log_concealed_failure(request, exc)
    return not_found_response(request)
