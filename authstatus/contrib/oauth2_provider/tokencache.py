"""An optional, short-lived cache of *valid* bearer tokens (``BEARER_CACHE_SECONDS``).

Off by default. When on, a token that checked out is kept in the cache named by
``BEARER_CACHE_ALIAS`` for at most ``BEARER_CACHE_SECONDS``, and further requests with it are
answered without a database query. What that costs, and what it does not:

* **Revocation latency is ``BEARER_CACHE_SECONDS``.** DOT revokes a token by deleting its row;
  a process that cached the token keeps accepting it until its entry is that old. The same
  holds for every other change to the token, its user (``is_active``) or its application.
* **Expiry is exact.** The entry holds the token's ``expires``; a token past it is refused as
  expired at once, whatever the cache says.
* **Only valid tokens are cached.** Unknown, revoked, expired tokens and tokens of inactive
  users or unusable applications always cost their query: a negative cache would not stop a
  flood of random tokens (each is new) and would delay a token issued a moment later.
* **Keyed by the token's SHA-256 checksum** (as DOT's ``token_checksum``), never the token.
* **The entry holds the token row without the token string**, with its user and application
  rows (as ``select_related`` loaded them), so a hit rebuilds exactly what a query would have
  returned: ``request.user`` and ``request.auth`` cost no query, and ``is_usable()`` and the
  RFC 8707 audience check still run per request. The user row includes its password hash:
  keep tokens in a cache you trust like the database. A process-local ``LocMemCache`` alias
  is both the safest and the fastest choice; a shared cache (Redis, Memcached) lets
  processes share entries, but each hit then costs a network round trip, about what the
  query costs.

Cache errors never fail a request: a failed read is a miss, a failed write is skipped.
"""

from __future__ import annotations

import copy
import functools
import logging
import math
from typing import Any

from django.core.cache import caches
from django.core.cache.backends.base import BaseCache
from django.core.cache.backends.locmem import LocMemCache
from django.utils import timezone

from authstatus.conf import SETTING_NAME, app_settings, on_reload

__all__ = ["KEY_PREFIX", "enabled", "in_memory", "lookup", "store"]

logger = logging.getLogger("authstatus")

KEY_PREFIX = "authstatus:bearer:"


def _seconds() -> float:
    return app_settings.BEARER_CACHE_SECONDS


def enabled() -> bool:
    return _seconds() > 0


def in_memory() -> LocMemCache | None:
    """The cache when it is on and is this process's memory (a ``LocMemCache`` alias): a
    read then waits on nothing, and may run on an event loop. ``None`` otherwise.

    One instance per process and settings, where ``caches[alias]`` would build one per
    request under ASGI (Django keeps cache instances per async context); ``LocMemCache``
    instances of one ``LOCATION`` share their entries and lock, so it reads what every
    thread's instance wrote."""
    if not enabled():
        return None
    return _local_cache()


@functools.cache
def _local_cache() -> LocMemCache | None:
    try:
        cache = caches.create_connection(app_settings.BEARER_CACHE_ALIAS)
    except Exception:  # a misconfigured alias: lookup() logs it, on the thread
        return None
    return cache if isinstance(cache, LocMemCache) else None


on_reload(_local_cache.cache_clear, settings=("CACHES", SETTING_NAME))


def _key(checksum: str) -> str:
    return KEY_PREFIX + checksum


def lookup(checksum: str, token: str, cache: BaseCache | None = None) -> Any | None:
    """The cached access token for ``checksum`` (its ``token`` set back to ``token``), or
    ``None`` when the cache is off, holds nothing, or the entry is older than the setting.
    ``cache``: the alias's instance when the caller has one (:func:`in_memory`)."""
    try:
        if cache is None:
            cache = caches[app_settings.BEARER_CACHE_ALIAS]
        entry = cache.get(_key(checksum))
    except Exception:
        logger.warning("authstatus: bearer token cache unavailable", exc_info=True)
        return None
    if not isinstance(entry, tuple) or len(entry) != 3:
        return None
    stored_at, access_token, had_token = entry
    # The entry's age against the setting, not only the backend's timeout: exact whatever
    # the backend's resolution, and a shortened setting applies to entries already cached.
    # (Expiry is checked on every hit by the caller, with the token's own ``expires``.)
    age = timezone.now().timestamp() - stored_at
    if not 0 <= age < _seconds():
        return None
    if had_token:
        access_token.token = token
    return access_token


def store(checksum: str, access_token: Any) -> None:
    """Cache ``access_token`` (already checked valid) for at most ``BEARER_CACHE_SECONDS``,
    and never past its expiry."""
    seconds = _seconds()
    expires = getattr(access_token, "expires", None)
    if seconds <= 0 or expires is None:
        return
    now = timezone.now().timestamp()
    # The backend may drop the entry once it is useless: past the setting or the expiry.
    timeout = min(seconds, expires.timestamp() - now)
    if timeout <= 0:
        return
    snapshot = copy.copy(access_token)  # the request keeps its own instance
    # Never the token itself (DOT may also keep it blank at rest: RFC 9700 token storage).
    had_token = bool(snapshot.token)
    snapshot.token = ""
    try:
        caches[app_settings.BEARER_CACHE_ALIAS].set(
            _key(checksum), (now, snapshot, had_token), max(1, math.ceil(timeout))
        )
    except Exception:
        logger.warning("authstatus: bearer token cache unavailable", exc_info=True)
