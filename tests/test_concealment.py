"""The concealment property: for every request shape, the response for a concealed resource
equals the response for a resource that does not exist — status, every header but ``Date``,
cookies and body.

Pairs compared (``PAIRS``):

* route level — a concealed route vs a URL no route matches (Django's own 404 handling,
  ``handler404``, ``DEBUG`` off): the demo's DRF vault list, a group-gated DRF view, plain
  function views and a plain class-based view;
* object level — another user's item vs an id that does not exist, under the same route: the
  demo's DRF vault detail and a plain view that looks the item up with ``get_object_or_404``.

Request shapes (hypothesis): method (``GET``, ``HEAD``, ``OPTIONS``, the unsafe methods, methods
no view supports), ``Accept``, credentials (none, valid but not allowed — bearer, session,
Basic —, unknown, expired and malformed bearer tokens, bad Basic, a foreign scheme, a session
*and* a bad token, a forged or stale session cookie), trailing slash or not
(``APPEND_SLASH``), query string (``format``, an ``access_token``, …), body (none, JSON, a
form with an ``access_token``); under four configurations: the demo's, every authenticator
and token place enabled for plain views, the ``CONCEALED_CHALLENGE_PATHS`` hint, and the
uniform mode (``UNIFORM_CONCEALMENT_PATHS``: missing URLs pay the authentication work). The
client enforces CSRF, as browsers are subject to it. Named tests pin the shapes that once
differed (``Allow``, ``406``, the slash redirect, CSRF, a query too large to read, dead
session cookies) and cover throttling, the hint, the uniform mode's work and response time.
"""

from __future__ import annotations

import json
import re
import statistics
import time
from collections import Counter
from dataclasses import dataclass

import pytest
from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.core import checks as django_checks
from django.core.cache import cache
from django.test import override_settings
from django.test.utils import CaptureQueriesContext
from django.utils.module_loading import import_string
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from rest_framework.test import APIClient

from authstatus.concealment.notfound import concealed_challenges
from demo_project.api.models import VaultItem
from tests.factories import AccessTokenFactory, UserFactory, VaultItemFactory
from tests.http import BEARER, basic_auth, bearer_auth, challenges, headers_without_date, problem

pytestmark = pytest.mark.django_db

# --- the pairs -------------------------------------------------------------------------------

ROUTE = "route"
OBJECT = "object"

# Credential kinds. "bob-*" are valid credentials of a user who may not see the resource.
NONE = "none"
VALID = ("bob-bearer", "bob-session", "bob-basic")
INVALID = (
    "unknown-bearer",
    "expired-bearer",
    "bare-bearer",
    "two-bearer-tokens",
    "non-b64-bearer",
    "wrong-password",
    "undecodable-basic",
    "foreign-scheme",
    "session-and-unknown-bearer",
    "forged-session",
    "forged-session-and-bob-bearer",
    "stale-session",
)
CREDENTIALS = (NONE, *VALID, *INVALID)
# Valid credentials beside invalid ones, for some views: a valid session beside a bad token
# is a valid login to plain views that read only the session (the demo's middleware
# authenticators); a valid token beside a forged session is one to DRF views.
VALID_WITH_SOMETHING_ELSE = ("session-and-unknown-bearer", "forged-session-and-bob-bearer")


@dataclass(frozen=True)
class Pair:
    """A concealed path and a missing one; ``{item}`` is another user's item, ``{missing}``
    an id no item has."""

    name: str
    level: str
    concealed: str
    missing: str
    # Credentials that are *allowed* here (the route is open to every valid login) are not a
    # concealed refusal: they are left out of this pair.
    allows_valid: bool = False


PAIRS_UNDER_TEST = (
    Pair("drf vault list", ROUTE, "/api/vault/", "/api/vaulx/", allows_valid=True),
    Pair("drf group-gated", ROUTE, "/t/conceal/drf/", "/t/conceal/no-such-view/"),
    Pair("plain function", ROUTE, "/t/plain/concealed/", "/t/plain/no-such/", allows_valid=True),
    Pair("plain group-gated", ROUTE, "/t/conceal/plain-staff/", "/t/conceal/no-such-staff/"),
    Pair("plain class-based", ROUTE, "/t/conceal/plain-class/", "/t/conceal/no-such-class/"),
    Pair("drf vault item", OBJECT, "/api/vault/{item}/", "/api/vault/{missing}/"),
    Pair(
        "plain vault item",
        OBJECT,
        "/t/conceal/plain-vault/{item}/",
        "/t/conceal/plain-vault/{missing}/",
    ),
)

METHODS = ("GET", "HEAD", "OPTIONS", "POST", "PUT", "PATCH", "DELETE", "TRACE", "PROPFIND")
ACCEPTS = (
    None,
    "*/*",
    "application/json",
    "application/problem+json",
    "text/html",
    "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
    "application/json;q=0.1, text/html",
    "image/png",
    "application/xml",
    "text/plain",
    "nonsense",
)
QUERIES = (
    "",
    "?page=2",
    "?format=json",
    "?format=api",
    "?format=xml",
    "?access_token=not-a-token",
    "?access_token=a&access_token=b",
    "?access%5Ftoken=not-a-token",  # the same parameter, once decoded
    "?q=%00%ff",
)
BODIES = (None, "json", "form", "form-token")


