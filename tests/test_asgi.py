"""AuthStatusMiddleware in front of async views: the decision table under Django's
``AsyncClient`` and under a real uvicorn server, and the thread hops it costs.

The async views are tests/testapp/async_views.py (``/t/async/``). The middleware
authenticates with the bearer authenticator and the session here, so every row of the table
can be reached on a plain view.

*A thread hop* is one call of ``asgiref.sync.SyncToAsync.__call__`` — every
``sync_to_async`` (Django's own, its async ORM's and authstatus's), counted while one request
runs through Django's async handler. Django hops by itself (``MiddlewareMixin`` runs the
session and authentication middleware's methods in a thread, ``close_old_connections`` is a
sync receiver of ``request_started``...), so the count that matters is what adding
``AuthStatusMiddleware`` to the same stack adds for the same request to the same view.
"""

from __future__ import annotations

import functools
import http.client
import json
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from asgiref.sync import SyncToAsync, async_to_sync, iscoroutinefunction, sync_to_async
from django.conf import settings
from django.test import AsyncClient, Client, TestCase, override_settings

from authstatus.core.challenges import Challenge, parse_challenges
from authstatus.middleware import AuthStatusMiddleware
from tests.factories import AccessTokenFactory, ResourcePolicyFactory, UserFactory
from tests.http import COOKIE, EXPIRED_TOKEN, INVALID_TOKEN, bearer, bearer_auth

BEARER_FIRST = [
    "authstatus.contrib.oauth2_provider.BearerAuthenticator",
    "authstatus.enforcement.authenticators.SessionAuthenticator",
]
ROOT = Path(__file__).resolve().parent.parent
CONCEALED, MISSING = "/t/async/concealed/", "/t/async/no-such-page/"


def _authstatus(**changes: Any) -> override_settings:
    return override_settings(AUTHSTATUS={**settings.AUTHSTATUS, **changes})


@dataclass(frozen=True)
class Row:
    """One request of the decision table and the exact answer it gets."""

    id: str
    path: str
    credentials: str  # none, session, staff-session, token, read-token, expired, unknown, malformed
    status: int
    challenges: Callable[[str], tuple[Challenge, ...]] = lambda origin: ()
    body: bytes | None = None


def _metadata(origin: str) -> str:
    return origin + "/.well-known/oauth-protected-resource"


def _base(origin: str) -> tuple[Challenge, ...]:
    return (bearer(resource_metadata=_metadata(origin)), COOKIE)


def _invalid(description: str) -> Callable[[str], tuple[Challenge, ...]]:
    def expected(origin: str) -> tuple[Challenge, ...]:
        error = (("error", "invalid_token"), ("error_description", description))
        return (bearer(*error, resource_metadata=_metadata(origin)), COOKIE)

    return expected


TABLE = [
    Row("1 anonymous, anonymous allowed", "/t/async/open/", "none", 200, body=b"open anonymous"),
    Row("2 anonymous, authenticated only", "/t/async/private/", "none", 401, _base),
    Row("3 anonymous, closed to all", "/t/async/closed/", "none", 403),
    Row("4 expired token", "/t/async/private/", "expired", 401, _invalid(EXPIRED_TOKEN)),
    Row(
        "4 unknown token, anonymous route",
        "/t/async/open/",
        "unknown",
        401,
        _invalid(INVALID_TOKEN),
    ),
    Row(
        "5 token lacks scope",
        "/t/async/scoped/",
        "read-token",
        403,
        lambda origin: (
            bearer(
                ("scope", "write"),
                ("error", "insufficient_scope"),
                resource_metadata=_metadata(origin),
            ),
        ),
    ),
    Row("5 session lacks group", "/t/async/staff/", "session", 403),
    Row("6 valid token", "/t/async/private/", "token", 200, body=b"private alice"),
    Row("6 valid token, scoped", "/t/async/scoped/", "token", 200, body=b"scoped alice"),
    Row("6 session", "/t/async/private/", "session", 200, body=b"private alice"),
    Row("6 session in the group", "/t/async/staff/", "staff-session", 200, body=b"staff staffer"),
    Row(
        "malformed bearer request",
        "/t/async/private/",
        "malformed",
        400,
        lambda origin: (
            bearer(
                ("error", "invalid_request"),
                (
                    "error_description",
                    "The Authorization header must be 'Bearer' and one token.",
                ),
                resource_metadata=_metadata(origin),
            ),
        ),
    ),
    Row("concealed, anonymous", CONCEALED, "none", 404),
]


def _challenges(value: str | None) -> tuple[Challenge, ...]:
    return () if value is None else parse_challenges(value)


# --- AsyncClient --------------------------------------------------------------------------


