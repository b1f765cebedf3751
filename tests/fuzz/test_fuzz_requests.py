"""Fuzz target: hostile requests against the demo and the test views, under the demo's
settings and with everything optional switched on. The invariants are in
:func:`tests.fuzz.requests.check`. ``make fuzz`` runs 100,000 examples per configuration."""

from __future__ import annotations

import time

import pytest
from django.conf import settings
from django.test import override_settings
from hypothesis import given
from rest_framework.test import APIClient

from tests.factories import AccessTokenFactory, UserFactory, VaultItemFactory
from tests.fuzz.requests import VALID_TOKEN, HostileRequest, check, hostile_requests, send

pytestmark = pytest.mark.django_db

EVERYTHING = {
    "MIDDLEWARE_AUTHENTICATORS": [
        "authstatus.enforcement.authenticators.SessionAuthenticator",
        "authstatus.contrib.oauth2_provider.BearerAuthenticator",
        "authstatus.enforcement.authenticators.BasicAuthenticator",
    ],
    "BEARER_METHODS": ["header", "body", "query"],
    "CONCEALED_CHALLENGE_PATHS": ["/api/**", "/t/conceal/**"],
    "OAUTH2_CHALLENGE": True,
    "REDIRECT_BROWSERS_TO_LOGIN": True,
}
CONFIGURATIONS = {"demo": {}, "everything on": EVERYTHING}


@pytest.fixture(params=list(CONFIGURATIONS))
def configuration(request):
    with override_settings(AUTHSTATUS={**settings.AUTHSTATUS, **CONFIGURATIONS[request.param]}):
        yield request.param


@pytest.fixture
def session(db):
    """The fuzz user (with an item, a valid token and a session); everything else sent is
    invalid."""
    user = UserFactory(username="fuzz")
    VaultItemFactory(owner=user)
    AccessTokenFactory(user=user, token=VALID_TOKEN, scope="read write")
    login = APIClient()
    login.force_login(user)
    return login.cookies[settings.SESSION_COOKIE_NAME].value


STATS: dict[str, list[float]] = {}


@pytest.fixture(autouse=True)
def _report(request, configuration):
    started = time.perf_counter()
    yield
    count = len(STATS.get(configuration, ()))
    reporter = request.config.pluginmanager.get_plugin("terminalreporter")
    capture = request.config.pluginmanager.get_plugin("capturemanager")
    if reporter is not None and capture is not None:
        with capture.global_and_fixture_disabled():
            reporter.write_line(
                f"\nfuzz [{configuration}]: {count} requests checked in "
                f"{time.perf_counter() - started:.0f} s"
            )
    STATS.pop(configuration, None)


@given(hostile=hostile_requests())
def test_hostile_requests(configuration, session, hostile: HostileRequest):
    response = send(APIClient(), hostile, session)
    check(hostile, response)
    STATS.setdefault(configuration, []).append(1)
