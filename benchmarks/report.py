"""Tables, targets, and ``docs/performance.md`` with its plots, from one benchmark run."""

from __future__ import annotations

import argparse
import datetime
import platform
from collections.abc import Sequence
from dataclasses import dataclass, field
from importlib.metadata import version
from pathlib import Path
from typing import Any

from benchmarks.bench_policies import Size
from benchmarks.bench_requests import Row

ENFORCEMENT_MAX = 0.05  # policy enforcement adds at most 5 % to a DRF AllowAny request
POLICIES_MAX = 1.2  # resolution at 10,000 policies within 1.2x of 1 policy
# BearerAuthentication adds at most 15 % of what DOT's class adds: issue 16 set 12 %, met with a
# copy of Django's cursor internals; issue 30 runs the lookup through Django's own cursor and
# restates the target at 15 %.
BEARER_MAX = 0.15
CONCEALED_MAX = 1.5  # a concealed refusal without credentials vs a missing URL (issue 16)
THROUGHPUT_MIN = 2.5  # gunicorn req/s with a valid token vs stock DOT (issue 16)
MIDDLEWARE_MAX_US = 10.0  # AuthStatusMiddleware adds at most 10 µs to a plain view

PLOT_PATHS = "performance-auth-paths.png"
PLOT_POLICIES = "performance-policies.png"


def versions() -> str:
    packages = ("Django", "djangorestframework", "django-oauth-toolkit")
    return f"Python {platform.python_version()}, " + ", ".join(
        f"{p} {version(p)}" for p in packages
    )


def _by_key(rows: Sequence[Row]) -> dict[str, Row]:
    return {r.scenario.key: r for r in rows}


def requests_table(rows: Sequence[Row], markdown: bool = False) -> str:
    k = _by_key(rows)
    plain, allow_any = k["plain"].median_us, k["allow_any"].median_us
    head = ("path", "stack", "median µs", "× plain", "× AllowAny", "+µs vs AllowAny", "queries")
    body = [
        (
            r.scenario.label,
            r.scenario.call.handler,
            f"{r.median_us:.1f}",
            f"{r.median_us / plain:.2f}",
            f"{r.median_us / allow_any:.2f}",
            f"{r.median_us - allow_any:+.1f}",
            str(r.queries),
        )
        for r in rows
    ]
    return _table(head, body, markdown)


def policies_table(sizes: Sequence[Size], markdown: bool = False) -> str:
    one = sizes[0]
    head = ("policies", "compile ms", "resolve() ns", "× 1 policy", "request µs", "× 1 policy")
    body = [
        (
            f"{s.policies:,}",
            f"{s.compile_ms:.1f}",
            f"{s.resolve_ns:.0f}",
            f"{s.resolve_ns / one.resolve_ns:.2f}",
            f"{s.request_us:.1f}",
            f"{s.request_us / one.request_us:.2f}",
        )
        for s in sizes
    ]
    return _table(head, body, markdown)


def throughput_table(runs: Sequence[Any], markdown: bool = False) -> str:
    head = (
        "run",
        "route",
        "requests/s",
        "p50 ms",
        "p99 ms",
        "wrk errors",
        "policy edits",
        "probes",
        "decidable",
        "contradictions",
        "probe errors",
    )
    body = [
        (
            r.name,
            r.path,
            f"{r.wrk.rps:.0f}",
            f"{r.wrk.p50_ms:.2f}",
            f"{r.wrk.p99_ms:.2f}",
            f"{r.wrk.errors} ({r.wrk.socket_errors} socket, {r.wrk.non_2xx} non-2xx)",
            str(r.flips) if r.edited else "-",
            str(r.probe.requests) if r.edited else "-",
            str(r.probe.decidable) if r.edited else "-",
            str(r.probe.contradictions) if r.edited else "-",
            str(r.probe.errors) if r.edited else "-",
        )
        for r in runs
    ]
    text = _table(head, body, markdown)
    examples = [e for r in runs for e in r.probe.examples]
    if examples:
        text += "\ncontradicting probes (first few):\n" + "\n".join(examples)
    return text


