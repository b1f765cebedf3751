"""One suite, two stacks: authstatus's bearer path accepts and refuses what DOT's does.

Every case runs against

* ``stock``: django-oauth-toolkit's ``OAuth2Authentication`` with DRF's ``IsAuthenticated``
  (``TokenHasScope`` where a scope is needed), DRF's own exception handler;
* ``authstatus``: ``BearerAuthentication`` with ``PolicyPermission`` and an ``@access`` policy
  (``scopes="write"`` where a scope is needed),
* ``authstatus, token cache warm``: the same with ``BEARER_CACHE_SECONDS`` on, judged on a
  second request (a valid token then comes from the cache, without a query),

on the same echo resource (tests/testapp/views.py), and asserts the same *outcome*: accepted
(200, as the token's user) or refused (a 4xx). Status codes are not compared: stock answers
some refusals with the wrong one (see DESIGN.md), which is the point of authstatus. On the
authstatus stack every case costs exactly one database query.

The one deliberate difference is marked: DOT accepts the token of an inactive user (its
``validate_bearer_token`` never looks at ``is_active``, and ``IsAuthenticated`` only at
``is_authenticated``); authstatus refuses it, as DRF's own Basic and Token authentication
refuse inactive users. That case states DOT's outcome explicitly (``stock_accepted``), so the
day DOT changes, the suite says so.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta

import pytest
from django.conf import settings
from django.core.cache import caches as django_caches
from django.db import connection
from django.test import override_settings
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from oauth2_provider.models import AccessToken, Application

from tests.factories import AccessTokenFactory

STACKS = {
    "stock": ("/t/drf/semantics/stock/", "/t/drf/semantics/stock-scoped/"),
    "authstatus": ("/t/drf/semantics/authstatus/", "/t/drf/semantics/authstatus-scoped/"),
}


@dataclass(frozen=True)
class Case:
    name: str
    make: Callable[[object], str]  # alice -> the bearer string to send
    accepted: bool
    scoped: bool = False  # the resource needs scope "write"
    patch: Callable[[], contextlib.AbstractContextManager[object]] | None = None
    stock_accepted: bool | None = None  # DOT's outcome, where it deliberately differs


def _token(alice, **kwargs) -> str:
    return AccessTokenFactory(user=alice, **kwargs).token


def _revoked(alice) -> str:
    token = AccessTokenFactory(user=alice)
    token.revoke()  # DOT deletes the row
    assert not AccessToken.objects.filter(pk=token.pk).exists()
    return token.token


def _inactive(alice) -> str:
    alice.is_active = False
    alice.save(update_fields=["is_active"])
    return _token(alice)


@contextlib.contextmanager
def _unusable_application() -> Iterator[None]:
    # Application.is_usable() is DOT's documented hook for disabling a client: a swapped
    # Application model overrides it. Override it the same way (a real method, not a mock)
    # for the duration of the request; both stacks must honour it.
    original = Application.is_usable

    def is_usable(self: Application, request: object) -> bool:
        return False

    Application.is_usable = is_usable  # type: ignore[method-assign]
    try:
        yield
    finally:
        Application.is_usable = original  # type: ignore[method-assign]


CASES = [
    Case("valid", lambda alice: _token(alice), accepted=True),
    Case("expired", lambda alice: _token(alice, expired=True), accepted=False),
    Case(
        "expires in 30 seconds",
        lambda alice: _token(alice, expires=timezone.now() + timedelta(seconds=30)),
        accepted=True,
    ),
    Case("revoked", _revoked, accepted=False),
    Case("unknown", lambda alice: "never-issued-token", accepted=False),
    Case(
        "inactive user",
        _inactive,
        accepted=False,
        # DOT accepts the tokens of inactive users; authstatus refuses them, as DRF's own
        # Basic and Token authentication refuse inactive users.
        stock_accepted=True,
    ),
    Case("has the needed scope", lambda alice: _token(alice, scope="read write"), True, True),
    Case("lacks the needed scope", lambda alice: _token(alice, scope="read"), False, True),
    Case("no scope at all", lambda alice: _token(alice, scope=""), False, True),
    Case(
        "application not usable",
        lambda alice: _token(alice),
        accepted=False,
        patch=_unusable_application,
    ),
    Case(
        "RFC 8707: restricted to this resource server",
        lambda alice: _token(alice, resource=["http://testserver/"]),
        accepted=True,
    ),
    Case(
        "RFC 8707: restricted to another audience",
        lambda alice: _token(alice, resource=["https://elsewhere.example/api/"]),
        accepted=False,
    ),
]


@contextlib.contextmanager
def _patched(case: Case) -> Iterator[None]:
    if case.patch is None:
        yield
    else:
        with case.patch():
            yield


@pytest.fixture(params=[*STACKS, "authstatus, token cache warm"])
def stack(request) -> str:
    return request.param


@contextlib.contextmanager
def _token_cache() -> Iterator[None]:
    caches = {
        **settings.CACHES,
        "semantics-tokens": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "LOCATION": "semantics-tokens",
        },
    }
    changes = {"BEARER_CACHE_SECONDS": 60, "BEARER_CACHE_ALIAS": "semantics-tokens"}
    with override_settings(CACHES=caches, AUTHSTATUS={**settings.AUTHSTATUS, **changes}):
        django_caches["semantics-tokens"].clear()
        yield


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_same_outcome_on_both_stacks(client, alice, stack, case):
    expected = case.accepted
    if stack == "stock" and case.stock_accepted is not None:
        expected = case.stock_accepted
    token = case.make(alice)
    cached = stack.endswith("warm")
    path = STACKS["authstatus" if cached else stack][1 if case.scoped else 0]
    with _token_cache() if cached else contextlib.nullcontext(), _patched(case):
        if cached:
            # The first request fills the cache (valid tokens only); the second is judged.
            client.get(path, HTTP_AUTHORIZATION=f"Bearer {token}")
        with CaptureQueriesContext(connection) as queries:
            response = client.get(path, HTTP_AUTHORIZATION=f"Bearer {token}")
    accepted = response.status_code == 200
    if not accepted:
        assert 400 <= response.status_code < 500, response.status_code
    else:
        assert response.json() == {"user": "alice"}
    assert accepted == expected, (stack, response.status_code, response.content)
    if stack == "authstatus":
        assert len(queries.captured_queries) == 1, [q["sql"] for q in queries]
    if cached and accepted:
        assert len(queries.captured_queries) == 0, [q["sql"] for q in queries]


def test_no_token_is_refused_by_both_without_a_query(client, db):
    for stack, (path, _) in STACKS.items():
        with CaptureQueriesContext(connection) as queries:
            response = client.get(path)
        assert response.status_code == 401, stack
        if stack == "authstatus":
            assert len(queries.captured_queries) == 0


def test_authstatus_accepts_as_the_tokens_user_with_the_token_as_auth(alice, rf):
    """What DRF sees on success is what DOT would give it: (user, access token)."""
    from rest_framework.request import Request

    from authstatus.contrib.rest_framework import BearerAuthentication

    token = AccessTokenFactory(user=alice, scope="read write")
    stock_user, stock_auth = _stock_authenticate(rf, token.token)
    drf_request = Request(
        rf.get("/t/drf/semantics/authstatus/", HTTP_AUTHORIZATION=f"Bearer {token.token}")
    )
    user, auth = BearerAuthentication().authenticate(drf_request)
    assert (user, auth) == (stock_user, stock_auth) == (alice, token)
    assert auth.application == stock_auth.application
    assert sorted(auth.scope.split()) == sorted(stock_auth.scope.split())


def _stock_authenticate(rf, token: str):
    from oauth2_provider.contrib.rest_framework import OAuth2Authentication
    from rest_framework.request import Request

    request = Request(rf.get("/t/drf/semantics/stock/", HTTP_AUTHORIZATION=f"Bearer {token}"))
    return OAuth2Authentication().authenticate(request)


# --- the one-query lookup (authstatus.contrib.oauth2_provider.tokenloader) ----------------


@pytest.mark.parametrize("kind", ["user and application", "no user", "no application"])
def test_prepared_lookup_loads_what_the_queryset_loads(alice, kind, django_assert_num_queries):
    """The lookup compiled once per connection returns the same instances, with the same
    related objects loaded, as ``select_related("user", "application")`` — in one query."""
    import hashlib

    from authstatus.contrib.oauth2_provider import tokenloader

    kwargs: dict[str, object] = {"user": alice}
    kwargs.update(
        {"no user": {"user": None}, "no application": {"application": None}}.get(kind, {})
    )
    token = AccessTokenFactory(resource=["http://testserver/"], **kwargs)
    checksum = hashlib.sha256(token.token.encode()).hexdigest()
    assert tokenloader._loader(AccessToken, "default") is not None  # no fallback here
    with django_assert_num_queries(1):
        loaded = tokenloader.load(AccessToken, checksum)
        # Everything the bearer path reads is loaded by that one query.
        assert (loaded.user, loaded.application) == (token.user, token.application)
    expected = AccessToken.objects.select_related("user", "application").get(pk=token.pk)
    fields = [f.attname for f in AccessToken._meta.concrete_fields]
    assert [getattr(loaded, f) for f in fields] == [getattr(expected, f) for f in fields]
    assert loaded.expires.tzinfo is not None
    assert loaded.resource == ["http://testserver/"]
    assert loaded._state.adding is False
    assert loaded._state.db == "default"
    if loaded.user is not None:
        user_fields = [f.attname for f in type(alice)._meta.concrete_fields]
        assert [getattr(loaded.user, f) for f in user_fields] == [
            getattr(expected.user, f) for f in user_fields
        ]
    assert tokenloader.load(AccessToken, "0" * 64) is None


def test_prepared_lookup_names_its_parameter_on_sqlite_only(alice):
    """On SQLite Django rewrites ``%s`` placeholders with a regex over the statement on every
    execute; the prepared lookup uses a named parameter there, the backend's own style
    elsewhere. Either way it finds the token the queryset finds."""
    import hashlib

    from authstatus.contrib.oauth2_provider import tokenloader

    token = AccessTokenFactory(user=alice)
    loader = tokenloader._loader(AccessToken, "default")
    assert loader is not None
    if connection.vendor == "sqlite":
        assert loader.names == ["p0"]
        assert "%(p0)s" in loader.sql
        assert "%s" not in loader.sql
    else:
        assert loader.names is None
    checksum = hashlib.sha256(token.token.encode()).hexdigest()
    assert loader(checksum) == token


def test_prepared_token_query_off_uses_the_queryset(alice, django_assert_num_queries, monkeypatch):
    """``PREPARED_TOKEN_QUERY: False``: the plain ``select_related`` queryset (the fallback),
    the same instances, still one query."""
    import hashlib

    from authstatus.contrib.oauth2_provider import tokenloader

    token = AccessTokenFactory(user=alice, scope="read")

    def unprepared(*args, **kwargs):
        raise AssertionError("the prepared statement was used")

    monkeypatch.setattr(tokenloader, "_loader", unprepared)
    checksum = hashlib.sha256(token.token.encode()).hexdigest()
    with override_settings(AUTHSTATUS={**settings.AUTHSTATUS, "PREPARED_TOKEN_QUERY": False}):
        with django_assert_num_queries(1):
            loaded = tokenloader.load(AccessToken, checksum)
            assert (loaded.user, loaded.application) == (token.user, token.application)
        assert loaded == token


@pytest.mark.django_db(transaction=True)
def test_prepared_lookup_is_compiled_once_and_rebound_per_connection(alice):
    """Under ASGI each request's sync code runs in a thread of its own, with a new database
    connection: the statement is compiled once per alias, and each connection gets a copy
    whose backend converters are bound to its own operations — loading what the queryset
    loads there."""
    import hashlib
    import threading

    from django.db import connections

    from authstatus.contrib.oauth2_provider import tokenloader

    token = AccessTokenFactory(user=alice, scope="read")
    checksum = hashlib.sha256(token.token.encode()).hexdigest()
    here = tokenloader._loader(AccessToken, "default")
    assert here is not None
    seen: dict[str, object] = {}

    def elsewhere() -> None:
        try:
            loader = tokenloader._loader(AccessToken, "default")
            seen["same statement"] = loader.sql is here.sql
            seen["own operations"] = loader.ops is connections["default"].ops is not here.ops
            backend = [
                c for _, convs, _ in loader.converters for c in convs if hasattr(c, "__self__")
            ]
            # No converter is left bound to the first connection's operations; SQLite has
            # backend converters (datetimes, booleans), PostgreSQL may have none here.
            seen["rebound"] = not any(c.__self__ is here.ops for c in backend) and (
                connections["default"].vendor != "sqlite"
                or any(c.__self__ is loader.ops for c in backend)
            )
            loaded = tokenloader.load(AccessToken, checksum)
            expected = AccessToken.objects.select_related("user", "application").get(pk=token.pk)
            fields = [f.attname for f in AccessToken._meta.concrete_fields]
            seen["fields"] = [getattr(loaded, f) for f in fields] == [
                getattr(expected, f) for f in fields
            ]
            seen["user"] = loaded.user == expected.user
        finally:
            connections.close_all()

    thread = threading.Thread(target=elsewhere)
    thread.start()
    thread.join()
    assert seen == {
        "same statement": True,
        "own operations": True,
        "rebound": True,
        "fields": True,
        "user": True,
    }
