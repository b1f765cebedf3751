"""In-process timing of whole requests: a WSGI call into a Django handler, no network.

Each request is a fresh WSGI environ passed to a :class:`~django.core.handlers.wsgi.WSGIHandler`
(the same handlers gunicorn serves, :func:`benchmarks.wsgi.build_handlers`), its body consumed
and closed, so Django's ``request_started``/``request_finished`` signals run as in production.
A *sample* is the mean time of a batch of requests sized to last about ``SAMPLE_NS``, with the
garbage collector collected before and disabled during the batch; cells are sampled in rounds,
in a new random order each round, and the median over rounds is reported.
"""

from __future__ import annotations

import gc
import io
import random
import statistics
import sys
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

SAMPLE_NS = 20_000_000  # ~20 ms per sample


@dataclass(frozen=True)
class Call:
    """One request: which handler, method, path and bearer token."""

    handler: str  # "stock" or "authstatus"
    path: str
    token: str | None = None
    method: str = "GET"

    def environ(self) -> dict[str, Any]:
        env: dict[str, Any] = {
            "REQUEST_METHOD": self.method,
            "PATH_INFO": self.path,
            "SCRIPT_NAME": "",
            "QUERY_STRING": "",
            "SERVER_NAME": "127.0.0.1",
            "SERVER_PORT": "80",
            "SERVER_PROTOCOL": "HTTP/1.1",
            "REMOTE_ADDR": "127.0.0.1",
            "HTTP_HOST": "127.0.0.1",
            "HTTP_ACCEPT": "application/json",
            "wsgi.version": (1, 0),
            "wsgi.url_scheme": "http",
            "wsgi.errors": sys.stderr,
            "wsgi.multithread": False,
            "wsgi.multiprocess": True,
            "wsgi.run_once": False,
        }
        if self.token is not None:
            env["HTTP_AUTHORIZATION"] = f"Bearer {self.token}"
        return env


class Client:
    """Runs :class:`Call`s against the benchmark's two handlers."""

    def __init__(self, handlers: Mapping[str, Callable[..., Iterable[bytes]]]) -> None:
        self.handlers = handlers

    def prepare(self, call: Call) -> Callable[[], int]:
        """A zero-argument function doing ``call`` once and returning the status code."""
        handler = self.handlers[call.handler]
        base = call.environ()
        status: list[str] = []

        def start_response(s: str, headers: Any, exc_info: Any = None) -> None:
            status.append(s)

        def run() -> int:
            env = dict(base)
            env["wsgi.input"] = io.BytesIO(b"")
            status.clear()
            response = handler(env, start_response)
            try:
                for _ in response:
                    pass
            finally:
                close = getattr(response, "close", None)
                if close is not None:
                    close()
            return int(status[0].split(" ", 1)[0])

        return run


def queries(run: Callable[[], int]) -> tuple[int, list[str]]:
    """Database queries one call of ``run`` makes (after it is warm)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        run()
    return len(captured.captured_queries), [q["sql"] for q in captured.captured_queries]


def calibrate(run: Callable[[], Any], sample_ns: int = SAMPLE_NS) -> int:
    """Calls per sample so a sample lasts about ``sample_ns``."""
    for _ in range(20):  # warm-up
        run()
    number = 10
    while True:
        t0 = time.perf_counter_ns()
        for _ in range(number):
            run()
        elapsed = time.perf_counter_ns() - t0
        if elapsed >= sample_ns / 4:
            return max(5, int(number * sample_ns / elapsed))
        number *= 4


def sample(run: Callable[[], Any], number: int) -> float:
    """Mean ns per call over ``number`` calls; gc collected before, disabled during."""
    gc.collect()
    gc.disable()
    try:
        t0 = time.perf_counter_ns()
        for _ in range(number):
            run()
        return (time.perf_counter_ns() - t0) / number
    finally:
        gc.enable()


@dataclass
class Cell:
    """Something to time: ``run`` under ``context`` (entered once per round, e.g. settings)."""

    key: str
    run: Callable[[], Any]
    group: str = ""  # cells of one group share a context and are sampled together
    samples: list[float] = field(default_factory=list)
    number: int = 0

    @property
    def median_ns(self) -> float:
        return statistics.median(self.samples)


def measure(
    cells: Sequence[Cell],
    rounds: int,
    contexts: Mapping[str, Callable[[], Any]] | None = None,
    seed: int = 1,
) -> None:
    """Fill each cell's ``samples`` with ``rounds`` medians-to-be, interleaved.

    ``contexts[group]`` returns a context manager entered around the group's cells each round
    (settings overrides); the cells are warmed up again inside it before they are timed.
    """
    contexts = contexts or {}
    groups: dict[str, list[Cell]] = {}
    for cell in cells:
        groups.setdefault(cell.group, []).append(cell)
    shuffle = random.Random(seed)

    def within(group: str) -> Any:
        factory = contexts.get(group)
        return factory() if factory is not None else _Null()

    for group, members in groups.items():
        with within(group):
            for cell in members:
                cell.number = calibrate(cell.run)
    for _ in range(rounds):
        order = list(groups)
        shuffle.shuffle(order)
        for group in order:
            members = list(groups[group])
            shuffle.shuffle(members)
            with within(group):
                for cell in members:
                    for _ in range(3):
                        cell.run()  # warm again: a settings change drops compiled policies
                    cell.samples.append(sample(cell.run, cell.number))


class _Null:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None
