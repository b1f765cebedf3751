"""Response time of a concealed resource vs a missing one, per credential kind, with the
uniform concealment mode off and on (issue 4; issue 10 §8).

Run from the repository root::

    python -m benchmarks.bench_concealment            # or: make bench-concealment

Needs Django: it runs the demo project's settings on a throwaway SQLite database and cache
directory (migrated and seeded here), and sends each request in-process with Django's test
client — the full middleware stack, URL resolution, ``handler404``, DRF, no network.

``Basic`` headers cost a PBKDF2 hash (Django hashes even for an unknown user). Django's default
is 1,000,000 iterations — seconds per request on a loaded CI machine, too slow to sample — so
the benchmark hashes with :data:`BENCH_PBKDF2_ITERATIONS` (``--pbkdf2-iterations``). The
mode-off gap for ``Basic`` therefore understates production by the ratio of the two counts;
with the mode on both sides pay the same hash, whatever it costs.

Pairs, each a concealed request and its missing counterpart with the same credentials:

- **route level**: ``/api/vault/`` (concealed DRF route, open to any valid login: refused
  only without valid credentials) vs ``/api/vaulx/`` (no route); ``/api/staff/`` (made
  concealed here, group-gated: valid credentials of a non-member are refused too) vs
  ``/api/stafx/``;
- **object level**: ``/api/vault/<another user's item>/`` vs ``/api/vault/<missing id>/``.

Credential kinds: none, an unknown bearer token, an expired one, a valid token of a user who
may not see the resource, ``Basic`` with a wrong password of a real user and of an unknown
user, a valid session, a forged session cookie.

Each cell is measured with ``UNIFORM_CONCEALMENT_PATHS`` off and on (``["/api/**"]``): per
request timings, concealed and missing requests interleaved pair by pair (each pair in a
seeded random order) after a warm-up. Reported per cell: medians, their ratio, and the AUC
of the best single-threshold classifier of one request's time (concealed vs missing): 0.5 is
a coin toss, 1.0 tells every single request apart.

Target (issue 10 §8): with the mode on, no cell's AUC above 0.6. Exit status 1 otherwise.
With it off, route-level cells with credentials are expected to be far apart (the token
lookup, the password hash): that is the oracle the mode closes.
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
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

TARGET_AUC = 0.6
DEFAULT_SAMPLES = 200  # per side and cell; Basic cells take SLOW_SAMPLES (a hash each)
SLOW_SAMPLES = 150
WARMUP = 10
SLOW_WARMUP = 2
BENCH_PBKDF2_ITERATIONS = 10_000
UNIFORM_PATHS = ["/api/**"]
BOB_PASSWORD = "bench-bob-password"


def _bench_hasher(iterations: int) -> str:
    """Dotted path of a PBKDF2 hasher with ``iterations``, for PASSWORD_HASHERS."""
    from django.contrib.auth import hashers

    class BenchPBKDF2PasswordHasher(hashers.PBKDF2PasswordHasher):
        pass

    BenchPBKDF2PasswordHasher.iterations = iterations
    globals()["BenchPBKDF2PasswordHasher"] = BenchPBKDF2PasswordHasher
    sys.modules.setdefault("benchmarks.bench_concealment", sys.modules[__name__])
    return "benchmarks.bench_concealment.BenchPBKDF2PasswordHasher"


@dataclass(frozen=True)
class Cell:
    level: str
    credentials: str
    concealed: str
    missing: str

    @property
    def slow(self) -> bool:
        return self.credentials.startswith("Basic")


def setup_django(iterations: int) -> dict[str, Any]:
    """The demo's settings on a fresh database; returns the seeded ids and credentials."""
    workdir = tempfile.mkdtemp(prefix="authstatus-bench-concealment-")
    os.environ["DEMO_SQLITE_PATH"] = os.path.join(workdir, "db.sqlite3")
    os.environ["DEMO_CACHE_DIR"] = os.path.join(workdir, "cache")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "demo_project.settings")
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command

    # The demo serves the API policies from the database (seed_demo); declare them in
    # settings instead, as the tests do, so the benchmark needs no seeding command. The staff
    # route is concealed here: a group-gated concealed route, which refuses valid logins.
    from demo_project.api.policies import BASELINE_POLICIES, DEMO_POLICIES

    policies = [
        {**p, "conceal": True} if p["path"] == "/api/staff/" else p
        for p in [*BASELINE_POLICIES, *DEMO_POLICIES]
    ]
    settings.AUTHSTATUS = {**settings.AUTHSTATUS, "POLICIES": policies}
    settings.DEBUG = False
    settings.PASSWORD_HASHERS = [_bench_hasher(iterations)]
    call_command("migrate", verbosity=0, interactive=False)

    from datetime import timedelta

    from django.contrib.auth.models import User
    from django.test import Client
    from django.utils import timezone
    from oauth2_provider.models import AccessToken, Application

    from demo_project.api.models import VaultItem

    alice = User.objects.create_user("alice", password="unused")
    bob = User.objects.create_user("bob", password=BOB_PASSWORD)
    item = VaultItem.objects.create(owner=alice, name="diary", secret="dear diary")
    app = Application.objects.create(
        name="bench",
        client_type=Application.CLIENT_CONFIDENTIAL,
        authorization_grant_type=Application.GRANT_PASSWORD,
    )
    now = timezone.now()
    token = AccessToken.objects.create(
        user=bob, application=app, token="bench-bob-token", scope="read",
        expires=now + timedelta(days=1),
    )  # fmt: skip
    expired = AccessToken.objects.create(
        user=bob, application=app, token="bench-bob-expired", scope="read",
        expires=now - timedelta(minutes=1),
    )  # fmt: skip
    login = Client()
    login.force_login(bob)
    missing = item.pk + 1
    while VaultItem.objects.filter(pk=missing).exists():
        missing += 1
    if len(str(missing)) != len(str(item.pk)):  # keep the URLs the same length
        missing = next(
            n
            for n in range(10 ** (len(str(item.pk)) - 1), 10 ** len(str(item.pk)))
            if not VaultItem.objects.filter(pk=n).exists()
        )
    return {
        "item": item.pk,
        "missing": missing,
        "token": token.token,
        "expired": expired.token,
        "session": login.cookies[settings.SESSION_COOKIE_NAME].value,
    }


