"""Memory of the compiled policies, and what a recompile of 100,000 policies costs requests.

Run from the repository root (its own temporary SQLite database, about a minute)::

    python -m benchmarks.bench_recompile        # or: make bench (section 3)

1. **Memory per process** of the compiled policies at 1, 10,000 and 100,000 ``ResourcePolicy``
   rows (the mix of :func:`benchmarks.bench_matcher.make_rules`, seeded with ``bulk_create``):
   the bytes ``tracemalloc`` sees still allocated after a load — the rules, their policies, the
   trie, and the per-row compile cache that lets the next load reuse unchanged rows. Python
   allocations only (no allocator overhead, no RSS). The resource memo
   (``authstatus.policies.resolution``) and the matcher's lookup memo grow with routes and distinct
   paths (bounded), not with policies, so they are not in it. A rebuild holds the old and
   the new matcher at once: the peak is about twice the figure.
2. **Request stall while 100,000 policies recompile after one save.** A thread sends
   in-process WSGI requests (the harness :class:`~benchmarks.harness.Client`) to
   ``/drf/policy/``, whose policy is a database row, and records each one's latency. The row is
   changed from ``anonymous`` (200) to ``nobody`` (403) the way a save ends: a committed
   change, then :func:`authstatus.policies.policies_changed`. Reported: max and p99 latency
   before the change and while the new policy is not yet in force, and the time until it is
   (the first 403). Once with ``RELOAD_IN_BACKGROUND`` (the default: the poller rebuilds;
   target: no request over 50 ms) and once without (the request that finds the reload due
   performs it). What ``full_clean()`` and ``ResourcePolicy.save()`` cost
   at that size is reported too: the saving request pays it.
"""

from __future__ import annotations

import gc
import math
import os
import statistics
import sys
import tempfile
import threading
import time
import tracemalloc
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from benchmarks.bench_matcher import make_rules

SIZES = (1, 10_000, 100_000)
STALL_POLICIES = 100_000
STALL_MAX_MS = 50.0
ROUTE = "/drf/policy/"
BASELINE_S = 1.0
DEADLINE_S = 300.0


@dataclass
class Memory:
    policies: int
    bytes: int
    load_s: float  # a first load, tracemalloc off


@dataclass
class Stall:
    mode: str  # "background" or "request"
    baseline_ms: list[float] = field(default_factory=list)
    during_ms: list[float] = field(default_factory=list)
    in_force_s: float = float("nan")
    gc_max_ms: float = 0.0  # the longest garbage collection during the rebuild
    reverted: int = 0  # answers other than the new policy's after it was first in force

    @staticmethod
    def _p(values: list[float], q: float) -> float:
        if not values:
            return float("nan")
        ordered = sorted(values)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))]

    @property
    def baseline_max(self) -> float:
        return max(self.baseline_ms, default=float("nan"))

    @property
    def baseline_p99(self) -> float:
        return self._p(self.baseline_ms, 0.99)

    @property
    def during_max(self) -> float:
        return max(self.during_ms, default=float("nan"))

    @property
    def during_p99(self) -> float:
        return self._p(self.during_ms, 0.99)

    @property
    def median(self) -> float:
        return statistics.median(self.baseline_ms) if self.baseline_ms else float("nan")


@dataclass
class Result:
    memory: list[Memory]
    stalls: list[Stall]
    save_s: float

    @property
    def background(self) -> Stall:
        return next(s for s in self.stalls if s.mode == "background")


def _seed(upto: int, have: int) -> int:
    """Rows ``have`` .. ``upto`` of the seeded mix; returns ``upto``."""
    from authstatus.models import ResourcePolicy

    rules = make_rules(upto)[have:]
    ResourcePolicy.objects.bulk_create(
        (
            ResourcePolicy(
                path=r.pattern,
                methods=" ".join(sorted(r.methods)),
                access="authenticated",
                priority=r.priority,
                description=f"generated {have + i}",
            )
            for i, r in enumerate(rules)
        ),
        batch_size=2000,
    )
    return upto