def _table(head: Sequence[str], body: Sequence[Sequence[str]], markdown: bool) -> str:
    if markdown:
        lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        lines += ["| " + " | ".join(row) + " |" for row in body]
        return "\n".join(lines)
    widths = [max(len(head[i]), *(len(r[i]) for r in body)) for i in range(len(head))]
    fmt = [f"{{:<{w}}}" if i == 0 else f"{{:>{w}}}" for i, w in enumerate(widths)]

    def line(cells: Sequence[str]) -> str:
        return "  ".join(f.format(c) for f, c in zip(fmt, cells, strict=True))

    return "\n".join(
        [line(head), "-" * (sum(widths) + 2 * (len(widths) - 1))] + [line(r) for r in body]
    )


@dataclass
class Targets:
    lines: list[str] = field(default_factory=list)
    ok: bool = True
    verdicts: list[tuple[str, str, bool]] = field(default_factory=list)

    def check(self, name: str, detail: str, passed: bool) -> None:
        self.ok = self.ok and passed
        self.verdicts.append((name, detail, passed))
        self.lines.append(f"{'PASS' if passed else 'FAIL'}  {name}: {detail}")


def token_backend_targets(rows: Sequence[Row], t: Targets) -> Targets:
    """The JWT rows against authstatus's database-token path (issue 13's target)."""
    k = _by_key(rows)
    if "bearer" not in k:
        return t
    for key in ("jwt", "jwt_verify"):
        if key in k:
            jwt = k[key]
            t.check(
                f"JWT access token ({key}): 0 queries, costs <= the database-token path",
                f"{jwt.median_us:.1f} µs vs {k['bearer'].median_us:.1f} µs "
                f"({jwt.median_us / k['bearer'].median_us:.2f}x); {jwt.queries} queries",
                jwt.queries == 0 and jwt.median_us <= k["bearer"].median_us,
            )
    return t


