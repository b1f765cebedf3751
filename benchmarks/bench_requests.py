"""Cost of one request per access-control path, measured in one process, one run.

Every row is a whole request through Django (URL resolution, middleware, view, rendering),
timed in-process (:mod:`benchmarks.harness`) and counted in database queries
(``CaptureQueriesContext``). Stock rows are served by a handler without authstatus's
middleware, with DRF's own exception handler; authstatus rows by one with it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from benchmarks.harness import Call, Cell, Client, measure, queries
from benchmarks.seed import Tokens


@dataclass(frozen=True)
class Scenario:
    key: str
    label: str
    call: Call
    status: int
    group: str = ""  # "" or a key of OVERRIDES
    section: str = "success"


# Settings groups: AUTHSTATUS overrides entered around their scenarios.
OVERRIDES: dict[str, dict[str, Any]] = {
    "cache-locmem": {"BEARER_CACHE_SECONDS": 60, "BEARER_CACHE_ALIAS": "tokens"},
    "cache-file": {"BEARER_CACHE_SECONDS": 60, "BEARER_CACHE_ALIAS": "default"},
    "queryset": {"PREPARED_TOKEN_QUERY": False},
}
# Not a setting: a no-op execute wrapper on the connection (as django-debug-toolbar installs),
# which every query then goes through: what observing the token lookup costs.
OBSERVED = "observed"


def configure_external(external: Any) -> None:
    """Settings groups of the token backend rows, pointing at ``external``'s servers."""
    OVERRIDES.update(
        {
            "jwt": {"TOKEN_BACKENDS": [external.jwt_backend()]},
            "jwt-verify": {"TOKEN_BACKENDS": [external.jwt_backend(VERIFIED_CACHE_SIZE=0)]},
            "jwt-user": {"TOKEN_BACKENDS": [external.jwt_backend(USER_FIELD="username")]},
            "introspection-hit": {
                "TOKEN_BACKENDS": [external.introspection_backend(CACHE_ALIAS="tokens")]
            },
            "introspection-miss": {
                "TOKEN_BACKENDS": [
                    external.introspection_backend(CACHE_SECONDS=0, INACTIVE_CACHE_SECONDS=0)
                ]
            },
        }
    )


def token_backend_scenarios(t: Tokens) -> list[Scenario]:
    """JWT and introspection rows (only when the external servers run)."""
    if not t.jwt:
        return []
    a = "authstatus"
    return [
        Scenario(
            "jwt",
            "authstatus Bearer, JWT access token (RFC 9068), verified signature remembered",
            Call(a, "/api/bearer/", t.jwt),
            200,
            group="jwt",
        ),
        Scenario(
            "jwt_verify",
            "authstatus Bearer, JWT access token, signature verified every time (RS256)",
            Call(a, "/api/bearer/", t.jwt),
            200,
            group="jwt-verify",
        ),
        Scenario(
            "jwt_user",
            "authstatus Bearer, JWT access token, sub mapped to a user (USER_FIELD)",
            Call(a, "/api/bearer/", t.jwt_user),
            200,
            group="jwt-user",
        ),
        Scenario(
            "introspection_hit",
            "authstatus Bearer, introspection (RFC 7662), cache hit (LocMem alias)",
            Call(a, "/api/bearer/", t.introspected),
            200,
            group="introspection-hit",
        ),
        Scenario(
            "introspection_miss",
            "authstatus Bearer, introspection, cache miss (DOT runserver on loopback)",
            Call(a, "/api/bearer/", t.introspected),
            200,
            group="introspection-miss",
        ),
    ]