def _memory(size: int) -> Memory:
    from authstatus.core.matching import Matcher
    from authstatus.policies import propagation as policies

    gc.collect()
    t0 = time.perf_counter()
    source = policies.DatabaseSource()
    Matcher(source.load().rules)
    load_s = time.perf_counter() - t0
    del source
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        source = policies.DatabaseSource()
        matcher = Matcher(source.load().rules)
        gc.collect()
        retained = tracemalloc.get_traced_memory()[0] - before
        del matcher, source
    finally:
        tracemalloc.stop()
    return Memory(size, retained, load_s)


@contextmanager
def _settings(**overrides: Any) -> Iterator[None]:
    from django.conf import settings
    from django.test import override_settings

    with override_settings(AUTHSTATUS={**settings.AUTHSTATUS, **overrides}):
        yield


def _stall(client: Any, mode: str, row: Any) -> Stall:
    """Requests in a thread; the row governing ROUTE changed to ``nobody`` and announced."""
    from authstatus.models import ResourcePolicy
    from authstatus.policies import propagation as policies
    from benchmarks.harness import Call

    result = Stall(mode)
    ResourcePolicy.objects.filter(pk=row.pk).update(access="anonymous")
    with _settings(RELOAD_IN_BACKGROUND=mode == "background", POLL_INTERVAL=0.05):
        policies.registry.reset()
        request = client.prepare(Call("authstatus", ROUTE))
        assert request() == 200  # the first load: blocking, nothing to answer with yet
        for _ in range(200):
            request()
        latencies: list[tuple[float, float, int]] = []  # (start, ms, status)
        stop = threading.Event()

        def requests() -> None:
            while not stop.is_set():
                t0 = time.perf_counter()
                status = request()
                latencies.append((t0, (time.perf_counter() - t0) * 1000, status))

        thread = threading.Thread(target=requests, name="bench-requests")
        collections: list[tuple[float, float]] = []
        started: list[float] = []

        def timed(phase: str, info: dict[str, Any]) -> None:
            if phase == "start":
                started.append(time.perf_counter())
            elif started:
                t0 = started.pop()
                collections.append((t0, time.perf_counter() - t0))
                if os.environ.get("BENCH_RECOMPILE_GC"):
                    print(f"  gc gen {info['generation']}: {1000 * collections[-1][1]:.1f} ms")

        gc.collect()
        gc.callbacks.append(timed)
        thread.start()
        time.sleep(BASELINE_S)
        changed = time.perf_counter()
        ResourcePolicy.objects.filter(pk=row.pk).update(access="nobody")
        policies.policies_changed()  # what a save does once committed
        deadline = changed + DEADLINE_S
        while time.perf_counter() < deadline and not any(s == 403 for _, _, s in latencies[-50:]):
            time.sleep(0.01)
        time.sleep(0.2)
        stop.set()
        thread.join()
        gc.callbacks.remove(timed)
        # The first request answered with the new policy: it may be the one that reloaded.
        first = next(((t, ms) for t, ms, s in latencies if s == 403), None)
        end = first[0] if first is not None else deadline
        if first is not None:
            result.in_force_s = first[0] + first[1] / 1000 - changed
        for t0, ms, _ in latencies:
            if t0 < changed:
                result.baseline_ms.append(ms)
            elif t0 <= end:
                result.during_ms.append(ms)
        result.gc_max_ms = 1000 * max(
            (d for t, d in collections if changed <= t <= end), default=0.0
        )
        # Reported (a target), not asserted: the run must still print what it measured.
        # Only once the new policy was in force: when it never was, every answer is the old
        # one, and in_force_s (nan) says so.
        if first is not None:
            result.reverted = sum(1 for t, _, s in latencies if t >= end and s != 403)
        assert all(s == 200 for t, _, s in latencies if t < changed)
    policies.registry.reset()
    return result


def _save_cost(row: Any) -> float:
    row.refresh_from_db()
    row.description = "saved"
    t0 = time.perf_counter()
    row.full_clean()
    row.save()
    return time.perf_counter() - t0