@pytest.fixture
def credentials(alice, staff_user):
    """``kind -> (user to log in or None, Authorization header or None)``."""
    token = AccessTokenFactory(user=alice, scope="read write")
    read = AccessTokenFactory(user=alice, scope="read")
    expired = AccessTokenFactory(user=alice, expired=True)
    return {
        "none": (None, None),
        "session": (alice, None),
        "staff-session": (staff_user, None),
        "token": (None, bearer_auth(token.token)),
        "read-token": (None, bearer_auth(read.token)),
        "expired": (None, bearer_auth(expired.token)),
        "unknown": (None, bearer_auth("no-such-token")),
        "malformed": (None, "Bearer two tokens"),
    }


def _request(client: Any, path: str, authorization: str | None) -> Any:
    headers = {"accept": "application/json"}
    if authorization is not None:
        headers["authorization"] = authorization
    if isinstance(client, AsyncClient):
        return async_to_sync(client.get)(path, headers=headers)
    return client.get(path, headers=headers)


@pytest.mark.django_db
@pytest.mark.parametrize("row", TABLE, ids=[r.id for r in TABLE])
def test_decision_table_under_async_client(row, credentials):
    user, authorization = credentials[row.credentials]
    with _authstatus(MIDDLEWARE_AUTHENTICATORS=BEARER_FIRST):
        responses = []
        for client in (AsyncClient(), Client()):
            if user is not None:
                client.force_login(user)
            responses.append(_request(client, row.path, authorization))
    answer, sync = responses
    assert answer.status_code == row.status, answer.content
    assert _challenges(answer.get("WWW-Authenticate")) == row.challenges("http://testserver")
    if row.body is not None:
        assert answer.content == row.body
    # The WSGI handler (which runs the async view with async_to_sync) answers the same.
    assert (sync.status_code, sync.content) == (answer.status_code, answer.content)
    assert _challenges(sync.get("WWW-Authenticate")) == _challenges(answer.get("WWW-Authenticate"))


@pytest.mark.django_db
def test_concealed_async_view_answers_like_a_missing_url():
    client = AsyncClient()
    concealed = async_to_sync(client.get)(CONCEALED)
    missing = async_to_sync(client.get)(MISSING)
    assert concealed.status_code == missing.status_code == 404
    assert concealed.content == missing.content
    drop = {"Date"}
    assert {k: v for k, v in concealed.items() if k not in drop} == {
        k: v for k, v in missing.items() if k not in drop
    }


@pytest.mark.django_db
def test_an_unreadable_query_is_a_404_on_a_concealed_async_view_and_a_400_elsewhere():
    fields = "&".join(f"f{i}=1" for i in range(settings.DATA_UPLOAD_MAX_NUMBER_FIELDS + 1))
    query = f"?{fields}&access_token=x"  # without the parameter, nothing reads the query
    client = AsyncClient()
    with _authstatus(MIDDLEWARE_AUTHENTICATORS=BEARER_FIRST):  # the bearer one reads the query
        concealed = _request(client, CONCEALED + query, None)
        missing = _request(client, MISSING + query, None)
        private = _request(client, "/t/async/private/" + query, None)
    assert concealed.status_code == missing.status_code == 404
    assert concealed.content == missing.content
    assert private.status_code == 400


def test_middleware_is_async_in_front_of_an_async_handler():
    async def get_response(request: Any) -> Any:
        return None

    middleware = AuthStatusMiddleware(get_response)
    assert iscoroutinefunction(middleware)
    # Django's handler wraps a sync process_view in sync_to_async: it must be a coroutine.
    assert iscoroutinefunction(middleware.process_view)
    sync = AuthStatusMiddleware(lambda request: None)
    assert not iscoroutinefunction(sync)
    assert not iscoroutinefunction(sync.process_view)


@pytest.mark.django_db
def test_append_slash_redirects_to_an_async_view_but_never_to_a_concealed_one():
    client = AsyncClient()
    redirect = async_to_sync(client.get)("/t/async/private")
    assert redirect.status_code == 301
    assert redirect["Location"] == "/t/async/private/"
    concealed = async_to_sync(client.get)(CONCEALED.rstrip("/"))
    missing = async_to_sync(client.get)(MISSING.rstrip("/"))
    assert concealed.status_code == missing.status_code == 404
    assert concealed.content == missing.content


@pytest.mark.django_db
def test_a_policy_edit_reaches_the_next_async_request_in_one_hop():
    client = AsyncClient()
    assert _request(client, "/t/async/open/", None).status_code == 200
    ResourcePolicyFactory(path="/t/async/open/", access="nobody")  # announces a reload
    with _hops() as calls:
        response = _request(client, "/t/async/open/", None)
    assert response.status_code == 403
    assert calls.count("PolicyRegistry.matcher") == 1  # the reload, in a thread