@dataclass(frozen=True)
class Shape:
    pair: Pair
    method: str
    accept: str | None
    credentials: str
    slash: bool
    query: str
    body: str | None


@st.composite
def shapes(draw, pairs: tuple[Pair, ...] = PAIRS_UNDER_TEST) -> Shape:
    pair = draw(st.sampled_from(pairs))
    kinds = (
        CREDENTIALS
        if not pair.allows_valid
        else tuple(k for k in (NONE, *INVALID) if k not in VALID_WITH_SOMETHING_ELSE)
    )
    return Shape(
        pair=pair,
        method=draw(st.sampled_from(METHODS)),
        accept=draw(st.sampled_from(ACCEPTS)),
        credentials=draw(st.sampled_from(kinds)),
        slash=draw(st.booleans()),
        query=draw(st.sampled_from(QUERIES)),
        body=draw(st.sampled_from(BODIES)),
    )


# --- the world the requests are sent to ----------------------------------------------------


@dataclass(frozen=True)
class World:
    item: int
    missing: int
    bob_token: str
    expired_token: str
    bob_session: str
    carol: int


@pytest.fixture
def world(db) -> World:
    alice = UserFactory(username="alice")
    bob = UserFactory(username="bob")
    item = VaultItemFactory(owner=alice, name="diary", secret="dear diary")
    VaultItemFactory(owner=bob, name="bob's")
    login = APIClient()
    login.force_login(bob)
    return World(
        item=item.pk,
        missing=_unused_id_like(item.pk),
        bob_token=AccessTokenFactory(user=bob, scope="read write").token,
        expired_token=AccessTokenFactory(user=bob, expired=True).token,
        bob_session=login.cookies[settings.SESSION_COOKIE_NAME].value,
        carol=UserFactory(username="carol").pk,
    )


def stale_session(user_pk: int) -> str:
    """A fresh session of a user whose password changed since: Django flushes it on first
    use (``get_user``), and ``SessionMiddleware`` deletes the cookie. One per request."""
    store = import_string(f"{settings.SESSION_ENGINE}.SessionStore")()
    store[SESSION_KEY] = str(user_pk)
    store[BACKEND_SESSION_KEY] = settings.AUTHENTICATION_BACKENDS[0]
    store[HASH_SESSION_KEY] = "not-the-current-hash"
    store.create()
    return store.session_key


def _unused_id_like(pk: int) -> int:
    """An id no item has, with as many digits as ``pk``: DRF's browsable API echoes the URL,
    and a longer one would differ in length for that reason alone."""
    taken = set(VaultItem.objects.values_list("pk", flat=True))
    digits = len(str(pk))
    return next(n for n in range(10 ** (digits - 1), 10**digits) if n not in taken)


def authorization(kind: str, world: World) -> str | None:
    return {
        "bob-bearer": bearer_auth(world.bob_token),
        "bob-basic": basic_auth("bob", "secret"),
        "unknown-bearer": bearer_auth("no-such-token"),
        "expired-bearer": bearer_auth(world.expired_token),
        "bare-bearer": "Bearer",
        "two-bearer-tokens": "Bearer a b",
        "non-b64-bearer": 'Bearer "quoted"',
        "wrong-password": basic_auth("bob", "wrong"),
        "undecodable-basic": "Basic !!!",
        "foreign-scheme": "Token 0123456789abcdef",
        "session-and-unknown-bearer": bearer_auth("no-such-token"),
        "forged-session-and-bob-bearer": bearer_auth(world.bob_token),
    }.get(kind)


def send(shape: Shape, path: str, world: World):
    """One request of ``shape`` to ``path``, from a fresh client that enforces CSRF."""
    client = APIClient(enforce_csrf_checks=True)
    if shape.credentials in ("bob-session", "session-and-unknown-bearer"):
        client.cookies[settings.SESSION_COOKIE_NAME] = world.bob_session
    elif shape.credentials == "stale-session":
        client.cookies[settings.SESSION_COOKIE_NAME] = stale_session(world.carol)
    elif shape.credentials.startswith("forged-session"):
        # An expired or forged session id: Django deletes the cookie once it loads it.
        client.cookies[settings.SESSION_COOKIE_NAME] = "0123456789abcdefghijklmnopqrstuv"
    extra: dict[str, str] = {}
    header = authorization(shape.credentials, world)
    if header is not None:
        extra["HTTP_AUTHORIZATION"] = header
    if shape.accept is not None:
        extra["HTTP_ACCEPT"] = shape.accept
    path = path.format(item=world.item, missing=world.missing)
    if not shape.slash:
        path = path.rstrip("/")
    data, content_type = "", "application/octet-stream"
    if shape.body == "json":
        data, content_type = json.dumps({"name": "x"}), "application/json"
    elif shape.body == "form":
        data, content_type = "name=x", "application/x-www-form-urlencoded"
    elif shape.body == "form-token":
        data, content_type = "access_token=abc", "application/x-www-form-urlencoded"
    return client.generic(
        shape.method, path + shape.query, data, content_type=content_type, **extra
    )


