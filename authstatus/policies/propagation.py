"""Policies: where they come from, how they are validated, compiled and resolved.

A *policy source* yields :class:`~authstatus.core.matching.Rule` objects whose value is a
:class:`~authstatus.core.decision.Policy`. The settings source reads ``AUTHSTATUS["POLICIES"]``;
further sources (the database) slot in beside it with a higher ``rank``, so at equal
specificity the later source wins. All rules are compiled into one matcher, cached per process
and rebuilt when a source says it changed. Resolving a request's policy never queries the
database.

Resolution order for a request: the most specific matching rule; else the default the view
declared in code (:func:`authstatus.policies.declarations.access`); else ``DEFAULT_ACCESS``.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import hashlib
import logging
import math
import os
import threading
import time
import uuid
import weakref
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, NamedTuple, Protocol, cast

if TYPE_CHECKING:
    from django.core.cache.backends.base import BaseCache

    from authstatus.models import ResourcePolicy

from asgiref.sync import sync_to_async
from django.core.cache import caches
from django.db import close_old_connections, connections, router, transaction

from authstatus.conf import app_settings, on_reload
from authstatus.core.decision import Access, Policy
from authstatus.core.matching import Matcher, PatternError, Rule, normalize_methods
from authstatus.policies.specs import (
    DATABASE,
    DEFAULT,
    VIEW,
    PolicyError,
    build_policy,
    rule_from_spec,
    settings_rules,
)

__all__ = [
    "DatabaseSource",
    "InvalidPolicy",
    "PoliciesUnavailable",
    "PolicyError",
    "PolicyRegistry",
    "PolicySource",
    "Snapshot",
    "build_policy",
    "default_policy",
    "policies_changed",
    "registry",
    "resolve",
    "rule_from_spec",
]

logger = logging.getLogger("authstatus")


@dataclass(frozen=True)
class InvalidPolicy:
    """A ``ResourcePolicy`` row that does not validate (written around ``save()``: raw SQL, a
    migration, a restore) and what this process enforces in its place."""

    pk: object
    path: str
    error: str
    enforced: str

    def __str__(self) -> str:
        return (
            f"resource policy #{self.pk} ({self.path!r}): {self.error}; enforced as {self.enforced}"
        )


class Snapshot(NamedTuple):
    """What one source yielded: its rules, a fingerprint of what they were compiled from
    (``None``: the source cannot change behind the registry's back), the rows it could not
    compile."""

    rules: Sequence[Rule[Policy]]
    fingerprint: object = None
    invalid: Sequence[InvalidPolicy] = ()


class PolicySource(Protocol):
    def load(self) -> Snapshot: ...

    def fingerprint(self) -> object:
        """What :meth:`load` would record now, without compiling (``None``: never changes)."""


class FunctionSource:
    """A callable returning rules, as a source (settings, benchmarks, tests)."""

    def __init__(self, function: Callable[[], Sequence[Rule[Policy]]]) -> None:
        self._function = function

    def load(self) -> Snapshot:
        return Snapshot(tuple(self._function()))

    def fingerprint(self) -> object:
        return None


# Rows that do not validate, and cannot keep their last good version, are closed to everyone.
CLOSED_PRIORITY = 2**31 - 1


class DatabaseSource:
    """Rules from ``ResourcePolicy`` rows (rank 1: they win ties with settings).

    One query reads every row, disabled ones included. The fingerprint is a digest of every
    column of every row, so it changes with any change to the table, whether or not it went
    through Django (raw SQL, a restore) or bumped ``updated``.

    A row that does not validate does not stop the others from loading, and what it governed
    never becomes more open: this process enforces in its place the last valid version of the
    row it compiled; failing that (the process started after the row broke, or the row was
    disabled), the row's path pattern — on its methods, or all methods if they are unreadable —
    closed to everyone (``access: nobody``, concealed unless ``conceal`` is false, the highest
    priority); failing that (the path is not a pattern, so as written it matches no request),
    nothing. Each such row is reported: check ``authstatus.W020``, the admin changelist, and
    one log line per load and per ``RESYNC_INTERVAL``.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._last_good: dict[object, Rule[Policy]] = {}
        # What each row compiled to — its rule, None (disabled), or why it cannot be enforced
        # (a string) — keyed by a digest of all its column values: a reload after one save
        # validates that row alone and reuses the other rows' (immutable) rules.
        self._compiled: dict[bytes, Rule[Policy] | str | None] = {}

    def clear(self) -> None:
        """Forget what the rows compiled to (settings changed: REQUIREMENTS, say)."""
        with self._lock:
            self._compiled = {}

    @staticmethod
    def _rows() -> Iterator[tuple[list[str], object, tuple[object, ...]]]:
        """Every row as its column names, primary key and column values, streamed: a table
        of 100,000 rows never exists as 100,000 model instances (each a few objects that a
        garbage collection, holding the GIL, would have to visit)."""
        from authstatus.models import ResourcePolicy

        names = [f.attname for f in ResourcePolicy._meta.concrete_fields]
        at = names.index(ResourcePolicy._meta.pk.attname)
        rows = ResourcePolicy.objects.order_by("pk").values_list(*names)
        # Small chunks: a chunk dies young, so streaming promotes nothing to the oldest GC
        # generation and triggers no full collection (a pause proportional to the heap).
        for values in rows.iterator(chunk_size=100):
            yield names, values[at], values

    @staticmethod
    def _instance(names: list[str], values: tuple[object, ...]) -> ResourcePolicy:
        from authstatus.models import ResourcePolicy

        return ResourcePolicy.from_db(_policy_database(), names, values)

    @staticmethod
    def _line(values: tuple[object, ...]) -> bytes:
        return repr(values).encode() + b"\n"

    def fingerprint(self) -> str:
        digest = hashlib.sha256()
        for _, _, values in self._rows():
            digest.update(self._line(values))
        return digest.hexdigest()

    def load(self) -> Snapshot:
        rows = self._rows()
        rules: list[Rule[Policy]] = []
        invalid: list[InvalidPolicy] = []
        good: dict[object, Rule[Policy]] = {}
        digest = hashlib.sha256()
        with self._lock:
            previous = self._compiled
            compiled: dict[bytes, Rule[Policy] | str | None] = {}
            for names, pk, values in rows:
                line = self._line(values)
                digest.update(line)
                key = hashlib.sha256(line).digest()
                if key in previous:
                    found = previous[key]
                else:
                    found = self._compile(self._instance(names, values))
                compiled[key] = found
                if not isinstance(found, str):
                    if found is not None:  # None: disabled
                        good[pk] = found
                        rules.append(found)
                    continue
                error = found
                fallback = self._last_good.get(pk)
                if fallback is not None:
                    good[pk] = fallback
                    enforced = f"its last valid version ({fallback.value.access.value} on "
                    enforced += f"{fallback.pattern!r})"
                else:
                    fallback = _closed_rule(self._instance(names, values))
                    enforced = (
                        f"closed to everyone (access: nobody) on {fallback.pattern!r}"
                        if fallback is not None
                        else "nothing: its path is not a pattern, so it matches no request"
                    )
                if fallback is not None:
                    rules.append(fallback)
                row = self._instance(names, values)
                invalid.append(InvalidPolicy(row.pk, str(row.path), error, enforced))
            self._last_good = good
            self._compiled = compiled
        return Snapshot(rules, digest.hexdigest(), invalid)

    @staticmethod
    def _compile(row: ResourcePolicy) -> Rule[Policy] | str | None:
        """The row's rule (``None`` when disabled), or why it cannot be enforced (a string:
        what :meth:`ResourcePolicy.problem` reports, computed once)."""
        try:
            return row.rule()
        except Exception as exc:
            return str(exc) or type(exc).__name__


def _closed_rule(row: ResourcePolicy) -> Rule[Policy] | None:
    """The row's pattern closed to everyone, or ``None`` if its path is not a pattern."""
    if not isinstance(row.path, str):
        return None
    try:
        methods = normalize_methods(row.methods) if isinstance(row.methods, str) else frozenset()
    except PatternError:
        methods = frozenset()  # unreadable methods: close every method
    priority = row.priority
    rule: Rule[Policy] = Rule(
        pattern=row.path,
        value=Policy(
            access=Access.NOBODY,
            conceal=row.conceal is not False,
            source=DATABASE,
            name=f"policy #{row.pk} (invalid: closed)",
        ),
        methods=methods,
        priority=priority if type(priority) is int else CLOSED_PRIORITY,
        rank=1,
    )
    try:
        Matcher([rule])
    except PatternError:
        return None
    return rule


database_source = DatabaseSource()


def database_rules() -> list[Rule[Policy]]:
    """Rules from enabled ``ResourcePolicy`` rows; see :class:`DatabaseSource`."""
    return list(database_source.load().rules)


class PoliciesUnavailable(RuntimeError):
    """No policies could be loaded and none were loaded before: refuse (503), never allow."""


VERSION_KEY = "authstatus:policies:version"
# How long a request sleeps while the poller builds (RELOAD_IN_BACKGROUND); see
# _yield_to_build.
BUILD_YIELD_S = 0.0002
# POLL_INTERVAL = 0 polls as often as this, not in a busy loop.
MIN_POLL_INTERVAL = 0.01


class _Throttle:
    """Logs a lasting failure once when it starts, then once per ``RESYNC_INTERVAL``."""

    def __init__(self) -> None:
        self._next: dict[str, float] = {}

    def failure(self, key: str, message: str) -> None:
        now = time.monotonic()
        if now < self._next.get(key, -math.inf):
            return
        first = key not in self._next
        self._next[key] = now + app_settings.RESYNC_INTERVAL
        logger.error(message if first else f"{message} (still failing)", exc_info=True)

    def recovered(self, key: str, message: str) -> None:
        if self._next.pop(key, None) is not None:
            logger.warning(message)

    def clear(self) -> None:
        self._next.clear()


class _Poller(threading.Thread):
    """Reads the version key every ``POLL_INTERVAL`` off the request path (one per process,
    started lazily, so after a fork); with ``RELOAD_IN_BACKGROUND``, also performs the reloads
    and resyncs, so that no request waits for them. Holds its registry weakly."""

    def __init__(self, registry: PolicyRegistry) -> None:
        super().__init__(name="authstatus-policy-poller", daemon=True)
        self._registry = weakref.ref(registry)
        self.stopped = False
        self.wake = threading.Event()
        """Set to poll (and reload) now rather than at the end of the interval."""

    def stop(self) -> None:
        self.stopped = True
        self.wake.set()

    def run(self) -> None:
        try:
            while True:
                self.wake.wait(self._wait())
                self.wake.clear()
                registry = self._registry()
                if self.stopped or registry is None or registry._poller is not self:
                    return
                # No request cycle manages this thread's connections: do what one would,
                # before (a connection broken by a database restart must not fail every
                # later load) and after (CONN_MAX_AGE = 0: no connection held between polls).
                close_old_connections()
                try:
                    registry.poll()
                    if app_settings.RELOAD_IN_BACKGROUND:
                        registry._rebuild()
                except Exception:  # the poller must outlive anything a poll can raise
                    logger.exception("authstatus: policy poll failed")
                finally:
                    close_old_connections()
                del registry
        finally:
            # A persistent connection (CONN_MAX_AGE) must not outlive its only user.
            connections.close_all()

    def _wait(self) -> float:
        return max(_poll_interval(), MIN_POLL_INTERVAL)


class PolicyRegistry:
    """The compiled rules of every source, shared by the threads of one process.

    Steady state costs no database query and never waits for the cache: the compiled matcher
    is kept in memory, and a background thread reads one *version* key from the cache named
    by ``CACHE_ALIAS`` every ``POLL_INTERVAL`` seconds. :func:`policies_changed` writes a new
    version whenever a policy is saved or deleted (retried on every poll until the write
    succeeds). Every ``RESYNC_INTERVAL`` seconds a fingerprint of the policy table is compared
    with the one loaded (one query), which bounds staleness when the cache cannot (a lost
    announcement, a restored cache, a row changed outside Django). If the cache or the
    database fails, the last policies that loaded stay in force; a process that never loaded
    any raises :class:`PoliciesUnavailable`.

    Who reloads: with ``RELOAD_IN_BACKGROUND`` (the default) the poller thread, when it sees
    another version, when this process saved a change, or when the fingerprints differ. It
    builds a new matcher while every request keeps answering with the current one — the last
    one that loaded, never a more open state — then swaps the reference (one assignment).
    While it builds, each request sleeps ``BUILD_YIELD_S`` so that busy request threads
    cannot starve it of the GIL (:func:`_yield_to_build`).
    A change is thus in force once its build completes: staleness grows by one build. Two
    exceptions wait: the first load of a process (there is nothing to answer with yet), and
    a thread whose own transaction changed a policy that is not committed yet (only it can
    read that change; it reloads itself, as the saving request). Without
    ``RELOAD_IN_BACKGROUND``, the request that finds a reload or a resync due performs it
    (the lock is taken without waiting: other threads answer with the current policies).
    """

    def __init__(
        self, sources: Sequence[PolicySource | Callable[[], Sequence[Rule[Policy]]]]
    ) -> None:
        self._lock = threading.Lock()
        self._sources = [_as_source(source) for source in sources]
        self._log = _Throttle()
        self._poller: _Poller | None = None
        self._clear()
        ref = weakref.ref(self)
        os.register_at_fork(after_in_child=lambda: _after_fork(ref))

    def _clear(self) -> None:
        self._matcher: Matcher[Policy] | None = None
        self._version: object = None  # the version key's value the matcher reflects
        self._seen: object = _UNKNOWN  # the value the poller read last
        self._fingerprints: tuple[object, ...] = ()
        self.invalid: tuple[InvalidPolicy, ...] = ()
        self._reload_wanted = False
        self._building = False  # the poller is reloading or resyncing (RELOAD_IN_BACKGROUND)
        self._unannounced = False
        self._next_resync = -math.inf
        self._next_invalid_log = -math.inf
        self._retry_at = -math.inf
        self._load_error = ""
        # Connections (other threads') whose open transaction changed a policy, with when:
        # the poller cannot read that change, so it leaves reloads to the saving thread
        # until the transaction ends (its commit invalidates again), RESYNC_INTERVAL at most.
        self._owners: dict[int, tuple[Any, float]] = {}
        self._log.clear()

    def matcher(self) -> Matcher[Policy]:
        matcher = self._matcher
        if (
            matcher is not None
            and not self._reload_wanted
            and not self._building
            and time.monotonic() < self._next_resync
        ):
            return matcher
        return self._refresh(matcher)

    async def aready(self) -> None:
        """Make :meth:`matcher` answer from memory, for async code: nothing to do in steady
        state; when a load, reload or resync is due (they query the database), it runs in a
        thread (one ``sync_to_async`` hop), as the async ORM would."""
        if self._matcher is None or self._reload_wanted or time.monotonic() >= self._next_resync:
            await sync_to_async(self.matcher)()

    def _refresh(self, matcher: Matcher[Policy] | None) -> Matcher[Policy]:
        if matcher is None:
            return self._first_load()
        if _event_loop_running():
            # The database must not be queried on an event loop's thread; the next
            # aready() (AuthStatusMiddleware's async path) reloads in a thread.
            return matcher
        if app_settings.RELOAD_IN_BACKGROUND:
            if not (self._reload_wanted and _uncommitted_change()):
                # The poller reloads and resyncs; answer with the current policies meanwhile.
                if self._building:
                    _yield_to_build()
                else:
                    self._wake_poller()
                return self._matcher or matcher
            # This thread's transaction changed a policy: only this thread can read it.
            with self._lock:
                if self._reload_wanted:
                    self._reload()
            return self._matcher or matcher
        # Policies are loaded: never wait. The thread holding the lock reloads; the others
        # answer with the current policies meanwhile.
        if not self._lock.acquire(blocking=False):
            return matcher
        try:
            if self._matcher is not None:
                self._ensure_poller()
                if self._reload_wanted:
                    self._reload()
                elif time.monotonic() >= self._next_resync:
                    self._resync()
        finally:
            self._lock.release()
        return self._matcher or matcher

    def _rebuild(self) -> None:
        """The poller's share with ``RELOAD_IN_BACKGROUND``: the reload or resync that is due,
        built off the request path. Requests keep the current matcher until it is replaced."""
        if self._matcher is None or not (
            self._reload_wanted or time.monotonic() >= self._next_resync
        ):
            return
        with self._lock:
            if self._matcher is None or self._saving_elsewhere():
                return
            self._building = True
            try:
                if self._reload_wanted:
                    self._reload()
                elif time.monotonic() >= self._next_resync:
                    self._resync()
            finally:
                self._building = False

    def _first_load(self) -> Matcher[Policy]:
        with self._lock:  # nothing to answer with yet: wait for whichever thread loads
            if self._matcher is not None:
                return self._matcher
            now = time.monotonic()
            if now < self._retry_at:  # failed a moment ago: refuse without retrying
                raise PoliciesUnavailable(self._load_error)
            self._reload_wanted = False  # this load is the reload (after a fork, say)
            try:
                self._seen = _read_version()
            except Exception:
                self._log.failure(
                    "cache", "authstatus: policy cache unavailable; loading from the database"
                )
            try:
                self._load(self._seen)
            except Exception as exc:
                self._retry_at = now + max(_poll_interval(), MIN_POLL_INTERVAL)
                self._load_error = str(exc)
                self._log.failure(
                    "load", "authstatus: policies failed to load; refusing requests (503)"
                )
                raise PoliciesUnavailable(str(exc)) from exc
            self._log.recovered("load", "authstatus: policies loaded again")
            self._ensure_poller()
            assert self._matcher is not None
            return self._matcher

    def _reload(self) -> None:
        target = self._seen
        self._reload_wanted = False
        # The poller may read the version while this load runs: it must see the version
        # being loaded, or it asks for the same load again.
        self._version = target
        try:
            self._load(target)
        except Exception:
            self._version = _STALE  # the next poll asks for another attempt
            self._log.failure("load", "authstatus: policies failed to load; keeping the last good")
        else:
            self._log.recovered("load", "authstatus: policies loaded again")

    def _resync(self) -> None:
        self._next_resync = time.monotonic() + app_settings.RESYNC_INTERVAL
        try:
            with _atomic_if_needed():
                current = tuple(source.fingerprint() for source in self._sources)
        except Exception:
            self._log.failure(
                "resync", "authstatus: could not compare the policies with the database"
            )
            return
        self._log.recovered("resync", "authstatus: the policy database answers again")
        if current != self._fingerprints:
            logger.warning(
                "authstatus: the policy table changed without an announcement through the "
                "cache (raw SQL, a restore, a lost cache write or a process that died before "
                "announcing); reloading"
            )
            self._reload()
        else:
            self._report_invalid()

    def _load(self, version: object) -> None:
        with _atomic_if_needed():
            snapshots = [source.load() for source in self._sources]
            # Loaded inside the transaction that changed a policy, this may see rows that
            # are then rolled back (Django has no rollback hook): provisional, reloaded on
            # the next poll, so a rolled-back change outlives its transaction by at most
            # POLL_INTERVAL.
            provisional = _uncommitted_change()
        rules = [rule for snapshot in snapshots for rule in snapshot.rules]
        # After one save every other rule is the same object as before (DatabaseSource
        # reuses them): only the change is compiled, into a copy sharing the rest.
        matcher = self._matcher.rebuilt(rules) if self._matcher is not None else Matcher(rules)
        self._fingerprints = tuple(snapshot.fingerprint for snapshot in snapshots)
        self._version = _PROVISIONAL if provisional else version
        if provisional:
            connection = connections[_policy_database()]
            self._owners.setdefault(id(connection), (connection, time.monotonic()))
        self._matcher = matcher  # the swap: requests read this reference, nothing else
        invalid = tuple(row for snapshot in snapshots for row in snapshot.invalid)
        changed, self.invalid = invalid != self.invalid, invalid
        self._report_invalid(now=changed)
        self._next_resync = time.monotonic() + app_settings.RESYNC_INTERVAL

    def _report_invalid(self, *, now: bool = False) -> None:
        """Log the rows that do not validate: at once when they changed, else at most once
        per RESYNC_INTERVAL (not once per load: loads may be frequent)."""
        if not self.invalid:
            return
        moment = time.monotonic()
        if not now and moment < self._next_invalid_log:
            return
        self._next_invalid_log = moment + app_settings.RESYNC_INTERVAL
        logger.error(
            "authstatus: %d resource %s not validate and %s not enforced as written "
            "(fix them in the admin; check authstatus.W020): %s",
            len(self.invalid),
            "policy does" if len(self.invalid) == 1 else "policies do",
            "is" if len(self.invalid) == 1 else "are",
            "; ".join(str(row) for row in self.invalid),
        )

    def poll(self) -> None:
        """One poll (the poller thread's, every ``POLL_INTERVAL``): retry an announcement that
        failed, then read the version key."""
        if self._unannounced:
            self.announce()
        try:
            version = _read_version()
        except Exception:
            self._log.failure("cache", "authstatus: policy cache unavailable; keeping policies")
            return
        self._log.recovered("cache", "authstatus: the policy cache answers again")
        self._seen = version
        if version != self._version:
            self._reload_wanted = True

    def announce(self) -> bool:
        """Tell every process that policies changed: write a new version. A failed write is
        retried by every poll until it succeeds."""
        try:
            _cache().set(VERSION_KEY, uuid.uuid4().hex, None)
        except Exception:
            self._unannounced = True
            self._log.failure(
                "announce",
                "authstatus: could not announce a policy change through the cache; retrying "
                "every POLL_INTERVAL",
            )
            self._ensure_poller()
            return False
        self._unannounced = False
        self._log.recovered("announce", "authstatus: announced the policy change")
        return True

    def _ensure_poller(self) -> _Poller:
        poller = self._poller
        if poller is None or not poller.is_alive():
            poller = self._poller = _Poller(self)
            poller.start()
        return poller

    def _wake_poller(self) -> None:
        """Have the poller reload now (if one is wanted) instead of after its interval."""
        poller = self._poller
        if poller is None or not poller.is_alive():
            poller = self._ensure_poller()
        if self._reload_wanted and not poller.wake.is_set():
            poller.wake.set()

    def _forked(self) -> None:
        # The parent's poller thread did not survive the fork, and its lock may be held.
        self._lock = threading.Lock()
        self._poller = None
        self._owners = {}
        self._reload_wanted = True

    def invalidate(self) -> None:
        """This process changed a policy: reload it on the next request — with
        ``RELOAD_IN_BACKGROUND``, on the poller thread unless the change is not committed yet
        (see the class docstring)."""
        self._reload_wanted = True
        connection = connections[_policy_database()]
        if connection.in_atomic_block:
            self._owners.setdefault(id(connection), (connection, time.monotonic()))
            return
        poller = self._poller
        if poller is not None:
            poller.wake.set()

    def _saving_elsewhere(self) -> bool:
        """Whether a transaction that changed a policy is still open (see :attr:`_owners`)."""
        now = time.monotonic()
        for key, (connection, since) in list(self._owners.items()):
            if connection.in_atomic_block and now < since + app_settings.RESYNC_INTERVAL:
                return True
            self._owners.pop(key, None)
        return False

    def reset(self) -> None:
        """Forget everything loaded and stop polling (tests; settings changes)."""
        with self._lock:
            poller, self._poller = self._poller, None
            if poller is not None:
                poller.stop()
            self._clear()

    def match(self, method: str, path: str) -> Rule[Policy] | None:
        return self.matcher().match(method, path)


def _as_source(source: PolicySource | Callable[[], Sequence[Rule[Policy]]]) -> PolicySource:
    if hasattr(source, "load"):
        return cast(PolicySource, source)
    return FunctionSource(source)


def _after_fork(ref: weakref.ref[PolicyRegistry]) -> None:
    registry = ref()
    if registry is not None:
        registry._forked()


_UNKNOWN = object()  # the cache could not be read
_PROVISIONAL = object()  # loaded inside the transaction that changed a policy
_STALE = object()  # the last reload failed


def _yield_to_build() -> None:
    """Give the GIL to the poller's build for a moment (a request, while it builds).

    Without this, request threads that keep the process busy can starve the build for
    minutes. CPython hands the GIL to a waiting thread by force only when no switch happened
    during its 5 ms wait; a request thread that releases the GIL for instants (a log write, a
    query), and takes it back before the waiting poller has woken, resets that wait each time.
    The build releases the GIL at every fetch of rows (each reacquisition then waits), so
    measured in ``benchmarks/bench_recompile.py`` a change to 100,000 policies was in force
    after 288 s, and on PostgreSQL the poller's connect alone took 1.5-30 s in a test. A
    sleep frees the GIL long enough for the waiting poller to take it: in force after 4-5 s,
    no request slower than 25 ms."""
    time.sleep(BUILD_YIELD_S)


def _event_loop_running() -> bool:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


def _poll_interval() -> float:
    return app_settings.POLL_INTERVAL


def _cache() -> BaseCache:
    return caches[app_settings.CACHE_ALIAS]


def _policy_database() -> str:
    from authstatus.models import ResourcePolicy

    return str(router.db_for_read(ResourcePolicy))


def _atomic_if_needed() -> AbstractContextManager[Any]:
    """A savepoint when inside a transaction (``ATOMIC_REQUESTS``): a failed policy query must
    not abort the request's transaction (PostgreSQL refuses every later statement)."""
    alias = _policy_database()
    if connections[alias].in_atomic_block:
        return transaction.atomic(using=alias)
    return contextlib.nullcontext()


def _uncommitted_change() -> bool:
    """Whether the current transaction changed a policy that is not committed yet (its
    announcement still waits in the on-commit queue)."""
    pending = getattr(connections[_policy_database()], "run_on_commit", None) or ()
    return any(len(entry) > 1 and entry[1] is policies_changed for entry in pending)


def _read_version() -> object:
    cache = _cache()
    version = cache.get(VERSION_KEY)
    if version is None:
        # First process after a cache flush: agree on one version (add is atomic).
        cache.add(VERSION_KEY, uuid.uuid4().hex, None)
        version = cache.get(VERSION_KEY)
    return version


def policies_changed() -> None:
    """Announce a policy change to every process (call after the change is committed)."""
    registry.invalidate()
    registry.announce()


registry = PolicyRegistry([settings_rules, database_source])
on_reload(registry.reset)
on_reload(database_source.clear)


def default_policy() -> Policy:
    """The policy of routes nothing else covers: ``DEFAULT_ACCESS``."""
    return _default_policy(app_settings.DEFAULT_ACCESS)


@functools.lru_cache(maxsize=8)
def _default_policy(access: str) -> Policy:
    return Policy(access=Access(access), source=DEFAULT)


def resolve(method: str, path: str, view_policy: Policy | None = None) -> Policy:
    """The policy in force for ``method`` and ``path`` (see the module docstring)."""
    rule = registry.match(method, path)
    if rule is not None:
        return rule.value
    return view_policy if view_policy is not None else default_policy()


def resolve_explained(
    method: str, path: str, view_policy: Policy | None = None
) -> tuple[Policy, str]:
    """:func:`resolve`, with where the policy came from: ``"settings: …"``,
    ``"database: …"``, ``"view: …"`` or ``"default: DEFAULT_ACCESS"``."""
    rule = registry.match(method, path)
    if rule is not None:
        return rule.value, f"{rule.value.source}: {rule.value.name}"
    if view_policy is not None:
        return view_policy, f"{VIEW}: {view_policy.name}"
    return default_policy(), f"{DEFAULT}: DEFAULT_ACCESS"
