"""Throughput under gunicorn (2 sync workers) driven by wrk, and policy edits under load.

Three runs of ``SECONDS`` each against one gunicorn on loopback, serving
:mod:`benchmarks.wsgi`: the stock route (DOT ``OAuth2Authentication`` + ``IsAuthenticated``),
then the authstatus route (``BearerAuthentication`` + ``PolicyPermission``), both with a valid
bearer token and nothing else running; then the authstatus route again while a policy is
edited. wrk (Debian's package) reports requests/s, latency percentiles, socket errors and
non-2xx responses.

During the third run a *probe* (two Python threads, a request every few milliseconds each,
no token) asks ``/api/flip/``, whose policy is a ``ResourcePolicy`` row, and records for each
request when it was sent, when the answer arrived, and its status; and a separate process
(:mod:`benchmarks.flipper`) switches that row between ``anonymous`` (answer 200) and ``nobody``
(answer 403) every ``FLIP_INTERVAL`` seconds through the ORM, logging when each edit started
and when it had committed. That run's wrk numbers include the probe's and the editor's load
on the same two cores, and every worker reloading its policies after each edit.

*Consistent* means: the status is the one of a policy state that was in force at some instant
of ``[sent - POLL_INTERVAL - RELOAD_ALLOWANCE, received]`` — the request's own lifetime,
widened by the propagation bound (a worker re-reads the policy version at most
``POLL_INTERVAL`` after it was written, then reloads on its poller thread while requests are
answered with the previous policies: ``RELOAD_IN_BACKGROUND``). An edit counts as in force
from when its ``save()`` started and the previous state until that ``save()`` returned.
Anything else *contradicts* the policy (target: 0). A probe is *decidable* when only one state
was possible in its window: the count shows the check has teeth. The gunicorn processes run
with ``POLL_INTERVAL`` = 0.05 s.
"""

from __future__ import annotations

import http.client
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from benchmarks.seed import Tokens

WORKERS = 2
CONNECTIONS = 4
POLL_INTERVAL = 0.05
# One reload of the benchmark's nine policies on the poller thread: the propagation bound is
# POLL_INTERVAL plus one reload (docs/howto/policies-in-admin.md#bounds). A few ms (the load
# of 1 policy in benchmarks/bench_recompile.py: under 10 ms); generous for a loaded machine.
RELOAD_ALLOWANCE = 0.02
FLIP_INTERVAL = 0.2
FLIP_PATH = "/api/flip/"
PROBE_THREADS = 2
PROBE_PAUSE = 0.005  # seconds between one probe thread's requests
EXPECTED = {"anonymous": 200, "nobody": 403}
ROOT = Path(__file__).resolve().parent.parent


@dataclass
class Wrk:
    requests: int = 0
    seconds: float = 0.0
    rps: float = 0.0
    p50_ms: float = 0.0
    p99_ms: float = 0.0
    socket_errors: int = 0
    non_2xx: int = 0
    raw: str = ""

    @property
    def errors(self) -> int:
        return self.socket_errors + self.non_2xx


@dataclass
class Probe:
    requests: int = 0
    decidable: int = 0
    contradictions: int = 0
    errors: int = 0
    statuses: dict[int, int] = field(default_factory=dict)
    examples: list[str] = field(default_factory=list)


@dataclass
class Run:
    name: str
    path: str
    wrk: Wrk
    probe: Probe
    flips: int = 0
    edited: bool = False  # the run with the flipper and the probe


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3}


def _ms(text: str) -> float:
    number, unit = re.fullmatch(r"([\d.]+)(us|ms|s)", text).groups()  # type: ignore[union-attr]
    return float(number) * _UNITS[unit]


def parse_wrk(out: str) -> Wrk:
    w = Wrk(raw=out)
    if m := re.search(r"(\d+) requests in ([\d.]+)(us|ms|s)", out):
        w.requests = int(m.group(1))
        w.seconds = _ms(m.group(2) + m.group(3)) / 1000
    if m := re.search(r"Requests/sec:\s+([\d.]+)", out):
        w.rps = float(m.group(1))
    if m := re.search(r"^\s+50%\s+(\S+)", out, re.M):
        w.p50_ms = _ms(m.group(1))
    if m := re.search(r"^\s+99%\s+(\S+)", out, re.M):
        w.p99_ms = _ms(m.group(1))
    if m := re.search(r"connect (\d+), read (\d+), write (\d+), timeout (\d+)", out):
        w.socket_errors = sum(int(g) for g in m.groups())
    if m := re.search(r"Non-2xx or 3xx responses: (\d+)", out):
        w.non_2xx = int(m.group(1))
    return w