# Fresh random values in every response, whatever the path: the CSRF cookie and the masked
# token DRF's browsable API embeds (OPTIONS/GET pages for a user of the route).
CSRF_TOKEN = re.compile(rb'("csrfToken": ")[A-Za-z0-9]+(")')
CSRF_COOKIE = re.compile(r"(csrftoken=)[A-Za-z0-9]+(;)")
# A cookie's expiry is the response's Date plus Max-Age: it differs by a second when two
# responses straddle one, like Date itself.
COOKIE_EXPIRES = re.compile(r"expires=[^;]+")


def fingerprint(response) -> tuple:
    """Everything a client can observe, except ``Date`` (and cookie expiries derived from it)
    and per-response CSRF tokens; the
    request's own path, where the page echoes it (DRF's browsable API), reads ``{path}``."""
    content = CSRF_TOKEN.sub(rb"\1...\2", response.content)
    request = response.wsgi_request
    for path in (request.get_full_path(), request.path):
        content = content.replace(path.encode(), b"{path}")
    return (
        response.status_code,
        headers_without_date(response),
        COOKIE_EXPIRES.sub("expires=…", CSRF_COOKIE.sub(r"\1…\2", response.cookies.output())),
        content,
    )


PAIRS: Counter[str] = Counter()


@pytest.fixture(scope="module", autouse=True)
def _report_pairs(request):
    yield
    reporter = request.config.pluginmanager.get_plugin("terminalreporter")
    capture = request.config.pluginmanager.get_plugin("capturemanager")
    if reporter is not None and capture is not None and PAIRS:
        total = sum(PAIRS.values())
        detail = ", ".join(f"{name}: {n}" for name, n in sorted(PAIRS.items()))
        with capture.global_and_fixture_disabled():
            reporter.write_line(
                f"\nconcealment: {total} concealed/missing pairs compared ({detail})"
            )


def assert_pair(shape: Shape, world: World) -> None:
    concealed = send(shape, shape.pair.concealed, world)
    missing = send(shape, shape.pair.missing, world)
    assert fingerprint(concealed) == fingerprint(missing), shape
    if shape.pair.level == ROUTE:
        assert concealed.status_code not in range(200, 300), shape
    # At object level a user of the route may get what does not depend on the object (DRF's
    # OPTIONS metadata): the same for every id, existing or not.
    if concealed.status_code == 404 and shape.method != "HEAD":
        if concealed["Content-Type"].startswith("text/html"):
            assert b"Not found" in concealed.content
        else:
            assert problem(concealed)["type"].endswith("#not-found")
    assert b"dear diary" not in concealed.content
    PAIRS[f"{shape.pair.level} level"] += 1


# --- the property ------------------------------------------------------------------------------

SESSION = "authstatus.enforcement.authenticators.SessionAuthenticator"
BEARER_AUTHENTICATOR = "authstatus.contrib.oauth2_provider.BearerAuthenticator"
BASIC_AUTHENTICATOR = "authstatus.enforcement.authenticators.BasicAuthenticator"

CONFIGURATIONS = {
    "demo": {},
    "every authenticator and token place": {
        "MIDDLEWARE_AUTHENTICATORS": [SESSION, BEARER_AUTHENTICATOR, BASIC_AUTHENTICATOR],
        "BEARER_METHODS": ["header", "body", "query"],
    },
    "hint": {"CONCEALED_CHALLENGE_PATHS": ["/api/**", "/t/**"]},
    "uniform": {"UNIFORM_CONCEALMENT_PATHS": ["/api/**", "/t/**"]},
}


@pytest.fixture(params=list(CONFIGURATIONS))
def configuration(request):
    with override_settings(AUTHSTATUS={**settings.AUTHSTATUS, **CONFIGURATIONS[request.param]}):
        yield request.param


@hypothesis_settings(max_examples=300)
@given(shape=shapes())
def test_a_concealed_resource_answers_exactly_like_a_missing_one(configuration, world, shape):
    assert_pair(shape, world)


def test_every_concealed_resource_exists_for_its_audience(world, staff_user):
    """The pairs compare something real: each concealed path answers its audience."""
    alice = APIClient()
    alice.force_login(VaultItem.objects.get(pk=world.item).owner)
    for path in (
        "/api/vault/",
        f"/api/vault/{world.item}/",
        f"/t/conceal/plain-vault/{world.item}/",
        "/t/plain/concealed/",
    ):
        assert alice.get(path).status_code == 200, path
    staff = APIClient()
    staff.force_login(staff_user)
    for path in ("/t/conceal/drf/", "/t/conceal/plain-staff/", "/t/conceal/plain-class/"):
        assert staff.get(path).status_code == 200, path
    assert staff.put("/t/conceal/plain-class/").status_code == 405  # the audience learns it


# --- the same, shape by shape, for the record ---------------------------------------------------


