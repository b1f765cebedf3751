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

import http.client
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from asgiref.sync import SyncToAsync, async_to_sync, iscoroutinefunction
from django.conf import settings
from django.test import AsyncClient, Client, override_settings

from authstatus.core.challenges import Challenge, parse_challenges
from authstatus.middleware import AuthStatusMiddleware
from tests.factories import AccessTokenFactory, ResourcePolicyFactory
from tests.http import COOKIE, EXPIRED_TOKEN, INVALID_TOKEN, bearer, bearer_auth

BEARER_FIRST = [
    "authstatus.contrib.oauth2_provider.BearerAuthenticator",
    "authstatus.authentication.SessionAuthenticator",
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
    query = "?" + "&".join(f"f{i}=1" for i in range(settings.DATA_UPLOAD_MAX_NUMBER_FIELDS + 1))
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
    from authstatus.policies import registry

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


@pytest.fixture(scope="module")
def uvicorn(tmp_path_factory) -> Iterator[Uvicorn]:
    """uvicorn serving tests/asgi.py (settings tests.settings_asgi) on a free loopback port,
    on a SQLite file migrated and seeded with the demo's users and tokens. Another port is
    tried if the one probed was taken before uvicorn bound it."""
    from tests.test_propagation import demo_env, free_port, manage, stop

    directory = tmp_path_factory.mktemp("uvicorn")
    env = {**demo_env(directory), "DJANGO_SETTINGS_MODULE": "tests.settings_asgi"}
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
        server = Uvicorn(port, sessions)
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