class Server:
    """gunicorn serving benchmarks.wsgi on loopback; started and stopped by this process."""

    settings = "benchmarks.settings"
    name = "gunicorn"

    def command(self) -> list[str]:
        return [
            sys.executable,
            "-m",
            "gunicorn",
            "benchmarks.wsgi:application",
            "--workers",
            str(WORKERS),
            "--worker-class",
            "sync",
            "--bind",
            f"127.0.0.1:{self.port}",
            "--log-level",
            "warning",
        ]

    def __init__(self, bench_dir: str) -> None:
        self.port = _free_port()
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": self.settings,
            "AUTHSTATUS_BENCH_DIR": bench_dir,
            "AUTHSTATUS_BENCH_POLL_INTERVAL": str(POLL_INTERVAL),
            "PYTHONPATH": str(ROOT),
        }
        self.env = env
        self.process = subprocess.Popen(
            self.command(),
            cwd=ROOT,
            env=env,
            start_new_session=True,
        )
        deadline = time.monotonic() + 30
        while True:
            try:
                if get(self.port, "/stock/plain/")[0] == 200:
                    break
            except OSError:
                pass
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"{self.name} did not start")
            time.sleep(0.2)

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()


def get(port: int, path: str, token: str | None = None) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        headers = {"Accept": "application/json"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        conn.request("GET", path, headers=headers)
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def _probe(port: int, until: float, out: list[tuple[float, float, int | None]]) -> None:
    while time.monotonic() < until:
        t0 = time.monotonic()
        try:
            status: int | None = get(port, FLIP_PATH)[0]
        except OSError:
            status = None
        out.append((t0, time.monotonic(), status))
        time.sleep(PROBE_PAUSE)


def judge(
    samples: list[tuple[float, float, int | None]],
    initial: str,
    flips: list[tuple[float, float, str]],
    widen: float,
) -> Probe:
    """Count probes whose status no policy state in force during their window allows."""
    # State i may be in force from starts[i] (its save() began) until ends[i] (the next
    # save() returned).
    states = [initial] + [f[2] for f in flips]
    starts = [float("-inf")] + [f[0] for f in flips]
    ends = [f[1] for f in flips] + [float("inf")]
    result = Probe(requests=len(samples))
    for sent, received, status in samples:
        if status is None or status not in EXPECTED.values():
            result.errors += 1
            continue
        result.statuses[status] = result.statuses.get(status, 0) + 1
        low, high = sent - widen, received
        possible = {
            EXPECTED[s]
            for s, start, end in zip(states, starts, ends, strict=True)
            if start <= high and end >= low
        }
        if len(possible) == 1:
            result.decidable += 1
        if status not in possible:
            result.contradictions += 1
            if len(result.examples) < 5:
                result.examples.append(
                    f"sent {sent:.3f} received {received:.3f}: {status}, allowed {possible}"
                )
    return result


def _run(
    name: str, server: Server, path: str, token: str, seconds: float, flip: bool, log: Path
) -> Run:
    from authstatus.models import ResourcePolicy

    initial = ResourcePolicy.objects.get(path=FLIP_PATH).access
    samples: list[tuple[float, float, int | None]] = []
    until = time.monotonic() + seconds + 0.5
    threads = [
        threading.Thread(target=_probe, args=(server.port, until, samples), daemon=True)
        for _ in range(PROBE_THREADS if flip else 0)
    ]
    flipper = None
    if flip:
        log.write_text("")
        flipper = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "benchmarks.flipper",
                FLIP_PATH,
                str(seconds + 0.5),
                str(FLIP_INTERVAL),
                str(log),
            ],
            cwd=ROOT,
            env=server.env,
        )
    for t in threads:
        t.start()
    wrk = subprocess.run(
        [
            "wrk",
            "-t1",
            f"-c{CONNECTIONS}",
            f"-d{seconds:g}s",
            "--latency",
            "-H",
            f"Authorization: Bearer {token}",
            f"http://127.0.0.1:{server.port}{path}",
        ],
        capture_output=True,
        text=True,
        timeout=seconds + 60,
        check=True,
    )
    for t in threads:
        t.join()
    flips: list[tuple[float, float, str]] = []
    if flipper is not None:
        flipper.wait(30)
        for line in log.read_text().splitlines():
            start, end, access = line.split()
            flips.append((float(start), float(end), access))
    probe = judge(samples, initial, flips, POLL_INTERVAL + RELOAD_ALLOWANCE)
    return Run(name, path, parse_wrk(wrk.stdout), probe, len(flips), flip)


def run(tokens: Tokens, bench_dir: str, seconds: float) -> list[Run]:
    if shutil.which("wrk") is None:
        raise RuntimeError("wrk is not installed (apt-get install wrk; `make bench` does it)")
    from django.db import connections

    from authstatus.models import ResourcePolicy

    ResourcePolicy.objects.update_or_create(
        path=FLIP_PATH,
        defaults={"access": "anonymous", "description": "edited by the benchmark"},
    )
    connections.close_all()
    server = Server(bench_dir)
    try:
        for path, token in (("/stock/oauth2/", tokens.valid), ("/api/bearer/", tokens.valid)):
            for _ in range(50):
                status, body = get(server.port, path, token)
                if status != 200:
                    raise RuntimeError(f"{path}: {status} {body[:200]!r}")
        log = Path(bench_dir) / "flips.log"
        return [
            _run("stock DOT", server, "/stock/oauth2/", tokens.valid, seconds, False, log),
            _run("authstatus", server, "/api/bearer/", tokens.valid, seconds, False, log),
            _run(
                "authstatus, policy edited",
                server,
                "/api/bearer/",
                tokens.valid,
                seconds,
                True,
                log,
            ),
        ]
    finally:
        server.stop()
