"""Response time of a concealed resource vs a missing one (issue 4: no order-of-magnitude
difference, so timing cannot tell them apart at a glance).

Run from the repository root::

    python -m benchmarks.bench_concealment            # or: make bench

Needs Django: it runs the demo project's settings on a throwaway SQLite database and cache
directory (migrated and seeded here), and sends each request in-process with Django's test
client — the full middleware stack, URL resolution, ``handler404``, DRF, no network.

Cells, each a concealed request and its missing counterpart with the same credentials:

- **route level**: ``/api/vault/`` (concealed DRF route) vs ``/api/vaulx/`` (no route);
- **object level**: ``/api/vault/<another user's item>/`` vs ``/api/vault/<missing id>/``;

for no credentials, an unknown bearer token, and a valid token of a user who may not see the
item (object level; at route level that user *may* list the vault, so it is not a refusal).

Target: every concealed/missing ratio of medians between 1/10 and 10; exit status 1 otherwise.
A concealed refusal does more work than a URL no route matches (it authenticates: the unknown
token costs a database lookup), so ratios above 1 are expected; an order of magnitude would
be a finding. Absolute times depend on the machine.
"""

from __future__ import annotations

import argparse
import gc
import os
import platform
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

TARGET_RATIO = 10.0
SAMPLE_NS = 20_000_000  # each sample runs a batch of requests for about 20 ms
DEFAULT_ROUNDS = 9


@dataclass(frozen=True)
class Cell:
    level: str
    credentials: str
    concealed: str
    missing: str
    authorization: str | None


def setup_django() -> dict[str, Any]:
    """The demo's settings on a fresh database; returns the seeded ids and tokens."""
    workdir = tempfile.mkdtemp(prefix="authstatus-bench-concealment-")
    os.environ["DEMO_SQLITE_PATH"] = os.path.join(workdir, "db.sqlite3")
    os.environ["DEMO_CACHE_DIR"] = os.path.join(workdir, "cache")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "demo_project.settings")
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command

    # The demo serves the API policies from the database (seed_demo); declare them in
    # settings instead, as the tests do, so the benchmark needs no seeding command.
    from demo_project.api.policies import BASELINE_POLICIES, DEMO_POLICIES

    settings.AUTHSTATUS = {**settings.AUTHSTATUS, "POLICIES": [*BASELINE_POLICIES, *DEMO_POLICIES]}
    settings.DEBUG = False
    call_command("migrate", verbosity=0, interactive=False)

    from datetime import timedelta

    from django.contrib.auth.models import User
    from django.utils import timezone
    from oauth2_provider.models import AccessToken, Application

    from demo_project.api.models import VaultItem

    alice = User.objects.create_user("alice", password="unused")
    bob = User.objects.create_user("bob", password="unused")
    item = VaultItem.objects.create(owner=alice, name="diary", secret="dear diary")
    app = Application.objects.create(
        name="bench",
        client_type=Application.CLIENT_CONFIDENTIAL,
        authorization_grant_type=Application.GRANT_PASSWORD,
    )
    token = AccessToken.objects.create(
        user=bob,
        application=app,
        token="bench-bob-token",
        scope="read",
        expires=timezone.now() + timedelta(days=1),
    )
    missing = item.pk + 1
    while VaultItem.objects.filter(pk=missing).exists():
        missing += 1
    if len(str(missing)) != len(str(item.pk)):  # keep the URLs the same length
        missing = next(
            n
            for n in range(10 ** (len(str(item.pk)) - 1), 10 ** len(str(item.pk)))
            if not VaultItem.objects.filter(pk=n).exists()
        )
    return {"item": item.pk, "missing": missing, "token": token.token}


def cells(world: dict[str, Any]) -> list[Cell]:
    item, missing = world["item"], world["missing"]
    kinds = {
        "none": None,
        "unknown token": "Bearer no-such-token",
        "valid, not the owner": f"Bearer {world['token']}",
    }
    out = []
    for name, header in kinds.items():
        if name != "valid, not the owner":
            out.append(Cell("route", name, "/api/vault/", "/api/vaulx/", header))
        out.append(Cell("object", name, f"/api/vault/{item}/", f"/api/vault/{missing}/", header))
    return out


def request_fn(path: str, authorization: str | None) -> Callable[[], Any]:
    from django.test import Client

    client = Client()
    extra = {"HTTP_AUTHORIZATION": authorization} if authorization else {}

    def send() -> Any:
        response = client.get(path, **extra)
        if response.status_code != 404:
            raise AssertionError(f"{path}: expected 404, got {response.status_code}")
        return response

    return send


def sample(send: Callable[[], Any], batch: int) -> float:
    """Mean seconds per request over ``batch`` requests, garbage collector off."""
    gc.collect()
    gc.disable()
    try:
        start = time.perf_counter_ns()
        for _ in range(batch):
            send()
        return (time.perf_counter_ns() - start) / batch / 1e9
    finally:
        gc.enable()


def batch_size(send: Callable[[], Any]) -> int:
    for _ in range(20):  # warm up: caches, compiled policies, templates
        send()
    start = time.perf_counter_ns()
    send()
    once = max(time.perf_counter_ns() - start, 1)
    return max(5, SAMPLE_NS // once)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=DEFAULT_ROUNDS)
    args = parser.parse_args(argv)

    world = setup_django()
    import logging

    logging.disable(logging.WARNING)  # "Not Found: …" for every request
    rng = random.Random(0)
    todo = cells(world)
    fns = {
        (cell, side): request_fn(getattr(cell, side), cell.authorization)
        for cell in todo
        for side in ("concealed", "missing")
    }
    batches = {key: batch_size(fn) for key, fn in fns.items()}
    samples: dict[tuple[Cell, str], list[float]] = {key: [] for key in fns}
    for _ in range(args.rounds):
        order = list(fns)
        rng.shuffle(order)  # interleaved: drift in machine speed spreads over every cell
        for key in order:
            samples[key].append(sample(fns[key], batches[key]))

    print(f"Python {platform.python_version()}, {platform.machine()}; {args.rounds} rounds")
    print(f"{'level':7} {'credentials':22} {'concealed':>12} {'missing':>12} {'ratio':>7}")
    ok = True
    for cell in todo:
        concealed = statistics.median(samples[(cell, "concealed")])
        missing = statistics.median(samples[(cell, "missing")])
        ratio = concealed / missing
        ok &= 1 / TARGET_RATIO < ratio < TARGET_RATIO
        print(
            f"{cell.level:7} {cell.credentials:22} {concealed * 1e6:9.0f} µs "
            f"{missing * 1e6:9.0f} µs {ratio:7.2f}"
        )
    print(f"target: every ratio within 1/{TARGET_RATIO:g}..{TARGET_RATIO:g}: ", end="")
    print("PASS" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