def _basic(user: str, password: str) -> str:
    import base64

    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def credentials(world: dict[str, Any]) -> dict[str, dict[str, str]]:
    """Credential kind -> request headers and cookies (``cookie:<name>`` keys)."""
    from django.conf import settings

    cookie = f"cookie:{settings.SESSION_COOKIE_NAME}"
    return {
        "none": {},
        "unknown token": {"HTTP_AUTHORIZATION": "Bearer no-such-token"},
        "expired token": {"HTTP_AUTHORIZATION": f"Bearer {world['expired']}"},
        "valid token": {"HTTP_AUTHORIZATION": f"Bearer {world['token']}"},
        "Basic, wrong password": {"HTTP_AUTHORIZATION": _basic("bob", "wrong")},
        "Basic, unknown user": {"HTTP_AUTHORIZATION": _basic("nobody", "wrong")},
        "valid session": {cookie: world["session"]},
        "forged session": {cookie: "0123456789abcdefghijklmnopqrstuv"},
    }


VALID = ("valid token", "valid session")


def cells(world: dict[str, Any]) -> list[Cell]:
    item, missing = world["item"], world["missing"]
    out = []
    for kind in credentials(world):
        if kind not in VALID:  # the vault list lets any valid login in: not a refusal
            out.append(Cell("route", kind, "/api/vault/", "/api/vaulx/"))
        if kind in VALID or kind in ("none", "unknown token", "Basic, wrong password"):
            out.append(Cell("route", kind, "/api/staff/", "/api/stafx/"))
    for kind in ("none", "unknown token", "valid token", "Basic, wrong password"):
        out.append(Cell("object", kind, f"/api/vault/{item}/", f"/api/vault/{missing}/"))
    return out


def request_fn(path: str, sent: dict[str, str]) -> Callable[[], Any]:
    from django.test import Client

    client = Client()
    extra = {k: v for k, v in sent.items() if not k.startswith("cookie:")}
    cookies = {k.partition(":")[2]: v for k, v in sent.items() if k.startswith("cookie:")}

    def send() -> Any:
        client.cookies.clear()
        for name, value in cookies.items():
            client.cookies[name] = value
        response = client.get(path, **extra)
        if response.status_code != 404:
            raise AssertionError(f"{path}: expected 404, got {response.status_code}")
        return response

    return send


def timings(
    concealed: Callable[[], Any],
    missing: Callable[[], Any],
    n: int,
    rng: random.Random,
    warmup: int = WARMUP,
) -> tuple[list[float], list[float]]:
    """``n`` per-request times (seconds) of each, interleaved pair by pair."""
    for _ in range(warmup):  # caches, compiled policies, templates, the connection
        concealed()
        missing()
    # In pairs, each in a random order: load from other processes (a shared CI machine)
    # then falls on both sides alike instead of on whichever happens to run in a burst.
    order = [side for _ in range(n) for side in rng.sample((True, False), 2)]
    out: dict[bool, list[float]] = {True: [], False: []}
    gc.collect()
    gc.disable()
    try:
        for side in order:
            send = concealed if side else missing
            start = time.perf_counter_ns()
            send()
            out[side].append((time.perf_counter_ns() - start) / 1e9)
    finally:
        gc.enable()
    return out[True], out[False]


