"""The prepared token lookup builds the instances Django's ``select_related`` queryset builds.

:mod:`authstatus.contrib.oauth2_provider.tokenloader` compiles the queryset once and runs it
through Django's cursor, building the instances with ``Model.from_db`` and Django's related
populators. These tests compare its instances with the queryset's, attribute by attribute,
and check that what observes or guards a query through Django's cursor (execute wrappers,
query logging, a broken ``atomic`` block, an event loop, the error translation) sees it.
"""

from __future__ import annotations

import hashlib
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.db.models.signals import post_init, pre_init
from django.test import override_settings
from oauth2_provider.models import AccessToken

from authstatus.contrib.oauth2_provider import tokenloader
from authstatus.contrib.oauth2_provider.authtime import RELATED_NAME, TokenAuthentication
from tests.factories import AccessTokenFactory

RELATED = ("user", "application", RELATED_NAME)


def _checksum(token: Any) -> str:
    return hashlib.sha256(token.token.encode()).hexdigest()


def _expected(token: Any) -> Any:
    return AccessToken.objects.select_related(*RELATED).get(pk=token.pk)


def _fields(obj: Any) -> dict[str, Any]:
    """The instance's attributes, with their types (``True == 1``, naive vs aware)."""
    return {k: (v, type(v)) for k, v in vars(obj).items() if k != "_state"}


def _state(obj: Any) -> tuple[Any, ...]:
    state = obj._state
    return (state.adding, state.db, sorted(state.fields_cache))


def _same(loaded: Any, expected: Any) -> None:
    assert type(loaded) is type(expected)
    assert _fields(loaded) == _fields(expected)
    assert _state(loaded) == _state(expected)


@pytest.mark.parametrize("kind", ["user and application", "no user", "no application"])
def test_instances_are_those_of_the_queryset(alice, kind, django_assert_num_queries):
    kwargs: dict[str, object] = {"user": alice}
    kwargs.update(
        {"no user": {"user": None}, "no application": {"application": None}}.get(kind, {})
    )
    token = AccessTokenFactory(resource=["http://testserver/"], **kwargs)
    loader = tokenloader._loader(AccessToken, "default")
    assert loader is not None
    with django_assert_num_queries(1):
        loaded = tokenloader.load(AccessToken, _checksum(token))
    expected = _expected(token)
    _same(loaded, expected)
    for name in ("user", "application"):
        if getattr(expected, name) is None:
            assert getattr(loaded, name) is None
        else:
            _same(getattr(loaded, name), getattr(expected, name))
    assert loaded.expires.tzinfo is not None
    # The related objects point back where Django's setters point them, without a query.
    with django_assert_num_queries(0):
        if loaded.application is not None:
            assert loaded.application.pk == token.application_id


def test_the_authentication_row_is_loaded_as_the_queryset_loads_it(
    alice, django_assert_num_queries
):
    from django.utils import timezone

    token = AccessTokenFactory(user=alice)
    TokenAuthentication.objects.update_or_create(
        access_token=token, defaults={"auth_time": timezone.now(), "acr": "mfa"}
    )
    with django_assert_num_queries(1):
        loaded = tokenloader.load(AccessToken, _checksum(token))
        row = getattr(loaded, RELATED_NAME)
    _same(row, getattr(_expected(token), RELATED_NAME))
    assert row.access_token is loaded  # the reverse one-to-one points back, as Django's


def test_naive_datetimes_without_time_zone_support(alice):
    token = AccessTokenFactory(user=alice)
    with override_settings(USE_TZ=False):
        loaded = tokenloader.load(AccessToken, _checksum(token))
        expected = _expected(token)
    assert loaded.expires.tzinfo is None
    _same(loaded, expected)
    _same(loaded.user, expected.user)


@pytest.mark.parametrize(("signal", "model"), [(post_init, User), (pre_init, AccessToken)])
def test_init_receivers_fire_as_for_the_queryset(alice, signal, model):
    """``from_db`` builds the instances: a receiver for one of the models fires, as it does
    for the queryset, with the same result."""
    token = AccessTokenFactory(user=alice)
    seen: list[Any] = []

    def receiver(sender: Any, **kwargs: Any) -> None:
        seen.append(sender)

    signal.connect(receiver, sender=model)
    try:
        loaded = tokenloader.load(AccessToken, _checksum(token))
    finally:
        signal.disconnect(receiver, sender=model)
    assert seen == [model]
    _same(loaded, _expected(token))
    _same(loaded.user, _expected(token).user)


