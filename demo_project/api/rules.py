"""Requirement predicates the demo declares in AUTHSTATUS["REQUIREMENTS"].

Called as ``predicate(user, obj)``; ``obj`` is ``None`` at view level, where an object rule
cannot decide yet and so lets the request through to the object check.
"""

from __future__ import annotations

from typing import Any


def is_owner(user: Any, obj: Any) -> bool:
    return obj is None or getattr(obj, "owner_id", None) == getattr(user, "pk", None)
