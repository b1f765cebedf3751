"""System checks, ids ``authstatus.E0xx`` (errors) and ``authstatus.W0xx`` (warnings).

Every id is listed in :class:`Codes` and documented in ``docs/reference/checks.md``; ids are
stable and never reused. Checks validate settings at startup (``manage.py check``, ``runserver``,
``migrate``) instead of at import time.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Error, Tags, Warning, register
from django.utils.module_loading import import_string

from authstatus.conf import DEFAULTS, SETTING_NAME, app_settings
from authstatus.core.challenges import is_token, quote
from authstatus.core.decision import Access
from authstatus.core.matching import PatternError, validate_pattern
from authstatus.policies import PolicyError, rule_from_spec

__all__ = [
    "Codes",
    "check_bearer_cache",
    "check_concealment",
    "check_database_policies",
    "check_drf",
    "check_middleware",
    "check_oauth2_challenge",
    "check_settings",
]

MIDDLEWARE_PATH = "authstatus.middleware.AuthStatusMiddleware"
AUTH_MIDDLEWARE = "django.contrib.auth.middleware.AuthenticationMiddleware"
DRF = "authstatus.contrib.rest_framework."
HANDLER = DRF + "exception_handler"
PERMISSION = DRF + "PolicyPermission"
COMMON_MIDDLEWARE = "authstatus.middleware.CommonMiddleware"
CSRF_MIDDLEWARE = "django.middleware.csrf.CsrfViewMiddleware"
BEARER_METHODS = frozenset({"header", "body", "query"})
OAUTH2_ENDPOINTS = ("oauth2_provider:authorize", "oauth2_provider:token")
LOCMEM = "django.core.cache.backends.locmem.LocMemCache"
PROCESS_LOCAL_BACKENDS = frozenset({LOCMEM, "django.core.cache.backends.dummy.DummyCache"})
# Network cache backends that wait forever for an answer unless OPTIONS say otherwise, and the
# OPTIONS key of their socket (read) timeout.
TIMEOUT_OPTIONS = {
    "django.core.cache.backends.redis.RedisCache": "socket_timeout",
    "django_redis.cache.RedisCache": "SOCKET_TIMEOUT",
    "django.core.cache.backends.memcached.PyMemcacheCache": "timeout",
}


class Codes:
    """The registry of check ids. Never renumber; retire ids instead."""

    NOT_A_DICT = "authstatus.E001"
    UNKNOWN_KEY = "authstatus.E002"
    BAD_DEFAULT_ACCESS = "authstatus.E003"
    BAD_POLICY = "authstatus.E004"
    BAD_REALM = "authstatus.E005"
    BAD_BEARER_METHODS = "authstatus.E006"
    BAD_SESSION_SCHEME = "authstatus.E007"
    BAD_REQUIREMENTS = "authstatus.E008"
    MIDDLEWARE_MISSING = "authstatus.W001"
    MIDDLEWARE_ORDER = "authstatus.W002"
    HANDLER_MISSING = "authstatus.W003"
    PERMISSION_MISSING = "authstatus.W004"
    FOREIGN_AUTHENTICATION = "authstatus.W005"
    QUERY_TOKENS = "authstatus.W006"
    BAD_CACHE = "authstatus.E009"
    BAD_POLL_INTERVAL = "authstatus.E010"
    BAD_NAME_LIST = "authstatus.E011"
    PROCESS_LOCAL_CACHE = "authstatus.W007"
    OAUTH2_ENDPOINTS_MISSING = "authstatus.W008"
    HANDLER404_MISSING = "authstatus.W009"
    SLASH_REDIRECT_REVEALS = "authstatus.W010"
    CSRF_FAILURE_VIEW_MISSING = "authstatus.W011"
    BAD_CONCEALED_CHALLENGE_PATHS = "authstatus.E012"
    BAD_BEARER_CACHE_SECONDS = "authstatus.E013"
    BAD_BEARER_CACHE_ALIAS = "authstatus.E014"
    LONG_BEARER_CACHE = "authstatus.W012"
    BAD_RESYNC_INTERVAL = "authstatus.E020"
    INVALID_DATABASE_POLICY = "authstatus.W020"
    CACHE_WITHOUT_TIMEOUT = "authstatus.W021"


@register(Tags.security)
def check_settings(app_configs: Sequence[Any] | None = None, **kwargs: Any) -> list[CheckMessage]:
    """``AUTHSTATUS`` is a dict of known keys with values authstatus can enforce."""
    raw = getattr(settings, SETTING_NAME, {})
    if not isinstance(raw, Mapping):
        return [Error(f"{SETTING_NAME} must be a dict.", id=Codes.NOT_A_DICT)]
    errors: list[CheckMessage] = [
        Error(
            f"Unknown {SETTING_NAME} key '{key}'.",
            hint=f"Known keys: {', '.join(sorted(DEFAULTS))}.",
            id=Codes.UNKNOWN_KEY,
        )
        for key in sorted(set(raw) - set(DEFAULTS))
    ]
    if app_settings.DEFAULT_ACCESS not in {a.value for a in Access}:
        errors.append(
            Error(
                f"DEFAULT_ACCESS '{app_settings.DEFAULT_ACCESS}' is not an access level.",
                hint="Use 'anonymous', 'authenticated' or 'nobody'.",
                id=Codes.BAD_DEFAULT_ACCESS,
            )
        )
    try:
        quote(app_settings.REALM)
    except ValueError as exc:
        errors.append(Error(f"REALM cannot be sent in a header: {exc}", id=Codes.BAD_REALM))
    if not is_token(app_settings.SESSION_SCHEME):
        errors.append(
            Error(
                "SESSION_SCHEME must be an HTTP token (RFC 9110 §5.6.2).",
                id=Codes.BAD_SESSION_SCHEME,
            )
        )
    methods = app_settings.BEARER_METHODS
    if not methods or not methods <= BEARER_METHODS:
        errors.append(
            Error(
                f"BEARER_METHODS must be a non-empty subset of {sorted(BEARER_METHODS)}.",
                id=Codes.BAD_BEARER_METHODS,
            )
        )
    elif "query" in methods:
        errors.append(
            Warning(
                "Bearer tokens are accepted in the URI query.",
                hint="RFC 6750 §2.3 and §5.3: tokens in URLs leak into logs and Referer "
                "headers; accept them only when no other method is possible.",
                id=Codes.QUERY_TOKENS,
            )
        )
    errors += _check_propagation(raw)
    errors += _check_concealed_challenge_paths(raw)
    for key in ("EXEMPT_NAMESPACES", "MIDDLEWARE_AUTHENTICATORS"):
        value = raw.get(key, [])
        if isinstance(value, str) or not all(isinstance(v, str) for v in value):
            errors.append(Error(f"{key} must be a list of strings.", id=Codes.BAD_NAME_LIST))
    for path in raw.get("MIDDLEWARE_AUTHENTICATORS", []) if not errors else []:
        try:
            import_string(path)
        except ImportError as exc:
            errors.append(Error(f"MIDDLEWARE_AUTHENTICATORS: {exc}", id=Codes.BAD_NAME_LIST))
    requirements = raw.get("REQUIREMENTS", {})
    if not isinstance(requirements, Mapping) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in requirements.items()
    ):
        errors.append(
            Error(
                "REQUIREMENTS must map names to dotted paths of predicates.",
                id=Codes.BAD_REQUIREMENTS,
            )
        )
    policies = raw.get("POLICIES", [])
    if not isinstance(policies, Sequence) or isinstance(policies, str):
        errors.append(Error("POLICIES must be a list of dicts.", id=Codes.BAD_POLICY))
        return errors
    for index, spec in enumerate(policies):
        try:
            if not isinstance(spec, Mapping):
                raise PolicyError("a policy must be a dict")
            rule_from_spec(spec, source="settings", rank=0)
        except PolicyError as exc:
            errors.append(Error(f"POLICIES[{index}]: {exc}", id=Codes.BAD_POLICY))
    return errors


def _check_propagation(raw: Mapping[str, Any]) -> list[CheckMessage]:
    """CACHE_ALIAS names a configured cache; POLL_INTERVAL is a non-negative number."""
    errors: list[CheckMessage] = []
    interval = raw.get("POLL_INTERVAL", DEFAULTS["POLL_INTERVAL"])
    if isinstance(interval, bool) or not isinstance(interval, int | float) or interval < 0:
        errors.append(
            Error(
                "POLL_INTERVAL must be a number of seconds, 0 or more.",
                id=Codes.BAD_POLL_INTERVAL,
            )
        )
    resync = raw.get("RESYNC_INTERVAL", DEFAULTS["RESYNC_INTERVAL"])
    if isinstance(resync, bool) or not isinstance(resync, int | float) or not resync > 0:
        errors.append(
            Error(
                "RESYNC_INTERVAL must be a number of seconds greater than 0.",
                hint="It bounds how long a process may enforce policies that differ from the "
                "database when the cache cannot tell it (default 10).",
                id=Codes.BAD_RESYNC_INTERVAL,
            )
        )
    alias = raw.get("CACHE_ALIAS", DEFAULTS["CACHE_ALIAS"])
    caches_setting = getattr(settings, "CACHES", {}) or {"default": {}}
    if alias in caches_setting:
        errors += _check_cache_timeout(alias, caches_setting[alias])
    if alias not in caches_setting:
        errors.append(
            Error(
                f"CACHE_ALIAS '{alias}' is not a cache in CACHES.",
                hint="Policy changes reach other processes through this cache.",
                id=Codes.BAD_CACHE,
            )
        )
    elif caches_setting[alias].get("BACKEND", LOCMEM) in PROCESS_LOCAL_BACKENDS:
        errors.append(
            Warning(
                f"The cache '{alias}' that carries policy changes is local to one process.",
                hint="With several worker processes or hosts, policies saved in the admin "
                "reach only the process that saved them. Use a shared cache (Redis, "
                "Memcached, file-based) or set AUTHSTATUS['CACHE_ALIAS'] to one.",
                id=Codes.PROCESS_LOCAL_CACHE,
            )
        )
    return errors


def _check_cache_timeout(alias: str, config: Mapping[str, Any]) -> list[CheckMessage]:
    """The cache that carries policy changes gives up on a stalled server."""
    backend = config.get("BACKEND", LOCMEM)
    key = TIMEOUT_OPTIONS.get(backend)
    options = config.get("OPTIONS") or {}
    if key is None or options.get(key) is not None:
        return []
    example = (
        "'OPTIONS': {'socket_timeout': 1, 'socket_connect_timeout': 1}"
        if key == "socket_timeout"
        else f"'OPTIONS': {{'{key}': 1}}"
    )
    return [
        Warning(
            f"The cache '{alias}' that carries policy changes has no socket timeout.",
            hint=f"A stalled {backend} server then blocks the process that announces a "
            "policy change, and its policy poller, until the server answers. Set "
            f"{example} in CACHES['{alias}'].",
            id=Codes.CACHE_WITHOUT_TIMEOUT,
        )
    ]


def _check_concealed_challenge_paths(raw: Mapping[str, Any]) -> list[CheckMessage]:
    """CONCEALED_CHALLENGE_PATHS is a list of policy path patterns."""
    value = raw.get("CONCEALED_CHALLENGE_PATHS", [])
    if isinstance(value, str) or not all(isinstance(v, str) for v in value):
        return [
            Error(
                "CONCEALED_CHALLENGE_PATHS must be a list of path patterns.",
                id=Codes.BAD_CONCEALED_CHALLENGE_PATHS,
            )
        ]
    errors: list[CheckMessage] = []
    for pattern in value:
        try:
            validate_pattern(pattern)
        except PatternError as exc:
            errors.append(
                Error(
                    f"CONCEALED_CHALLENGE_PATHS: {pattern!r}: {exc}",
                    id=Codes.BAD_CONCEALED_CHALLENGE_PATHS,
                )
            )
    return errors


@register(Tags.security)
def check_middleware(app_configs: Sequence[Any] | None = None, **kwargs: Any) -> list[CheckMessage]:
    """The middleware is installed, after ``AuthenticationMiddleware``."""
    middleware = list(getattr(settings, "MIDDLEWARE", None) or [])
    if MIDDLEWARE_PATH not in middleware:
        return [
            Warning(
                f"{MIDDLEWARE_PATH} is not in MIDDLEWARE: plain Django views are not enforced.",
                hint="Add it after AuthenticationMiddleware (DRF views do not need it).",
                id=Codes.MIDDLEWARE_MISSING,
            )
        ]
    if AUTH_MIDDLEWARE in middleware and middleware.index(AUTH_MIDDLEWARE) > middleware.index(
        MIDDLEWARE_PATH
    ):
        return [
            Warning(
                f"{MIDDLEWARE_PATH} runs before AuthenticationMiddleware.",
                hint="Move it after AuthenticationMiddleware so sessions are seen.",
                id=Codes.MIDDLEWARE_ORDER,
            )
        ]
    return []


@register(Tags.security)
def check_drf(app_configs: Sequence[Any] | None = None, **kwargs: Any) -> list[CheckMessage]:
    """DRF is configured to let authstatus decide (when DRF is installed)."""
    from django.apps import apps

    if not apps.is_installed("rest_framework"):
        return []
    config = getattr(settings, "REST_FRAMEWORK", {}) or {}
    warnings: list[CheckMessage] = []
    if config.get("EXCEPTION_HANDLER") != HANDLER:
        warnings.append(
            Warning(
                "REST_FRAMEWORK['EXCEPTION_HANDLER'] is not authstatus's.",
                hint=f"Set it to '{HANDLER}'; otherwise DRF picks 401 or 403 from the first "
                "authentication class only.",
                id=Codes.HANDLER_MISSING,
            )
        )
    if PERMISSION not in list(config.get("DEFAULT_PERMISSION_CLASSES", [])):
        warnings.append(
            Warning(
                "PolicyPermission is not in REST_FRAMEWORK['DEFAULT_PERMISSION_CLASSES'].",
                hint=f"Add '{PERMISSION}' so policies apply to every DRF view.",
                id=Codes.PERMISSION_MISSING,
            )
        )
    foreign = [
        path
        for path in config.get("DEFAULT_AUTHENTICATION_CLASSES", [])
        if not str(path).startswith(DRF)
    ]
    if foreign:
        warnings.append(
            Warning(
                f"Authentication classes that do not report why they failed: {foreign}.",
                hint="authstatus treats their failures as invalid credentials without a "
                "reason; use the authstatus classes where one exists.",
                id=Codes.FOREIGN_AUTHENTICATION,
            )
        )
    return warnings


@register(Tags.security, Tags.urls)
def check_oauth2_challenge(
    app_configs: Sequence[Any] | None = None, **kwargs: Any
) -> list[CheckMessage]:
    """With ``OAUTH2_CHALLENGE`` on, django-oauth-toolkit's endpoints can be reversed."""
    if not app_settings.OAUTH2_CHALLENGE:
        return []
    from django.apps import apps
    from django.urls import NoReverseMatch, reverse

    missing = list(OAUTH2_ENDPOINTS)
    if apps.is_installed("oauth2_provider"):
        missing = []
        for name in OAUTH2_ENDPOINTS:
            try:
                reverse(name)
            except NoReverseMatch:
                missing.append(name)
    if not missing:
        return []
    return [
        Warning(
            f"OAUTH2_CHALLENGE is on but {', '.join(missing)} cannot be reversed.",
            hint="Include django-oauth-toolkit's URLs, e.g. path('o/', include("
            "'oauth2_provider.urls', namespace='oauth2_provider')). Without them the OAuth2 "
            "challenge leaves the endpoint out, or is not sent at all.",
            id=Codes.OAUTH2_ENDPOINTS_MISSING,
        )
    ]