@pytest.mark.django_db
def test_the_event_loop_never_loads_policies_itself(
    caplog, django_assert_max_num_queries, reload_on_requests
):
    """With reloads on requests (``RELOAD_IN_BACKGROUND`` off: with it on, the poller thread
    reloads and no request does), a call on the event loop still never queries."""
    from authstatus.policies.propagation import registry

    registry.matcher()  # loaded (a first load has no policies to answer with: it must wait)

    async def on_the_loop() -> None:
        current = registry.matcher()
        registry.invalidate()
        assert registry.matcher() is current  # not loaded here: aready() does, in a thread

    async_to_sync(on_the_loop)()
    # Nothing was attempted (a query on the loop would have failed and been logged)...
    assert [r.getMessage() for r in caplog.records if r.name.startswith("authstatus")] == []
    # ...and the reload is still due: the next sync call does it.
    with django_assert_max_num_queries(5) as captured:
        registry.matcher()
    assert len(captured) >= 1


# --- thread hops ----------------------------------------------------------------------------


@contextmanager
def _hops() -> Iterator[list[str]]:
    """Every ``SyncToAsync.__call__`` while the block runs, by the name of what it ran."""
    calls: list[str] = []
    original = SyncToAsync.__call__

    async def counted(self: SyncToAsync, *args: Any, **kwargs: Any) -> Any:
        calls.append(getattr(self.func, "__qualname__", None) or type(self.func).__name__)
        return await original(self, *args, **kwargs)

    SyncToAsync.__call__ = counted  # type: ignore[method-assign]
    try:
        yield calls
    finally:
        SyncToAsync.__call__ = original  # type: ignore[method-assign]


STACK = [
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
]


def _hops_for(middleware: list[str], path: str, user: Any, authorization: str | None) -> list[str]:
    with override_settings(MIDDLEWARE=middleware):
        client = AsyncClient()
        if user is not None:
            client.force_login(user)
        _request(client, path, authorization)  # warm: the middleware chain is built
        with _hops() as calls:
            response = _request(client, path, authorization)
    assert response.status_code in (200, 401), response.content
    # Django logs every 4xx in a thread (BaseHandler.get_response_async), a view's own 401
    # as much as a refusal: not a hop of authstatus's.
    return [c for c in calls if c != "log_response"]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("kind", "path", "added"),
    [
        ("none", "/t/async/open/", 0),  # anonymous, allowed
        ("none", "/t/async/private/", 0),  # anonymous, refused 401
        ("session", "/t/async/private/", 0),  # the view awaits request.auser() either way
        ("token", "/t/async/private/", 1),  # the token query: one bounded hop
    ],
)
def test_thread_hops_added_by_the_middleware(credentials, kind, path, added):
    user, authorization = credentials[kind]
    with _authstatus(MIDDLEWARE_AUTHENTICATORS=BEARER_FIRST):
        stock = _hops_for(STACK, path, user, authorization)
        ours = _hops_for(
            [*STACK, "authstatus.middleware.AuthStatusMiddleware"], path, user, authorization
        )
    assert len(ours) - len(stock) == added, (stock, ours)
    if added:
        assert sorted(set(ours) - set(stock)) == ["check"]  # authstatus.tokens.check


@pytest.mark.django_db
def test_no_hop_at_all_for_an_anonymous_request_through_authstatus_alone():
    with override_settings(MIDDLEWARE=["authstatus.middleware.AuthStatusMiddleware"]):
        client = AsyncClient()
        _request(client, "/t/async/open/", None)
        with _hops() as calls:
            response = _request(client, "/t/async/open/", None)
    assert response.status_code == 200
    # What is left is Django's own: request_started's sync receivers and closing the response.
    assert calls == ["Signal.asend.<locals>.sync_send", "HttpResponseBase.close"], calls


# --- a real ASGI server ---------------------------------------------------------------------

SESSION_FOR = """
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY, get_user_model
from django.contrib.sessions.backends.db import SessionStore
for name in ("alice", "admin"):
    user = get_user_model().objects.get(username=name)
    session = SessionStore()
    session[SESSION_KEY] = str(user.pk)
    session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
    session[HASH_SESSION_KEY] = user.get_session_auth_hash()
    session.create()
    print(name, session.session_key)
"""


@dataclass
class Uvicorn:
    port: int
    sessions: dict[str, str]
    env: dict[str, str]  # manage.py on the server's database

    def get(self, path: str, headers: dict[str, str]) -> tuple[int, dict[str, str], bytes]:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        try:
            connection.request("GET", path, headers=headers)
            response = connection.getresponse()
            return (
                response.status,
                {k.lower(): v for k, v in response.getheaders()},
                response.read(),
            )
        finally:
            connection.close()