def _shape(pair: str, **changes) -> Shape:
    values = {
        "pair": next(p for p in PAIRS_UNDER_TEST if p.name == pair),
        "method": "GET",
        "accept": None,
        "credentials": NONE,
        "slash": True,
        "query": "",
        "body": None,
    }
    values.update(changes)
    return Shape(**values)


@pytest.mark.parametrize("pair", [p.name for p in PAIRS_UNDER_TEST])
@pytest.mark.parametrize("method", METHODS)
def test_every_method_of_every_pair(world, pair, method):
    assert_pair(_shape(pair, method=method), world)


UNRENDERABLE = {
    "non-ASCII SESSION_COOKIE_NAME": {"SESSION_COOKIE_NAME": "sessi\u00f3n"},
    "non-ASCII REALM": {"REALM": "caf\u00e9"},
    "SESSION_SCHEME not a token": {"SESSION_SCHEME": "Cookie Auth"},
}


@pytest.mark.parametrize("setting", list(UNRENDERABLE))
@pytest.mark.parametrize(
    ("pair", "credentials"),
    [
        (p.name, c)
        for p in PAIRS_UNDER_TEST
        if p.level == ROUTE
        for c in (NONE, "unknown-bearer", "wrong-password", "bob-bearer")
        if not (p.allows_valid and c in VALID)
    ],
)
def test_a_challenge_that_cannot_be_built_never_fails_a_concealed_refusal(
    world, setting, credentials, pair
):
    """Startup refuses these settings (tests/test_checks.py); should one get through (changed
    at run time), a concealed refusal builds no challenge, so it is still the 404 of a
    missing URL, not a 500."""
    change = UNRENDERABLE[setting]
    cookie_name = change.get("SESSION_COOKIE_NAME", settings.SESSION_COOKIE_NAME)
    authstatus = {
        **settings.AUTHSTATUS,
        **{k: v for k, v in change.items() if k != "SESSION_COOKIE_NAME"},
    }
    with override_settings(SESSION_COOKIE_NAME=cookie_name, AUTHSTATUS=authstatus):
        assert_pair(_shape(pair, credentials=credentials), world)


def test_drf_route_carries_no_allow_header(world):
    """DRF adds ``Allow`` to every response of its views; a URL with no route has none."""
    response = send(_shape("drf vault list", method="OPTIONS"), "/api/vault/", world)
    assert response.status_code == 404
    assert not response.has_header("Allow")


@pytest.mark.parametrize("accept", ["image/png", "application/xml", "text/plain"])
def test_an_unacceptable_accept_is_not_a_406_on_a_concealed_drf_route(world, accept):
    """DRF negotiates the content type before permissions; a 406 would reveal the route."""
    assert_pair(_shape("drf group-gated", accept=accept), world)
    assert (
        send(_shape("drf group-gated", accept=accept), "/t/conceal/drf/", world).status_code == 404
    )


def test_an_allowed_request_still_gets_drfs_406(client, db):
    response = client.get("/api/public/", HTTP_ACCEPT="image/png")
    assert response.status_code == 406


def test_an_openly_refused_request_is_refused_before_content_negotiation(client, db):
    response = client.get("/api/profile/", HTTP_ACCEPT="image/png")
    assert response.status_code == 401
    assert response["Content-Type"] == "application/problem+json"


def test_the_404_is_the_problem_document_for_api_clients_and_html_for_browsers(world):
    api = send(_shape("plain function"), "/t/plain/no-such/", world)
    assert api.status_code == 404
    assert problem(api)["resolution"] == "not_found"
    assert api["Cache-Control"] == "no-store"
    # Accept-Language: the demo's LocaleMiddleware (the body is in the client's language);
    # origin: django-cors-headers.
    assert api["Vary"] == "Authorization, Cookie, Accept, Accept-Language, origin"
    page = send(_shape("plain function", accept="text/html"), "/t/plain/no-such/", world)
    assert page["Content-Type"] == "text/html; charset=utf-8"
    assert b"Not found" in page.content


@pytest.mark.parametrize("credentials", ["forged-session", "stale-session"])
@pytest.mark.parametrize("pair", ["drf vault list", "plain group-gated", "drf vault item"])
def test_a_dead_session_cookie_is_deleted_on_missing_urls_too(world, credentials, pair):
    """Deciding the refusal loads the session, and SessionMiddleware deletes the cookie of a
    session that does not exist (or is flushed): the 404 of a missing URL does the same."""
    shape = _shape(pair, credentials=credentials)
    missing = send(shape, shape.pair.missing, world)
    assert missing.cookies[settings.SESSION_COOKIE_NAME].value == ""
    assert_pair(shape, world)


