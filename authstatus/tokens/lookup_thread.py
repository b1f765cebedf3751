"""The token-lookup thread: one long-lived thread per process, with database connections that
outlive a request, where :func:`authstatus.tokens.acheck` runs the token backends under ASGI.

Why: Django's ASGI handler runs each request's sync code in a thread of the request's own
(asgiref's ``ThreadSensitiveContext``), so a thread-sensitive ``sync_to_async`` around the
token query opens a database connection per request, and pays that connection's first
statement (SQLite parses the schema: about 0.7 ms where the query takes 0.1 ms; PostgreSQL a
new session, milliseconds). This thread keeps its connections across lookups, for
``ASYNC_TOKEN_CONNECTION_MAX_AGE`` seconds.

When (:func:`applies`): only where the hop would otherwise land in such a fresh per-request
thread. Its connection has no transaction of the request's to see (Django does not wrap async
views in ``ATOMIC_REQUESTS``, and the middleware looks the token up before the view runs), so
this thread's connection answers exactly what the request's would: the committed rows. Where
the hop goes to a thread that lives longer — a parent sync thread (Django's test client and
``AsyncClient`` in a sync test, whose thread holds the test's transaction; a sync middleware
above ``AuthStatusMiddleware``, which may hold a transaction), or asgiref's shared single
thread — ``acheck`` hops with ``sync_to_async`` as before, so a token created or revoked in
that transaction is answered as the transaction sees it.
"""

from __future__ import annotations

import asyncio
import contextvars
import os
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import suppress
from typing import Any, TypeVar

from asgiref.sync import AsyncToSync, SyncToAsync
from django.db import DatabaseError, InterfaceError, OperationalError, connections

from authstatus.conf import app_settings

__all__ = ["THREAD_NAME", "applies", "close", "run"]

THREAD_NAME = "authstatus-tokens"

T = TypeVar("T")

_lock = threading.Lock()
_executor: ThreadPoolExecutor | None = None
# alias -> (the DB-API connection this thread saw open, monotonic time it expires or None).
# Read and written on the lookup thread only.
_opened: dict[str, tuple[Any, float | None]] = {}


def applies() -> bool:
    """Whether a thread-sensitive ``sync_to_async`` called here would run in a thread that
    Django's ASGI handler made for this request alone (``ThreadSensitiveContext`` without an
    executor of its own, and no parent sync thread): then, and only then, the lookup thread
    answers as that thread would. ``False`` when asgiref does not look as expected."""
    if not app_settings.ASYNC_TOKEN_THREAD:
        return False
    if getattr(AsyncToSync.executors, "current", None) is not None:
        return False  # a parent sync thread: it may hold a transaction (a test's)
    context_var = getattr(SyncToAsync, "thread_sensitive_context", None)
    context = context_var.get(None) if context_var is not None else None
    if context is None:
        return False  # asgiref's shared single thread (pytest-asyncio, say): it lives on
    # An executor supplied to the context is long-lived too.
    return getattr(context, "_executor", None) is None


async def run(func: Callable[..., T], *args: Any) -> T:
    """``func(*args)`` on the lookup thread, with the caller's context variables: one hop."""
    loop = asyncio.get_running_loop()
    context = contextvars.copy_context()
    return await loop.run_in_executor(_thread(), context.run, _lookup, func, *args)


def close(timeout: float = 10.0) -> None:
    """Close the lookup thread's database connections and stop it (it starts again on the
    next lookup). For test suites that run the ASGI handler in-process on PostgreSQL: an idle
    connection keeps the test database from being dropped. A no-op when it never started."""
    global _executor
    with _lock:
        executor, _executor = _executor, None
    if executor is not None:
        executor.submit(_close_all).result(timeout)
        executor.shutdown(wait=True)


def _thread() -> ThreadPoolExecutor:
    global _executor
    executor = _executor
    if executor is None:
        with _lock:
            if _executor is None:
                _executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix=THREAD_NAME)
            executor = _executor
    return executor


def _forget_after_fork() -> None:
    """In a forked child: the parent's thread does not exist here, its connections are the
    parent's (never to be used by the child)."""
    global _executor, _lock
    _executor = None
    _lock = threading.Lock()
    _opened.clear()


os.register_at_fork(after_in_child=_forget_after_fork)


def _lookup(func: Callable[..., T], *args: Any) -> T:
    """Run ``func`` with connections that are usable and within their lifetime. A connection
    kept from an earlier lookup that fails (the server restarted, a pooler dropped it) is
    closed and ``func`` retried once on a new one; a new connection's error is the answer,
    as on the sync path."""
    reused = _prepare()
    try:
        try:
            return func(*args)
        except (OperationalError, InterfaceError):
            if not reused:
                raise
            _close_all()
            return func(*args)
    finally:
        _finish()


def _prepare() -> bool:
    """What Django's request cycle does before a request (``close_old_connections``), with
    this thread's own lifetime; whether a connection is kept from an earlier lookup."""
    reused = False
    for connection in connections.all(initialized_only=True):
        seen = _opened.get(connection.alias)
        if connection.connection is None or seen is None or seen[0] is not connection.connection:
            _opened.pop(connection.alias, None)
            continue
        # Django set close_at from CONN_MAX_AGE when it connected: this thread's lifetime
        # replaces it (CONN_HEALTH_CHECKS and the other checks are Django's, unchanged).
        connection.close_at = seen[1]
        connection.close_if_unusable_or_obsolete()
        if connection.connection is None:
            _opened.pop(connection.alias, None)
        else:
            reused = True
    return reused


def _finish() -> None:
    """No transaction is left open on a kept connection; new connections get their lifetime
    (``ASYNC_TOKEN_CONNECTION_MAX_AGE``: 0 closes them at once, ``None`` keeps them)."""
    max_age = app_settings.ASYNC_TOKEN_CONNECTION_MAX_AGE
    for connection in connections.all(initialized_only=True):
        if connection.connection is None:
            _opened.pop(connection.alias, None)
            continue
        if connection.in_atomic_block or max_age == 0:
            connection.close()  # a backend left a transaction open, or nothing is kept
            _opened.pop(connection.alias, None)
            continue
        if not connection.get_autocommit():  # AUTOCOMMIT False: end the implicit transaction
            connection.rollback()
        seen = _opened.get(connection.alias)
        if seen is None or seen[0] is not connection.connection:
            expires = None if max_age is None else time.monotonic() + max_age
            _opened[connection.alias] = (connection.connection, expires)


def _close_all() -> None:
    for connection in connections.all(initialized_only=True):
        with suppress(DatabaseError):  # a broken connection is gone either way
            connection.close()
    _opened.clear()