def targets(
    rows: Sequence[Row],
    sizes: Sequence[Size],
    matcher_status: int,
    runs: Sequence[Any],
    concealment_status: int | None = None,
    asgi: Sequence[Any] = (),
    recompile: Any = None,
) -> Targets:
    k = _by_key(rows)
    t = Targets()
    plain, plain_mw = k["plain"], k["plain_mw"]
    t.check(
        f"AuthStatusMiddleware adds <= {MIDDLEWARE_MAX_US:g} µs to a plain view "
        "(anonymous policy), no DB query",
        f"{plain_mw.median_us - plain.median_us:+.1f} µs "
        f"({plain_mw.median_us / plain.median_us - 1:+.1%} of {plain.median_us:.1f} µs); "
        f"{plain_mw.queries} queries",
        plain_mw.median_us - plain.median_us <= MIDDLEWARE_MAX_US and plain_mw.queries == 0,
    )
    allow_any = k["allow_any"].median_us
    policy = k["policy"]
    added = policy.median_us / allow_any - 1
    middleware = k["allow_any_mw"].median_us - allow_any
    t.check(
        "policy enforcement adds <= 5 % to a DRF AllowAny request, no DB query",
        f"+{added * 100:.1f} % ({policy.median_us - allow_any:+.1f} µs: middleware "
        f"{middleware:+.1f}, PolicyPermission {policy.median_us - allow_any - middleware:+.1f}), "
        f"{policy.queries} queries",
        added <= ENFORCEMENT_MAX and policy.queries == 0,
    )
    one, big = sizes[0], sizes[-1]
    ratio = big.resolve_ns / one.resolve_ns
    t.check(
        f"policy resolution at {big.policies:,} policies <= {POLICIES_MAX}x its cost at 1",
        f"resolve() {ratio:.2f}x ({one.resolve_ns:.0f} -> {big.resolve_ns:.0f} ns); whole "
        f"request {big.request_us / one.request_us:.2f}x; bare matcher (incl. 200 segments x "
        "4 '**' within 10 ms, linear) "
        f"{'PASS' if matcher_status == 0 else 'FAIL'}",
        ratio <= POLICIES_MAX and matcher_status == 0,
    )
    stock_added = k["stock_oauth2"].median_us - allow_any
    ours_added = k["bearer"].median_us - allow_any
    t.check(
        f"BearerAuthentication adds <= {BEARER_MAX:.2f} of what DOT OAuth2Authentication adds "
        "over AllowAny, exactly 1 query",
        f"{ours_added:.1f} µs vs {stock_added:.1f} µs = {ours_added / stock_added:.2f} "
        f"(stock is {k['stock_oauth2'].median_us / allow_any:.1f}x AllowAny); "
        f"{k['bearer'].queries} query",
        ours_added <= stock_added * BEARER_MAX and k["bearer"].queries == 1,
    )
    queryset, prepared = k["bearer_queryset"], k["bearer"]
    t.lines.append(
        "info  token lookup by the plain queryset (PREPARED_TOKEN_QUERY off): "
        f"{queryset.median_us:.1f} µs, {queryset.queries} query, vs {prepared.median_us:.1f} µs "
        f"prepared (saves {queryset.median_us - prepared.median_us:.1f} µs)"
    )
    observed = k["bearer_observed"]
    t.lines.append(
        "info  token lookup with an execute wrapper installed (as django-debug-toolbar): "
        f"{observed.median_us:.1f} µs vs {prepared.median_us:.1f} µs without "
        f"(costs {observed.median_us - prepared.median_us:.1f} µs)"
    )
    concealed, missing = k["a_404_concealed"], k["a_404_missing"]
    t.check(
        f"a concealed refusal without credentials costs <= {CONCEALED_MAX}x a missing URL",
        f"{concealed.median_us:.1f} µs vs {missing.median_us:.1f} µs = "
        f"{concealed.median_us / missing.median_us:.2f}x; {concealed.queries} queries",
        concealed.median_us <= missing.median_us * CONCEALED_MAX and concealed.queries == 0,
    )
    token_backend_targets(rows, t)
    if recompile is not None:
        from benchmarks.bench_recompile import verdict

        t.check(*verdict(recompile))
    cached = k["bearer_cached"]
    t.lines.append(
        f"info  token cache hit (LocMem): {cached.median_us:.1f} µs, {cached.queries} queries "
        f"(vs {k['bearer'].median_us:.1f} µs, {k['bearer'].queries} query uncached)"
    )
    for r in runs:
        if r.edited:
            t.check(
                "policy edited under load: no answer contradicts the policy in force",
                f"{r.probe.contradictions} contradictions in {r.probe.requests} probes "
                f"({r.probe.decidable} decidable) across {r.flips} edits",
                r.probe.contradictions == 0,
            )
    if concealment_status is not None:
        t.check(
            "uniform concealment on: one request's time tells a concealed route from a "
            "missing one no better than AUC 0.6",
            "benchmarks/bench_concealment.py "
            + ("PASS" if concealment_status == 0 else f"FAIL (exit {concealment_status})"),
            concealment_status == 0,
        )
    asgi_targets(asgi, t)
    errors = sum(r.wrk.errors + r.probe.errors for r in runs)
    if runs:
        t.check("no errors under load", f"{errors} errors (wrk + probes, all runs)", errors == 0)
        stock, ours = runs[0], runs[1]
        t.check(
            f"gunicorn throughput with a valid token >= {THROUGHPUT_MIN}x stock DOT",
            f"authstatus {ours.wrk.rps:.0f} req/s vs stock DOT {stock.wrk.rps:.0f} req/s "
            f"({ours.wrk.rps / stock.wrk.rps:.2f}x); p99 {ours.wrk.p99_ms:.1f} ms vs "
            f"{stock.wrk.p99_ms:.1f} ms",
            ours.wrk.rps >= stock.wrk.rps * THROUGHPUT_MIN,
        )
    return t