def test_while_no_policies_load_routes_and_missing_urls_answer_the_same_503(world, monkeypatch):
    """A process that never loaded its policies refuses enforced routes with 503; a URL with
    no route answers the same 503, or the outage would list every route."""
    from authstatus.policies.propagation import registry

    def database_down():
        raise RuntimeError("database down")

    monkeypatch.setattr(registry, "_sources", [database_down])
    registry.reset()
    for cookie in (None, "0123456789abcdefghijklmnopqrstuv"):  # none, a forged session
        answers = {}
        for path in ("/api/vault/", "/api/vaulx/", "/t/plain/concealed/", "/t/plain/no-such/"):
            client = APIClient()
            if cookie:
                client.cookies[settings.SESSION_COOKIE_NAME] = cookie
            response = client.get(path)
            answers[path] = (
                response.status_code,
                headers_without_date(response),
                response.cookies.output(),
                response.content,
            )
        assert {answer[0] for answer in answers.values()} == {503}
        assert len({repr(answer) for answer in answers.values()}) == 1, answers


# --- APPEND_SLASH --------------------------------------------------------------------------------


def test_no_slash_redirect_to_a_concealed_route(world):
    for pair in ("drf vault list", "drf group-gated", "plain function", "plain class-based"):
        shape = _shape(pair, slash=False)
        response = send(shape, shape.pair.concealed, world)
        assert response.status_code == 404, pair
        assert_pair(shape, world)


def test_slash_redirects_still_work_where_nothing_is_concealed(client, db):
    response = client.get("/api/public")
    assert response.status_code == 301
    assert response["Location"] == "/api/public/"


def test_no_redirect_for_the_audience_of_a_concealed_route_either(client, world):
    """The redirect is decided without authenticating: the owner gets the 404 too, and uses
    the canonical URL."""
    client.cookies[settings.SESSION_COOKIE_NAME] = world.bob_session
    assert client.get("/api/vault").status_code == 404
    assert client.get("/api/vault/").status_code == 200


def test_prepend_www_keeps_a_concealed_path_as_sent(world):
    with override_settings(PREPEND_WWW=True):
        concealed = APIClient().get("/api/vault")
        missing = APIClient().get("/api/vaulx")
    assert concealed.status_code == missing.status_code == 301
    assert concealed["Location"] == "http://www.testserver/api/vault"
    assert missing["Location"] == "http://www.testserver/api/vaulx"


# --- CSRF: CsrfViewMiddleware answers before AuthStatusMiddleware could -------------------------


@pytest.mark.parametrize("credentials", [NONE, "bob-session"])
def test_csrf_failure_on_a_concealed_plain_view_is_a_404(world, credentials):
    shape = _shape("plain group-gated", method="POST", credentials=credentials, body="form")
    assert send(shape, "/t/conceal/plain-staff/", world).status_code == 404
    assert_pair(shape, world)


def test_csrf_failure_stays_a_403_for_the_audience(world):
    """Bob may see his own items: for him the plain vault route exists, CSRF applies."""
    shape = _shape("plain vault item", method="POST", credentials="bob-session", body="form")
    response = send(shape, "/t/conceal/plain-vault/{item}/", world)
    assert response.status_code == 403
    assert_pair(shape, world)  # his 403 on another's item equals his 403 on a missing one


# --- a query Django refuses to read -----------------------------------------------------------

FIELDS = "&".join(f"f{i}=1" for i in range(settings.DATA_UPLOAD_MAX_NUMBER_FIELDS + 1))
# With an access_token parameter the bearer authenticator must read the query; without one
# it knows from the raw string that there is no token to read (query_may_carry).
TOO_MANY_FIELDS = f"?{FIELDS}&access_token=x"


@pytest.mark.parametrize("pair", ["drf group-gated", "plain group-gated"])
def test_a_query_too_large_to_read_is_a_404_on_a_concealed_route(world, pair):
    """The bearer authenticator reads the query; Django refuses (400) past
    DATA_UPLOAD_MAX_NUMBER_FIELDS. A missing URL never reads it."""
    everything = [SESSION, BEARER_AUTHENTICATOR, BASIC_AUTHENTICATOR]
    with override_settings(
        AUTHSTATUS={**settings.AUTHSTATUS, "MIDDLEWARE_AUTHENTICATORS": everything}
    ):
        shape = _shape(pair, query=TOO_MANY_FIELDS)
        assert send(shape, shape.pair.concealed, world).status_code == 404
        assert_pair(shape, world)


@pytest.mark.parametrize("pair", ["drf group-gated", "plain group-gated"])
def test_a_query_too_large_to_read_on_a_concealed_route_is_logged(world, pair, caplog):
    """The client gets the missing URL's 404; the log says what happened, as Django's own
    log says it when it answers the 400 elsewhere."""
    everything = [SESSION, BEARER_AUTHENTICATOR, BASIC_AUTHENTICATOR]
    with override_settings(
        AUTHSTATUS={**settings.AUTHSTATUS, "MIDDLEWARE_AUTHENTICATORS": everything}
    ):
        shape = _shape(pair, query=TOO_MANY_FIELDS)
        caplog.clear()
        assert send(shape, shape.pair.concealed, world).status_code == 404
    records = [r for r in caplog.records if r.name == "django.security.TooManyFieldsSent"]
    assert len(records) == 1
    assert records[0].levelname == "ERROR"
    assert records[0].status_code == 404