@register(Tags.security, Tags.urls)
def check_concealment(
    app_configs: Sequence[Any] | None = None, **kwargs: Any
) -> list[CheckMessage]:
    """Where concealment is configured, nothing outside authstatus tells a concealed resource
    from a missing one: the root URLconf's ``handler404`` is authstatus's, ``APPEND_SLASH``
    cannot redirect to a concealed route, and a CSRF failure on one is a 404."""
    if not _concealment_configured():
        return []
    from django.urls import get_resolver

    from authstatus.views import CSRF_FAILURE_VIEW, HANDLER404, csrf_failure, page_not_found

    warnings: list[CheckMessage] = []
    if get_resolver().resolve_error_handler(404) is not page_not_found:
        warnings.append(
            Warning(
                "Resources are concealed, but the root URLconf's handler404 is not "
                "authstatus's: a URL that does not exist is answered differently from a "
                "concealed one.",
                hint=f"Set handler404 = '{HANDLER404}' in {settings.ROOT_URLCONF}.",
                id=Codes.HANDLER404_MISSING,
            )
        )
    if getattr(settings, "APPEND_SLASH", False) or getattr(settings, "PREPEND_WWW", False):
        stock = _stock_common_middleware()
        if stock:
            warnings.append(
                Warning(
                    f"Resources are concealed, but {stock} redirects a URL without its "
                    "trailing slash to a concealed route, and answers a missing one 404.",
                    hint=f"Replace it with '{COMMON_MIDDLEWARE}' in MIDDLEWARE, or set "
                    "APPEND_SLASH = False.",
                    id=Codes.SLASH_REDIRECT_REVEALS,
                )
            )
    if _installed(CSRF_MIDDLEWARE) and _import(settings.CSRF_FAILURE_VIEW) is not csrf_failure:
        warnings.append(
            Warning(
                "Resources are concealed, but CSRF_FAILURE_VIEW is not authstatus's: a POST "
                "without a CSRF token to a concealed plain view is answered 403, to a "
                "missing URL 404.",
                hint=f"Set CSRF_FAILURE_VIEW = '{CSRF_FAILURE_VIEW}'.",
                id=Codes.CSRF_FAILURE_VIEW_MISSING,
            )
        )
    return warnings