@pytest.fixture(scope="module", params=["1", "0"], ids=["lookup-thread", "request-thread"])
def uvicorn(request, tmp_path_factory) -> Iterator[Uvicorn]:
    """uvicorn serving tests/asgi.py (settings tests.settings_asgi) on a free loopback port,
    on a SQLite file migrated and seeded with the demo's users and tokens, with
    ``ASYNC_TOKEN_THREAD`` on and off. Another port is tried if the one probed was taken
    before uvicorn bound it."""
    from tests.test_propagation import demo_env, free_port, manage, stop

    directory = tmp_path_factory.mktemp("uvicorn")
    env = {
        **demo_env(directory),
        "DJANGO_SETTINGS_MODULE": "tests.settings_asgi",
        "AUTHSTATUS_TEST_ASYNC_TOKEN_THREAD": request.param,
    }
    manage(env, "migrate", "--noinput", "-v", "0")
    manage(env, "seed_demo")
    printed = manage(env, "shell", "-v", "0", "-c", SESSION_FOR).splitlines()
    sessions = dict(line.split() for line in printed if line.startswith(("alice ", "admin ")))
    for attempt in range(3):
        port = free_port()
        log = directory / f"uvicorn-{attempt}.log"
        with log.open("wb") as out:
            process = subprocess.Popen(
                [
                    *(sys.executable, "-m", "uvicorn", "tests.asgi:application"),
                    *("--host", "127.0.0.1", "--port", str(port)),
                    *("--lifespan", "off", "--log-level", "warning"),
                ],
                cwd=ROOT,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        server = Uvicorn(port, sessions, env)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and process.poll() is None:
            try:
                server.get("/t/async/open/", {})
            except OSError:
                time.sleep(0.1)
                continue
            try:
                yield server
            finally:
                stop(process)
            return
        stop(process)
    pytest.fail("uvicorn did not start:\n" + log.read_text(errors="replace")[-3000:])


DEMO_TOKENS = {
    "token": "demo-alice-read-write",
    "read-token": "demo-alice-read",
    "expired": "demo-alice-expired",
}


@pytest.mark.parametrize("row", TABLE, ids=[r.id for r in TABLE])
def test_decision_table_under_uvicorn(uvicorn, row):
    headers = {"Accept": "application/json"}
    sessions = {"session": uvicorn.sessions["alice"], "staff-session": uvicorn.sessions["admin"]}
    if row.credentials in sessions:
        headers["Cookie"] = f"sessionid={sessions[row.credentials]}"
    elif row.credentials == "unknown":
        headers["Authorization"] = bearer_auth("no-such-token")
    elif row.credentials == "malformed":
        headers["Authorization"] = "Bearer two tokens"
    elif row.credentials != "none":
        headers["Authorization"] = bearer_auth(DEMO_TOKENS[row.credentials])
    status, answer, body = uvicorn.get(row.path, headers)
    assert status == row.status, body
    origin = f"http://127.0.0.1:{uvicorn.port}"
    assert _challenges(answer.get("www-authenticate")) == row.challenges(origin)
    if row.body is not None:
        assert body == row.body.replace(b"staffer", b"admin")  # the demo's staff-api member


def test_concealed_and_missing_are_alike_under_uvicorn(uvicorn):
    concealed = uvicorn.get(CONCEALED, {"Accept": "application/json"})
    missing = uvicorn.get(MISSING, {"Accept": "application/json"})
    assert concealed[0] == missing[0] == 404
    assert concealed[2] == missing[2]
    drop = {"date"}
    assert {k: v for k, v in concealed[1].items() if k not in drop} == {
        k: v for k, v in missing[1].items() if k not in drop
    }


# --- the token-lookup thread (ASYNC_TOKEN_THREAD) -------------------------------------------


ASYNC_STACK = [*STACK, "authstatus.middleware.AuthStatusMiddleware"]  # async-capable, all of it


def _asgi_get(
    path: str, headers: dict[str, str], middleware: list[str] | None = ASYNC_STACK
) -> tuple[int, bytes]:
    """One request through Django's ASGI handler as an ASGI server calls it: on an event loop
    of its own, no parent sync thread, so the handler's ``ThreadSensitiveContext`` gives the
    request's sync code a thread of its own (as under uvicorn). ``middleware``: ``MIDDLEWARE``
    for the handler (``None``: the settings')."""
    import asyncio

    from django.core.handlers.asgi import ASGIHandler

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"testserver")]
        + [(k.lower().encode(), v.encode()) for k, v in headers.items()],
        "client": ("127.0.0.1", 50000),
        "server": ("testserver", 80),
    }
    sent: list[dict[str, Any]] = []

    async def main() -> None:
        messages = [{"type": "http.request", "body": b"", "more_body": False}]

        async def receive() -> dict[str, Any]:
            if messages:
                return messages.pop()
            await asyncio.sleep(3600)  # the client never disconnects
            return {"type": "http.disconnect"}

        async def send(message: dict[str, Any]) -> None:
            sent.append(message)

        if middleware is None:
            handler = ASGIHandler()
        else:
            with override_settings(MIDDLEWARE=middleware):
                handler = ASGIHandler()  # loads the middleware chain
        await handler(scope, receive, send)

    asyncio.run(main())
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return sent[0]["status"], body


