from __future__ import annotations

import pytest
from hypothesis import HealthCheck, settings
from rest_framework.test import APIClient

from tests.factories import AccessTokenFactory, GroupFactory, UserFactory

settings.register_profile(
    "default", deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
settings.load_profile("default")


@pytest.fixture
def client() -> APIClient:
    return APIClient()


@pytest.fixture
def alice(db):
    return UserFactory(username="alice")


@pytest.fixture
def staff_user(db):
    return UserFactory(username="staffer", groups=[GroupFactory(name="staff-api")])


@pytest.fixture
def token(alice):
    """A valid bearer token of alice's with scopes read and write."""
    return AccessTokenFactory(user=alice, scope="read write")


@pytest.fixture
def read_token(alice):
    return AccessTokenFactory(user=alice, scope="read")


@pytest.fixture
def expired_token(alice):
    return AccessTokenFactory(user=alice, expired=True)


@pytest.fixture
def bob(db):
    return UserFactory(username="bob")


@pytest.fixture
def denials():
    """Every ``access_denied`` signal sent while the test runs, as a list of kwargs dicts."""
    from authstatus.signals import access_denied

    received: list[dict] = []

    def receiver(sender, **kwargs):
        received.append({"sender": sender, **kwargs})

    access_denied.connect(receiver, weak=False, dispatch_uid="tests-denials")
    yield received
    access_denied.disconnect(dispatch_uid="tests-denials")


@pytest.fixture
def reload_on_requests(settings):
    """``RELOAD_IN_BACKGROUND`` off: the request that finds a reload or a resync due performs
    it. For tests that change policies inside the test's transaction as *another* process or
    raw SQL would (no on-commit announcement): the poller thread, with a connection of its
    own, cannot read that change, only the test's thread can."""
    settings.AUTHSTATUS = {**settings.AUTHSTATUS, "RELOAD_IN_BACKGROUND": False}


@pytest.fixture(autouse=True)
def _fresh_policies(request):
    """Each test starts with freshly compiled policies (its database is new) and, where it
    uses the database, with them already loaded: steady state, as in a warm process."""
    from authstatus.policies.propagation import registry

    registry.reset()
    if "db" in request.fixturenames or request.node.get_closest_marker("django_db"):
        request.getfixturevalue("db")
        registry.matcher()
    yield
    registry.reset()


@pytest.fixture(autouse=True)
def _lookup_thread_closed():
    """The token-lookup thread's connections are closed after each test that started it (a
    kept PostgreSQL connection would keep the test database from being dropped)."""
    yield
    from authstatus.tokens import lookup_thread

    lookup_thread.close()


@pytest.fixture(autouse=True)
def _default_language():
    """Each test starts in the default language: a request that ``LocaleMiddleware`` answered
    in Japanese leaves Japanese active in the thread (Django does not deactivate it after the
    response), and a later test reading an English message would fail in whatever order
    pytest-randomly chose."""
    yield
    from django.utils import translation

    translation.deactivate()


def pytest_collection_modifyitems(config, items):
    """Tests marked ``postgresql`` are deselected (not skipped) when the test database is
    another: they assert what only PostgreSQL shows, and run in ``.ci/run postgres``."""
    from django.db import connection

    if connection.vendor == "postgresql":
        return
    deselected = [item for item in items if item.get_closest_marker("postgresql")]
    if deselected:
        config.hook.pytest_deselected(items=deselected)
        items[:] = [item for item in items if not item.get_closest_marker("postgresql")]
