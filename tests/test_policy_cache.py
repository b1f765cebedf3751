"""Policy resolution costs no query in steady state; changes reload once; failures of the
cache or the database keep the last good policies, and a process without any refuses (503).

The cache is the test settings' ``default`` (LocMem, or a real Redis server when
``AUTHSTATUS_TEST_CACHE=redis``): the same one ``authstatus.policies`` reads the version from.
"""

from __future__ import annotations

import contextlib
import json
import logging
import time
import uuid

import pytest
from django.conf import settings
from django.core.cache import caches
from django.db import connection
from django.test import override_settings
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from authstatus.conf import app_settings
from authstatus.core.challenges import parse_challenges
from authstatus.core.decision import Access
from authstatus.models import ResourcePolicy
from authstatus.policies.propagation import (
    VERSION_KEY,
    PolicyRegistry,
    database_rules,
    registry,
    settings_rules,
)
from tests.factories import AccessTokenFactory, UserFactory
from tests.http import COOKIE, DRF_CHALLENGES

pytestmark = pytest.mark.django_db

MIDDLEWARE_CHALLENGES = (COOKIE,)

# A Redis server nobody listens for: port 1 on loopback refuses connections at once.
BROKEN_CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": "redis://127.0.0.1:1/0",
    }
}
POLICY_TABLE = ResourcePolicy._meta.db_table


def authstatus_settings(**overrides):
    return override_settings(AUTHSTATUS={**settings.AUTHSTATUS, **overrides})


def bump_version():
    """What another process's policies_changed() does: write a new version."""
    caches[app_settings.CACHE_ALIAS].set(VERSION_KEY, uuid.uuid4().hex, None)


# Inside a transaction (here: the test's) the load runs in a savepoint, so that a failure
# cannot abort the transaction; those statements are not the load's queries.
SAVEPOINT_SQL = ("SAVEPOINT", "RELEASE SAVEPOINT", "ROLLBACK TO SAVEPOINT")


@contextlib.contextmanager
def statements():
    """The SQL statements run in the block, savepoint bookkeeping left out."""
    found: list[str] = []
    with CaptureQueriesContext(connection) as captured:
        yield found
    found += [q["sql"] for q in captured.captured_queries if not q["sql"].startswith(SAVEPOINT_SQL)]


def loads_policies(found):
    """Whether the statements are exactly one read of the policy table."""
    return [POLICY_TABLE in sql for sql in found] == [True]


def assert_last_good(client, *, public_status):
    """The policies in force before the failure: /api/public/ as given, the rest as in the
    settings. Never a 2xx on a protected route."""
    response = client.get("/api/public/")
    assert response.status_code == public_status
    if public_status == 401:
        assert parse_challenges(response["WWW-Authenticate"]) == DRF_CHALLENGES
    response = client.get("/api/profile/")
    assert response.status_code == 401
    assert parse_challenges(response["WWW-Authenticate"]) == DRF_CHALLENGES
    response = client.get("/api/closed/")
    assert response.status_code == 403
    assert not response.has_header("WWW-Authenticate")
    response = client.get("/members/")
    assert response.status_code == 401
    assert parse_challenges(response["WWW-Authenticate"]) == MIDDLEWARE_CHALLENGES


def rename_policy_table():
    """Make the policy table unreadable for real (rolled back with the test transaction)."""
    with connection.cursor() as cursor:
        cursor.execute(f"ALTER TABLE {POLICY_TABLE} RENAME TO x_backup")


# --- steady state ------------------------------------------------------------------------


def test_anonymous_requests_cost_no_query_in_steady_state(client, django_assert_num_queries):
    client.get("/api/public/")  # warm-up
    with django_assert_num_queries(0):
        assert client.get("/api/public/").status_code == 200
    with django_assert_num_queries(0):
        assert client.get("/api/profile/").status_code == 401
    with django_assert_num_queries(0):
        assert client.get("/api/closed/").status_code == 403
    with django_assert_num_queries(0):
        assert client.get("/members/").status_code == 401


def test_bearer_request_costs_exactly_the_token_query(client, django_assert_num_queries):
    token = AccessTokenFactory(user=UserFactory(username="alice"), scope="read")
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token.token}")
    client.get("/api/profile/")  # warm-up
    with django_assert_num_queries(1) as captured:
        response = client.get("/api/profile/")
    assert response.status_code == 200
    assert response.json()["username"] == "alice"
    assert POLICY_TABLE not in captured.captured_queries[0]["sql"]