@contextmanager
def _lookups() -> Iterator[list[str]]:
    """The name of the thread of every token lookup (:func:`authstatus.tokens.check`)."""
    from authstatus import tokens

    threads: list[str] = []
    original = tokens.check

    @functools.wraps(original)
    def recorded(*args: Any, **kwargs: Any) -> Any:
        threads.append(threading.current_thread().name)
        return original(*args, **kwargs)

    tokens.check = recorded  # type: ignore[assignment]
    try:
        yield threads
    finally:
        tokens.check = original  # type: ignore[assignment]


@contextmanager
def _lookup_thread_hops() -> Iterator[list[str]]:
    """:func:`_hops`, counting the hops to the token-lookup thread as well."""
    from authstatus.tokens import lookup_thread

    original = lookup_thread.run
    with _hops() as calls:

        async def counted(func: Callable[..., Any], *args: Any) -> Any:
            calls.append(f"lookup_thread:{func.__qualname__}")
            return await original(func, *args)

        lookup_thread.run = counted  # type: ignore[assignment]
        try:
            yield calls
        finally:
            lookup_thread.run = original  # type: ignore[assignment]


def _on_lookup_thread(func: Callable[[], Any]) -> Any:
    """``func()`` run on the token-lookup thread (to look at its connection)."""
    from authstatus.tokens import lookup_thread

    return lookup_thread._thread().submit(func).result(10)


def _lookup_connection_state() -> tuple[bool, bool, bool]:
    """(open, in a transaction, autocommit) of the lookup thread's default connection."""
    from django.db import connection

    is_open = connection.connection is not None
    return is_open, connection.in_atomic_block, is_open and connection.get_autocommit()


@pytest.fixture
def connects() -> Iterator[list[str]]:
    """The thread name of every new database connection of a thread's own (``connections``)
    while the test runs."""
    from django.db import connections
    from django.db.backends.signals import connection_created

    names: list[str] = []

    def created(sender: Any, connection: Any, **kwargs: Any) -> None:
        if connection is connections[connection.alias]:  # not one made by create_connection
            names.append(threading.current_thread().name)

    connection_created.connect(created, dispatch_uid="tests-connects")
    yield names
    connection_created.disconnect(dispatch_uid="tests-connects")


@pytest.mark.django_db(transaction=True)  # committed rows: the request threads read them
@pytest.mark.parametrize(
    ("kind", "path", "added"),
    [
        ("none", "/t/async/open/", 0),
        ("none", "/t/async/private/", 0),
        ("token", "/t/async/private/", 1),  # the token query, on the lookup thread
    ],
)
def test_thread_hops_under_the_asgi_handler(alice, kind, path, added):
    token = AccessTokenFactory(user=alice, scope="read write")
    headers = {"accept": "application/json"}
    if kind == "token":
        headers["authorization"] = bearer_auth(token.token)
    counts = []
    with _authstatus(MIDDLEWARE_AUTHENTICATORS=BEARER_FIRST):
        for middleware in (STACK, ASYNC_STACK):
            _asgi_get(path, headers, middleware)  # warm
            with _lookup_thread_hops() as calls, _lookups() as threads:
                status, _ = _asgi_get(path, headers, middleware)
            assert status in (200, 401)
            counts.append([c for c in calls if c != "log_response"])
    stock, ours = counts
    assert len(ours) - len(stock) == added, (stock, ours)
    if added:
        assert sorted(set(ours) - set(stock)) == ["lookup_thread:check"]
        assert [name.split("_")[0] for name in threads] == ["authstatus-tokens"]


LOCMEM = {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "tokens"}


def _token_cache(backend: dict[str, str]) -> override_settings:
    """``BEARER_CACHE_SECONDS`` on, in a ``tokens`` alias of ``backend``."""
    return override_settings(
        CACHES={**settings.CACHES, "tokens": backend},
        AUTHSTATUS={
            **settings.AUTHSTATUS,
            "MIDDLEWARE_AUTHENTICATORS": BEARER_FIRST,
            "BEARER_CACHE_SECONDS": 60,
            "BEARER_CACHE_ALIAS": "tokens",
        },
    )