def test_an_authenticator_that_raises_on_a_concealed_route_is_a_logged_404(world, caplog):
    """A failing authentication class (a database outage, a third-party bug) on a concealed
    DRF route: the missing URL's 404 for the client, the traceback in the log."""
    caplog.clear()
    concealed = APIClient().get("/t/conceal/broken-authentication/")
    missing = APIClient().get("/t/conceal/no-such-authentication/")
    assert fingerprint(concealed) == fingerprint(missing)
    records = [r for r in caplog.records if r.name == "authstatus"]
    assert [r.levelname for r in records] == ["ERROR"]
    assert "concealed resource" in records[0].getMessage()
    assert records[0].exc_info[0] is RuntimeError
    assert "authentication backend down" in str(records[0].exc_info[1])


def test_a_query_too_large_to_read_is_still_a_400_where_nothing_is_concealed(client, db):
    assert client.get("/api/profile/" + TOO_MANY_FIELDS).status_code == 400


def test_a_query_without_a_token_is_not_read_to_look_for_one(client, db):
    """No ``access_token`` (nor ``%``) in the raw query: nothing to parse, the request is
    decided as one without credentials (401), whatever the query's size."""
    response = client.get(f"/api/profile/?{FIELDS}")
    assert response.status_code == 401
    (challenge,) = challenges(response)[:1]
    assert challenge.scheme == "Bearer"
    assert challenge.param("error") is None


# --- throttling ----------------------------------------------------------------------------------


@pytest.fixture
def throttles():
    cache.clear()  # the throttle's history lives in the default cache
    yield
    cache.clear()


def test_a_refused_client_is_never_throttled_on_a_concealed_route(world, throttles):
    """Throttles run after permissions (APIView.initial): a refusal is never counted, and a
    missing URL is never throttled either. The throttle allows 3 requests a minute."""
    for _ in range(6):
        concealed = APIClient().get("/t/conceal/throttled-vault/")
        missing = APIClient().get("/t/conceal/throttled-vaulx/")
        assert fingerprint(concealed) == fingerprint(missing)
        assert concealed.status_code == 404


def test_a_throttled_client_gets_the_same_429_for_anothers_item_and_a_missing_one(world, throttles):
    """Bob may use the route (his own items): he is throttled on it, before any object is
    looked up, so another user's item and a missing id still answer alike."""
    shape = _shape("drf vault item", credentials="bob-bearer")
    statuses = []
    for _ in range(3):
        statuses.append(send(shape, "/t/conceal/throttled-vault/{item}/", world).status_code)
        statuses.append(send(shape, "/t/conceal/throttled-vault/{missing}/", world).status_code)
    assert statuses == [404, 404, 404, 429, 429, 429]
    concealed = send(shape, "/t/conceal/throttled-vault/{item}/", world)
    missing = send(shape, "/t/conceal/throttled-vault/{missing}/", world)
    assert concealed.status_code == missing.status_code == 429
    # Retry-After counts down in whole seconds: both say the same, or one second apart.
    wait = abs(int(concealed["Retry-After"]) - int(missing["Retry-After"]))
    assert wait <= 1
    assert {k: v for k, v in headers_without_date(concealed).items() if k != "retry-after"} == {
        k: v for k, v in headers_without_date(missing).items() if k != "retry-after"
    }


# --- the hint: CONCEALED_CHALLENGE_PATHS ---------------------------------------------------

HINT = {"CONCEALED_CHALLENGE_PATHS": ["/api/vault/**"]}


@pytest.fixture
def hint():
    with override_settings(AUTHSTATUS={**settings.AUTHSTATUS, **HINT}):
        yield


def test_hint_is_off_by_default(client, world):
    response = client.get("/api/vault/")
    assert response.status_code == 404
    assert not response.has_header("WWW-Authenticate")


@pytest.mark.parametrize(
    "path",
    ["/api/vault/", "/api/vault/{item}/", "/api/vault/{missing}/", "/api/vault/no/such/thing/"],
)
def test_hint_is_the_same_bearer_challenge_on_every_path_under_it(hint, world, path):
    response = APIClient().get(path.format(item=world.item, missing=world.missing))
    assert response.status_code == 404
    assert challenges(response) == (BEARER,)
    assert response["Cache-Control"] == "no-store"
    assert problem(response)["resolution"] == "not_found"


def test_hint_is_not_sent_outside_its_paths_or_with_credentials(hint, world):
    assert not APIClient().get("/api/vaulx/").has_header("WWW-Authenticate")
    for kind in ("bob-bearer", "unknown-bearer", "bob-session"):
        shape = _shape("drf vault item", credentials=kind)
        response = send(shape, "/api/vault/{item}/", world)
        assert response.status_code == 404
        assert not response.has_header("WWW-Authenticate"), kind
    shape = _shape("drf vault item", query="?access_token=abc")
    assert not send(shape, "/api/vault/{item}/", world).has_header("WWW-Authenticate")


# Missing paths inside the hint's namespace, next to existing ones.
HINT_PAIRS = (
    Pair("hint: vault list", ROUTE, "/api/vault/", "/api/vault/no-such/", allows_valid=True),
    Pair("hint: vault item", OBJECT, "/api/vault/{item}/", "/api/vault/{missing}/"),
    Pair("hint: vault item vs no route", ROUTE, "/api/vault/{item}/", "/api/vault/{item}/x/", True),
)


