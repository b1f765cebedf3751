"""With ``RELOAD_IN_BACKGROUND`` (the default) the poller thread rebuilds the matcher and swaps
it in: a request never waits for a rebuild, and answers with the old policies or the new ones,
never with a state in which a protected route is unprotected.

No timing assertions here (the stall a request sees is measured by
``benchmarks/bench_recompile.py``); deadlines only keep a broken build from hanging the suite.
"""

from __future__ import annotations

import threading
import time

import pytest
from django.conf import settings
from django.db import connection, connections
from django.test import override_settings
from django.test.utils import CaptureQueriesContext

from authstatus.core.decision import Access
from authstatus.core.matching import Rule
from authstatus.models import ResourcePolicy
from authstatus.policies.propagation import (
    _STALE,
    PolicyRegistry,
    _uncommitted_change,
    build_policy,
    registry,
)
from tests.factories import AccessTokenFactory, ResourcePolicyFactory, UserFactory
from tests.test_policy_cache import rename_policy_table

DEADLINE = 30  # seconds: a rebuild that has not happened by then never will
# A rebuild of a few rows on a real database while requests run back to back: milliseconds
# (the test that uses it says why this bound, not DEADLINE).
REBUILD_WAIT = 10


@pytest.fixture(autouse=True)
def _in_background(settings):
    settings.AUTHSTATUS = {**settings.AUTHSTATUS, "RELOAD_IN_BACKGROUND": True}


def authstatus_settings(**overrides):
    return override_settings(AUTHSTATUS={**settings.AUTHSTATUS, **overrides})


def eventually(predicate):
    deadline = time.monotonic() + DEADLINE
    while not predicate():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


CLOSED = Rule("/x/", build_policy("nobody", name="closed"))
SCOPED = Rule("/x/", build_policy("authenticated", required_scopes="admin", name="scoped"))
# Enough other rules that a build is not instantaneous.
FILLER = [Rule(f"/filler/{i}/*/", build_policy("authenticated")) for i in range(2000)]


class Versions:
    """A policy source whose next load returns the other version of ``/x/``; a load can be
    held on an event so the test sees the registry while a build is in progress."""

    def __init__(self) -> None:
        self.current = CLOSED
        self.hold = False
        self.entered = threading.Event()
        self.release = threading.Event()
        self.loads = 0

    def __call__(self) -> list[Rule]:
        self.loads += 1
        if self.hold:
            self.entered.set()
            self.release.wait(DEADLINE)
        return [self.current, *FILLER]

    def flip(self) -> Rule:
        self.current = SCOPED if self.current is CLOSED else CLOSED
        return self.current


def start_held_rebuild(reg: PolicyRegistry, source: Versions) -> None:
    """Change ``/x/`` and have the poller start a rebuild that stays inside its load until
    ``source.release`` is set."""
    source.hold = True
    source.flip()
    reg.invalidate()
    assert source.entered.wait(DEADLINE), "the poller did not start the rebuild"


@pytest.fixture
def background():
    """A registry of its own (polling fast), as the process registry would be."""
    with authstatus_settings(POLL_INTERVAL=0.01, RESYNC_INTERVAL=3600):
        source = Versions()
        reg = PolicyRegistry([source])
        yield reg, source
        source.release.set()
        reg.reset()


def test_a_request_does_not_wait_for_a_rebuild_in_progress(background):
    reg, source = background
    assert reg.match("GET", "/x/") is CLOSED  # the first load: nothing to answer with yet
    start_held_rebuild(reg, source)

    # The builder is blocked inside the load; requests answer at once, with the old rule.
    for _ in range(100):
        assert reg.match("GET", "/x/") is CLOSED
    assert not source.release.is_set()  # ... so no request waited for the rebuild to end

    source.release.set()
    assert eventually(lambda: reg.match("GET", "/x/") is SCOPED)