@pytest.mark.django_db(transaction=True)
def test_a_token_cached_in_process_memory_is_checked_on_the_event_loop(alice, connects):
    """With the token cache in a ``LocMemCache`` alias, a cached token costs no thread hop
    and no database work: the event loop reads the entry and runs the checks. The first
    request fills the cache from the lookup thread."""
    from django.core.cache import caches

    token = AccessTokenFactory(user=alice, scope="read write")
    headers = {"accept": "application/json", "authorization": bearer_auth(token.token)}
    with _token_cache(LOCMEM):
        caches["tokens"].clear()
        seen = []
        for _ in range(2):
            before = len(connects)
            with _lookup_thread_hops() as calls, _lookups() as threads:
                status, body = _asgi_get("/t/async/private/", headers)
            assert status == 200, body
            lookups = [c for c in calls if c.startswith("lookup_thread:")]
            seen.append((lookups, threads, connects[before:]))
    assert seen[0][:2] == (["lookup_thread:check"], ["authstatus-tokens_0"])
    assert seen[1] == ([], [], [])  # no hop, no tokens.check anywhere, no new connection


@pytest.mark.django_db(transaction=True)
def test_a_token_cached_in_a_shared_cache_is_still_read_in_a_thread(alice, tmp_path):
    """A file-based (or Redis, Memcached) cache is I/O: never on the event loop."""
    token = AccessTokenFactory(user=alice, scope="read write")
    headers = {"accept": "application/json", "authorization": bearer_auth(token.token)}
    shared = {
        "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
        "LOCATION": str(tmp_path),
    }
    with _token_cache(shared):
        _asgi_get("/t/async/private/", headers)  # fills the cache
        with _lookup_thread_hops() as calls:
            status, _ = _asgi_get("/t/async/private/", headers)
    assert status == 200
    assert [c for c in calls if c.startswith("lookup_thread:")] == ["lookup_thread:check"]


@pytest.mark.django_db(transaction=True)
def test_a_cached_token_past_its_expiry_is_refused_on_the_event_loop(alice):
    """The entry's expiry is checked on every hit: past it, the answer is the expired
    token's 401 (and its challenge), still without a hop."""
    from datetime import timedelta
    from unittest import mock

    from django.core.cache import caches
    from django.utils import timezone

    # Expires before the entry is BEARER_CACHE_SECONDS old: the hit finds it expired.
    token = AccessTokenFactory(
        user=alice, scope="read write", expires=timezone.now() + timedelta(seconds=5)
    )
    headers = {"accept": "application/json", "authorization": bearer_auth(token.token)}
    with _token_cache(LOCMEM):
        caches["tokens"].clear()
        assert _asgi_get("/t/async/private/", headers)[0] == 200
        later = token.expires + timedelta(seconds=1)
        with (
            mock.patch("django.utils.timezone.now", return_value=later),
            _lookup_thread_hops() as calls,
        ):
            status, body = _asgi_get("/t/async/private/", headers)
    assert status == 401, body
    assert json.loads(body)["detail"] == EXPIRED_TOKEN
    assert [c for c in calls if c.startswith("lookup_thread:")] == []


@pytest.mark.django_db(transaction=True)
def test_the_lookup_thread_keeps_its_connection_and_no_transaction(alice, connects):
    token = AccessTokenFactory(user=alice, scope="read write")
    headers = {"accept": "application/json", "authorization": bearer_auth(token.token)}
    with _authstatus(MIDDLEWARE_AUTHENTICATORS=BEARER_FIRST):
        statuses = [_asgi_get("/t/async/private/", headers)[0] for _ in range(3)]
    assert statuses == [200, 200, 200]
    lookup = [n for n in connects if n.startswith("authstatus-tokens")]
    assert len(lookup) == 1  # one connection for three lookups
    assert _on_lookup_thread(_lookup_connection_state) == (True, False, True)


@pytest.mark.django_db(transaction=True)
def test_a_token_revoked_between_requests_is_refused_on_the_kept_connection(alice):
    token = AccessTokenFactory(user=alice, scope="read write")
    headers = {"accept": "application/json", "authorization": bearer_auth(token.token)}
    with _authstatus(MIDDLEWARE_AUTHENTICATORS=BEARER_FIRST):
        assert _asgi_get("/t/async/private/", headers) == (200, b"private alice")
        token.delete()  # DOT's revocation deletes the row; committed (no test transaction)
        status, _ = _asgi_get("/t/async/private/", headers)
    assert status == 401


