"""The optional cache of valid bearer tokens (``BEARER_CACHE_SECONDS``): what it saves, what
it costs (revocation latency), and what it never does (outlive expiry, cache invalid tokens,
store the token itself)."""

from __future__ import annotations

import contextlib
import hashlib
import pickle
from datetime import timedelta
from unittest import mock

import pytest
from django.conf import settings
from django.core.cache import caches
from django.test import override_settings
from django.utils import timezone

from authstatus.contrib.oauth2_provider import tokencache
from authstatus.policies.propagation import registry
from tests.factories import AccessTokenFactory, UserFactory

ALIAS = "bearer-tests"
PATH = "/t/drf/semantics/authstatus/"  # BearerAuthentication + PolicyPermission, authenticated
SECONDS = 30


@contextlib.contextmanager
def _with_cache(seconds: float = SECONDS, **extra):
    caches_setting = {
        **settings.CACHES,
        ALIAS: {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": ALIAS},
    }
    changes = {"BEARER_CACHE_SECONDS": seconds, "BEARER_CACHE_ALIAS": ALIAS, **extra}
    with override_settings(CACHES=caches_setting, AUTHSTATUS={**settings.AUTHSTATUS, **changes}):
        registry.matcher()  # the settings change dropped the policies: reload them now
        yield


@pytest.fixture
def token_cache():
    with _with_cache():
        caches[ALIAS].clear()
        yield caches[ALIAS]
        caches[ALIAS].clear()


def _get(client, token: str):
    return client.get(PATH, HTTP_AUTHORIZATION=f"Bearer {token}")


def _later(seconds: float):
    """Move the clock that DOT's expiry and the cache's deadline read."""
    now = timezone.now() + timedelta(seconds=seconds)
    return mock.patch("django.utils.timezone.now", return_value=now)


def _checksum(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def test_off_by_default_every_request_costs_its_query(client, token, django_assert_num_queries):
    assert settings.AUTHSTATUS.get("BEARER_CACHE_SECONDS", 0) == 0
    for _ in range(2):
        with django_assert_num_queries(1):
            assert _get(client, token.token).status_code == 200


def test_a_hit_costs_no_query_and_gives_the_same_user(
    client, token, token_cache, django_assert_num_queries
):
    with django_assert_num_queries(1):
        first = _get(client, token.token)
    with django_assert_num_queries(0):
        second = _get(client, token.token)
    assert first.status_code == second.status_code == 200
    assert first.json() == second.json()
    assert second.json() == {"user": "alice"}


def test_hit_rebuilds_user_and_access_token(rf, token, token_cache):
    from rest_framework.request import Request

    from authstatus.contrib.rest_framework import BearerAuthentication

    def authenticate():
        request = rf.get(PATH, HTTP_AUTHORIZATION=f"Bearer {token.token}")
        return BearerAuthentication().authenticate(Request(request))

    fresh_user, fresh_auth = authenticate()
    cached_user, cached_auth = authenticate()
    assert cached_user == fresh_user == token.user
    assert cached_auth == fresh_auth == token
    assert cached_auth is not fresh_auth
    assert cached_auth.token == token.token  # given back from the request, not the cache
    assert cached_auth.application == token.application
    assert cached_auth.scope == token.scope


def test_revoked_token_accepted_within_the_window_refused_after(
    client, token, token_cache, django_assert_num_queries
):
    """The documented revocation latency: up to BEARER_CACHE_SECONDS."""
    assert _get(client, token.token).status_code == 200
    token.revoke()
    with django_assert_num_queries(0):
        assert _get(client, token.token).status_code == 200  # still cached
    with _later(SECONDS - 1), django_assert_num_queries(0):
        assert _get(client, token.token).status_code == 200
    with _later(SECONDS), django_assert_num_queries(1):
        response = _get(client, token.token)
    assert response.status_code == 401
    assert 'error="invalid_token"' in response["WWW-Authenticate"]


def test_expired_token_is_never_accepted(client, alice, token_cache, django_assert_num_queries):
    token = AccessTokenFactory(user=alice, expires=timezone.now() + timedelta(seconds=10))
    assert _get(client, token.token).status_code == 200
    with _later(9), django_assert_num_queries(0):
        assert _get(client, token.token).status_code == 200
    with _later(10):
        response = _get(client, token.token)
    assert response.status_code == 401
    assert response.json()["resolution"] == "refresh_token"  # expired, not unknown


def test_a_cached_entry_past_the_tokens_expiry_is_refused_without_a_query(
    client, token, token_cache, django_assert_num_queries
):
    """Expiry is checked on every hit, whatever the entry's own deadline says."""
    assert _get(client, token.token).status_code == 200
    key = tokencache.KEY_PREFIX + _checksum(token.token)
    stored_at, snapshot, had_token = token_cache.get(key)
    snapshot.expires = timezone.now() - timedelta(seconds=1)
    token_cache.set(key, (stored_at, snapshot, had_token))
    with django_assert_num_queries(0):
        response = _get(client, token.token)
    assert response.status_code == 401
    assert response.json()["resolution"] == "refresh_token"  # expired, not unknown


@pytest.mark.parametrize("kind", ["unknown", "expired", "inactive user", "revoked"])
def test_invalid_tokens_are_never_cached(
    client, alice, token_cache, django_assert_num_queries, kind
):
    if kind == "unknown":
        value = "never-issued"
    elif kind == "expired":
        value = AccessTokenFactory(user=alice, expired=True).token
    elif kind == "inactive user":
        value = AccessTokenFactory(user=UserFactory(is_active=False)).token
    else:
        revoked = AccessTokenFactory(user=alice)
        revoked.revoke()
        value = revoked.token
    for _ in range(2):
        with django_assert_num_queries(1):
            assert _get(client, value).status_code == 401
    assert token_cache.get(tokencache.KEY_PREFIX + _checksum(value)) is None


def test_keyed_by_checksum_and_never_holds_the_token(client, token, token_cache):
    assert _get(client, token.token).status_code == 200
    assert token_cache.get(tokencache.KEY_PREFIX + token.token) is None
    entry = token_cache.get(tokencache.KEY_PREFIX + _checksum(token.token))
    assert entry is not None
    assert token.token.encode() not in pickle.dumps(entry)


def test_entry_never_outlives_the_setting_even_if_it_shrinks(
    client, token, django_assert_num_queries
):
    with _with_cache(seconds=SECONDS):
        caches[ALIAS].clear()
        assert _get(client, token.token).status_code == 200
    with _with_cache(seconds=5):
        with _later(4), django_assert_num_queries(0):
            assert _get(client, token.token).status_code == 200
        with _later(6), django_assert_num_queries(1):
            assert _get(client, token.token).status_code == 200


def test_a_broken_cache_falls_back_to_the_database(
    client, token, token_cache, django_assert_num_queries, caplog
):
    with (
        mock.patch.object(type(token_cache), "get", side_effect=ConnectionError("down")),
        mock.patch.object(type(token_cache), "set", side_effect=ConnectionError("down")),
    ):
        for _ in range(2):
            with django_assert_num_queries(1):
                assert _get(client, token.token).status_code == 200
    assert "bearer token cache unavailable" in caplog.text


def test_deactivated_user_is_refused_after_the_window(
    client, alice, token, token_cache, django_assert_num_queries
):
    """Every change to the token's user waits for the entry to expire, like a revocation."""
    assert _get(client, token.token).status_code == 200
    alice.is_active = False
    alice.save(update_fields=["is_active"])
    with django_assert_num_queries(0):
        assert _get(client, token.token).status_code == 200
    with _later(SECONDS):
        response = _get(client, token.token)
    assert response.status_code == 401
    assert response.json()["resolution"] == "reauthenticate"