def test_a_request_gives_the_gil_to_a_build_in_progress(background, monkeypatch):
    """While the poller builds, each request sleeps a moment (``_yield_to_build``) so that
    request threads keeping the process busy cannot starve the build; before and after it,
    no request sleeps."""
    from authstatus.policies import propagation as policies

    reg, source = background
    yields: list[str] = []
    monkeypatch.setattr(
        policies, "_yield_to_build", lambda: yields.append(threading.current_thread().name)
    )
    assert reg.match("GET", "/x/") is CLOSED
    assert yields == []
    start_held_rebuild(reg, source)
    for _ in range(3):
        assert reg.match("GET", "/x/") is CLOSED
    assert yields == [threading.current_thread().name] * 3  # the requests, not the poller
    source.release.set()
    assert eventually(lambda: reg.match("GET", "/x/") is SCOPED and not reg._building)
    del yields[:]
    for _ in range(3):
        assert reg.match("GET", "/x/") is SCOPED
    assert yields == []


def test_the_swap_is_atomic_and_never_fail_open(background):
    reg, source = background
    assert reg.match("GET", "/x/") is CLOSED
    seen: list[object] = []
    stop = threading.Event()

    def requests() -> None:
        while not stop.is_set():
            seen.append(reg.match("GET", "/x/"))

    reader = threading.Thread(target=requests)
    reader.start()
    try:
        for _ in range(6):
            expected = source.flip()
            loads = source.loads
            reg.invalidate()
            assert eventually(
                lambda e=expected, n=loads: source.loads > n and reg.match("GET", "/x/") is e
            )
    finally:
        stop.set()
        reader.join(DEADLINE)
    # Every answer during six rebuilds was one of the two versions: never no rule (the
    # default), never anything in between.
    assert seen
    assert {id(rule) for rule in seen} <= {id(CLOSED), id(SCOPED)}
    assert len({id(rule) for rule in seen}) == 2


def test_a_failed_rebuild_keeps_the_last_good_matcher(background, caplog):
    reg, _ = background
    assert reg.match("GET", "/x/") is CLOSED

    def broken() -> list[Rule]:
        raise RuntimeError("database gone")

    reg._sources[0]._function = broken  # type: ignore[attr-defined]
    loaded = reg.matcher()
    reg.invalidate()
    assert eventually(lambda: any("failed to load" in r.getMessage() for r in caplog.records))
    assert reg.matcher() is loaded
    assert reg.match("GET", "/x/") is CLOSED


def test_without_background_reloads_the_request_reloads(background):
    reg, source = background
    with authstatus_settings(POLL_INTERVAL=3600, RELOAD_IN_BACKGROUND=False):
        reg.reset()
        assert reg.match("GET", "/x/") is CLOSED
        source.flip()
        reg.invalidate()
        assert reg.match("GET", "/x/") is SCOPED  # this very call reloaded


# --- the process registry, real rows, through requests -----------------------------------


@pytest.mark.django_db(transaction=True)
def test_a_committed_save_is_rebuilt_off_the_request_path_never_open(client):
    """Rows committed (no test transaction), so the poller's own connection reads them. A
    route whose settings policy is anonymous (200) is closed by a row (403); the row is
    changed to authenticated (401 for an anonymous request). Until the poller has rebuilt,
    requests answer 403; then 401; never 200, which would mean the row was not in force.

    The requests run back to back, which starved the poller of the GIL before requests
    yielded to a build (``_yield_to_build``): on PostgreSQL its connect alone took 1.5-30 s,
    and 8 of 12 runs took over REBUILD_WAIT. With the yield, well under a second."""
    row = ResourcePolicyFactory(path="/api/public/", access="nobody")
    with authstatus_settings(POLL_INTERVAL=0.01):
        registry.reset()
        assert client.get("/api/public/").status_code == 403
        row.access = "authenticated"
        row.save()  # autocommit: announced and rebuilt in the background at once
        statuses = []
        deadline = time.monotonic() + REBUILD_WAIT
        with CaptureQueriesContext(connection) as captured:
            while not statuses or statuses[-1] != 401:
                statuses.append(client.get("/api/public/").status_code)
                if time.monotonic() >= deadline:
                    state = f"statuses {statuses[-10:]}, {_state(registry)!r}"
                    pytest.fail(f"not rebuilt within {REBUILD_WAIT} s: {state}")
        assert set(statuses) <= {403, 401}
        # No request of this thread loaded the policies: the poller did.
        table = ResourcePolicy._meta.db_table
        assert not [q for q in captured.captured_queries if table in q["sql"]]
        rule = registry.match("GET", "/api/public/")
        assert rule is not None
        assert rule.value.access is Access.AUTHENTICATED
        assert rule.value.source == "database"
    ResourcePolicy.objects.all().delete()