def _import(path: str) -> Any:
    try:
        return import_string(path)
    except ImportError:
        return None


def _installed(base: str) -> bool:
    """Whether MIDDLEWARE holds ``base`` (a dotted path) or a subclass of it."""
    cls = _import(base)
    for path in getattr(settings, "MIDDLEWARE", None) or []:
        entry = _import(path)
        if isinstance(entry, type) and isinstance(cls, type) and issubclass(entry, cls):
            return True
    return False


def _concealment_configured() -> bool:
    """Whether anything the checks can see conceals: a settings policy, a view's ``@access``
    default, ``CONCEALED_CHALLENGE_PATHS``. (Database policies cannot be seen here.)"""
    raw = getattr(settings, SETTING_NAME, {})
    if not isinstance(raw, Mapping):
        return False
    if raw.get("CONCEALED_CHALLENGE_PATHS"):
        return True
    policies = raw.get("POLICIES", [])
    if isinstance(policies, Sequence) and any(
        isinstance(spec, Mapping) and spec.get("conceal") and spec.get("enabled", True)
        for spec in policies
    ):
        return True
    from authstatus.decorators import view_policy
    from authstatus.routes import iter_routes

    for route in iter_routes():
        policy = view_policy(route.view)
        if policy is not None and policy.conceal:
            return True
    return False