def test_saving_a_policy_costs_exactly_one_reload(client, django_assert_num_queries):
    client.get("/api/public/")
    row = ResourcePolicy.objects.create(path="/api/public/", access="authenticated")
    with statements() as captured:
        assert client.get("/api/public/").status_code == 401
    assert loads_policies(captured)
    with django_assert_num_queries(0):
        assert client.get("/api/public/").status_code == 401
    with django_assert_num_queries(0):
        assert client.get("/api/profile/").status_code == 401

    row.delete()
    with statements() as captured:
        assert client.get("/api/public/").status_code == 200
    assert loads_policies(captured)
    with django_assert_num_queries(0):
        assert client.get("/api/public/").status_code == 200


# --- POLL_INTERVAL and the version key ---------------------------------------------------


@pytest.fixture
def silently_changed_row(client):
    """A database row loaded by a process started after it was committed, then a change to it
    that sends no signal (like one made by another process): the caller decides whether the
    version key announces it. (Saved through the ORM inside the test's transaction, which
    never commits, the row's announcement would stay pending and every load provisional.)"""
    (row,) = ResourcePolicy.objects.bulk_create(
        [ResourcePolicy(path="/api/public/", access="anonymous")]
    )
    registry.reset()

    def change():
        ResourcePolicy.objects.filter(pk=row.pk).update(access="authenticated")

    return change


def test_no_reload_before_the_poll_interval(
    client, silently_changed_row, django_assert_num_queries
):
    with authstatus_settings(POLL_INTERVAL=3600):
        assert client.get("/api/public/").status_code == 200  # loads
        silently_changed_row()
        bump_version()
        with django_assert_num_queries(0):
            assert client.get("/api/public/").status_code == 200  # old policies, no check yet
        time.sleep(0.1)
        with django_assert_num_queries(0):
            assert client.get("/api/public/").status_code == 200


@pytest.mark.usefixtures("reload_on_requests")
def test_reload_after_the_poll_interval_when_the_version_changed(
    client, silently_changed_row, django_assert_num_queries
):
    with authstatus_settings(POLL_INTERVAL=0.05):
        assert client.get("/api/public/").status_code == 200
        silently_changed_row()
        bump_version()
        # The poller thread reads the version every 0.05 s; on a loaded machine it may take
        # longer to be scheduled. Every request until then answers with the old policies.
        deadline = time.monotonic() + 5
        while True:
            with statements() as captured:
                response = client.get("/api/public/")
            if response.status_code != 200 or time.monotonic() > deadline:
                break
            assert captured == []
            time.sleep(0.05)
        assert response.status_code == 401
        assert parse_challenges(response["WWW-Authenticate"]) == DRF_CHALLENGES
        assert loads_policies(captured)
        # Whether or not the interval passed again, the version is unchanged: no reload.
        time.sleep(0.1)
        with django_assert_num_queries(0):
            assert client.get("/api/public/").status_code == 401


def test_polling_an_unchanged_version_costs_no_query_and_no_reload(
    client, silently_changed_row, django_assert_num_queries
):
    with authstatus_settings(POLL_INTERVAL=0.05):
        assert client.get("/api/public/").status_code == 200
        silently_changed_row()  # not announced
        for _ in range(3):
            time.sleep(0.1)
            with django_assert_num_queries(0):
                assert client.get("/api/public/").status_code == 200


@pytest.mark.usefixtures("reload_on_requests")
def test_saved_policy_is_announced_to_other_processes_after_commit(
    django_capture_on_commit_callbacks,
):
    """A second registry stands for another process: it learns of the change only through
    the version key, which is written when the saving transaction commits."""
    cache = caches[app_settings.CACHE_ALIAS]
    with authstatus_settings(POLL_INTERVAL=0.05):
        other = PolicyRegistry([settings_rules, database_rules])
        assert other.match("GET", "/api/public/").value.access is Access.ANONYMOUS
        before = cache.get(VERSION_KEY)
        with django_capture_on_commit_callbacks(execute=False) as callbacks:
            ResourcePolicy.objects.create(path="/api/public/", access="authenticated")
        assert len(callbacks) == 1
        assert cache.get(VERSION_KEY) == before  # not announced before the commit
        time.sleep(0.1)
        assert other.match("GET", "/api/public/").value.access is Access.ANONYMOUS

        callbacks[0]()  # the commit
        assert cache.get(VERSION_KEY) != before
        time.sleep(0.1)
        rule = other.match("GET", "/api/public/")
        assert rule.value.access is Access.AUTHENTICATED
        assert rule.value.source == "database"


def test_other_processes_wait_for_their_poll_interval(django_capture_on_commit_callbacks):
    with authstatus_settings(POLL_INTERVAL=3600):
        other = PolicyRegistry([settings_rules, database_rules])
        assert other.match("GET", "/api/public/").value.access is Access.ANONYMOUS
        with django_capture_on_commit_callbacks(execute=True):
            ResourcePolicy.objects.create(path="/api/public/", access="authenticated")
        assert other.match("GET", "/api/public/").value.access is Access.ANONYMOUS
        # ... while the saving process itself enforces the change at once:
        assert registry.match("GET", "/api/public/").value.access is Access.AUTHENTICATED


