"""Named requirements: the predicates (and list filters) declared in ``AUTHSTATUS["REQUIREMENTS"]``.

A requirement is declared by name, either as the dotted path of its predicate or as a dict
that adds a queryset filter::

    "REQUIREMENTS": {
        "staff": "myapp.rules.is_staff",
        "owner": {"check": "myapp.rules.is_owner", "filter": "myapp.rules.owned_by"},
    }

The predicate is called ``check(user, obj)`` — ``obj`` is ``None`` at view level, the object
at object level (the signature of django-rules predicates). The filter is called
``filter(user, queryset)`` and returns the objects whose ``check`` holds; the DRF filter
backend :class:`authstatus.contrib.rest_framework.PolicyFilterBackend` applies it on list
routes, so a list never shows what the detail route would refuse or conceal.

Both are imported once per settings. One that cannot be imported fails closed — the
predicate is false, the filter returns nothing — and is logged once; system check
``authstatus.E016`` reports it at startup.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from django.utils.module_loading import import_string

from authstatus.conf import app_settings, on_reload

__all__ = ["Requirement", "declared", "requirement"]

logger = logging.getLogger("authstatus")


@dataclass(frozen=True, slots=True)
class Requirement:
    name: str
    check: Callable[[Any, Any], bool]
    filter: Callable[[Any, Any], Any] | None
    """``None`` when the declaration names no filter: lists cannot be narrowed by it."""
    error: str = ""
    """Why the declaration could not be imported; empty when it was."""


def declared() -> dict[str, tuple[str, str | None]]:
    """``name → (check path, filter path or None)`` of every declaration that is well formed
    (check ``authstatus.E008`` reports the others)."""
    out: dict[str, tuple[str, str | None]] = {}
    for name, value in app_settings.REQUIREMENTS.items():
        if isinstance(value, str):
            out[name] = (value, None)
        elif isinstance(value, Mapping) and isinstance(value.get("check"), str):
            filter_path = value.get("filter")
            out[name] = (value["check"], filter_path if isinstance(filter_path, str) else None)
    return out


_loaded: dict[str, Requirement] = {}


def requirement(name: str) -> Requirement:
    """The requirement declared as ``name``, imported once (see the module docstring)."""
    found = _loaded.get(name)
    if found is None:
        found = _load(name)
        _loaded[name] = found
    return found


def _load(name: str) -> Requirement:
    check_path, filter_path = declared().get(name, (None, None))
    if check_path is None:
        return _closed(name, f"'{name}' is not declared in AUTHSTATUS['REQUIREMENTS']")
    try:
        check = import_string(check_path)
        filter_ = import_string(filter_path) if filter_path else None
    except ImportError as exc:
        return _closed(name, str(exc))
    if not callable(check) or (filter_ is not None and not callable(filter_)):
        return _closed(name, f"'{name}': the check and the filter must be callables")
    return Requirement(name, check, filter_)


def _closed(name: str, error: str) -> Requirement:
    logger.error("authstatus: requirement %r cannot be used (%s); it fails closed", name, error)
    return Requirement(name, _never, _nothing, error)


def _never(user: Any, obj: Any) -> bool:
    return False


def _nothing(user: Any, queryset: Any) -> Any:
    return queryset.none()


on_reload(_loaded.clear)
