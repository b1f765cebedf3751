"""The registry's guarantees under faults (issue 10 §1 to §3), one process at a time:

* a saved change is never lost: a failed announcement is retried until written, and the
  policy table's fingerprint, compared every ``RESYNC_INTERVAL``, catches what no
  announcement told (raw SQL that does not even bump ``updated``, a process that died);
* a stalled cache never stalls a request: the version key is polled off the request path;
* a failed load neither aborts the request's transaction (``ATOMIC_REQUESTS``) nor is retried
  and logged on every request.

The caches are real: the test settings' ``default`` (file-based, or Redis in the CI's redis
stage), a loopback port that refuses connections, and a loopback listener that never answers
(a stalled server). tests/faults/ does the same against real servers and processes.
"""

from __future__ import annotations

import logging
import socket
import time
from contextlib import contextmanager

import pytest
from django.conf import settings
from django.core.cache import caches
from django.db import connection
from django.test import override_settings

from authstatus.conf import app_settings
from authstatus.core.decision import Access
from authstatus.models import ResourcePolicy
from authstatus.policies.propagation import (
    VERSION_KEY,
    DatabaseSource,
    PolicyRegistry,
    policies_changed,
    registry,
    settings_rules,
)
from tests.factories import AccessTokenFactory, UserFactory
from tests.test_policy_cache import BROKEN_CACHES, POLICY_TABLE, rename_policy_table, statements

pytestmark = pytest.mark.django_db

WAIT = 5.0  # seconds to wait for the poller thread on a loaded machine (a failure, not a hang)


def authstatus_settings(**overrides):
    return override_settings(AUTHSTATUS={**settings.AUTHSTATUS, **overrides})


def version():
    return caches[app_settings.CACHE_ALIAS].get(VERSION_KEY)


def eventually(condition, timeout=WAIT):
    """Whether ``condition()`` became true within ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


def other_process():
    """A registry standing for another process: it learns of changes through the cache
    version key and the table fingerprint only."""
    return PolicyRegistry([settings_rules, DatabaseSource()])


def public_access(reg):
    return reg.match("GET", "/api/public/").value.access


# --- §1 a saved change is never lost -------------------------------------------------------


@pytest.mark.usefixtures("reload_on_requests")
def test_failed_announcement_is_retried_until_written(caplog):
    with authstatus_settings(POLL_INTERVAL=0.05, RESYNC_INTERVAL=3600):
        registry.matcher()
        other = other_process()
        assert public_access(other) is Access.ANONYMOUS
        before = version()
        assert before is not None
        caplog.set_level(logging.ERROR, logger="authstatus")
        # The cache object of this thread keeps its own connection: it reads the real key
        # while the settings name a broken cache (the poller may write the moment they are
        # restored, so the key is checked before that).
        real_cache = caches[app_settings.CACHE_ALIAS]
        with override_settings(CACHES=BROKEN_CACHES):
            row = ResourcePolicy.objects.create(path="/api/public/", access="authenticated")
            policies_changed()  # the commit's announcement, while the cache refuses
            assert any("could not announce" in r.getMessage() for r in caplog.records)
            time.sleep(0.2)  # polls keep failing: nothing written, nothing lost either
            assert real_cache.get(VERSION_KEY) == before
        # The cache answers again: the poller writes the announcement it owes.
        assert eventually(lambda: version() != before)
        assert eventually(lambda: public_access(other) is Access.AUTHENTICATED)
        assert other.match("GET", "/api/public/").value.name == f"policy #{row.pk}"


@pytest.mark.usefixtures("reload_on_requests")
def test_unannounced_change_is_caught_by_the_resync_fingerprint():
    """A process that died between commit and announcement, a cache restored from an old dump:
    the version key says nothing changed; the table says otherwise."""
    row = ResourcePolicy.objects.create(path="/api/public/", access="anonymous")
    with authstatus_settings(POLL_INTERVAL=3600, RESYNC_INTERVAL=0.2):
        other = other_process()
        assert public_access(other) is Access.ANONYMOUS
        ResourcePolicy.objects.filter(pk=row.pk).update(access="nobody")  # no signal
        assert public_access(other) is Access.ANONYMOUS  # within RESYNC_INTERVAL
        time.sleep(0.25)
        assert public_access(other) is Access.NOBODY


@pytest.mark.usefixtures("reload_on_requests")
@pytest.mark.parametrize(
    "sql",
    [
        # Neither bumps ``updated``: a restore, or hand-written SQL.
        f"UPDATE {POLICY_TABLE} SET access = 'nobody'",
        f"UPDATE {POLICY_TABLE} SET required_scopes = 'write', access = 'authenticated'",
        f"DELETE FROM {POLICY_TABLE}",
    ],
)
def test_raw_sql_that_keeps_updated_is_caught_by_the_resync(sql):
    ResourcePolicy.objects.create(path="/api/public/", access="anonymous")
    with authstatus_settings(POLL_INTERVAL=3600, RESYNC_INTERVAL=0.2):
        other = other_process()
        before = other.match("GET", "/api/public/").value
        assert before.access is Access.ANONYMOUS
        updated = list(ResourcePolicy.objects.values_list("updated", flat=True))
        with connection.cursor() as cursor:
            cursor.execute(sql)
        assert list(ResourcePolicy.objects.values_list("updated", flat=True)) in ([], updated)
        time.sleep(0.25)
        assert other.match("GET", "/api/public/").value != before


@pytest.mark.usefixtures("reload_on_requests")
def test_resync_of_an_unchanged_table_costs_one_query_and_no_reload(client):
    with authstatus_settings(POLL_INTERVAL=3600, RESYNC_INTERVAL=0.2):
        assert client.get("/api/public/").status_code == 200
        loaded = registry.matcher()
        time.sleep(0.25)
        with statements() as found:
            assert client.get("/api/public/").status_code == 200
        assert [POLICY_TABLE in sql for sql in found] == [True]  # the fingerprint
        assert registry.matcher() is loaded  # nothing recompiled
        with statements() as found:
            assert client.get("/api/public/").status_code == 200
        assert found == []


# --- §3 a stalled cache never stalls a request ------------------------------------------


@contextmanager
def stalled_redis():
    """CACHES whose Redis server accepts connections and never answers (the kernel completes
    the handshake in the listen backlog), like one frozen with SIGSTOP; reads time out after
    3 s."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(64)
        port = listener.getsockname()[1]
        yield {
            "default": {
                "BACKEND": "django.core.cache.backends.redis.RedisCache",
                "LOCATION": f"redis://127.0.0.1:{port}/0",
                "OPTIONS": {"socket_timeout": 3, "socket_connect_timeout": 3},
            }
        }