def asgi_targets(results: Sequence[Any], t: Targets) -> Targets:
    """The ASGI section (:mod:`benchmarks.bench_asgi`): p50 added over the stock view."""
    from benchmarks.bench_asgi import ADDED_MAX, PAIRS
    from benchmarks.bench_asgi import added as added_latency

    by_key = {r.cell.key: r for r in results}
    for ours_key, stock_key in PAIRS:
        if ours_key not in by_key:
            continue
        ours, stock = by_key[ours_key], by_key[stock_key]
        added = added_latency(ours, stock)
        if ours_key == "bearer_cached":  # an opt-in trade-off: beside the targets
            t.lines.append(
                f"info  ASGI (bearer, token cache hit in a LocMem alias): {added:+.1%} "
                f"({stock.p50_ms:.3f} -> {ours.p50_ms:.3f} ms); thread hops 0 "
                "(tests/test_asgi.py counts them)"
            )
            continue
        t.check(
            f"ASGI ({ours_key}): AuthStatusMiddleware adds <= {ADDED_MAX:.0%} to the async "
            "view's p50 latency under uvicorn",
            f"{added:+.1%} ({stock.p50_ms:.3f} -> {ours.p50_ms:.3f} ms); thread hops "
            + (
                "0"
                if ours_key == "anonymous"
                else "1 (the token query, on the token-lookup thread: ASYNC_TOKEN_THREAD "
                "on, the default)"
            )
            + " (tests/test_asgi.py counts them)",
            added <= ADDED_MAX,
        )
    if results:
        errors = sum(r.errors for r in results)
        t.check("no errors under uvicorn", f"{errors} wrk errors (all ASGI runs)", errors == 0)
    return t


# --- docs/performance.md ----------------------------------------------------------------


def _plots(docs: Path, rows: Sequence[Row], sizes: Sequence[Size]) -> list[Path]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    written = []
    fig, ax = plt.subplots(figsize=(10, 0.42 * len(rows) + 1.2))
    labels = [f"{r.scenario.label}  [{r.queries}q]" for r in rows][::-1]
    values = [r.median_us for r in rows][::-1]
    colors = ["#9e9e9e" if r.scenario.call.handler == "stock" else "#1f77b4" for r in rows][::-1]
    ax.barh(labels, values, color=colors)
    for y, v in enumerate(values):
        ax.text(v, y, f" {v:.0f}", va="center", fontsize=8)
    ax.set_xlim(0, max(values) * 1.12)
    ax.set_xlabel("median µs per request (in-process, lower is better); [n q] = DB queries")
    ax.set_title("Cost per auth path: stock DRF/DOT (grey) vs authstatus (blue)")
    ax.tick_params(axis="y", labelsize=8)
    fig.tight_layout()
    path = docs / PLOT_PATHS
    fig.savefig(path, dpi=110)
    plt.close(fig)
    written.append(path)

    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 3.8))
    xs = [s.policies for s in sizes]
    for axis, ys, unit, title in (
        (left, [s.resolve_ns for s in sizes], "ns per resolve()", "policy resolution"),
        (
            right,
            [s.request_us for s in sizes],
            "µs per request",
            "whole request (PolicyPermission, anonymous)",
        ),
    ):
        axis.plot(xs, ys, marker="o", color="#1f77b4")
        axis.set_xscale("log")
        axis.set_xticks(xs, [f"{x:,}" for x in xs])
        axis.minorticks_off()
        axis.set_ylim(0, max(ys) * 1.35)
        axis.set_xlabel("policies")
        axis.set_ylabel(unit)
        axis.set_title(title)
        for x, y in zip(xs, ys, strict=True):
            axis.annotate(
                f"{y:.0f}",
                (x, y),
                textcoords="offset points",
                xytext=(0, 6),
                ha="center",
                fontsize=8,
            )
    fig.suptitle("Cost vs number of policies (flat is the goal)")
    fig.tight_layout()
    path = docs / PLOT_POLICIES
    fig.savefig(path, dpi=110)
    plt.close(fig)
    written.append(path)
    return written


