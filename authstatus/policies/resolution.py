"""The policy in force for a request: per *resource*, whichever URL reached it.

A request that Django resolved to a view (``request.resolver_match``) is decided in four steps:

1. Its path is made canonical (:meth:`authstatus.policies.routes.Decorations.canonical`): a DRF
   format suffix, a router's optional trailing slash or an ``i18n_patterns`` language prefix is
   removed, so ``/api/orders/4.json``, ``/api/orders/4`` and ``/ja/api/orders/4/`` meet the policies
   of ``/api/orders/4/``.
2. The most specific policy matching the canonical path wins (settings or database: see
   :mod:`authstatus.policies`).
3. Else a policy the view declares in code for the method or viewset action
   (``@access(..., methods=...)`` / ``@access(..., actions=...)``).
4. Else the view's declared default (``@access(...)``) or ``DEFAULT_ACCESS`` — made at least as
   strict as its *named siblings* (:func:`inherited`): the routes of the same viewset
   registration or view that a policy does name. A route that no policy names is never weaker
   than a sibling that has one: an extra action, a list route or a method nobody thought of
   inherits concealment, requirements, scopes, groups and permissions from them.

Inheritance, precisely: the siblings of an endpoint are the endpoints of its family
(:attr:`authstatus.policies.routes.Endpoint.family`) — itself included, for its other methods. A
sibling route and method is *named* when a policy matches the sibling's generic sample for
that method, or the view declares one for that method or action. The inherited policy is the
:func:`~authstatus.core.decision.strictest` of the named ones of the same kind of method —
safe (``GET``, ``HEAD``, ``OPTIONS``) or unsafe (the others) — or of all named ones when
none is of the same kind. Nothing here queries the database: the route map is built once per
URLconf and inherited policies are remembered per compiled matcher.
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from authstatus.conf import on_reload
from authstatus.core.decision import Policy, strictest
from authstatus.policies import propagation as policies
from authstatus.policies.declarations import declarations, view_policy
from authstatus.policies.routes import Endpoint, RouteMap, decorations_for, route_map
from authstatus.policies.specs import DEFAULT, VIEW

if TYPE_CHECKING:
    from django.http import HttpRequest
    from django.urls import ResolverMatch

    from authstatus.core.matching import Matcher

__all__ = [
    "INHERITED",
    "Resolved",
    "RouteEntry",
    "canonical_path",
    "detail_requirements",
    "endpoint_policy",
    "endpoints_matching",
    "inherited",
    "list_requirements",
    "policy_for",
    "request_policy",
    "resolve_explained",
    "route_entries",
]

INHERITED = "inherited"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


@dataclass(frozen=True, slots=True)
class Resolved:
    """A policy in force and where it came from (for explanations, never for deciding)."""

    policy: Policy
    source: str
    """``"settings: …"``, ``"database: …"``, ``"view: …"``, ``"inherited: …"`` or
    ``"default: DEFAULT_ACCESS"``."""
    inherited_from: tuple[str, ...] = ()
    """For an inherited policy: the named sibling routes and methods it comes from."""


def request_policy(request: HttpRequest, view: Any = None, method: str | None = None) -> Policy:
    """:func:`policy_for` the request's path, resolver match and URLconf, and ``method`` —
    by default the request's (DRF passes its own ``request.method``, which
    ``clone_request()`` changes for the ``OPTIONS`` metadata)."""
    return policy_for(
        method or request.method or "GET",
        request.path_info,
        getattr(request, "resolver_match", None),
        view,
        urlconf=getattr(request, "urlconf", None),
    )


def policy_for(
    method: str,
    path_info: str,
    match: ResolverMatch | None,
    view: Any = None,
    *,
    urlconf: str | None = None,
) -> Policy:
    """The policy in force (see the module docstring). ``view`` is what the adapter holds —
    a DRF view instance (whose ``action`` is read) or the callback; ``match`` may be ``None``
    for a request that was not resolved (a view called directly), which is then decided by
    its path alone. ``urlconf`` is the request's own URLconf, if it has one."""
    if match is None:
        action = getattr(view, "action", None)
        return policies.resolve(method, path_info, view_policy(view, method, action))
    matcher = policies.registry.matcher()  # once: the unnamed path needs it too
    rule = matcher.match(method, canonical_path(path_info, match, urlconf))
    if rule is not None:
        return rule.value
    return _unnamed(urlconf, method, match.func, view, matcher).policy


def canonical_path(path_info: str, match: ResolverMatch, urlconf: str | None = None) -> str:
    """The path policies are matched against (step 1 of the module docstring)."""
    decorations = decorations_for(match.func, urlconf)
    return path_info if decorations is None else decorations.canonical(path_info, match.kwargs)


