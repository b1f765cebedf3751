"""The prepared token lookup builds the instances ``from_db`` builds, or calls ``from_db``.

:mod:`authstatus.contrib.oauth2_provider.tokenloader` fills the instances' ``__dict__``
directly when that is provably what ``Model.from_db`` would do, and applies SQLite's datetime
and boolean converters in one pass. These tests compare its instances with the ones Django's
own ``select_related`` queryset builds, attribute by attribute, and check that anything that
could make ``from_db`` do more (a ``pre_init``/``post_init`` receiver, a model that overrides
construction or a field's descriptor) makes it use ``from_db``.
"""

from __future__ import annotations

import hashlib
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.db import models
from django.db.models.signals import post_init, pre_init
from django.test import override_settings
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
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
    assert loader.builders
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
def test_an_init_receiver_makes_the_lookup_call_from_db(alice, signal, model):
    """A receiver for one of the models: ``from_db`` runs (so the receiver fires), with the
    same result."""
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
    seen.clear()
    tokenloader.load(AccessToken, _checksum(token))
    assert seen == []  # disconnected: the direct construction again


def _attnames(model: Any) -> list[str]:
    return [f.attname for f in model._meta.concrete_fields]


def _custom_init(self: Any, *args: Any, **kwargs: Any) -> None:
    models.Model.__init__(self, *args, **kwargs)


def _custom_setattr(self: Any, name: str, value: Any) -> None:
    object.__setattr__(self, name, value)


@classmethod  # type: ignore[misc]
def _custom_from_db(cls: Any, *args: Any, **kwargs: Any) -> Any:
    return models.Model.from_db.__func__(cls, *args, **kwargs)  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("__init__", _custom_init),
        ("__setattr__", _custom_setattr),
        ("from_db", _custom_from_db),
        ("email", property(lambda self: "x")),  # a field's attribute that is not Django's
    ],
)
def test_models_that_customise_construction_get_from_db(monkeypatch, name, value):
    """Each is what a custom user model may do; then ``from_db`` builds the instance."""
    assert tokenloader._Builder.maybe(User, _attnames(User)) is not None
    monkeypatch.setattr(User, name, value)
    assert tokenloader._Builder.maybe(User, _attnames(User)) is None


def test_plain_models_and_deferred_columns():
    assert tokenloader._Builder.maybe(User, _attnames(User)) is not None
    assert tokenloader._Builder.maybe(AccessToken, _attnames(AccessToken)) is not None
    # Not every column loaded: from_db fills in DEFERRED itself.
    assert tokenloader._Builder.maybe(User, _attnames(User)[:-1]) is None


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


@given(
    value=st.datetimes(),
    zone=st.sampled_from(["UTC", "Europe/Berlin", "America/New_York", "Asia/Kathmandu"]),
)
@hypothesis_settings(max_examples=200, deadline=None)
def test_datetimes_are_converted_as_django_converts_them(value, zone):
    """Naive datetimes from SQLite get the connection's time zone as ``make_aware`` gives
    it (fold included); anything else is Django's converter's business."""
    from zoneinfo import ZoneInfo

    from django.db import connection

    loader = tokenloader.TokenLoader(AccessToken, "default")
    # Only SQLite's backend converters are applied in one pass (PostgreSQL has none here).
    assert bool(loader.datetimes) == (connection.vendor == "sqlite")
    if connection.vendor != "sqlite":
        assert not loader.booleans
        return
    tz = ZoneInfo(zone)
    values = [None] * loader.width
    for pos in loader.datetimes:
        values[pos] = value
    connection.__dict__["timezone"] = tz  # the cached_property Django computes from settings
    try:
        loader._convert(values, connection)
        expected = connection.ops.convert_datetimefield_value(value, None, connection)
    finally:
        del connection.__dict__["timezone"]
    for pos in loader.datetimes:
        got = values[pos]
        assert (got, got.fold, got.tzinfo, type(got)) == (
            expected,
            expected.fold,
            expected.tzinfo,
            type(expected),
        )


# --- the driver's cursor (TokenLoader._fetch) ----------------------------------------------


def _loaded_on_the_drivers_cursor(monkeypatch: Any, checksum: str) -> Any:
    """``load()`` for ``checksum`` with Django's ``connection.cursor()`` refused."""
    from django.db import connection

    def refused(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("the lookup used Django's cursor")

    with monkeypatch.context() as patch:
        patch.setattr(connection, "cursor", refused)
        return tokenloader.load(AccessToken, checksum)


@pytest.mark.parametrize("kind", ["user and application", "no user", "no application"])
def test_an_unobserved_lookup_runs_on_the_drivers_cursor(alice, kind, monkeypatch):
    """No execute wrapper, no query logging: the statement runs on the driver's cursor
    (SQLite, PostgreSQL) and builds the instances the queryset builds."""
    from django.db import connection
    from django.utils import timezone

    kwargs: dict[str, object] = {"user": alice}
    kwargs.update(
        {"no user": {"user": None}, "no application": {"application": None}}.get(kind, {})
    )
    token = AccessTokenFactory(resource=["http://testserver/"], **kwargs)
    TokenAuthentication.objects.update_or_create(
        access_token=token, defaults={"auth_time": timezone.now(), "acr": "mfa"}
    )
    loader = tokenloader._loader(AccessToken, "default")
    assert loader is not None
    assert loader.driver_cursor is not None
    if connection.vendor == "sqlite":
        assert ":p0" in loader.driver_sql
        assert "%(" not in loader.driver_sql
    else:
        assert loader.driver_sql == loader.sql
    assert not connection.queries_logged
    assert not connection.execute_wrappers
    loaded = _loaded_on_the_drivers_cursor(monkeypatch, _checksum(token))
    expected = _expected(token)
    _same(loaded, expected)
    for name in ("user", "application", RELATED_NAME):
        if getattr(expected, name) is None:
            assert getattr(loaded, name) is None
        else:
            _same(getattr(loaded, name), getattr(expected, name))
    assert _loaded_on_the_drivers_cursor(monkeypatch, "0" * 64) is None


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
            _loaded_on_the_drivers_cursor(monkeypatch, _checksum(token))
        with pytest.raises(TransactionManagementError) as djangos:
            _on_djangos_cursor()
    assert str(ours.value) == str(djangos.value)


def _loaded_without_a_joined_table(monkeypatch: Any, token: Any) -> Any:
    from django.db import connection, transaction

    with transaction.atomic():  # rolled back by the error: the table is back after it
        with connection.cursor() as cursor:
            table = connection.ops.quote_name(TokenAuthentication._meta.db_table)
            cursor.execute(f"DROP TABLE {table}")
        return _loaded_on_the_drivers_cursor(monkeypatch, _checksum(token))


def test_a_driver_error_is_raised_as_djangos(alice, monkeypatch):
    """A table of the join gone: the driver's error, translated by Django's wrapper
    (``django.db.utils``), as the queryset would raise it."""
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


def test_a_connection_without_what_the_drivers_path_uses_gets_djangos_cursor(alice, monkeypatch):
    """Should a Django release rename one of the connection methods the driver's-cursor
    path calls, the statement is prepared for Django's cursor only, and still loads."""
    token = AccessTokenFactory(user=alice)
    monkeypatch.setattr(tokenloader, "DRIVER_PATH", (*tokenloader.DRIVER_PATH, "renamed"))
    loader = tokenloader.TokenLoader(AccessToken, "default")
    assert loader.driver_cursor is None
    assert loader(_checksum(token)) == token