def write(
    docs: Path,
    versions_line: str,
    args: argparse.Namespace,
    rows: Sequence[Row],
    sizes: Sequence[Size],
    runs: Sequence[Any],
    result: Targets,
    asgi: Sequence[Any] = (),
    recompile: Any = None,
) -> list[Path]:
    written = _plots(docs, rows, sizes)
    today = datetime.date.today().isoformat()
    verdicts = "\n".join(
        f"| {'PASS' if ok else '**FAIL**'} | {name} | {detail} |"
        for name, detail, ok in result.verdicts
    )
    throughput = throughput_table(runs, markdown=True) if runs else "_Not run (`--no-throughput`)._"
    if asgi:
        from benchmarks.bench_asgi import table as asgi_table

        asgi_text = asgi_table(list(asgi), markdown=True)
    else:
        asgi_text = "_Not run (`--no-asgi`)._"
    if recompile is not None:
        from benchmarks.bench_recompile import table as recompile_table

        recompiled = recompile_table(recompile, markdown=True)
        recompiled += (
            "\n\nA save itself at 100,000 policies (`full_clean()` and `save()`: the row is "
            "validated alone, then written; the saving request pays it): "
            f"{recompile.save_s * 1000:.1f} ms."
        )
    else:
        recompiled = "_Not run (`--no-recompile`)._"
    text = TEMPLATE.format(
        today=today,
        versions=versions_line,
        machine=f"{platform.system()} {platform.machine()}, {_cpus()} CPUs",
        rounds=args.rounds,
        seconds=f"{args.seconds:g}",
        verdicts=verdicts,
        requests=requests_table(rows, markdown=True),
        policies=policies_table(sizes, markdown=True),
        throughput=throughput,
        asgi=asgi_text,
        asgi_rounds=args.asgi_rounds,
        asgi_seconds=f"{max(1.0, args.seconds / args.asgi_rounds):g}",
        recompile=recompiled,
        plot_paths=PLOT_PATHS,
        plot_policies=PLOT_POLICIES,
    )
    path = docs / "performance.md"
    path.write_text(text, encoding="utf-8")
    return [path, *written]


def _cpus() -> int:
    import os

    return os.cpu_count() or 1


