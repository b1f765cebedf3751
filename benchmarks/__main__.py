"""``python -m benchmarks`` (``make bench``): every benchmark of django-authstatus, one run.

1. Per-request cost and DB queries of each access-control path, stock vs authstatus
   (:mod:`benchmarks.bench_requests`), in-process.
2. Policy resolution vs number of policies, in the project (:mod:`benchmarks.bench_policies`)
   and in the bare matcher (:mod:`benchmarks.bench_matcher`); memory of the compiled policies
   and request latency while 100,000 of them recompile (:mod:`benchmarks.bench_recompile`).
3. Throughput under gunicorn + wrk, with a policy edited under load
   (:mod:`benchmarks.bench_throughput`).
4. Concealed vs missing response time (``benchmarks/bench_concealment.py``, its own process).
5. Latency under ASGI: uvicorn serving an async view with and without authstatus
   (:mod:`benchmarks.bench_asgi`).

Prints the tables and the targets (PASS/FAIL), writes ``docs/performance.md`` and its plots.
Exit status 1 when a target is missed or the policy-edit run saw a contradiction or error.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("--rounds", type=int, default=15, help="rounds per cell (median)")
    parser.add_argument("--seconds", type=float, default=10, help="length of each wrk run")
    parser.add_argument("--matcher-repeats", type=int, default=5)
    parser.add_argument("--no-throughput", action="store_true", help="skip gunicorn + wrk")
    parser.add_argument("--no-asgi", action="store_true", help="skip uvicorn + wrk (ASGI)")
    parser.add_argument(
        "--asgi-rounds", type=int, default=10, help="paired wrk rounds per ASGI cell"
    )
    parser.add_argument(
        "--no-concealment", action="store_true", help="skip benchmarks/bench_concealment.py"
    )
    parser.add_argument(
        "--no-recompile",
        action="store_true",
        help="skip benchmarks/bench_recompile.py (seeds 100,000 policies: about 3 minutes)",
    )
    parser.add_argument("--no-report", action="store_true", help="do not write docs/")
    parser.add_argument(
        "--requests",
        metavar="KEYS",
        help="only section 1, only these comma-separated rows (e.g. "
        "'allow_any,stock_oauth2,bearer,jwt,jwt_verify,introspection_hit,introspection_miss'); "
        "prints the table, writes no report",
    )
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory")
    args = parser.parse_args(argv)

    bench_dir = tempfile.mkdtemp(prefix="authstatus-bench-")
    os.environ["AUTHSTATUS_BENCH_DIR"] = bench_dir
    os.environ["DJANGO_SETTINGS_MODULE"] = "benchmarks.settings"
    started = time.monotonic()
    try:
        return _run(args, bench_dir, started)
    finally:
        if args.keep:
            print(f"kept {bench_dir}")
        else:
            shutil.rmtree(bench_dir, ignore_errors=True)


def _run(args: argparse.Namespace, bench_dir: str, started: float) -> int:
    import django

    django.setup()
    from benchmarks import bench_matcher, bench_policies, bench_requests, report, seed
    from benchmarks.harness import Client
    from benchmarks.wsgi import build_handlers

    versions = report.versions()
    print("django-authstatus benchmarks")
    print(f"{versions}; {os.cpu_count()} CPUs; {platform.machine()}")
    print(f"temporary directory {bench_dir} (SQLite database, file-based cache)")
    tokens = seed.prepare()
    stock, authstatus = build_handlers()
    client = Client({"stock": stock, "authstatus": authstatus})
    external = _start_external(bench_dir)
    try:
        tokens = _external_tokens(tokens, external)
        print()
        print(f"== 1. cost per request (in-process WSGI calls, median of {args.rounds} rounds) ==")
        # The table is relative to these two rows: always measured.
        keys = (
            frozenset({"plain", "allow_any", *args.requests.split(",")}) if args.requests else None
        )
        rows = bench_requests.run(tokens, client, args.rounds, keys)
        print(report.requests_table(rows))
    finally:
        external.stop()
    if keys is not None:
        checked = report.token_backend_targets(rows, report.Targets())
        for line in checked.lines:
            print(line)
        return 0 if checked.ok else 1

    print()
    print(f"== 2. policy resolution vs number of policies ({args.rounds} rounds) ==")
    sizes = bench_policies.run(client, args.rounds)
    print(report.policies_table(sizes))
    print()
    print("-- the bare matcher (benchmarks/bench_matcher.py) --")
    matcher_status = bench_matcher.main(["--repeats", str(args.matcher_repeats)])
    recompile = None
    if not args.no_recompile:
        from benchmarks import bench_recompile

        print()
        print("-- memory, and requests while 100,000 policies recompile (bench_recompile.py) --")
        recompile = bench_recompile.run(client)
        print(bench_recompile.table(recompile))

    runs = []
    if not args.no_throughput:
        print()
        print(
            f"== 3. throughput: gunicorn ({bench_throughput_workers()} sync workers) + wrk, "
            f"{args.seconds:g} s per run, loopback =="
        )
        from benchmarks import bench_throughput

        runs = bench_throughput.run(tokens, bench_dir, args.seconds)
        print(report.throughput_table(runs))

    concealment_status = None
    if not args.no_concealment and (ROOT / "benchmarks" / "bench_concealment.py").exists():
        print()
        print("== 4. concealed vs missing response time (benchmarks/bench_concealment.py) ==")
        # A process of its own: it runs the demo project's settings, not these.
        env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
        sys.stdout.flush()
        concealment_status = subprocess.run(
            [sys.executable, "-m", "benchmarks.bench_concealment"], cwd=ROOT, env=env, check=False
        ).returncode

    asgi = []
    if not args.no_asgi:
        from benchmarks import bench_asgi

        asgi_seconds = max(1.0, args.seconds / args.asgi_rounds)
        print()
        print(
            f"== 5. latency under ASGI: uvicorn (1 worker) + wrk (1 connection), async view, "
            f"{args.asgi_rounds} paired rounds of {asgi_seconds:g} s per cell =="
        )
        asgi = bench_asgi.run(tokens, bench_dir, asgi_seconds, args.asgi_rounds)
        print(bench_asgi.table(asgi))

    targets = report.targets(
        rows, sizes, matcher_status, runs, concealment_status, asgi=asgi, recompile=recompile
    )
    print()
    print("== targets ==")
    for line in targets.lines:
        print(line)
    elapsed = time.monotonic() - started
    if not args.no_report:
        written = report.write(
            ROOT / "docs",
            versions,
            args,
            rows,
            sizes,
            runs,
            targets,
            asgi=asgi,
            recompile=recompile,
        )
        print()
        print("wrote " + ", ".join(str(p.relative_to(ROOT)) for p in written))
    print(f"total time {elapsed:.0f} s")
    return 0 if targets.ok else 1


def _start_external(bench_dir: str) -> Any:
    """The JWT issuer and the DOT introspection server (benchmarks/external.py)."""
    from benchmarks import bench_requests, external

    servers = external.start(Path(bench_dir))
    bench_requests.configure_external(servers)
    return servers


def _external_tokens(tokens: Any, servers: Any) -> Any:
    import dataclasses

    from benchmarks.external import AUDIENCE, DOT_TOKEN

    return dataclasses.replace(
        tokens,
        jwt=servers.issuer.token(scope="read write", aud=AUDIENCE, expires_in=86400),
        jwt_user=servers.issuer.token(
            sub="alice", scope="read write", aud=AUDIENCE, expires_in=86400
        ),
        introspected=DOT_TOKEN,
    )


def bench_throughput_workers() -> int:
    from benchmarks.bench_throughput import WORKERS

    return WORKERS


if __name__ == "__main__":
    sys.exit(main())