def test_token_authentication_reads_the_joined_row_without_a_query(
    alice, django_assert_num_queries
):
    from django.utils import timezone

    from authstatus.contrib.oauth2_provider.authtime import token_authentication

    with_row, without_row = AccessTokenFactory(user=alice), AccessTokenFactory(user=alice)
    when = timezone.now()
    TokenAuthentication.objects.update_or_create(
        access_token=with_row, defaults={"auth_time": when, "acr": "mfa"}
    )
    TokenAuthentication.objects.filter(access_token=without_row).delete()
    loaded = [tokenloader.load(AccessToken, _checksum(t)) for t in (with_row, without_row)]
    with django_assert_num_queries(0):
        assert token_authentication(loaded[0]) == (when.timestamp(), "mfa")
        assert token_authentication(loaded[1]) == (None, None)
    # A token loaded without the join: the relation is queried, as before.
    plain = AccessToken.objects.get(pk=without_row.pk)
    with django_assert_num_queries(1):
        assert token_authentication(plain) == (None, None)


# --- through Django's cursor -----------------------------------------------------------------


def test_an_execute_wrapper_sees_the_lookup(alice):
    """django-debug-toolbar and other execute wrappers see the statement, once."""
    from django.db import connection

    token = AccessTokenFactory(user=alice)
    loader = tokenloader._loader(AccessToken, "default")
    assert loader is not None
    seen: list[tuple[str, Any]] = []

    def wrapper(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        seen.append((sql, params))
        return execute(sql, params, many, context)

    with connection.execute_wrapper(wrapper):
        loaded = tokenloader.load(AccessToken, _checksum(token))
    assert loaded == token
    assert len(seen) == 1
    assert seen[0][0] == loader.sql
    values = seen[0][1].values() if isinstance(seen[0][1], dict) else seen[0][1]
    assert _checksum(token) in list(values)


def test_debug_query_logging_sees_the_lookup(alice):
    from django.db import connection, reset_queries

    token = AccessTokenFactory(user=alice)
    with override_settings(DEBUG=True):
        reset_queries()
        assert tokenloader.load(AccessToken, _checksum(token)) == token
        logged = [q["sql"] for q in connection.queries]
    assert len(logged) == 1
    assert "token_checksum" in logged[0]


def _on_djangos_cursor() -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")


def test_a_broken_transaction_is_refused_as_djangos_cursor_refuses_it(alice, monkeypatch):
    from django.db import transaction
    from django.db.transaction import TransactionManagementError

    token = AccessTokenFactory(user=alice)
    tokenloader.load(AccessToken, _checksum(token))  # prepared
    with transaction.atomic():
        transaction.set_rollback(True)
        with pytest.raises(TransactionManagementError) as ours:
            tokenloader.load(AccessToken, _checksum(token))
        with pytest.raises(TransactionManagementError) as djangos:
            _on_djangos_cursor()
    assert str(ours.value) == str(djangos.value)


def _loaded_without_a_joined_table(monkeypatch: Any, token: Any) -> Any:
    from django.db import connection, transaction

    with transaction.atomic():  # rolled back by the error: the table is back after it
        with connection.cursor() as cursor:
            table = connection.ops.quote_name(TokenAuthentication._meta.db_table)
            cursor.execute(f"DROP TABLE {table}")
        return tokenloader.load(AccessToken, _checksum(token))


def test_a_driver_error_is_raised_as_djangos(alice, monkeypatch):
    """A table of the join gone: the driver's error, translated by Django's wrapper
    (``django.db.utils``), as the queryset raises it."""
    from django.db import DatabaseError

    token = AccessTokenFactory(user=alice)
    tokenloader.load(AccessToken, _checksum(token))
    with pytest.raises(DatabaseError) as info:
        _loaded_without_a_joined_table(monkeypatch, token)
    assert type(info.value).__module__ == "django.db.utils"
    assert info.value.__cause__ is not None
    assert tokenloader.load(AccessToken, _checksum(token)) == token


def test_the_lookup_is_refused_on_an_event_loop(alice):
    """As Django refuses a query there (``SynchronousOnlyOperation``)."""
    import asyncio

    from django.core.exceptions import SynchronousOnlyOperation

    token = AccessTokenFactory(user=alice)
    tokenloader.load(AccessToken, _checksum(token))

    async def on_the_loop() -> Any:
        return tokenloader.load(AccessToken, _checksum(token))

    with pytest.raises(SynchronousOnlyOperation):
        asyncio.run(on_the_loop())
