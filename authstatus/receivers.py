"""Receivers that keep every process's compiled policies current."""

from __future__ import annotations

from typing import Any

from django.db import transaction

from authstatus.policies.propagation import policies_changed, registry


def policy_saved_or_deleted(*, using: str = "default", **kwargs: Any) -> None:
    # This process reloads at once (it may still be inside the saving transaction); the
    # others learn of the change through the cache once it is committed.
    registry.invalidate()
    transaction.on_commit(policies_changed, using=using)