# --- cache unavailable -------------------------------------------------------------------


def test_cache_unavailable_keeps_the_last_good_policies(client, caplog):
    ResourcePolicy.objects.create(path="/api/public/", access="authenticated")
    with authstatus_settings(POLL_INTERVAL=0):  # consult the cache on every request
        assert_last_good(client, public_status=401)
        caplog.set_level(logging.ERROR, logger="authstatus")
        with override_settings(CACHES=BROKEN_CACHES):
            for _ in range(2):
                registry.poll()  # what the poller thread does every POLL_INTERVAL
                assert_last_good(client, public_status=401)
        assert any("cache unavailable" in r.getMessage() for r in caplog.records)
        assert_last_good(client, public_status=401)  # and after it came back


def test_cache_unavailable_from_the_start_loads_from_the_database(client, caplog):
    ResourcePolicy.objects.create(path="/api/public/", access="authenticated")
    caplog.set_level(logging.ERROR, logger="authstatus")
    with override_settings(CACHES=BROKEN_CACHES):
        registry.reset()  # a process starting while the cache is down
        assert_last_good(client, public_status=401)
    assert any("cache unavailable" in r.getMessage() for r in caplog.records)


def test_cache_unavailable_a_change_saved_in_this_process_is_enforced_by_it(
    client, caplog, django_capture_on_commit_callbacks
):
    """The cache only carries changes to *other* processes; the saving one knows."""
    with authstatus_settings(POLL_INTERVAL=0):
        assert_last_good(client, public_status=200)
        caplog.set_level(logging.ERROR, logger="authstatus")
        with override_settings(CACHES=BROKEN_CACHES):
            with django_capture_on_commit_callbacks(execute=True):
                row = ResourcePolicy.objects.create(path="/api/public/", access="authenticated")
            assert any("could not announce" in r.getMessage() for r in caplog.records)
            assert_last_good(client, public_status=401)
            row.delete()
            assert_last_good(client, public_status=200)


# --- database unavailable ----------------------------------------------------------------


def test_database_unavailable_keeps_the_last_good_policies(client, caplog):
    ResourcePolicy.objects.create(path="/api/public/", access="authenticated")
    with authstatus_settings(POLL_INTERVAL=0):
        assert_last_good(client, public_status=401)  # the database row is in force

        caplog.set_level(logging.ERROR, logger="authstatus")
        rename_policy_table()
        bump_version()  # some process announced a change: reload, which fails
        for _ in range(2):
            registry.poll()
            assert_last_good(client, public_status=401)
        failures = [r for r in caplog.records if "failed to load" in r.getMessage()]
        assert failures
        assert all(r.levelno == logging.ERROR for r in failures)


def assert_unavailable(response):
    assert response.status_code == 503
    assert int(response["Retry-After"]) > 0
    assert response["Content-Type"].split(";")[0] == "application/problem+json"
    body = json.loads(response.content)
    assert body["type"].endswith("policies-unavailable")
    assert body["status"] == 503
    assert not response.has_header("WWW-Authenticate")


@pytest.mark.parametrize("path", ["/api/profile/", "/members/", "/api/public/", "/api/closed/"])
def test_database_unavailable_without_any_policies_refuses_with_503(client, caplog, path):
    caplog.set_level(logging.ERROR, logger="authstatus")
    rename_policy_table()
    registry.reset()  # a process that never loaded any policies
    for _ in range(2):  # and keeps refusing while the table is gone
        assert_unavailable(client.get(path))
    assert any("failed to load" in r.getMessage() for r in caplog.records)


def test_database_unavailable_without_policies_refuses_browsers_too(caplog):
    caplog.set_level(logging.ERROR, logger="authstatus")
    rename_policy_table()
    registry.reset()
    client = APIClient()
    assert_unavailable(client.get("/members/", HTTP_ACCEPT="text/html"))
    assert_unavailable(client.post("/api/notes/", {"text": "x"}, format="json"))


@pytest.mark.usefixtures("reload_on_requests")
def test_a_rolled_back_change_is_not_enforced_past_the_poll_interval(client, db):
    """Loaded inside the transaction that saved it, a change is provisional: when that
    transaction rolls back, the next poll drops it (Django has no rollback hook)."""
    from django.db import transaction

    from authstatus.policies.propagation import registry

    assert client.get("/api/public/").status_code == 200
    with authstatus_settings(POLL_INTERVAL=0.05):
        try:
            with transaction.atomic():
                ResourcePolicy.objects.create(path="/api/public/", access="authenticated")
                registry.matcher()  # this process reloads inside the transaction
                assert client.get("/api/public/").status_code == 401
                raise RuntimeError("roll back")
        except RuntimeError:
            pass
        time.sleep(0.1)
        assert client.get("/api/public/").status_code == 200