@hypothesis_settings(max_examples=100)
@given(shape=shapes(HINT_PAIRS))
def test_hint_keeps_existing_and_missing_paths_alike(hint, world, shape):
    assert_pair(shape, world)


def test_hint_helper_reads_only_the_request(rf, hint):
    assert concealed_challenges(rf.get("/api/vault/1/")) == (BEARER,)
    assert concealed_challenges(rf.get("/api/vault/1/", HTTP_AUTHORIZATION="Bearer x")) == ()
    assert concealed_challenges(rf.get("/elsewhere/")) == ()


# --- the system checks see the configuration ---------------------------------------------------


def _concealment_messages():
    from authstatus.checks.concealment import check_concealment

    return check_concealment()


def test_demo_and_test_urlconfs_pass_the_concealment_checks():
    assert _concealment_messages() == []
    assert [m for m in django_checks.run_checks() if (m.id or "").startswith("authstatus.")] == []


# --- uniform concealment: a missing URL pays the authentication work ------------------------------

UNIFORM = {"UNIFORM_CONCEALMENT_PATHS": ["/api/**", "/t/**"]}
UNIFORM_CREDENTIALS = (
    NONE,
    "unknown-bearer",
    "expired-bearer",
    "bob-bearer",
    "wrong-password",
    "bob-session",
    "forged-session",
)


def _queries(shape: Shape, path: str, world: World) -> list[str]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        response = send(shape, path, world)
    assert response.status_code == 404
    # Savepoints differ with the test's transaction handling only; compare the statements.
    return [
        re.sub(r"\d+", "N", q["sql"])
        for q in captured.captured_queries
        if "SAVEPOINT" not in q["sql"]
    ]


@pytest.mark.parametrize("credentials", UNIFORM_CREDENTIALS)
@pytest.mark.parametrize("pair", ["drf vault list", "drf group-gated"])
def test_uniform_mode_makes_a_missing_url_run_the_same_queries(world, pair, credentials):
    """The authentication work is the database work (token lookup, user lookup before the
    password hash, session): with the mode on, a missing URL runs the very statements the
    concealed route runs; off, a missing URL runs none of the token or user lookups."""
    chosen = next(p for p in PAIRS_UNDER_TEST if p.name == pair)
    if chosen.allows_valid and credentials in VALID:
        return  # allowed there: not a concealed refusal (the pair's rule)
    shape = _shape(pair, credentials=credentials)
    with override_settings(AUTHSTATUS={**settings.AUTHSTATUS, **UNIFORM}):
        send(shape, chosen.missing, world)  # the policies load once per settings
        concealed = _queries(shape, chosen.concealed, world)
        missing = _queries(shape, chosen.missing, world)
        assert_pair(shape, world)

    # A valid login is refused after a group lookup on both (the uniform policy's group is
    # one nobody is in), which names different groups: compare those by count.
    def lookups(queries):
        return (
            [q for q in queries if "auth_group" not in q],
            len([q for q in queries if "auth_group" in q]),
        )

    assert lookups(concealed) == lookups(missing)
    if credentials != NONE and credentials != "forged-session":
        assert missing
    send(shape, chosen.missing, world)
    off = _queries(shape, chosen.missing, world)
    if "session" not in credentials:  # every 404 reads a session's user (settle_session)
        assert not any("oauth2_provider_accesstoken" in q or "auth_user" in q for q in off)


@pytest.mark.parametrize("credentials", ["unknown-bearer", "bob-session"])
def test_uniform_mode_calls_the_view_as_a_route_is_called(world, credentials, monkeypatch):
    """With ``ATOMIC_REQUESTS`` Django runs a routed view in a transaction and a 404 handler
    outside one: a real database then answers a concealed route with a ``BEGIN`` and a
    ``COMMIT`` (here, inside the test's transaction, a savepoint) that a missing URL would
    skip. The uniform mode calls its view as Django calls a routed one: same statements,
    savepoints included."""
    from django.db import connection

    chosen = next(p for p in PAIRS_UNDER_TEST if p.name == "drf group-gated")
    shape = _shape("drf group-gated", credentials=credentials)
    monkeypatch.setitem(connection.settings_dict, "ATOMIC_REQUESTS", True)
    with override_settings(AUTHSTATUS={**settings.AUTHSTATUS, **UNIFORM}):
        send(shape, chosen.missing, world)  # the policies load once per settings
        with CaptureQueriesContext(connection) as concealed:
            assert send(shape, chosen.concealed, world).status_code == 404
        with CaptureQueriesContext(connection) as missing:
            assert send(shape, chosen.missing, world).status_code == 404

    def statements(captured):
        # Savepoint ids and the groups' names differ; the statements must not.
        return [re.sub(r"\d+", "N", re.sub(r"'[^']*'", "S", q["sql"])) for q in captured]

    assert statements(concealed.captured_queries) == statements(missing.captured_queries)
    assert any("SAVEPOINT" in q["sql"] for q in missing.captured_queries)