def _closes_connections() -> bool:
    """Django ignores ``close()`` on an in-memory SQLite database (closing would destroy it):
    there, what the lookup thread asks for cannot be seen on the connections."""
    from django.db import connection

    return not (connection.vendor == "sqlite" and connection.is_in_memory_db())


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(("max_age", "wait", "connections"), [(0, 0, 2), (0.3, 0.5, 2), (60, 0, 1)])
def test_the_lookup_connection_lifetime(alice, connects, max_age, wait, connections):
    token = AccessTokenFactory(user=alice, scope="read write")
    headers = {"accept": "application/json", "authorization": bearer_auth(token.token)}
    with _authstatus(
        MIDDLEWARE_AUTHENTICATORS=BEARER_FIRST, ASYNC_TOKEN_CONNECTION_MAX_AGE=max_age
    ):
        assert _asgi_get("/t/async/private/", headers)[0] == 200
        time.sleep(wait)
        assert _asgi_get("/t/async/private/", headers)[0] == 200
        state = _on_lookup_thread(_lookup_connection_state)
    if _closes_connections():
        assert len([n for n in connects if n.startswith("authstatus-tokens")]) == connections
        assert state[0] is (max_age != 0)  # 0: closed after each lookup
    assert state[1:] == (False, state[0])  # never a transaction; autocommit when open


def _break_the_kept_connection() -> None:
    """Make the next statement on the lookup thread's kept connection fail as a dropped one
    does: PostgreSQL terminates its session; SQLite interrupts it once."""
    from django.db import connection, connections

    if connection.vendor == "postgresql":
        pid = connection.connection.info.backend_pid
        other = connections.create_connection("default")
        try:
            with other.cursor() as cursor:
                cursor.execute("SELECT pg_terminate_backend(%s)", [pid])
        finally:
            other.close()
        return
    raw = connection.connection
    fired: list[bool] = []

    def interrupt() -> int:
        if fired:
            return 0
        fired.append(True)
        return 1  # sqlite3: "interrupted", an OperationalError

    raw.set_progress_handler(interrupt, 1)


@pytest.mark.django_db(transaction=True)
def test_a_dropped_lookup_connection_is_replaced_and_the_lookup_retried(alice, connects):
    token = AccessTokenFactory(user=alice, scope="read write")
    headers = {"accept": "application/json", "authorization": bearer_auth(token.token)}
    with _authstatus(MIDDLEWARE_AUTHENTICATORS=BEARER_FIRST):
        assert _asgi_get("/t/async/private/", headers)[0] == 200
        _on_lookup_thread(_break_the_kept_connection)
        with _lookups() as lookups:
            assert _asgi_get("/t/async/private/", headers) == (200, b"private alice")
    assert len(lookups) == 2  # the failed one and its retry, in one request
    if _closes_connections():
        assert len([n for n in connects if n.startswith("authstatus-tokens")]) == 2


@pytest.mark.django_db(transaction=True)
def test_a_database_error_on_a_new_lookup_connection_is_not_retried(alice, connects):
    """As on the sync path, the error is the answer (Django's 500), once."""
    from django.db.backends.signals import connection_created

    token = AccessTokenFactory(user=alice, scope="read write")
    headers = {"accept": "application/json", "authorization": bearer_auth(token.token)}

    broken: list[bool] = []

    def fail_on_the_lookup_thread(sender: Any, connection: Any, **kwargs: Any) -> None:
        # Once: on PostgreSQL, breaking it opens another connection on this thread.
        if not broken and threading.current_thread().name.startswith("authstatus-tokens"):
            broken.append(True)
            _break_the_kept_connection()

    connection_created.connect(fail_on_the_lookup_thread, dispatch_uid="tests-fail-new")
    try:
        with _authstatus(MIDDLEWARE_AUTHENTICATORS=BEARER_FIRST), _lookups() as lookups:
            status, _ = _asgi_get("/t/async/private/", headers)
    finally:
        connection_created.disconnect(dispatch_uid="tests-fail-new")
    assert status == 500
    assert len(lookups) == 1


@pytest.mark.django_db(transaction=True)
def test_with_the_lookup_thread_off_the_request_thread_looks_up(alice):
    token = AccessTokenFactory(user=alice, scope="read write")
    headers = {"accept": "application/json", "authorization": bearer_auth(token.token)}
    with _authstatus(MIDDLEWARE_AUTHENTICATORS=BEARER_FIRST, ASYNC_TOKEN_THREAD=False):
        _asgi_get("/t/async/private/", headers)
        with _lookup_thread_hops() as calls, _lookups() as threads:
            assert _asgi_get("/t/async/private/", headers) == (200, b"private alice")
    assert "check" in calls
    assert "lookup_thread:check" not in calls
    assert not any(name.startswith("authstatus-tokens") for name in threads)


