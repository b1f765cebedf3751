"""The project's URL routes, and which policy is in force on each.

Each Django URL pattern is turned into a *route pattern* in policy syntax (a converter such
as ``<int:pk>`` becomes ``*``, ``<path:p>`` becomes ``**``) and a *sample path* (each
converter replaced by ``1``), so a policy pattern can be tested against it. Regular-expression
routes (``re_path``) are shown as written and sampled only when they are literal.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from django.urls import URLPattern, URLResolver, get_resolver
from django.urls.resolvers import RegexPattern, RoutePattern

from authstatus import policies
from authstatus.core.decision import Policy
from authstatus.decorators import view_policy

__all__ = ["METHODS", "Route", "RouteMethods", "iter_routes", "policy_in_force", "routes_matching"]

METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
_CONVERTER = re.compile(r"<(?:(?P<kind>[^>:]+):)?[^>]+>")
_REGEX_META = re.compile(r"[\\.^$*+?{}\[\]|()]")


@dataclass(frozen=True)
class Route:
    """One URL pattern: how it is written, in policy syntax, a sample path, its view."""

    written: str
    pattern: str
    sample: str | None
    name: str | None
    namespaces: tuple[str, ...]
    view: Any

    @property
    def exempt(self) -> bool:
        """Left alone by the middleware (DRF views never are: PolicyPermission enforces)."""
        from authstatus.middleware import is_drf_view, is_exempt_view

        return not is_drf_view(self.view) and is_exempt_view(self.view, self.namespaces)


@dataclass(frozen=True)
class RouteMethods:
    """The policy in force on a route for a group of methods, and where it came from."""

    methods: tuple[str, ...]
    policy: Policy | None
    source: str


def _route_part(pattern: Any) -> tuple[str, str, str | None]:
    """(as written, in policy syntax, sample) of one URL pattern piece."""
    if isinstance(pattern, RoutePattern):
        written = str(pattern)

        def to_glob(match: re.Match[str]) -> str:
            return "**" if match.group("kind") == "path" else "*"

        return written, _CONVERTER.sub(to_glob, written), _CONVERTER.sub("1", written)
    if isinstance(pattern, RegexPattern):
        written = str(pattern)
        literal = written.removeprefix("^").removesuffix("$").removesuffix(r"\Z")
        sample = None if _REGEX_META.search(literal) else literal
        return written, sample if sample is not None else written, sample
    text = str(pattern)
    return text, text, None


def iter_routes(
    patterns: Iterable[Any] | None = None,
    prefix: tuple[str, str, str | None] = ("/", "/", "/"),
    namespaces: tuple[str, ...] = (),
) -> Iterator[Route]:
    """Every routable URL pattern of the root URLconf, depth first, in resolution order."""
    if patterns is None:
        patterns = get_resolver().url_patterns
    for entry in patterns:
        written, glob, sample = _route_part(entry.pattern)
        here = (
            prefix[0] + written,
            prefix[1] + glob,
            None if prefix[2] is None or sample is None else prefix[2] + sample,
        )
        if isinstance(entry, URLResolver):
            extra = (entry.namespace,) if entry.namespace else ()
            yield from iter_routes(entry.url_patterns, here, namespaces + extra)
        elif isinstance(entry, URLPattern):
            yield Route(here[0], here[1], here[2], entry.name, namespaces, entry.callback)


def policy_in_force(route: Route, method: str) -> tuple[Policy | None, str]:
    """The policy for ``method`` on ``route`` and its source; ``(None, "exempt")`` for views
    the middleware leaves alone, ``(None, "unknown")`` when the route cannot be sampled."""
    if route.exempt:
        return None, "exempt"
    if route.sample is None:
        return None, "unknown"
    return policies.resolve_explained(method, route.sample, view_policy(route.view))


def methods_of(route: Route) -> list[RouteMethods]:
    """Methods grouped by the policy in force (in :data:`METHODS` order)."""
    groups: list[RouteMethods] = []
    for method in METHODS:
        policy, source = policy_in_force(route, method)
        if groups and groups[-1].policy == policy and groups[-1].source == source:
            last = groups.pop()
            groups.append(RouteMethods((*last.methods, method), policy, source))
        else:
            groups.append(RouteMethods((method,), policy, source))
    return groups


def routes_matching(pattern: str, methods: str = "") -> list[Route]:
    """The routes whose sample path ``pattern`` matches (for the admin)."""
    from authstatus.core.matching import Matcher, Rule, normalize_methods

    matcher: Matcher[None] = Matcher([Rule(pattern, None, normalize_methods(methods))])
    method = next(iter(sorted(normalize_methods(methods))), "GET")
    return [
        route
        for route in iter_routes()
        if route.sample is not None and matcher.match(method, route.sample) is not None
    ]
