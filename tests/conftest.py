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
