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
from django.core.exceptions import ImproperlyConfigured
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
    "check_drf",
    "check_middleware",
    "check_oauth2_challenge",
    "check_settings",
    "header_setting_errors",
    "refuse_unrenderable_settings",
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
    BAD_SESSION_COOKIE_NAME = "authstatus.E025"
    LOGIN_URL_NOT_A_VIEW = "authstatus.W025"
    BAD_UNIFORM_CONCEALMENT_PATHS = "authstatus.E026"


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
    errors += header_setting_errors()
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


def header_setting_errors() -> list[CheckMessage]:
    """Settings that go into every ``WWW-Authenticate`` challenge and cannot be rendered there.

    They would make every refusal that builds a challenge fail, so besides being system
    checks they are refused at startup (:meth:`authstatus.apps.AuthStatusConfig.ready`
    raises ``ImproperlyConfigured``): a server that runs no checks (gunicorn) must not answer
    500 per request instead.
    """
    errors: list[CheckMessage] = []
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
    cookie_name = getattr(settings, "SESSION_COOKIE_NAME", "sessionid")
    if not isinstance(cookie_name, str) or not is_token(cookie_name):
        errors.append(
            Error(
                f"SESSION_COOKIE_NAME {cookie_name!r} is not a cookie name: it must be an "
                "HTTP token (RFC 6265 §4.1.1, RFC 9110 §5.6.2).",
                hint="The session challenge names the cookie in its 'cookie-name' "
                "parameter; ASCII letters, digits and !#$%&'*+-.^_`|~ only.",
                id=Codes.BAD_SESSION_COOKIE_NAME,
            )
        )
    return errors


def refuse_unrenderable_settings() -> None:
    """Raise ``ImproperlyConfigured`` naming every :func:`header_setting_errors` error."""
    errors = header_setting_errors()
    if errors:
        raise ImproperlyConfigured(
            "authstatus cannot start: " + " ".join(f"{e.id}: {e.msg}" for e in errors)
        )


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
    alias = raw.get("CACHE_ALIAS", DEFAULTS["CACHE_ALIAS"])
    caches_setting = getattr(settings, "CACHES", {}) or {"default": {}}
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


def _check_concealed_challenge_paths(raw: Mapping[str, Any]) -> list[CheckMessage]:
    """CONCEALED_CHALLENGE_PATHS and UNIFORM_CONCEALMENT_PATHS are lists of path patterns."""
    return _check_patterns(
        raw, "CONCEALED_CHALLENGE_PATHS", Codes.BAD_CONCEALED_CHALLENGE_PATHS
    ) + _check_patterns(raw, "UNIFORM_CONCEALMENT_PATHS", Codes.BAD_UNIFORM_CONCEALMENT_PATHS)


def _check_patterns(raw: Mapping[str, Any], key: str, code: str) -> list[CheckMessage]:
    value = raw.get(key, [])
    if isinstance(value, str) or not all(isinstance(v, str) for v in value):
        return [Error(f"{key} must be a list of path patterns.", id=code)]
    errors: list[CheckMessage] = []
    for pattern in value:
        try:
            validate_pattern(pattern)
        except PatternError as exc:
            errors.append(Error(f"{key}: {pattern!r}: {exc}", id=code))
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
    return _check_login_view()


def _check_login_view() -> list[CheckMessage]:
    """A local ``LOGIN_URL`` names a view, which the middleware then leaves alone."""
    from authstatus.middleware import login_path, login_view

    path = login_path()
    if path is None or login_view() is not None:
        return []
    return [
        Warning(
            f"LOGIN_URL {str(settings.LOGIN_URL)!r} resolves to no view ({path!r} without "
            "script prefix): the middleware exempts no login page.",
            hint="The login page is exempt by its view, never by the request's path (which a "
            "client can steer through SCRIPT_NAME). Write LOGIN_URL as a URL name, e.g. "
            "'login', or as a path without the script prefix (FORCE_SCRIPT_NAME is taken "
            "off).",
            id=Codes.LOGIN_URL_NOT_A_VIEW,
        )
    ]


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
    if raw.get("CONCEALED_CHALLENGE_PATHS") or raw.get("UNIFORM_CONCEALMENT_PATHS"):
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
