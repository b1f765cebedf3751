"""Requirements the demo declares in AUTHSTATUS["REQUIREMENTS"].

The check is called as ``check(user, obj)``; ``obj`` is ``None`` at view level, where an
object rule cannot decide yet and so lets the request through to the object check. The filter
narrows list routes to the objects the check would allow (PolicyFilterBackend applies it).
"""

from __future__ import annotations

from typing import Any


def is_owner(user: Any, obj: Any) -> bool:
    return obj is None or getattr(obj, "owner_id", None) == getattr(user, "pk", None)


def owned_by(user: Any, queryset: Any) -> Any:
    """The objects ``is_owner`` allows: the user's own (none for a token without a user)."""
    if not getattr(user, "is_authenticated", False):
        return queryset.none()
    return queryset.filter(owner=user)