def _stock_common_middleware() -> str | None:
    """The MIDDLEWARE entry that is Django's CommonMiddleware (or a subclass) but not
    authstatus's, if any."""
    from django.middleware.common import CommonMiddleware as DjangoCommonMiddleware

    from authstatus.middleware import CommonMiddleware

    for path in getattr(settings, "MIDDLEWARE", None) or []:
        cls = _import(path)
        if (
            isinstance(cls, type)
            and issubclass(cls, DjangoCommonMiddleware)
            and not issubclass(cls, CommonMiddleware)
        ):
            return str(path)
    return None


# Beyond this, the revocation latency of cached tokens deserves a conscious decision.
LONG_BEARER_CACHE_SECONDS = 300


@register(Tags.security)
def check_bearer_cache(
    app_configs: Sequence[Any] | None = None, **kwargs: Any
) -> list[CheckMessage]:
    """``BEARER_CACHE_SECONDS`` is a number of seconds, 0 or more; when the cache is on,
    ``BEARER_CACHE_ALIAS`` names a configured cache."""
    raw = getattr(settings, SETTING_NAME, {})
    if not isinstance(raw, Mapping):
        return []  # authstatus.E001
    seconds = raw.get("BEARER_CACHE_SECONDS", DEFAULTS["BEARER_CACHE_SECONDS"])
    if isinstance(seconds, bool) or not isinstance(seconds, int | float) or seconds < 0:
        return [
            Error(
                "BEARER_CACHE_SECONDS must be a number of seconds, 0 (off) or more.",
                id=Codes.BAD_BEARER_CACHE_SECONDS,
            )
        ]
    if seconds == 0:
        return []
    errors: list[CheckMessage] = []
    alias = raw.get("BEARER_CACHE_ALIAS", DEFAULTS["BEARER_CACHE_ALIAS"])
    caches_setting = getattr(settings, "CACHES", {}) or {"default": {}}
    if alias not in caches_setting:
        errors.append(
            Error(
                f"BEARER_CACHE_ALIAS '{alias}' is not a cache in CACHES.",
                hint="Valid bearer tokens are cached there; a LocMemCache alias is fastest.",
                id=Codes.BAD_BEARER_CACHE_ALIAS,
            )
        )
    if seconds > LONG_BEARER_CACHE_SECONDS:
        errors.append(
            Warning(
                f"Revoked bearer tokens stay usable for up to {seconds:g} seconds.",
                hint="BEARER_CACHE_SECONDS is also the revocation latency: a revoked token, "
                "or one whose user was deactivated, is accepted until its cache entry "
                f"expires. Keep it short (at most {LONG_BEARER_CACHE_SECONDS} s), or "
                "silence this warning if that delay is acceptable.",
                id=Codes.LONG_BEARER_CACHE,
            )
        )
    return errors