def run(client: Any, sizes: tuple[int, ...] = SIZES) -> Result:
    """Django set up, the benchmark database migrated. Leaves the policy table as it found it."""
    from authstatus.models import ResourcePolicy
    from authstatus.policies import propagation as policies

    first_pk = (ResourcePolicy.objects.order_by("-pk").values_list("pk", flat=True).first()) or 0
    try:
        memory = []
        have = 0
        for size in sizes:
            have = _seed(size, have)
            memory.append(_memory(size))
            print(f"  memory at {size:,} policies measured", file=sys.stderr)
        have = _seed(STALL_POLICIES, have)
        row = ResourcePolicy.objects.create(path=ROUTE, access="anonymous", description="bench")
        stalls = []
        for mode in ("background", "request"):
            stalls.append(_stall(client, mode, row))
            print(f"  stall ({mode}) measured", file=sys.stderr)
        save_s = _save_cost(row)
    finally:
        ResourcePolicy.objects.filter(pk__gt=first_pk).delete()
        policies.database_source.clear()
        policies.registry.reset()
    return Result(memory, stalls, save_s)


def table(result: Result, markdown: bool = False) -> str:
    from benchmarks.report import _table

    head = ("policies", "retained MB (tracemalloc)", "bytes per policy", "first load s")
    body = [
        (
            f"{m.policies:,}",
            f"{m.bytes / 1e6:.2f}",
            f"{m.bytes / m.policies:,.0f}",
            f"{m.load_s:.2f}",
        )
        for m in result.memory
    ]
    memory = _table(head, body, markdown)
    head = (
        "who rebuilds",
        "requests before",
        "median ms",
        "max ms before",
        "p99 ms before",
        "requests during",
        "max ms during",
        "p99 ms during",
        "longest GC ms",
        "in force after s",
    )
    body = [
        (
            "poller thread (RELOAD_IN_BACKGROUND)" if s.mode == "background" else "the request",
            f"{len(s.baseline_ms):,}",
            f"{s.median:.2f}",
            f"{s.baseline_max:.1f}",
            f"{s.baseline_p99:.2f}",
            f"{len(s.during_ms):,}",
            f"{s.during_max:.1f}",
            f"{s.during_p99:.2f}",
            f"{s.gc_max_ms:.1f}",
            f"{s.in_force_s:.2f}",
        )
        for s in result.stalls
    ]
    stall = _table(head, body, markdown)
    return memory + "\n\n" + stall


def verdict(result: Result) -> tuple[str, str, bool]:
    s = result.background
    request = next(x for x in result.stalls if x.mode == "request")
    in_force = (
        f"in force after {s.in_force_s:.2f} s"
        if math.isfinite(s.in_force_s)
        else f"not in force within {DEADLINE_S:g} s"
    )
    return (
        f"recompiling {STALL_POLICIES:,} policies after one save stalls no request over "
        f"{STALL_MAX_MS:g} ms",
        f"max {s.during_max:.1f} ms, p99 {s.during_p99:.2f} ms during the rebuild (before: max "
        f"{s.baseline_max:.1f} ms); {in_force}; answers with the "
        f"old policy after the new one was in force: {s.reverted}; without "
        f"RELOAD_IN_BACKGROUND one request waited "
        f"{request.during_max:.0f} ms ({request.reverted} such answers)",
        s.during_max <= STALL_MAX_MS
        and math.isfinite(s.in_force_s)
        and s.reverted == 0
        and request.reverted == 0,
    )


def main() -> int:
    bench_dir = tempfile.mkdtemp(prefix="authstatus-recompile-")
    os.environ.setdefault("AUTHSTATUS_BENCH_DIR", bench_dir)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "benchmarks.settings")
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from benchmarks.harness import Client
    from benchmarks.wsgi import build_handlers

    with connection.cursor() as cursor:
        cursor.execute("PRAGMA journal_mode=WAL")
    call_command("migrate", verbosity=0, interactive=False)
    stock, authstatus = build_handlers()
    result = run(Client({"stock": stock, "authstatus": authstatus}))
    print(table(result))
    print(f"ResourcePolicy.save() at {STALL_POLICIES:,} policies: {result.save_s * 1000:.1f} ms")
    name, detail, ok = verdict(result)
    print(f"{'PASS' if ok else 'FAIL'}  {name}: {detail}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