def scenarios(t: Tokens) -> list[Scenario]:
    s, a = "stock", "authstatus"
    return [
        Scenario("plain", "plain Django view", Call(s, "/stock/plain/"), 200),
        Scenario(
            "plain_mw",
            "plain view + AuthStatusMiddleware (anonymous policy)",
            Call(a, "/plain/"),
            200,
        ),
        Scenario("allow_any", "DRF AllowAny", Call(s, "/stock/allow-any/"), 200),
        Scenario(
            "allow_any_mw",
            "DRF AllowAny under AuthStatusMiddleware (middleware only)",
            Call(a, "/drf/allow-any/"),
            200,
        ),
        Scenario(
            "policy",
            "DRF + PolicyPermission (anonymous policy)",
            Call(a, "/drf/policy/"),
            200,
        ),
        Scenario(
            "policy_defaults",
            "DRF + authstatus default classes, no credentials (anonymous policy)",
            Call(a, "/drf/policy-defaults/"),
            200,
        ),
        Scenario(
            "stock_oauth2",
            "stock DRF + DOT OAuth2Authentication + IsAuthenticated, valid token",
            Call(s, "/stock/oauth2/", t.valid),
            200,
        ),
        Scenario(
            "bearer",
            "authstatus BearerAuthentication + PolicyPermission, valid token",
            Call(a, "/api/bearer/", t.valid),
            200,
        ),
        Scenario(
            "bearer_defaults",
            "authstatus default classes (Bearer, Session, Basic), valid token",
            Call(a, "/api/bearer-defaults/", t.valid),
            200,
        ),
        Scenario(
            "bearer_queryset",
            "authstatus Bearer, token looked up by the plain queryset (PREPARED_TOKEN_QUERY off)",
            Call(a, "/api/bearer/", t.valid),
            200,
            group="queryset",
        ),
        Scenario(
            "bearer_observed",
            "authstatus Bearer, an execute wrapper installed (as django-debug-toolbar)",
            Call(a, "/api/bearer/", t.valid),
            200,
            group=OBSERVED,
        ),
        Scenario(
            "bearer_cached",
            "authstatus Bearer, token cache hit (BEARER_CACHE_SECONDS, LocMem alias)",
            Call(a, "/api/bearer/", t.valid),
            200,
            group="cache-locmem",
        ),
        Scenario(
            "bearer_cached_file",
            "authstatus Bearer, token cache hit (file-based cache alias)",
            Call(a, "/api/bearer/", t.valid),
            200,
            group="cache-file",
        ),
        *token_backend_scenarios(t),
        # Refusals.
        Scenario(
            "stock_401",
            "stock DOT: no token -> 401",
            Call(s, "/stock/oauth2/"),
            401,
            section="refusal",
        ),
        Scenario(
            "a_401",
            "authstatus: no token -> 401 + challenge",
            Call(a, "/api/bearer/"),
            401,
            section="refusal",
        ),
        Scenario(
            "stock_401_expired",
            "stock DOT: expired token -> 401",
            Call(s, "/stock/oauth2/", t.expired),
            401,
            section="refusal",
        ),
        Scenario(
            "a_401_expired",
            "authstatus: expired token -> 401 invalid_token",
            Call(a, "/api/bearer/", t.expired),
            401,
            section="refusal",
        ),
        Scenario(
            "a_401_unknown",
            "authstatus: unknown token -> 401 invalid_token",
            Call(a, "/api/bearer/", t.unknown),
            401,
            section="refusal",
        ),
        Scenario(
            "stock_403_scope",
            "stock DOT TokenHasScope: token lacks scope -> 403",
            Call(s, "/stock/oauth2-scope/", t.read_only),
            403,
            section="refusal",
        ),
        Scenario(
            "a_403_scope",
            "authstatus: token lacks scope -> 403 insufficient_scope",
            Call(a, "/api/scoped/", t.read_only),
            403,
            section="refusal",
        ),
        Scenario(
            "a_403_closed",
            "authstatus: closed to everyone, no token -> 403",
            Call(a, "/api/closed/"),
            403,
            section="refusal",
        ),
        Scenario(
            "a_404_concealed",
            "authstatus: concealed resource, no token -> 404",
            Call(a, "/api/concealed/"),
            404,
            section="refusal",
        ),
        Scenario(
            "a_404_missing",
            "authstatus stack: URL that does not exist -> 404",
            Call(a, "/api/missing/"),
            404,
            section="refusal",
        ),
    ]


@dataclass
class Row:
    scenario: Scenario
    median_us: float
    spread_us: tuple[float, float]  # min and max of the per-round samples
    queries: int
    sql: list[str]


def _override(group: str) -> Callable[[], Any]:
    @contextmanager
    def context() -> Iterator[None]:
        from django.conf import settings
        from django.test.utils import override_settings

        with override_settings(AUTHSTATUS={**settings.AUTHSTATUS, **OVERRIDES[group]}):
            yield

    return context


@contextmanager
def _observed() -> Iterator[None]:
    from django.db import connections

    def wrapper(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        return execute(sql, params, many, context)

    with connections["default"].execute_wrapper(wrapper):
        yield


def _context(group: str) -> Callable[[], Any]:
    return _observed if group == OBSERVED else _override(group)


def run(
    tokens: Tokens, client: Client, rounds: int, keys: frozenset[str] | None = None
) -> list[Row]:
    found = [sc for sc in scenarios(tokens) if keys is None or sc.key in keys]
    cells = []
    counted: dict[str, tuple[int, list[str]]] = {}
    for sc in found:
        fn = client.prepare(sc.call)
        context = _context(sc.group) if sc.group else None
        with context() if context else _nullcontext():
            for _ in range(3):
                status = fn()
            if status != sc.status:
                raise AssertionError(f"{sc.key}: expected {sc.status}, got {status}")
            counted[sc.key] = queries(fn)
        cells.append(Cell(sc.key, fn, group=sc.group))
    measure(cells, rounds, {g: _context(g) for g in [*OVERRIDES, OBSERVED]})
    return [
        Row(
            sc,
            cell.median_ns / 1000,
            (min(cell.samples) / 1000, max(cell.samples) / 1000),
            *counted[sc.key],
        )
        for sc, cell in zip(found, cells, strict=True)
    ]


@contextmanager
def _nullcontext() -> Iterator[None]:
    yield
