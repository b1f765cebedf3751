"""The ASGI section's second uvicorn process (:mod:`benchmarks.bench_asgi`): its settings
with the optional cache of valid bearer tokens on, in a process-local ``LocMemCache`` alias,
so that a cached token is checked on the event loop, with no thread hop
(:meth:`authstatus.tokens.TokenBackend.check_in_memory`)."""

from __future__ import annotations

from benchmarks.settings_asgi import *  # noqa: F403
from benchmarks.settings_asgi import AUTHSTATUS, CACHES

CACHES = {
    **CACHES,
    "tokens": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "tokens"},
}
AUTHSTATUS = {**AUTHSTATUS, "BEARER_CACHE_SECONDS": 300, "BEARER_CACHE_ALIAS": "tokens"}