def test_uniform_mode_leaves_other_paths_and_existing_routes_alone(
    world, django_assert_num_queries
):
    shape = _shape("drf vault list", credentials="unknown-bearer")
    with override_settings(
        AUTHSTATUS={**settings.AUTHSTATUS, "UNIFORM_CONCEALMENT_PATHS": ["/api/vault/**"]}
    ):
        send(shape, "/nowhere/at/all/", world)  # the policies load once per settings
        with django_assert_num_queries(0):
            assert send(shape, "/nowhere/at/all/", world).status_code == 404
            assert send(shape, "/api/vaulx/", world).status_code == 404
        # An existing plain view's own Http404 (a missing object) is not authenticated twice.
        item = _shape("plain vault item", credentials="unknown-bearer")
        assert_pair(item, world)
        assert send(shape, "/api/vault/", world).status_code == 404


def test_uniform_mode_without_drf_authenticates_as_the_middleware_does(
    rf, world, denials, django_assert_num_queries
):
    """Without DRF installed the work is the middleware's: MIDDLEWARE_AUTHENTICATORS."""
    from django.contrib.auth.models import AnonymousUser

    from authstatus.concealment.uniform import _plain

    request = rf.get("/api/vaulx/", HTTP_AUTHORIZATION=bearer_auth("no-such-token"))
    request.user = AnonymousUser()
    everything = [SESSION, BEARER_AUTHENTICATOR, BASIC_AUTHENTICATOR]
    with override_settings(
        AUTHSTATUS={**settings.AUTHSTATUS, **UNIFORM, "MIDDLEWARE_AUTHENTICATORS": everything}
    ):
        _plain(request)  # the policies load once per settings
        with django_assert_num_queries(1):  # the token lookup
            response = _plain(request)
    assert response.status_code == 404
    assert problem(response)["type"].endswith("#not-found")
    assert denials[-1]["decision"].policy.source == "uniform-concealment"
    assert denials[-1]["credentials"].failure.value == "unknown_token"


def test_uniform_mode_announces_the_refusal_like_a_concealed_route(world, denials):
    shape = _shape("drf vault list", credentials="unknown-bearer")
    with override_settings(AUTHSTATUS={**settings.AUTHSTATUS, **UNIFORM}):
        send(shape, "/api/vault/", world)
        send(shape, "/api/vaulx/", world)
    assert [d["decision"].status for d in denials] == [404, 404]
    assert [d["decision"].policy.source for d in denials][1] == "uniform-concealment"
    assert denials[0]["credentials"] == denials[1]["credentials"]


# --- response time ------------------------------------------------------------------------------


def test_concealed_and_missing_take_comparable_time(world):
    """A report, not a benchmark (see benchmarks/bench_concealment.py): the concealed route
    authenticates (a token lookup) where the missing URL does not. Only an order of magnitude
    would be a finding; the bound asserted is a generous 10x."""
    shape = _shape("drf vault item", credentials="unknown-bearer")
    medians = {}
    for label, path in (("concealed", shape.pair.concealed), ("missing", shape.pair.missing)):
        samples = []
        for _ in range(30):
            start = time.perf_counter()
            send(shape, path, world)
            samples.append(time.perf_counter() - start)
        medians[label] = statistics.median(samples)
    ratio = medians["concealed"] / medians["missing"]
    print(
        f"concealed {medians['concealed'] * 1e3:.2f} ms, missing {medians['missing'] * 1e3:.2f} ms"
    )
    assert 0.1 < ratio < 10, medians


# --- decided once ---------------------------------------------------------------------------


@pytest.fixture
def decisions():
    """The decisions made while the test runs: each call of the core's ``decide`` or
    ``refuse``, wherever it is imported (seen by ``sys.setprofile``)."""
    import sys

    from authstatus.core import decision as core

    codes = {core.decide.__code__: "decide", core.refuse.__code__: "refuse"}
    made: list[str] = []

    def profile(frame, event, arg):
        if event == "call" and frame.f_code in codes:
            made.append(codes[frame.f_code])

    sys.setprofile(profile)
    yield made
    sys.setprofile(None)


@pytest.mark.django_db
def test_a_concealed_refusal_is_rendered_from_its_decision_not_decided_again(decisions):
    """Every 404 is rendered from one decision made at import (the core is pure): rendering
    a concealed refusal adds no decision, and a missing URL makes none."""
    from tests.factories import OrderFactory

    alice, bob = UserFactory(username="alice"), UserFactory(username="bob")
    order = OrderFactory(owner=alice)
    token = AccessTokenFactory(user=bob, scope="read write").token
    client = APIClient()
    assert client.get(f"/api/orders/{order.pk}/").status_code == 404
    assert decisions == ["decide"]  # before DRF dispatches, without credentials
    decisions.clear()
    response = client.get(f"/api/orders/{order.pk}/", HTTP_AUTHORIZATION=bearer_auth(token))
    assert response.status_code == 404
    assert decisions == ["decide", "refuse"]  # the route's policy, then the object's owner
    decisions.clear()
    assert client.get("/api/no-such-route/").status_code == 404
    assert decisions == []