def test_stalled_cache_never_stalls_a_request(client, caplog):
    ResourcePolicy.objects.create(path="/api/public/", access="authenticated")
    with authstatus_settings(POLL_INTERVAL=0.05):
        assert client.get("/api/public/").status_code == 401
        caplog.set_level(logging.ERROR, logger="authstatus")
        with stalled_redis() as stalled, override_settings(CACHES=stalled):
            started = time.monotonic()
            slowest = 0.0
            for _ in range(40):
                t0 = time.monotonic()
                assert client.get("/api/public/").status_code == 401
                assert client.get("/api/profile/").status_code == 401
                slowest = max(slowest, time.monotonic() - t0)
                time.sleep(0.02)
            elapsed = time.monotonic() - started
    # 40 rounds of two requests across well over one POLL_INTERVAL, none waiting on the
    # 3-second socket timeout of the poll (the old code's first poll blocked the request).
    assert slowest < 1.0, slowest
    assert elapsed < 3.0, elapsed


def test_announcing_through_a_stalled_cache_is_bounded_by_its_socket_timeout():
    with stalled_redis() as stalled, override_settings(CACHES=stalled):
        started = time.monotonic()
        policies_changed()
        assert time.monotonic() - started < 5


# --- failed loads ------------------------------------------------------------------------


def test_fresh_process_without_a_database_refuses_without_retrying_every_request(client, caplog):
    caplog.set_level(logging.DEBUG, logger="authstatus")
    rename_policy_table()
    registry.reset()
    with statements() as found:
        for _ in range(20):
            assert client.get("/api/public/").status_code == 503
    # One attempt (then at most one per POLL_INTERVAL), one line with its traceback.
    assert sum(POLICY_TABLE in sql for sql in found) <= 2
    lines = [r for r in caplog.records if r.name == "authstatus"]
    assert len(lines) == 1
    assert "failed to load" in lines[0].getMessage()


def test_failed_load_does_not_abort_the_requests_transaction(client, monkeypatch):
    """With ``ATOMIC_REQUESTS`` every request runs in a transaction; on PostgreSQL a failed
    statement aborts it, and every later query of the request fails (500). The load runs in a
    savepoint, so the request goes on with the last good policies."""
    monkeypatch.setitem(connection.settings_dict, "ATOMIC_REQUESTS", True)
    token = AccessTokenFactory(user=UserFactory(username="alice"), scope="read")
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token.token}")
    assert client.get("/api/notes/").status_code == 200
    rename_policy_table()
    registry.invalidate()  # the next request reloads, and the load fails
    response = client.get("/api/notes/")  # policy load, then the view's own queries
    assert response.status_code == 200, response.content
    assert response.json() == []
    with connection.cursor() as cursor:  # and the test's transaction is usable too
        cursor.execute("SELECT 1")
        assert cursor.fetchone() == (1,)