@register(Tags.database)
def check_database_policies(
    app_configs: Sequence[Any] | None = None, databases: Sequence[str] | None = None, **kwargs: Any
) -> list[CheckMessage]:
    """Every enabled ``ResourcePolicy`` row validates (rows written around ``save()`` may
    not). Runs where database checks run: ``migrate``, ``check --database default``."""
    from django.db import DatabaseError, router

    from authstatus.models import ResourcePolicy

    if not databases or router.db_for_read(ResourcePolicy) not in databases:
        return []
    try:
        rows = list(ResourcePolicy.objects.filter(enabled=True).order_by("pk"))
    except DatabaseError:
        return []  # not migrated yet, or unreachable: nothing to report on
    warnings: list[CheckMessage] = []
    for row in rows:
        problem = row.problem()
        if problem is not None:
            warnings.append(
                Warning(
                    f"Resource policy #{row.pk} ({row.path!r}) does not validate: {problem}",
                    hint="It was written around the model's validation (raw SQL, a migration, "
                    "a restore). Until it is fixed in the admin, it is enforced as its last "
                    "valid version or closed to everyone, never more open; see "
                    "docs/howto/policies-in-admin.md.",
                    obj=row,
                    id=Codes.INVALID_DATABASE_POLICY,
                )
            )
    return warnings