TEMPLATE = """# Performance

<!-- Generated by `make bench` (benchmarks/report.py): edit the template there, not this file. -->

What authstatus costs per request, next to stock Django REST framework and
django-oauth-toolkit, measured in one run of `make bench` on {today}:
{versions}; {machine}. Absolute numbers depend on the machine; the ratios are the point.

## Targets

| verdict | target | measured |
|---|---|---|
{verdicts}

## Cost per auth path

![median µs per request for each path]({plot_paths})

One row per path: a whole request through Django (URL resolution, middleware, view,
rendering), median of {rounds} rounds. *stock* rows are served without authstatus (no
`AuthStatusMiddleware`, DRF's own exception handler); *authstatus* rows by the stack of the
public contract. *queries* is the number of database queries of one request.

{requests}

## Cost vs number of policies

![resolution cost and request cost vs number of policies]({plot_policies})

The route's own policy plus generated ones (literal, `*`, `**` and method-specific patterns,
the mix of `benchmarks/bench_matcher.py`). *resolve() ns* is
`authstatus.policies.resolve()` for the route, the lookup every request pays; *request µs* a
whole request to that route (`PolicyPermission`, anonymous policy). *compile ms* is paid once
per policy change, not per request.

{policies}

## Recompiling 100,000 policies after one save

`benchmarks/bench_recompile.py`. First table: what the compiled policies of a process weigh
at 1, 10,000 and 100,000 `ResourcePolicy` rows (the mix above): Python allocations still held
after a load (`tracemalloc`: the rules, their policies, the trie and the per-row compile
cache; no allocator overhead, no RSS). A reload holds the old and the new policies at once for
a moment: the peak is up to twice that. The per-route memo of inherited policies and the
matcher's lookup memo are bounded by routes and paths, not by policies. *first load s* is a
fresh process's load, which requests wait for (it has nothing to answer with yet).

Second table: one thread sends requests (in-process WSGI, `/drf/policy/`, governed by a
database row) among 100,000 policies while that row is changed from `anonymous` (200) to
`nobody` (403) as a save ends (committed, then `policies_changed()`). *before* is the second
before the change; *during* is from the change to the first request answered with the new
policy, which *in force after* times. *poller thread* is `RELOAD_IN_BACKGROUND: True`
(the default): the reload runs off the request path; *the request* is
`RELOAD_IN_BACKGROUND: False`: the request that finds the reload due waits for it.
*longest GC* is the longest garbage collection in the window: a collection holds the GIL, so
it stalls the requests of every thread. *in force after* with the poller thread depends on the
GIL the request thread leaves it: the poller reads the rows one SQLite step at a time, each
step releasing the GIL, and CPython forces a handover to a waiting thread only after 5 ms
without any switch, which a request thread releasing the GIL for instants prevents. So while
the poller builds, each request sleeps 0.2 ms (`authstatus.policies.BUILD_YIELD_S`); before
that, the poller was starved here for 7 to 288 s, against about 2 s for the same reload with
no requests. The longer that window, the likelier a full garbage collection falls in it: in a
process holding 100,000 policies it visits their 200,000 objects (about 120 to 150 ms here,
18 ms without them), which is what *max ms during* then shows.

{recompile}

## Throughput, and a policy edited under load

gunicorn with 2 sync workers on loopback, driven by `wrk` (1 thread, 4 connections,
{seconds} s per run) with a valid bearer token: stock, then authstatus, alone on the machine;
then authstatus again while a policy is edited. During that third run a probe (two Python
threads, a request every few milliseconds each, no token) asks `/api/flip/`, and a separate
process switches that route's `ResourcePolicy` between `anonymous` (200) and `nobody` (403)
every 0.2 s with `save()`, as the admin would; its wrk numbers include that load on the same
two cores. A probe *contradicts* the policy when its status is not that of a state in force at
some instant between `POLL_INTERVAL` plus one reload (0.05 + 0.02 s here: the propagation
bound) before it was sent and when its answer arrived; *decidable* probes are those for which
only one state was possible (the others cannot contradict anything). *wrk errors* are socket
errors and non-2xx answers.

{throughput}

## Latency under ASGI

uvicorn (one worker) serving the same `async def` view three ways: without authstatus
(`/stock/async/plain/`), behind `AuthStatusMiddleware` in async mode with an anonymous policy
and no credentials, and with an authenticated policy and a valid bearer token (the middleware's
authenticators are Bearer then Session here). `wrk` with one connection, so p50 is the latency
of one request rather than a queue; {asgi_rounds} rounds of {asgi_seconds} s per row, each
authstatus row back to back with its stock row. *p50 ms* is the median over rounds, *added*
the median over rounds of the pair's ratio. The bearer row is compared with the stock view
asked with the same header (which it ignores). The anonymous path makes no thread hop and
the bearer path exactly one (the token query), as `tests/test_asgi.py` counts.

Under ASGI, Django runs each request's sync code in a thread of its own
(`ThreadSensitiveContext`), so a token query in the request's thread would open a database
connection per request, as Django's async ORM does. The bearer row runs with the default
(and recommended) `ASYNC_TOKEN_THREAD` on: the query runs on the token-lookup thread, whose
connection lives across requests (`ASYNC_TOKEN_CONNECTION_MAX_AGE`); what is left of the
bearer row is that hop and the query itself. The last two rows come from a second uvicorn
process with the optional token cache (`BEARER_CACHE_SECONDS`) in a `LocMemCache` alias: a
cached token is checked on the event loop, with no hop and no query — at the price of
revocation latency (see the setting). See [ASGI and async views](howto/asgi.md).

{asgi}

## How to run

```sh
make bench                  # everything, about 5 minutes; rewrites this page and its plots
.venv/bin/python -m benchmarks --help
.venv/bin/python -m benchmarks --no-throughput --rounds 5   # quick, in-process only
.venv/bin/python -m benchmarks.bench_recompile              # memory and recompile, alone
```

`make bench` installs the `bench` extra (gunicorn, uvicorn, matplotlib) and Debian's `wrk`
when they are missing, then runs `python -m benchmarks`. Exit status 1 when a target fails.
Everything runs in a temporary directory (SQLite database seeded with 20,000 tokens,
file-based cache) that is removed afterwards; the servers listen on 127.0.0.1 only.
`--no-throughput` skips gunicorn, `--no-asgi` uvicorn.

## How to read it

- **× AllowAny** is the cost of a request relative to the same DRF view with `AllowAny` and no
  authentication class: the price of access control. **+µs vs AllowAny** is the same in time.
- The **enforcement** target compares DRF `AllowAny` (stock stack) with the same view under
  `PolicyPermission` and an anonymous policy (authstatus stack, middleware included); the
  *DRF AllowAny under AuthStatusMiddleware* row splits that into the middleware's share and
  the permission's.
- The **bearer** target compares what each stack adds over `AllowAny` for a request with a
  valid token: DOT's `OAuth2Authentication` + `IsAuthenticated` against authstatus's
  `BearerAuthentication` + `PolicyPermission`. Both make one query; DOT's goes through
  oauthlib and builds its query anew per request, authstatus's is compiled once per
  connection (`authstatus/contrib/oauth2_provider/tokenloader.py`).
- Two rows take that lookup apart: *plain queryset* turns `PREPARED_TOKEN_QUERY` off (the gap
  to the bearer row is what the prepared statement saves), and *execute wrapper* installs a
  no-op one on the connection (as django-debug-toolbar does): what observing the query costs
  ([`PREPARED_TOKEN_QUERY`](reference/settings.md#prepared_token_query)).
- **Token cache** rows enable `BEARER_CACHE_SECONDS` (off by default) with a process-local
  `LocMemCache` alias and with the shared file-based cache: a hit costs no query, and with a
  shared cache it costs a cache read instead. See
  [`BEARER_CACHE_SECONDS`](reference/settings.md#bearer_cache_seconds) for what it trades.
- **JWT** and **introspection** rows swap `TOKEN_BACKENDS`
  ([Resource servers on many hosts](howto/many-hosts.md)). The JWT comes from a separate
  issuer process (authlib's RFC 9068 generator); its keys are fetched before timing. "verified
  signature remembered" is the default (each process remembers verified tokens);
  "verified every time" sets `VERIFIED_CACHE_SIZE: 0`, the cost of a token seen for the first
  time. The **JWT** target: no query and no more than the database-token row. Introspection
  asks the demo project's DOT under `runserver` on loopback: a miss is one HTTP round trip,
  dominated by DOT hashing the client secret (PBKDF2) on every introspection request; a hit
  is a `LocMemCache` read.
- Timing method: each request is a WSGI call into the Django handler that gunicorn would call
  (no network), with a fresh environ. Per cell, batches of about 20 ms; the garbage collector
  is collected before and disabled during a batch; cells are interleaved in a new random order
  each round; the median over rounds is reported. SQLite in WAL mode with persistent
  connections (`CONN_MAX_AGE=None`), as a production setup would keep them. On a database over
  the network every query costs more, which widens the gap between one query and none.
"""
