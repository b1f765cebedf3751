"""Declare in code the access a view has when no policy matches its path.

``@access("anonymous")`` on a function view, a class-based view (the class or the result of
``as_view()``) or a DRF view sets that view's *default*; ``methods=`` and, on viewsets,
``actions=`` declare policies for some HTTP methods or actions, so a policy declared in code
covers every route of a viewset. A policy that matches the path — from settings or the
database — still wins, and routes with neither get ``DEFAULT_ACCESS``.
``@exempt`` marks a plain Django view that does its own access control (the middleware leaves
it alone; DRF views are always enforced by ``PolicyPermission`` instead).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from types import FunctionType
from typing import Any, TypeVar

from authstatus.core.decision import Access, Policy
from authstatus.core.matching import normalize_methods
from authstatus.policies.specs import VIEW, build_policy

__all__ = [
    "POLICY_ATTRIBUTE",
    "Declarations",
    "access",
    "declarations",
    "exempt",
    "is_exempt",
    "view_policy",
]

V = TypeVar("V", bound=Callable[..., Any])

POLICY_ATTRIBUTE = "authstatus_policy"
EXEMPT_ATTRIBUTE = "authstatus_exempt"


def _targets(view: Any) -> list[Any]:
    # as_view() results carry their class (Django: view_class, DRF: cls); mark both so the
    # middleware (which sees the function) and DRF (which sees the instance) agree.
    return [view, *(getattr(view, a) for a in ("view_class", "cls") if hasattr(view, a))]


@dataclass(frozen=True)
class Declarations:
    """The policies a view declares in code: a default, per HTTP method, per viewset action.

    The most precise declaration wins: an action's, then a method's, then the default.
    """

    default: Policy | None = None
    methods: Mapping[str, Policy] = field(default_factory=dict)
    actions: Mapping[str, Policy] = field(default_factory=dict)

    def get(self, method: str | None = None, action: str | None = None) -> Policy | None:
        if action is not None and action in self.actions:
            return self.actions[action]
        if method is not None:
            upper = method.upper()
            found = self.methods.get(upper)
            if found is None and upper == "HEAD":
                found = self.methods.get("GET")
            if found is not None:
                return found
        return self.default

    def names(self, method: str | None, action: str | None) -> bool:
        """Whether an action or method declaration — not the default — covers the request."""
        if action is not None and action in self.actions:
            return True
        if method is None:
            return False
        upper = method.upper()
        return upper in self.methods or (upper == "HEAD" and "GET" in self.methods)


def access(
    level: str | Access,
    *,
    conceal: bool = False,
    scopes: str | Iterable[str] | None = None,
    groups: str | Iterable[str] | None = None,
    permissions: str | Iterable[str] | None = None,
    requirements: str | Iterable[str] | None = None,
    max_age: int | None = None,
    acr_values: str | Iterable[str] | None = None,
    methods: str | Iterable[str] | None = None,
    actions: str | Iterable[str] | None = None,
) -> Callable[[V], V]:
    """Declare the view's policy in code; arguments as the ``ResourcePolicy`` fields.

    Without ``methods`` and ``actions`` it sets the view's *default*. With ``methods``
    (``"POST PUT"``) it applies to those HTTP methods; with ``actions`` (``"retrieve ship"``,
    viewsets only) to those actions, on every route that dispatches to them. Stack the
    decorator to declare several; the most precise declaration wins (action, method,
    default), and a policy that matches the path — settings or database — wins over all.
    """

    def decorate(view: V) -> V:
        policy = build_policy(
            level,
            conceal=conceal,
            required_scopes=scopes,
            required_groups=groups,
            required_permissions=permissions,
            requirements=requirements,
            max_age=max_age,
            acr_values=acr_values,
            source=VIEW,
            name=getattr(view, "__qualname__", repr(view)),
        )
        for target in _targets(view):
            current = _declarations(target) or Declarations()
            if actions is not None:
                names = actions.split() if isinstance(actions, str) else list(actions)
                new = replace(current, actions={**current.actions, **dict.fromkeys(names, policy)})
            elif methods is not None:
                by_method = dict.fromkeys(normalize_methods(methods), policy)
                new = replace(current, methods={**current.methods, **by_method})
            else:
                new = replace(current, default=policy)
            setattr(target, POLICY_ATTRIBUTE, new)
        return view

    return decorate


def exempt(view: V) -> V:
    """Leave this plain Django view to its own access control."""
    for target in _targets(view):
        setattr(target, EXEMPT_ATTRIBUTE, True)
    return view


def _declarations(view: Any) -> Declarations | None:
    found = getattr(view, POLICY_ATTRIBUTE, None)
    return found if isinstance(found, Declarations) else None


def declarations(view: Any) -> Declarations | None:
    """The declarations on ``view`` (function, class or instance), if any."""
    # Called on every request: no list built, the common cases answered first.
    found = _declarations(view)
    # Only as_view() functions point at a class that may carry them; a view instance (what
    # DRF passes) already sees its class's attribute.
    if found is None and isinstance(view, FunctionType):
        for attribute in ("view_class", "cls"):
            owner = getattr(view, attribute, None)
            if owner is not None:
                found = _declarations(owner)
                if found is not None:
                    break
    return found


def view_policy(view: Any, method: str | None = None, action: str | None = None) -> Policy | None:
    """The policy ``view`` declares for ``method`` / ``action`` (see :class:`Declarations`)."""
    found = declarations(view)
    return None if found is None else found.get(method, action)


def is_exempt(view: Any) -> bool:
    return any(getattr(target, EXEMPT_ATTRIBUTE, False) for target in _targets(view))