def resolve_explained(
    method: str,
    path_info: str,
    match: ResolverMatch | None,
    view: Any = None,
    *,
    urlconf: str | None = None,
) -> Resolved:
    """:func:`policy_for`, with where the policy came from."""
    if match is None:
        action = getattr(view, "action", None)
        policy, source = policies.resolve_explained(
            method, path_info, view_policy(view, method, action)
        )
        return Resolved(policy, source)
    matcher = policies.registry.matcher()
    rule = matcher.match(method, canonical_path(path_info, match, urlconf))
    if rule is not None:
        return Resolved(rule.value, f"{rule.value.source}: {rule.value.name}")
    return _unnamed(urlconf, method, match.func, view, matcher)


def endpoint_policy(
    endpoint: Endpoint, method: str, matcher: Matcher[Policy] | None = None
) -> Resolved | None:
    """The policy in force on every URL of ``endpoint`` for ``method`` (its generic sample),
    or ``None`` when the endpoint cannot be sampled (an unreadable regular expression).
    ``matcher`` replaces the compiled policies in force (the system checks pass the
    settings policies alone)."""
    if endpoint.sample is None:
        return None
    matcher = matcher if matcher is not None else policies.registry.matcher()
    rule = matcher.match(method, endpoint.sample)
    if rule is not None:
        return Resolved(rule.value, f"{rule.value.source}: {rule.value.name}")
    return _unnamed(None, method, endpoint.callback, None, matcher)


def _action(view: Any, callback: Any, method: str) -> str | None:
    action = getattr(view, "action", None) if view is not None else None
    if action is not None:
        return str(action)
    actions = getattr(callback, "actions", None)
    if isinstance(actions, dict):
        found = actions.get(method.lower()) or (actions.get("get") if method == "HEAD" else None)
        return None if found is None else str(found)
    return None


def _unnamed(
    urlconf: str | None, method: str, callback: Any, view: Any, matcher: Matcher[Policy]
) -> Resolved:
    """Steps 3 and 4 of the module docstring, remembered per compiled matcher."""
    upper = method.upper()
    target = view if view is not None else callback
    action = _action(view, callback, upper)
    found = declarations(target)
    if found is not None and found.names(upper, action):
        policy = found.get(upper, action)
        assert policy is not None
        return Resolved(policy, f"{VIEW}: {policy.name}")
    fallback = found.default if found is not None else None
    memo = _memo(matcher)
    key = (urlconf, callback, upper in SAFE_METHODS, fallback)
    resolved = memo.get(key)
    if resolved is None:
        resolved = _with_inheritance(route_map(urlconf), upper, callback, fallback, matcher)
        memo[key] = resolved
    return resolved


def _with_inheritance(
    routes: RouteMap,
    method: str,
    callback: Any,
    fallback: Policy | None,
    matcher: Matcher[Policy],
) -> Resolved:
    if fallback is not None:
        own = Resolved(fallback, f"{VIEW}: {fallback.name}")
    else:
        own = Resolved(policies.default_policy(), f"{DEFAULT}: DEFAULT_ACCESS")
    parents = inherited(routes, callback, method, matcher)
    if not parents:
        return own
    labels = tuple(label for label, _ in parents)
    policy = strictest(
        [own.policy, *(p for _, p in parents)],
        source=INHERITED,
        name="inherited from " + ", ".join(labels),
    )
    if replace(policy, source=own.policy.source, name=own.policy.name) == own.policy:
        return own  # the siblings demand nothing more: nothing is inherited
    return Resolved(policy, f"{INHERITED}: {', '.join(labels)}", labels)


def inherited(
    routes: RouteMap, callback: Any, method: str, matcher: Matcher[Policy]
) -> list[tuple[str, Policy]]:
    """The named sibling routes and methods whose policies a route of ``callback`` inherits
    for ``method``, as ``("/api/orders/<pk>/ PUT", policy)`` pairs (module docstring)."""
    endpoints = routes.by_callback.get(callback)
    if not endpoints:
        return []
    named: list[tuple[str, str, Policy]] = []
    for sibling in routes.families.get(endpoints[0].family, ()):
        for sibling_method in sibling.methods:
            policy = _named(matcher, sibling, sibling_method)
            if policy is not None:
                named.append((sibling_method, f"{sibling.written} {sibling_method}", policy))
    safe = method.upper() in SAFE_METHODS
    same_kind = [n for n in named if (n[0] in SAFE_METHODS) == safe] or named
    return [(label, policy) for _, label, policy in same_kind]


def _named(matcher: Matcher[Policy], endpoint: Endpoint, method: str) -> Policy | None:
    if endpoint.sample is not None:
        rule = matcher.match(method, endpoint.sample)
        if rule is not None:
            return rule.value
    found = declarations(endpoint.callback)
    action = endpoint.action(method)
    if found is not None and found.names(method, action):
        return found.get(method, action)
    return None


