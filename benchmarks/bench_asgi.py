"""Latency under ASGI: uvicorn serving an async view, with and without authstatus, one run.

One uvicorn process (one worker, its default event loop and HTTP parser) serves
:mod:`benchmarks.asgi`: ``/stock/async/plain/`` by a Django handler without authstatus,
``/async/plain/`` (anonymous policy) and ``/async/bearer/`` (authenticated policy) by one with
``AuthStatusMiddleware`` in async mode, the bearer authenticator in its
``MIDDLEWARE_AUTHENTICATORS`` (:mod:`benchmarks.settings_asgi`). All three routes are the same
``async def`` view.

wrk (1 thread, 1 connection: one request at a time, so p50 is the latency of one request, not
a queue) measures each cell for ``seconds``, in ``rounds`` rounds; within a round each
authstatus cell and its stock counterpart run back to back (alternating which goes first).
Reported: the median p50 over rounds, and the *added* latency as the median over rounds of
the pair's p50 ratio (:func:`added`). The anonymous path is compared with
the stock view asked without credentials, the bearer path (a valid token: one indexed query,
in one thread hop) with the stock view asked with the same ``Authorization`` header (ignored).
The bearer path runs as ``docs/howto/asgi.md`` recommends for production, which is the
default: ``ASYNC_TOKEN_THREAD`` on, so the hop goes to the token-lookup thread and its kept
database connection (:mod:`authstatus.tokens.lookup_thread`).

A second uvicorn process (:mod:`benchmarks.settings_asgi_tokencache`) runs the bearer pair
again with the optional token cache on (``BEARER_CACHE_SECONDS``) in a ``LocMemCache`` alias:
a cached token is checked on the event loop, with no thread hop. Reported beside the target,
not as it: the cache trades revocation latency for the query (docs/reference/settings.md).
"""

from __future__ import annotations

import shutil
import statistics
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

from benchmarks.bench_throughput import Server, Wrk, get, parse_wrk
from benchmarks.seed import Tokens

ROOT = Path(__file__).resolve().parent.parent
ADDED_MAX = 0.10  # authstatus adds at most 10 % to the p50 latency of the async view


@dataclass(frozen=True)
class Cell:
    key: str
    label: str
    stack: str  # "stock" or "authstatus"
    path: str
    bearer: bool
    server: str = "default"  # or "tokencache": benchmarks.settings_asgi_tokencache


CELLS = (
    Cell("stock_anonymous", "async view, no credentials", "stock", "/stock/async/plain/", False),
    Cell(
        "anonymous",
        "async view + AuthStatusMiddleware, anonymous policy, no credentials",
        "authstatus",
        "/async/plain/",
        False,
    ),
    Cell(
        "stock_bearer",
        "async view, Authorization: Bearer (ignored)",
        "stock",
        "/stock/async/plain/",
        True,
    ),
    Cell(
        "bearer",
        "async view + AuthStatusMiddleware, authenticated policy, valid bearer token "
        "(ASYNC_TOKEN_THREAD on: the default)",
        "authstatus",
        "/async/bearer/",
        True,
    ),
    Cell(
        "stock_bearer_cache",
        "async view, Authorization: Bearer (ignored), in the token-cache process",
        "stock",
        "/stock/async/plain/",
        True,
        "tokencache",
    ),
    Cell(
        "bearer_cached",
        "async view + AuthStatusMiddleware, authenticated policy, valid bearer token, token "
        "cache hit (BEARER_CACHE_SECONDS, LocMem alias: on the event loop)",
        "authstatus",
        "/async/bearer/",
        True,
        "tokencache",
    ),
)
PAIRS = (
    ("anonymous", "stock_anonymous"),
    ("bearer", "stock_bearer"),
    ("bearer_cached", "stock_bearer_cache"),
)


@dataclass
class Result:
    cell: Cell
    runs: list[Wrk] = field(default_factory=list)

    @property
    def p50_ms(self) -> float:
        return statistics.median(r.p50_ms for r in self.runs)

    @property
    def rps(self) -> float:
        return statistics.median(r.rps for r in self.runs)

    @property
    def errors(self) -> int:
        return sum(r.errors for r in self.runs)


def added(ours: Result, stock: Result) -> float:
    """The median over rounds of ``ours`` p50 / ``stock`` p50 - 1 (each round's pair was
    measured back to back)."""
    return statistics.median(
        o.p50_ms / s.p50_ms - 1 for o, s in zip(ours.runs, stock.runs, strict=True)
    )


class Uvicorn(Server):
    """uvicorn serving benchmarks.asgi on loopback; started and stopped by this process."""

    settings = "benchmarks.settings_asgi"
    name = "uvicorn"

    def command(self) -> list[str]:
        return [
            *(sys.executable, "-m", "uvicorn", "benchmarks.asgi:application"),
            *("--host", "127.0.0.1", "--port", str(self.port)),
            *("--workers", "1", "--lifespan", "off", "--log-level", "warning"),
            "--no-access-log",
        ]


class UvicornTokenCache(Uvicorn):
    """The same, with the token cache on in a ``LocMemCache`` alias."""

    settings = "benchmarks.settings_asgi_tokencache"


def _wrk(port: int, cell: Cell, token: str, seconds: float) -> Wrk:
    command = ["wrk", "-t1", "-c1", f"-d{seconds:g}s", "--latency"]
    if cell.bearer:
        command += ["-H", f"Authorization: Bearer {token}"]
    done = subprocess.run(
        [*command, f"http://127.0.0.1:{port}{cell.path}"],
        capture_output=True,
        text=True,
        timeout=seconds + 60,
        check=True,
    )
    return parse_wrk(done.stdout)


def run(tokens: Tokens, bench_dir: str, seconds: float, rounds: int = 3) -> list[Result]:
    if shutil.which("wrk") is None:
        raise RuntimeError("wrk is not installed (apt-get install wrk; `make bench` does it)")
    from django.db import connections

    connections.close_all()
    servers = {"default": Uvicorn(bench_dir)}
    try:
        servers["tokencache"] = UvicornTokenCache(bench_dir)
        for cell in CELLS:
            port = servers[cell.server].port
            for _ in range(50):  # warm: the token loader, the route plans, the policies
                status, body = get(port, cell.path, tokens.valid if cell.bearer else None)
                if status != 200:
                    raise RuntimeError(f"{cell.path}: {status} {body[:200]!r}")
        results = {cell.key: Result(cell) for cell in CELLS}
        for round_ in range(rounds):
            for pair in PAIRS:
                # Each pair back to back, in alternating order: drift in the machine's load
                # (shared cores) then hits both sides of a ratio alike.
                for key in pair if round_ % 2 else reversed(pair):
                    cell = results[key].cell
                    port = servers[cell.server].port
                    results[key].runs.append(_wrk(port, cell, tokens.valid, seconds))
        return list(results.values())
    finally:
        for server in servers.values():
            server.stop()


def table(results: list[Result], markdown: bool = False) -> str:
    from benchmarks.report import _table

    head = ("path", "stack", "p50 ms", "added vs stock (paired)", "requests/s", "wrk errors")
    by_key = {r.cell.key: r for r in results}
    stock_of = {ours: stock for ours, stock in PAIRS}
    body = []
    for r in results:
        stock = by_key.get(stock_of.get(r.cell.key, ""))
        body.append(
            (
                r.cell.label,
                r.cell.stack,
                f"{r.p50_ms:.3f}",
                f"{added(r, stock):+.1%}" if stock is not None else "-",
                f"{r.rps:.0f}",
                str(r.errors),
            )
        )
    return _table(head, body, markdown)