def auc(positive: Sequence[float], negative: Sequence[float]) -> float:
    """AUC of the best single-threshold classifier of one value (either direction): the
    Mann-Whitney statistic P(positive > negative) + P(tie) / 2, or 1 minus it."""
    ranked = sorted([(v, 1) for v in positive] + [(v, 0) for v in negative])
    rank_sum = 0.0
    i = 0
    while i < len(ranked):
        j = i
        while j < len(ranked) and ranked[j][0] == ranked[i][0]:
            j += 1
        mean_rank = (i + j + 1) / 2  # ranks i+1 .. j, ties share their mean
        rank_sum += mean_rank * sum(label for _, label in ranked[i:j])
        i = j
    n_pos, n_neg = len(positive), len(negative)
    value = (rank_sum - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg)
    return max(value, 1 - value)


@dataclass(frozen=True)
class Result:
    concealed_us: float
    missing_us: float
    auc: float

    @property
    def ratio(self) -> float:
        return self.concealed_us / self.missing_us


def measure(
    todo: Sequence[Cell], sent: dict[str, dict[str, str]], samples: int, seed: int
) -> dict[Cell, Result]:
    rng = random.Random(seed)
    order = list(todo)
    rng.shuffle(order)
    out = {}
    for cell in order:
        n = min(samples, SLOW_SAMPLES) if cell.slow else samples
        conc, miss = timings(
            request_fn(cell.concealed, sent[cell.credentials]),
            request_fn(cell.missing, sent[cell.credentials]),
            n,
            rng,
            SLOW_WARMUP if cell.slow else WARMUP,
        )
        out[cell] = Result(
            statistics.median(conc) * 1e6, statistics.median(miss) * 1e6, auc(conc, miss)
        )
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--samples", type=int, default=DEFAULT_SAMPLES, help="requests per side and cell"
    )
    parser.add_argument(
        "--pbkdf2-iterations",
        type=int,
        default=BENCH_PBKDF2_ITERATIONS,
        help="PBKDF2 iterations of the password hasher (Django's default: 1,000,000)",
    )
    args = parser.parse_args(argv)

    world = setup_django(args.pbkdf2_iterations)
    import logging

    from django.conf import settings
    from django.test.utils import override_settings

    logging.disable(logging.WARNING)  # "Not Found: …" for every request
    todo = cells(world)
    sent = credentials(world)
    results: dict[str, dict[Cell, Result]] = {}
    for mode, paths in (("off", []), ("on", UNIFORM_PATHS)):
        with override_settings(
            AUTHSTATUS={**settings.AUTHSTATUS, "UNIFORM_CONCEALMENT_PATHS": paths}
        ):
            results[mode] = measure(todo, sent, args.samples, seed=0)

    print(
        f"Python {platform.python_version()}, {platform.machine()}; per-request timings, "
        f"{args.samples} requests per side and cell ({SLOW_SAMPLES} for Basic), in-process;"
        f" PBKDF2 {args.pbkdf2_iterations:,} iterations"
    )
    print(f"uniform mode on: UNIFORM_CONCEALMENT_PATHS = {UNIFORM_PATHS}")
    print()
    head = f"{'level':6} {'credentials':22} {'pair':24}"
    sub = f"{'concealed':>10} {'missing':>9} {'ratio':>7} {'AUC':>5}"
    print(f"{'':54}{'--- mode off ---':^34}  {'--- mode on ---':^34}")
    print(f"{head}  {sub}  {sub}")
    worst = 0.0
    for cell in todo:
        row = f"{cell.level:6} {cell.credentials:22} {cell.concealed + ' ' + cell.missing:24}"
        for mode in ("off", "on"):
            r = results[mode][cell]
            row += f"  {r.concealed_us:7.0f} µs {r.missing_us:6.0f} µs {r.ratio:7.2f} {r.auc:5.2f}"
        worst = max(worst, results["on"][cell].auc)
        print(row)
    print()
    off_worst = max(r.auc for r in results["off"].values())
    print(f"mode off: worst AUC {off_worst:.2f} (single requests tell a concealed route apart)")
    ok = worst <= TARGET_AUC
    print(
        f"target: with the uniform mode on, every cell's AUC <= {TARGET_AUC}: worst "
        f"{worst:.2f} -> {'PASS' if ok else 'FAIL'}"
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