def _state(reg: PolicyRegistry) -> dict[str, object]:
    """What a failed wait for a rebuild reports: the registry's view, the rows as a new
    connection (another thread's) reads them, and whether this thread's save is committed."""
    rows: list[object] = []

    def read() -> None:
        try:
            rows.extend(ResourcePolicy.objects.values_list("pk", "access"))
        finally:
            connections.close_all()

    reader = threading.Thread(target=read)
    reader.start()
    reader.join(DEADLINE)
    poller = reg._poller
    return {
        "version": reg._version,
        "seen": reg._seen,
        "reload wanted": reg._reload_wanted,
        "owners": len(reg._owners),
        "poller alive": poller is not None and poller.is_alive(),
        "rows": rows,
        "this thread's transaction": (
            connection.in_atomic_block,
            connection.get_autocommit(),
            len(connection.run_on_commit),
        ),
    }


# --- the poller's own connection ----------------------------------------------------------


def _sessions() -> dict[int, str]:
    """The other sessions on the test database, as PostgreSQL reports them: pid -> state."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pid, state FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        return dict(cursor.fetchall())


@pytest.mark.postgresql
@pytest.mark.parametrize("max_age", [0, None], ids=["CONN_MAX_AGE=0", "CONN_MAX_AGE=None"])
@pytest.mark.django_db(transaction=True)
def test_the_poller_leaves_no_transaction_open_and_closes_its_connection(
    client, monkeypatch, max_age
):
    """Between polls the poller's session is never ``idle in transaction`` (it would hold
    back vacuum and keep an old snapshot); with ``CONN_MAX_AGE = 0`` it holds no session at
    all; and once the poller stops, its session is gone, whatever ``CONN_MAX_AGE``."""
    # Every thread's connection reads this dict: the poller's too.
    monkeypatch.setitem(connection.settings_dict, "CONN_MAX_AGE", max_age)
    row = ResourcePolicyFactory(path="/api/public/", access="nobody")
    others = set(_sessions())
    # A resync every 20 ms: the poller queries the table between almost every two polls.
    with authstatus_settings(POLL_INTERVAL=0.01, RESYNC_INTERVAL=0.02):
        registry.reset()
        assert client.get("/api/public/").status_code == 403  # this thread's first load
        row.access = "authenticated"
        row.save()
        assert eventually(lambda: client.get("/api/public/").status_code == 401)
        samples = []
        deadline = time.monotonic() + 1.0
        while time.monotonic() < deadline:
            samples.append({s for pid, s in _sessions().items() if pid not in others and s})
        states = set().union(*samples)
        assert not {s for s in states if s.startswith("idle in transaction")}, states
        if max_age is None:
            assert all(samples), "the poller's persistent session was not always there"
        else:
            assert not all(samples), "the poller held a session between polls"
        registry.reset()  # stops the poller
        assert eventually(lambda: not set(_sessions()) - others), _sessions()


@pytest.mark.django_db
def test_a_failed_reload_in_the_savers_own_transaction_does_not_abort_it(client, monkeypatch):
    """The one reload a request performs itself with ``RELOAD_IN_BACKGROUND``: its thread's
    open transaction (here the test's, which the request's ``ATOMIC_REQUESTS`` one nests in)
    saved a policy not committed yet. On PostgreSQL a failed statement aborts the transaction
    and every later query of the request fails (500); the load runs in a savepoint, so the
    request goes on with the last good policies."""
    monkeypatch.setitem(connection.settings_dict, "ATOMIC_REQUESTS", True)
    token = AccessTokenFactory(user=UserFactory(username="alice"), scope="read")
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token.token}")
    assert client.get("/api/notes/").status_code == 200
    ResourcePolicyFactory(path="/elsewhere/", access="nobody")  # uncommitted: this thread's
    assert _uncommitted_change()
    rename_policy_table()
    response = client.get("/api/notes/")  # this request reloads, the load fails
    assert response.status_code == 200, response.content
    assert response.json() == []
    assert registry._version is _STALE  # the load was attempted, and failed
    with connection.cursor() as cursor:  # the test's transaction is usable too
        cursor.execute("SELECT 1")
        assert cursor.fetchone() == (1,)