@pytest.mark.django_db(transaction=True)
def test_a_sync_only_middleware_above_keeps_the_lookup_in_the_request_thread(alice):
    """A sync-only middleware (WhiteNoise's, say) runs the rest of the stack under a parent
    sync thread, which may hold a transaction the lookup must see: no lookup thread there."""
    token = AccessTokenFactory(user=alice, scope="read write")
    headers = {"accept": "application/json", "authorization": bearer_auth(token.token)}
    middleware = ["whitenoise.middleware.WhiteNoiseMiddleware", *ASYNC_STACK]
    with _authstatus(MIDDLEWARE_AUTHENTICATORS=BEARER_FIRST), _lookups() as threads:
        assert _asgi_get("/t/async/private/", headers, middleware) == (200, b"private alice")
    assert len(threads) == 1
    assert not threads[0].startswith("authstatus-tokens")


@pytest.mark.django_db(transaction=True)
def test_a_backend_that_may_wait_on_the_network_keeps_the_request_thread(alice):
    """A JWT backend (its JWKS fetch) before the database: one slow lookup must not hold up
    every other request's behind it on the one lookup thread."""
    token = AccessTokenFactory(user=alice, scope="read write")
    headers = {"accept": "application/json", "authorization": bearer_auth(token.token)}
    backends = [
        {"BACKEND": "authstatus.tokens.jwt.JWTBackend", "ISSUER": "https://as.example"},
        {"BACKEND": "authstatus.contrib.oauth2_provider.backends.DatabaseBackend"},
    ]
    with (
        _authstatus(MIDDLEWARE_AUTHENTICATORS=BEARER_FIRST, TOKEN_BACKENDS=backends),
        _lookups() as threads,
    ):
        # An opaque token is not a JWT: the JWT backend passes it on, unfetched.
        assert _asgi_get("/t/async/private/", headers) == (200, b"private alice")
    assert len(threads) == 1
    assert not threads[0].startswith("authstatus-tokens")


@pytest.mark.django_db
@pytest.mark.parametrize("thread", [True, False])
def test_a_token_revoked_in_the_tests_transaction_is_refused_by_async_client(alice, thread):
    """The test's thread holds its transaction; AsyncClient's hop goes back to that thread
    (a parent sync thread), never to the lookup thread, whose connection cannot see it."""
    token = AccessTokenFactory(user=alice, scope="read write")
    client = AsyncClient()
    with (
        override_settings(MIDDLEWARE=ASYNC_STACK),
        _authstatus(MIDDLEWARE_AUTHENTICATORS=BEARER_FIRST, ASYNC_TOKEN_THREAD=thread),
        _lookups() as threads,
    ):
        found = _request(client, "/t/async/private/", bearer_auth(token.token))
        token.delete()
        revoked = _request(client, "/t/async/private/", bearer_auth(token.token))
    assert (found.status_code, found.content) == (200, b"private alice")
    assert revoked.status_code == 401
    assert threads == [threading.current_thread().name] * 2


class TestCaseWithAsyncClient(TestCase):
    """``django.test.TestCase`` and its ``async_client``, in an async test method: the rows
    the test writes are in its transaction, and the answers follow them."""

    async def test_created_then_revoked_in_the_transaction(self):
        alice = await sync_to_async(UserFactory)(username="alice")
        token = await sync_to_async(AccessTokenFactory)(user=alice, scope="read write")
        authorization = bearer_auth(token.token)
        with (
            override_settings(MIDDLEWARE=ASYNC_STACK),
            _authstatus(MIDDLEWARE_AUTHENTICATORS=BEARER_FIRST),
        ):
            found = await self.async_client.get("/t/async/private/", AUTHORIZATION=authorization)
            await sync_to_async(token.delete)()
            revoked = await self.async_client.get("/t/async/private/", AUTHORIZATION=authorization)
        assert (found.status_code, found.content) == (200, b"private alice")
        assert revoked.status_code == 401


REVOKE = """
from oauth2_provider.models import AccessToken
AccessToken.objects.filter(token="demo-alice-read").delete()
"""


def test_a_token_revoked_by_another_process_is_refused_at_once_under_uvicorn(uvicorn):
    """The lookup thread's kept connection holds no transaction: it reads the committed
    deletion on the next request. (Last in the module: it revokes a demo token.)"""
    from tests.test_propagation import manage

    headers = {"Accept": "application/json", "Authorization": bearer_auth("demo-alice-read")}
    assert uvicorn.get("/t/async/open/", headers)[0] == 200
    manage(uvicorn.env, "shell", "-v", "0", "-c", REVOKE)
    status, answer, _ = uvicorn.get("/t/async/open/", headers)
    assert status == 401
    assert _challenges(answer.get("www-authenticate")) == _invalid(INVALID_TOKEN)(
        f"http://127.0.0.1:{uvicorn.port}"
    )