_memos: dict[int, tuple[weakref.ref[Matcher[Policy]], dict[Any, Resolved]]] = {}


def _memo(matcher: Matcher[Policy]) -> dict[Any, Resolved]:
    """Inherited policies depend on the compiled policies: a reload starts a new memo (one
    per matcher: the checks' settings-only matcher does not evict the registry's). Keys name
    the URLconf and the callback, so a changed URLconf never meets an old entry. The matcher
    is held weakly: a replaced one (100,000 policies weigh tens of MB) is freed at once."""
    memo = _memos.get(id(matcher))
    if memo is None or memo[0]() is not matcher:
        if len(_memos) >= 4:
            _memos.clear()
        memo = (weakref.ref(matcher), {})
        _memos[id(matcher)] = memo
    return memo[1]


on_reload(_memos.clear, settings=("ROOT_URLCONF",))


@dataclass(frozen=True, slots=True)
class RouteEntry:
    """One row of the route map: an endpoint, some of its methods, the policy in force."""

    endpoint: Endpoint
    methods: tuple[str, ...]
    resolved: Resolved | None
    """``None`` for exempt routes and routes that cannot be sampled."""
    enforced_by: str
    """``PolicyPermission``, ``middleware``, ``exempt``, ``unknown`` (an unreadable regular
    expression) or ``permission_classes: … (PolicyPermission not used)``."""


def route_entries(
    include_exempt: bool = True, matcher: Matcher[Policy] | None = None
) -> list[RouteEntry]:
    """Every endpoint of the URLconf with its methods grouped by the policy in force."""
    out: list[RouteEntry] = []
    for endpoint in route_map().endpoints:
        enforced_by = _enforcer(endpoint)
        if enforced_by == "exempt" and not include_exempt:
            continue
        groups: list[tuple[list[str], Resolved | None]] = []
        for method in endpoint.methods:
            resolved = None
            if enforced_by not in ("exempt", "unknown"):
                resolved = endpoint_policy(endpoint, method, matcher)
            if groups and groups[-1][1] == resolved:
                groups[-1][0].append(method)
            else:
                groups.append(([method], resolved))
        out += [RouteEntry(endpoint, tuple(m), r, enforced_by) for m, r in groups]
    return out


def _enforcer(endpoint: Endpoint) -> str:
    if endpoint.exempt:
        return "exempt"
    if endpoint.sample is None:
        return "unknown"
    kind = endpoint.kind
    return "middleware" if kind is None else kind.enforced_by(endpoint.callback)


def endpoints_matching(pattern: str, methods: str = "") -> list[Endpoint]:
    """The endpoints some of whose URLs and methods the policy pattern can match (the admin's
    "matches these routes", check ``authstatus.W014``). :class:`PatternError` if invalid."""
    from authstatus.core.matching import normalize_methods
    from authstatus.core.overlap import patterns_overlap

    wanted = normalize_methods(methods)
    return [
        endpoint
        for endpoint in route_map().endpoints
        if endpoint.pattern is not None
        and (not wanted or wanted & set(endpoint.methods))
        and patterns_overlap(pattern, endpoint.pattern)
    ]


def list_requirements(
    method: str,
    path_info: str,
    match: ResolverMatch | None,
    view: Any = None,
    *,
    urlconf: str | None = None,
    policy: Policy | None = None,
) -> tuple[str, ...]:
    """The requirements whose filters narrow a list served at this request: those of the
    policy in force (``policy``, when the caller resolved it already), and on a viewset's list
    route those its detail routes demand for reading (``GET``) — a list never shows what the
    detail route would refuse or conceal."""
    if policy is None:
        policy = policy_for(method, path_info, match, view, urlconf=urlconf)
    names = dict.fromkeys(policy.requirements)
    if match is not None:
        endpoint = route_map(urlconf).endpoint(match.func)
        if endpoint is not None:
            names.update(dict.fromkeys(detail_requirements(endpoint)))
    return tuple(names)


def detail_requirements(
    endpoint: Endpoint, matcher: Matcher[Policy] | None = None
) -> tuple[str, ...]:
    """For a viewset's list route (``detail=False``): the requirements its detail routes
    demand for ``GET``. Empty for every other endpoint."""
    if not endpoint.is_viewset or endpoint.detail is not False:
        return ()
    names: dict[str, None] = {}
    for sibling in route_map().families.get(endpoint.family, ()):
        resolved = endpoint_policy(sibling, "GET", matcher) if sibling.detail else None
        if resolved is not None:
            names.update(dict.fromkeys(resolved.policy.requirements))
    return tuple(names)
