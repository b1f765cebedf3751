"""Policy resolution cost vs number of policies, in the running benchmark project.

For each size, a :class:`~authstatus.policies.PolicyRegistry` is compiled from the route's own
policy plus generated ones (the seeded mix of :func:`benchmarks.bench_matcher.make_rules`:
literal, ``*``, ``**`` and method-specific patterns, all under paths the route does not
share) and swapped in as the process's registry. Measured per size, interleaved:

* ``resolve()``: :func:`authstatus.policies.resolve` for the route — what every request pays;
* a whole request to the route (``/drf/policy/``, PolicyPermission, anonymous policy).
"""

from __future__ import annotations

import time
import timeit
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from benchmarks.bench_matcher import make_rules
from benchmarks.harness import Call, Cell, Client, measure

SIZES = (1, 100, 1_000, 10_000)
ROUTE = "/drf/policy/"


@dataclass
class Size:
    policies: int
    compile_ms: float
    resolve_ns: float
    request_us: float


def _registry(size: int) -> tuple[Any, float]:
    from authstatus.core.matching import Rule
    from authstatus.policies import propagation as policies
    from authstatus.policies import specs

    route = policies.rule_from_spec(
        {"path": ROUTE, "access": "anonymous"}, source=specs.SETTINGS, rank=0
    )
    assert route is not None
    filler = policies.build_policy("authenticated", name="generated")
    rules = [route] + [
        Rule(r.pattern, filler, r.methods, r.priority, r.rank) for r in make_rules(size - 1)
    ]
    registry = policies.PolicyRegistry([lambda: rules])
    t0 = time.perf_counter_ns()
    registry.matcher()
    return registry, (time.perf_counter_ns() - t0) / 1e6


@contextmanager
def _installed(registry: Any) -> Iterator[None]:
    from authstatus.policies import propagation as policies

    saved = policies.registry
    policies.registry = registry
    try:
        yield
    finally:
        policies.registry = saved


def run(client: Client, rounds: int) -> list[Size]:
    from authstatus.policies import propagation as policies

    registries = {}
    compile_ms = {}
    for size in SIZES:
        registries[size], compile_ms[size] = _registry(size)
        with _installed(registries[size]):
            rule = policies.registry.match("GET", ROUTE)
            assert rule is not None
            assert rule.pattern == ROUTE, rule

    request = client.prepare(Call("authstatus", ROUTE))

    def resolve_batch() -> None:
        # 200 lookups per call: resolve() costs ~1 us, too little to time one by one.
        for _ in range(200):
            policies.resolve("GET", ROUTE)

    cells: list[Cell] = []
    contexts: dict[str, Callable[[], Any]] = {}
    for size in SIZES:
        group = f"size-{size}"
        contexts[group] = lambda r=registries[size]: _installed(r)
        cells.append(Cell(f"resolve-{size}", resolve_batch, group=group))
        cells.append(Cell(f"request-{size}", request, group=group))
    measure(cells, rounds, contexts, seed=2)
    by_key = {c.key: c for c in cells}
    overhead = min(timeit.repeat("pass", number=200, repeat=50)) / 200 * 1e9
    return [
        Size(
            size,
            compile_ms[size],
            by_key[f"resolve-{size}"].median_ns / 200 - overhead,
            by_key[f"request-{size}"].median_ns / 1000,
        )
        for size in SIZES
    ]
