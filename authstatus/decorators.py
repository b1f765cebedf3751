"""Declare in code the access a view has when no policy matches its path.

``@access("anonymous")`` on a function view, a class-based view (the class or the result of
``as_view()``) or a DRF view sets that view's *default*: a policy that matches the path —
from settings or the database — still wins, and routes with neither get ``DEFAULT_ACCESS``.
``@exempt`` marks a plain Django view that does its own access control (the middleware leaves
it alone; DRF views are always enforced by ``PolicyPermission`` instead).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from types import FunctionType
from typing import Any, TypeVar

from authstatus.core.decision import Access, Policy
from authstatus.policies import VIEW, build_policy

__all__ = ["POLICY_ATTRIBUTE", "access", "exempt", "is_exempt", "view_policy"]

V = TypeVar("V", bound=Callable[..., Any])

POLICY_ATTRIBUTE = "authstatus_policy"
EXEMPT_ATTRIBUTE = "authstatus_exempt"


def _targets(view: Any) -> list[Any]:
    # as_view() results carry their class (Django: view_class, DRF: cls); mark both so the
    # middleware (which sees the function) and DRF (which sees the instance) agree.
    return [view, *(getattr(view, a) for a in ("view_class", "cls") if hasattr(view, a))]


def access(
    level: str | Access,
    *,
    conceal: bool = False,
    scopes: str | Iterable[str] | None = None,
    groups: str | Iterable[str] | None = None,
    permissions: str | Iterable[str] | None = None,
    requirements: str | Iterable[str] | None = None,
) -> Callable[[V], V]:
    """Set the view's default policy; arguments as the ``ResourcePolicy`` fields."""

    def decorate(view: V) -> V:
        policy = build_policy(
            level,
            conceal=conceal,
            required_scopes=scopes,
            required_groups=groups,
            required_permissions=permissions,
            requirements=requirements,
            source=VIEW,
            name=getattr(view, "__qualname__", repr(view)),
        )
        for target in _targets(view):
            setattr(target, POLICY_ATTRIBUTE, policy)
        return view

    return decorate


def exempt(view: V) -> V:
    """Leave this plain Django view to its own access control."""
    for target in _targets(view):
        setattr(target, EXEMPT_ATTRIBUTE, True)
    return view


def view_policy(view: Any) -> Policy | None:
    """The default policy declared on ``view`` (function, class or instance), if any."""
    # Called on every request: no list built, the common cases answered first.
    policy = getattr(view, POLICY_ATTRIBUTE, None)
    # Only as_view() functions point at a class that may carry the policy; a view instance
    # (what DRF passes) already sees its class's attribute.
    if policy is None and isinstance(view, FunctionType):
        for attribute in ("view_class", "cls"):
            owner = getattr(view, attribute, None)
            if owner is not None:
                policy = getattr(owner, POLICY_ATTRIBUTE, None)
                if policy is not None:
                    break
    return policy if isinstance(policy, Policy) else None


def is_exempt(view: Any) -> bool:
    return any(getattr(target, EXEMPT_ATTRIBUTE, False) for target in _targets(view))
