"""System checks, ids ``authstatus.E0xx`` (errors) and ``authstatus.W0xx`` (warnings).

Every id is listed in :class:`Codes` and documented in ``docs/reference/checks.md``; ids are
stable and never reused. Checks validate settings at startup (``manage.py check``, ``runserver``,
``migrate``) instead of at import time.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.core.checks import CheckMessage, Error, Tags, Warning, register
from django.core.exceptions import ImproperlyConfigured
from django.utils.module_loading import import_string
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from authstatus.authentication import is_first_party
from authstatus.conf import DEFAULTS, SETTING_NAME, app_settings
from authstatus.core.challenges import is_token, quote
from authstatus.core.decision import Access
from authstatus.core.matching import PatternError, validate_pattern
from authstatus.specs import PolicyError, rule_from_spec, settings_rules

if TYPE_CHECKING:
    from authstatus.core.decision import Policy
    from authstatus.core.matching import Matcher
    from authstatus.routes import Endpoint

__all__ = [
    "Codes",
    "check_bearer_cache",
    "check_concealment",
    "check_cors",
    "check_database_policies",
    "check_discovery",
    "check_drf",
    "check_middleware",
    "check_oauth2_challenge",
    "check_policy_names",
    "check_registration",
    "check_requirements",
    "check_routes",
    "check_settings",
    "check_token_backends",
    "check_token_backends_reachable",
    "header_setting_errors",
    "refuse_unrenderable_settings",
]

MIDDLEWARE_PATH = "authstatus.middleware.AuthStatusMiddleware"
AUTH_MIDDLEWARE = "django.contrib.auth.middleware.AuthenticationMiddleware"
DRF = "authstatus.contrib.rest_framework."
HANDLER = DRF + "exception_handler"
PERMISSION = DRF + "PolicyPermission"
SCHEMA_CLASS = "authstatus.contrib.drf_spectacular.AutoSchema"
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
    ROUTE_INHERITS = "authstatus.W013"
    POLICY_MATCHES_NO_ROUTE = "authstatus.W014"
    DUPLICATE_POLICIES = "authstatus.W015"
    LIST_WITHOUT_FILTER = "authstatus.W016"
    CONCEALED_WITH_DEBUG = "authstatus.W017"
    UNKNOWN_GROUP_OR_PERMISSION = "authstatus.E015"
    BAD_REQUIREMENT_IMPORT = "authstatus.E016"
    BAD_TOKEN_BACKEND = "authstatus.E035"
    JWKS_MISSING = "authstatus.E036"
    BAD_ALGORITHMS = "authstatus.E037"
    AUDIENCE_NOT_RESOURCE = "authstatus.E038"
    BAD_INTROSPECTION = "authstatus.E039"
    JWKS_UNUSABLE = "authstatus.W035"
    SERVER_METADATA_UNREACHABLE = "authstatus.W030"
    WWW_AUTHENTICATE_NOT_EXPOSED = "authstatus.W031"
    REGISTRATION_VIEWS_UNGUARDED = "authstatus.W032"
    BAD_PROBLEM_DETAILS_FOR_ALL_ERRORS = "authstatus.E040"
    BAD_BROWSER_HIDDEN_SCHEMES = "authstatus.E041"
    SCHEMA_CLASS_MISSING = "authstatus.W040"
    BAD_SESSION_COOKIE_NAME = "authstatus.E025"
    LOGIN_URL_NOT_A_VIEW = "authstatus.W025"
    BAD_UNIFORM_CONCEALMENT_PATHS = "authstatus.E026"
    BAD_RESYNC_INTERVAL = "authstatus.E020"
    INVALID_DATABASE_POLICY = "authstatus.W020"
    CACHE_WITHOUT_TIMEOUT = "authstatus.W021"
    BAD_RELOAD_IN_BACKGROUND = "authstatus.E060"
    BAD_ASYNC_TOKEN_THREAD = "authstatus.E068"
    BAD_ASYNC_TOKEN_CONNECTION_MAX_AGE = "authstatus.E069"
    BAD_FIRST_PARTY_AUTHENTICATION = "authstatus.E070"
    SCOPELESS_AUTHENTICATION = "authstatus.W041"


@register(Tags.security)
def check_settings(app_configs: Sequence[Any] | None = None, **kwargs: Any) -> list[CheckMessage]:
    """``AUTHSTATUS`` is a dict of known keys with values authstatus can enforce."""
    raw = getattr(settings, SETTING_NAME, {})
    if not isinstance(raw, Mapping):
        return [
            Error(_("%(setting)s must be a dict.") % {"setting": SETTING_NAME}, id=Codes.NOT_A_DICT)
        ]
    errors: list[CheckMessage] = [
        Error(
            _("Unknown %(setting)s key '%(key)s'.") % {"setting": SETTING_NAME, "key": key},
            hint=_("Known keys: %(keys)s.") % {"keys": ", ".join(sorted(DEFAULTS))},
            id=Codes.UNKNOWN_KEY,
        )
        for key in sorted(set(raw) - set(DEFAULTS))
    ]
    if app_settings.DEFAULT_ACCESS not in {a.value for a in Access}:
        errors.append(
            Error(
                _("DEFAULT_ACCESS '%(value)s' is not an access level.")
                % {"value": app_settings.DEFAULT_ACCESS},
                hint=_("Use 'anonymous', 'authenticated' or 'nobody'."),
                id=Codes.BAD_DEFAULT_ACCESS,
            )
        )
    errors += header_setting_errors()
    methods = app_settings.BEARER_METHODS
    if not methods or not methods <= BEARER_METHODS:
        errors.append(
            Error(
                _("BEARER_METHODS must be a non-empty subset of %(methods)s.")
                % {"methods": sorted(BEARER_METHODS)},
                id=Codes.BAD_BEARER_METHODS,
            )
        )
    elif "query" in methods:
        errors.append(
            Warning(
                _("Bearer tokens are accepted in the URI query."),
                hint=_(
                    "RFC 6750 §2.3 and §5.3: tokens in URLs leak into logs and Referer "
                    "headers; accept them only when no other method is possible."
                ),
                id=Codes.QUERY_TOKENS,
            )
        )
    errors += _check_propagation(raw)
    errors += _check_concealed_challenge_paths(raw)
    errors += _check_drf_ecosystem(raw)
    for key in ("EXEMPT_NAMESPACES", "MIDDLEWARE_AUTHENTICATORS"):
        value = raw.get(key, [])
        if isinstance(value, str) or not all(isinstance(v, str) for v in value):
            errors.append(
                Error(
                    _("%(key)s must be a list of strings.") % {"key": key}, id=Codes.BAD_NAME_LIST
                )
            )
    errors += _check_first_party(raw)
    for path in raw.get("MIDDLEWARE_AUTHENTICATORS", []) if not errors else []:
        try:
            import_string(path)
        except ImportError as exc:
            errors.append(Error(f"MIDDLEWARE_AUTHENTICATORS: {exc}", id=Codes.BAD_NAME_LIST))
    if not errors:
        errors += _scopeless_warnings(
            app_settings.MIDDLEWARE_AUTHENTICATORS, "AUTHSTATUS['MIDDLEWARE_AUTHENTICATORS']"
        )
    requirements = raw.get("REQUIREMENTS", {})
    if not isinstance(requirements, Mapping) or not all(
        isinstance(k, str) and _requirement_declaration(v) for k, v in requirements.items()
    ):
        errors.append(
            Error(
                _(
                    "REQUIREMENTS must map names to dotted paths of predicates, or to dicts "
                    "{'check': path, 'filter': path} (the filter is optional)."
                ),
                id=Codes.BAD_REQUIREMENTS,
            )
        )
    policies = raw.get("POLICIES", [])
    if not isinstance(policies, Sequence) or isinstance(policies, str):
        errors.append(Error(_("POLICIES must be a list of dicts."), id=Codes.BAD_POLICY))
        return errors
    for index, spec in enumerate(policies):
        try:
            if not isinstance(spec, Mapping):
                raise PolicyError(gettext_noop("a policy must be a dict"))
            rule_from_spec(spec, source="settings", rank=0)
        except PolicyError as exc:
            errors.append(Error(f"POLICIES[{index}]: {exc.translated()}", id=Codes.BAD_POLICY))
    return errors


def _requirement_declaration(value: Any) -> bool:
    if isinstance(value, str):
        return True
    return (
        isinstance(value, Mapping)
        and set(value) <= {"check", "filter"}
        and isinstance(value.get("check"), str)
        and isinstance(value.get("filter", ""), str)
    )


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
        errors.append(
            Error(
                _("REALM cannot be sent in a header: %(error)s") % {"error": exc},
                id=Codes.BAD_REALM,
            )
        )
    if not is_token(app_settings.SESSION_SCHEME):
        errors.append(
            Error(
                _("SESSION_SCHEME must be an HTTP token (RFC 9110 §5.6.2)."),
                id=Codes.BAD_SESSION_SCHEME,
            )
        )
    cookie_name = getattr(settings, "SESSION_COOKIE_NAME", "sessionid")
    if not isinstance(cookie_name, str) or not is_token(cookie_name):
        errors.append(
            Error(
                _(
                    "SESSION_COOKIE_NAME %(name)s is not a cookie name: it must be an "
                    "HTTP token (RFC 6265 §4.1.1, RFC 9110 §5.6.2)."
                )
                % {"name": repr(cookie_name)},
                hint=_(
                    "The session challenge names the cookie in its 'cookie-name' "
                    "parameter; ASCII letters, digits and !#$%&'*+-.^_`|~ only."
                ),
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
                _("POLL_INTERVAL must be a number of seconds, 0 or more."),
                id=Codes.BAD_POLL_INTERVAL,
            )
        )
    resync = raw.get("RESYNC_INTERVAL", DEFAULTS["RESYNC_INTERVAL"])
    if isinstance(resync, bool) or not isinstance(resync, int | float) or not resync > 0:
        errors.append(
            Error(
                _("RESYNC_INTERVAL must be a number of seconds greater than 0."),
                hint=_(
                    "It bounds how long a process may enforce policies that differ from the "
                    "database when the cache cannot tell it (default 10)."
                ),
                id=Codes.BAD_RESYNC_INTERVAL,
            )
        )
    if not isinstance(raw.get("RELOAD_IN_BACKGROUND", True), bool):
        errors.append(
            Error(
                _("RELOAD_IN_BACKGROUND must be True or False."),
                id=Codes.BAD_RELOAD_IN_BACKGROUND,
            )
        )
    if not isinstance(raw.get("ASYNC_TOKEN_THREAD", True), bool):
        errors.append(
            Error(_("ASYNC_TOKEN_THREAD must be True or False."), id=Codes.BAD_ASYNC_TOKEN_THREAD)
        )
    max_age = raw.get("ASYNC_TOKEN_CONNECTION_MAX_AGE", 0)
    if max_age is not None and (
        isinstance(max_age, bool) or not isinstance(max_age, int | float) or not max_age >= 0
    ):
        errors.append(
            Error(
                _(
                    "ASYNC_TOKEN_CONNECTION_MAX_AGE must be a number of seconds, 0 or more, "
                    "or None."
                ),
                hint=_(
                    "How long the token-lookup thread keeps a database connection (default "
                    "300; 0: closed after each lookup; None: no limit)."
                ),
                id=Codes.BAD_ASYNC_TOKEN_CONNECTION_MAX_AGE,
            )
        )
    alias = raw.get("CACHE_ALIAS", DEFAULTS["CACHE_ALIAS"])
    caches_setting = getattr(settings, "CACHES", {}) or {"default": {}}
    if alias in caches_setting:
        errors += _check_cache_timeout(alias, caches_setting[alias])
    if alias not in caches_setting:
        errors.append(
            Error(
                _("CACHE_ALIAS '%(alias)s' is not a cache in CACHES.") % {"alias": alias},
                hint=_("Policy changes reach other processes through this cache."),
                id=Codes.BAD_CACHE,
            )
        )
    elif caches_setting[alias].get("BACKEND", LOCMEM) in PROCESS_LOCAL_BACKENDS:
        errors.append(
            Warning(
                _("The cache '%(alias)s' that carries policy changes is local to one process.")
                % {"alias": alias},
                hint=_(
                    "With several worker processes or hosts, policies saved in the admin "
                    "reach only the process that saved them. Use a shared cache (Redis, "
                    "Memcached, file-based) or set AUTHSTATUS['CACHE_ALIAS'] to one."
                ),
                id=Codes.PROCESS_LOCAL_CACHE,
            )
        )
    return errors


def _check_first_party(raw: Mapping[str, Any]) -> list[CheckMessage]:
    """FIRST_PARTY_AUTHENTICATION is a list of dotted paths of importable classes."""
    value = raw.get("FIRST_PARTY_AUTHENTICATION", DEFAULTS["FIRST_PARTY_AUTHENTICATION"])
    if isinstance(value, str) or not isinstance(value, Sequence):
        bad = [repr(value)]
    else:
        bad = [repr(path) for path in value if not _importable_class(path)]
    if not bad:
        return []
    return [
        Error(
            _("FIRST_PARTY_AUTHENTICATION must list importable classes: %(bad)s.")
            % {"bad": ", ".join(bad)},
            hint=_(
                "Name authentication classes by dotted path. A path that cannot be imported "
                "makes no class first-party: their credentials fail scope requirements."
            ),
            id=Codes.BAD_FIRST_PARTY_AUTHENTICATION,
        )
    ]


def _importable_class(path: Any) -> bool:
    if not isinstance(path, str):
        return False
    try:
        return isinstance(import_string(path), type)
    except ImportError:
        return False


def scopeless_authentication(paths: Sequence[Any]) -> list[str]:
    """The importable classes among ``paths`` whose valid credentials carry no OAuth scopes
    and are not first-party: they fail every scope requirement."""
    found = []
    for path in paths:
        try:
            cls = import_string(path) if isinstance(path, str) else path
        except ImportError:
            continue  # DRF (or E011) reports it
        if not isinstance(cls, type):
            continue
        wrapped = getattr(cls, "authenticator_class", cls)
        if not getattr(wrapped, "carries_scopes", False) and not is_first_party(cls):
            found.append(f"{cls.__module__}.{cls.__qualname__}")
    return found


def _scopeless_warnings(paths: Sequence[Any], setting: str) -> list[CheckMessage]:
    return [
        Warning(
            _(
                "%(cls)s in %(setting)s carries no OAuth scopes and is not first-party: its "
                "credentials fail every scope requirement (403)."
            )
            % {"cls": path, "setting": setting},
            hint=_(
                "If it authenticates your site's own users with all their rights (a login), "
                "add '%(cls)s' to AUTHSTATUS['FIRST_PARTY_AUTHENTICATION']. Otherwise routes "
                "that require scopes are closed to it, as they should be."
            )
            % {"cls": path},
            id=Codes.SCOPELESS_AUTHENTICATION,
        )
        for path in scopeless_authentication(paths)
    ]


def _check_drf_ecosystem(raw: Mapping[str, Any]) -> list[CheckMessage]:
    """PROBLEM_DETAILS_FOR_ALL_ERRORS is a bool; BROWSER_HIDDEN_SCHEMES a list of schemes."""
    errors: list[CheckMessage] = []
    if not isinstance(raw.get("PROBLEM_DETAILS_FOR_ALL_ERRORS", False), bool):
        errors.append(
            Error(
                _("PROBLEM_DETAILS_FOR_ALL_ERRORS must be True or False."),
                id=Codes.BAD_PROBLEM_DETAILS_FOR_ALL_ERRORS,
            )
        )
    hidden = raw.get("BROWSER_HIDDEN_SCHEMES", DEFAULTS["BROWSER_HIDDEN_SCHEMES"])
    if (
        isinstance(hidden, str)
        or not isinstance(hidden, Sequence)
        or not all(isinstance(v, str) and is_token(v) for v in hidden)
    ):
        errors.append(
            Error(
                _(
                    "BROWSER_HIDDEN_SCHEMES must be a list of authentication scheme names "
                    "(HTTP tokens, RFC 9110 §11.1), e.g. ['Basic']."
                ),
                id=Codes.BAD_BROWSER_HIDDEN_SCHEMES,
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
            _("The cache '%(alias)s' that carries policy changes has no socket timeout.")
            % {"alias": alias},
            hint=_(
                "A stalled %(backend)s server then blocks the process that announces a "
                "policy change, and its policy poller, until the server answers. Set "
                "%(example)s in CACHES['%(alias)s']."
            )
            % {"backend": backend, "example": example, "alias": alias},
            id=Codes.CACHE_WITHOUT_TIMEOUT,
        )
    ]


def _check_concealed_challenge_paths(raw: Mapping[str, Any]) -> list[CheckMessage]:
    """CONCEALED_CHALLENGE_PATHS and UNIFORM_CONCEALMENT_PATHS are lists of path patterns."""
    return _check_patterns(
        raw, "CONCEALED_CHALLENGE_PATHS", Codes.BAD_CONCEALED_CHALLENGE_PATHS
    ) + _check_patterns(raw, "UNIFORM_CONCEALMENT_PATHS", Codes.BAD_UNIFORM_CONCEALMENT_PATHS)


def _check_patterns(raw: Mapping[str, Any], key: str, code: str) -> list[CheckMessage]:
    value = raw.get(key, [])
    if isinstance(value, str) or not all(isinstance(v, str) for v in value):
        return [Error(_("%(key)s must be a list of path patterns.") % {"key": key}, id=code)]
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
                _("%(middleware)s is not in MIDDLEWARE: plain Django views are not enforced.")
                % {"middleware": MIDDLEWARE_PATH},
                hint=_("Add it after AuthenticationMiddleware (DRF views do not need it)."),
                id=Codes.MIDDLEWARE_MISSING,
            )
        ]
    if AUTH_MIDDLEWARE in middleware and middleware.index(AUTH_MIDDLEWARE) > middleware.index(
        MIDDLEWARE_PATH
    ):
        return [
            Warning(
                _("%(middleware)s runs before AuthenticationMiddleware.")
                % {"middleware": MIDDLEWARE_PATH},
                hint=_("Move it after AuthenticationMiddleware so sessions are seen."),
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
            _(
                "LOGIN_URL %(url)s resolves to no view (%(path)s without script prefix): the "
                "middleware exempts no login page."
            )
            % {"url": repr(str(settings.LOGIN_URL)), "path": repr(path)},
            hint=_(
                "The login page is exempt by its view, never by the request's path (which a "
                "client can steer through SCRIPT_NAME). Write LOGIN_URL as a URL name, e.g. "
                "'login', or as a path without the script prefix (FORCE_SCRIPT_NAME is taken "
                "off)."
            ),
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
                _("REST_FRAMEWORK['EXCEPTION_HANDLER'] is not authstatus's."),
                hint=_(
                    "Set it to '%(handler)s'; otherwise DRF picks 401 or 403 from the first "
                    "authentication class only."
                )
                % {"handler": HANDLER},
                id=Codes.HANDLER_MISSING,
            )
        )
    if PERMISSION not in list(config.get("DEFAULT_PERMISSION_CLASSES", [])):
        warnings.append(
            Warning(
                _("PolicyPermission is not in REST_FRAMEWORK['DEFAULT_PERMISSION_CLASSES']."),
                hint=_("Add '%(permission)s' so policies apply to every DRF view.")
                % {"permission": PERMISSION},
                id=Codes.PERMISSION_MISSING,
            )
        )
    if apps.is_installed("drf_spectacular") and not _is_subclass(
        config.get("DEFAULT_SCHEMA_CLASS"), SCHEMA_CLASS
    ):
        warnings.append(
            Warning(
                _(
                    "drf-spectacular is installed but REST_FRAMEWORK['DEFAULT_SCHEMA_CLASS'] is "
                    "not authstatus's AutoSchema."
                ),
                hint=_(
                    "Set it to '%(schema_class)s' so the OpenAPI schema lists the scopes and "
                    "the 401/403/404 responses the policies produce."
                )
                % {"schema_class": SCHEMA_CLASS},
                id=Codes.SCHEMA_CLASS_MISSING,
            )
        )
    warnings += _scopeless_warnings(
        list(config.get("DEFAULT_AUTHENTICATION_CLASSES", [])),
        "REST_FRAMEWORK['DEFAULT_AUTHENTICATION_CLASSES']",
    )
    foreign = [
        path
        for path in config.get("DEFAULT_AUTHENTICATION_CLASSES", [])
        if not str(path).startswith(DRF)
    ]
    if foreign:
        warnings.append(
            Warning(
                _("Authentication classes that do not report why they failed: %(classes)s.")
                % {"classes": foreign},
                hint=_(
                    "authstatus treats their failures as invalid credentials without a "
                    "reason; use the authstatus classes where one exists."
                ),
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
            _("OAUTH2_CHALLENGE is on but %(names)s cannot be reversed.")
            % {"names": ", ".join(missing)},
            hint=_(
                "Include django-oauth-toolkit's URLs, e.g. path('o/', include("
                "'oauth2_provider.urls', namespace='oauth2_provider')). Without them the OAuth2 "
                "challenge leaves the endpoint out, or is not sent at all."
            ),
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
                _(
                    "Resources are concealed, but the root URLconf's handler404 is not "
                    "authstatus's: a URL that does not exist is answered differently from a "
                    "concealed one."
                ),
                hint=_("Set handler404 = '%(handler)s' in %(urlconf)s.")
                % {"handler": HANDLER404, "urlconf": settings.ROOT_URLCONF},
                id=Codes.HANDLER404_MISSING,
            )
        )
    if getattr(settings, "APPEND_SLASH", False) or getattr(settings, "PREPEND_WWW", False):
        stock = _stock_common_middleware()
        if stock:
            warnings.append(
                Warning(
                    _(
                        "Resources are concealed, but %(middleware)s redirects a URL without "
                        "its trailing slash to a concealed route, and answers a missing one 404."
                    )
                    % {"middleware": stock},
                    hint=_(
                        "Replace it with '%(middleware)s' in MIDDLEWARE, or set "
                        "APPEND_SLASH = False."
                    )
                    % {"middleware": COMMON_MIDDLEWARE},
                    id=Codes.SLASH_REDIRECT_REVEALS,
                )
            )
    if _installed(CSRF_MIDDLEWARE) and _import(settings.CSRF_FAILURE_VIEW) is not csrf_failure:
        warnings.append(
            Warning(
                _(
                    "Resources are concealed, but CSRF_FAILURE_VIEW is not authstatus's: a POST "
                    "without a CSRF token to a concealed plain view is answered 403, to a "
                    "missing URL 404."
                ),
                hint=_("Set CSRF_FAILURE_VIEW = '%(view)s'.") % {"view": CSRF_FAILURE_VIEW},
                id=Codes.CSRF_FAILURE_VIEW_MISSING,
            )
        )
    return warnings


def _import(path: str) -> Any:
    try:
        return import_string(path)
    except ImportError:
        return None


def _is_subclass(path: Any, base: str) -> bool:
    """Whether ``path`` (a dotted path or a class) is ``base`` or a subclass of it."""
    cls = _import(path) if isinstance(path, str) else path
    base_cls = _import(base)
    return isinstance(cls, type) and isinstance(base_cls, type) and issubclass(cls, base_cls)


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
    from authstatus.decorators import declarations
    from authstatus.routes import route_map

    for endpoint in route_map().endpoints:
        found = declarations(endpoint.callback)
        if found is not None and any(
            p.conceal
            for p in (found.default, *found.methods.values(), *found.actions.values())
            if p is not None
        ):
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
                _("BEARER_CACHE_SECONDS must be a number of seconds, 0 (off) or more."),
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
                _("BEARER_CACHE_ALIAS '%(alias)s' is not a cache in CACHES.") % {"alias": alias},
                hint=_("Valid bearer tokens are cached there; a LocMemCache alias is fastest."),
                id=Codes.BAD_BEARER_CACHE_ALIAS,
            )
        )
    if seconds > LONG_BEARER_CACHE_SECONDS:
        errors.append(
            Warning(
                _("Revoked bearer tokens stay usable for up to %(seconds)s seconds.")
                % {"seconds": f"{seconds:g}"},
                hint=_(
                    "BEARER_CACHE_SECONDS is also the revocation latency: a revoked token, "
                    "or one whose user was deactivated, is accepted until its cache entry "
                    "expires. Keep it short (at most %(limit)s s), or silence this warning if "
                    "that delay is acceptable."
                )
                % {"limit": LONG_BEARER_CACHE_SECONDS},
                id=Codes.LONG_BEARER_CACHE,
            )
        )
    return errors


@register(Tags.security)
def check_requirements(
    app_configs: Sequence[Any] | None = None, **kwargs: Any
) -> list[CheckMessage]:
    """Every declared requirement's check (and filter) can be imported and called."""
    raw = getattr(settings, SETTING_NAME, {})
    if not isinstance(raw, Mapping) or not isinstance(raw.get("REQUIREMENTS", {}), Mapping):
        return []  # authstatus.E001 / E008
    from authstatus.requirements import declared

    errors: list[CheckMessage] = []
    for name, paths in sorted(declared().items()):
        for kind, path in zip(("check", "filter"), paths, strict=True):
            if path is None:
                continue
            try:
                target = import_string(path)
            except ImportError as exc:
                problem = str(exc)
            else:
                if callable(target):
                    continue
                problem = _("'%(path)s' is not callable") % {"path": path}
            errors.append(
                Error(
                    _("REQUIREMENTS['%(name)s']: the %(kind)s cannot be used: %(problem)s.")
                    % {"name": name, "kind": kind, "problem": problem},
                    hint=_(
                        "A requirement that cannot be imported fails closed: every request "
                        "it governs is refused (and every list it filters is empty)."
                    ),
                    id=Codes.BAD_REQUIREMENT_IMPORT,
                )
            )
    return errors


@register(Tags.security, Tags.urls)
def check_routes(app_configs: Sequence[Any] | None = None, **kwargs: Any) -> list[CheckMessage]:
    """The routes and the settings policies agree (W013-W017).

    Checks see the policies in settings and the views' ``@access`` declarations; database
    rows are shown by ``manage.py authstatus_routes`` and the admin.
    """
    from authstatus.core.matching import Matcher

    raw = getattr(settings, SETTING_NAME, {})
    if not isinstance(raw, Mapping):
        return []  # authstatus.E001
    try:
        matcher = Matcher(settings_rules())
        Access(app_settings.DEFAULT_ACCESS)
    except (PolicyError, PatternError, TypeError, ValueError):
        return []  # authstatus.E003 / E004 report it
    specs = [
        spec
        for spec in raw.get("POLICIES", [])
        if isinstance(spec, Mapping) and spec.get("enabled", True)
    ]
    return [
        *_inheriting_routes(matcher),
        *_unmatched_policies(specs),
        *_duplicate_policies(specs),
        *_unfiltered_lists(matcher),
        *_concealed_with_debug(specs),
    ]


def _inheriting_routes(matcher: Matcher[Policy]) -> list[CheckMessage]:
    from authstatus.resources import INHERITED, route_entries

    out: list[CheckMessage] = []
    for entry in route_entries(include_exempt=False, matcher=matcher):
        resolved = entry.resolved
        if resolved is None or resolved.policy.source != INHERITED:
            continue
        out.append(
            Warning(
                _(
                    "%(route)s %(methods)s: no policy names this route; it inherits the "
                    "strictest of %(siblings)s."
                )
                % {
                    "route": entry.endpoint.written,
                    "methods": " ".join(entry.methods),
                    "siblings": ", ".join(resolved.inherited_from),
                },
                hint=_(
                    "A route no policy names is never weaker than a sibling route of its view "
                    "that has one (docs/howto/policies-in-settings.md, 'Resources'). Write a "
                    "policy for it, or declare one with @access(..., actions=...), to say what "
                    "you mean."
                ),
                id=Codes.ROUTE_INHERITS,
            )
        )
    return out


def _unmatched_policies(specs: list[Mapping[str, Any]]) -> list[CheckMessage]:
    from authstatus.resources import endpoints_matching

    out: list[CheckMessage] = []
    for spec in specs:
        try:
            matched = endpoints_matching(str(spec["path"]), spec.get("methods") or "")
        except (KeyError, PatternError, TypeError):
            continue  # authstatus.E004
        if not matched:
            methods = spec.get("methods") or _("all methods")
            out.append(
                Warning(
                    _("The policy for %(path)s (%(methods)s) matches no URL route.")
                    % {"path": spec["path"], "methods": methods},
                    hint=_(
                        "Policies match the canonical path of a route: without a DRF format "
                        "suffix or an i18n_patterns language prefix, with its trailing slash. "
                        "`manage.py authstatus_routes` lists the routes."
                    ),
                    id=Codes.POLICY_MATCHES_NO_ROUTE,
                )
            )
    return out


def _duplicate_policies(specs: list[Mapping[str, Any]]) -> list[CheckMessage]:
    from authstatus.core.matching import normalize_methods

    seen: dict[tuple[str, frozenset[str]], int] = {}
    out: list[CheckMessage] = []
    for index, spec in enumerate(specs):
        try:
            key = (str(spec["path"]), normalize_methods(spec.get("methods") or ()))
        except (KeyError, PatternError, TypeError, AttributeError):
            continue
        if key in seen:
            out.append(
                Warning(
                    _("Two policies for %(path)s (%(methods)s): only one is enforced.")
                    % {"path": key[0], "methods": " ".join(sorted(key[1])) or _("all methods")},
                    hint=_(
                        "The higher priority wins, then the pattern text: merge them, or give "
                        "one a different pattern or methods. (A database row with the same "
                        "pattern and methods overrides a settings policy by design.)"
                    ),
                    id=Codes.DUPLICATE_POLICIES,
                )
            )
        else:
            seen[key] = index
    return out


def _unfiltered_lists(matcher: Matcher[Policy]) -> list[CheckMessage]:
    from authstatus.contrib.rest_framework.filters import PolicyFilterBackend
    from authstatus.requirements import declared
    from authstatus.resources import detail_requirements, endpoint_policy
    from authstatus.routes import route_map

    filters = {name: paths[1] for name, paths in declared().items()}
    out: list[CheckMessage] = []
    for endpoint in route_map().endpoints:
        if not _is_list_route(endpoint) or endpoint.exempt:
            continue
        resolved = endpoint_policy(endpoint, "GET", matcher)
        names = dict.fromkeys(resolved.policy.requirements if resolved is not None else ())
        names.update(dict.fromkeys(detail_requirements(endpoint, matcher)))
        if not names:
            continue
        backends = getattr(endpoint.view_class, "filter_backends", ()) or ()
        problems = []
        if not any(isinstance(b, type) and issubclass(b, PolicyFilterBackend) for b in backends):
            problems.append(_("its view's filter_backends leave PolicyFilterBackend out"))
        unfiltered = [n for n in names if filters.get(n) is None]
        if unfiltered:
            problems.append(
                _("requirement(s) %(names)s declare no filter") % {"names": ", ".join(unfiltered)}
            )
        if problems:
            out.append(
                Warning(
                    _("The list route %(route)s has requirements (%(names)s) but %(problems)s.")
                    % {
                        "route": endpoint.written,
                        "names": ", ".join(names),
                        "problems": _(" and ").join(problems),
                    },
                    hint=_(
                        "A list would show objects its detail route refuses or conceals. Add "
                        "authstatus.contrib.rest_framework.PolicyFilterBackend to "
                        "DEFAULT_FILTER_BACKENDS and declare each requirement with a filter: "
                        "{'check': ..., 'filter': ...}. (A requirement without a filter "
                        "empties the list: it fails closed.)"
                    ),
                    id=Codes.LIST_WITHOUT_FILTER,
                )
            )
    return out


def _is_list_route(endpoint: Endpoint) -> bool:
    """A DRF route serving many objects: a viewset's ``list`` action, or a generic view with
    ``list()`` whose URL carries no lookup parameter."""
    if endpoint.is_viewset:
        return endpoint.actions.get("GET") == "list"
    view_class = endpoint.view_class
    if not endpoint.is_drf or not hasattr(view_class, "list"):
        return False
    lookup = getattr(view_class, "lookup_url_kwarg", None) or getattr(
        view_class, "lookup_field", "pk"
    )
    return f"<{lookup}>" not in endpoint.written and f":{lookup}>" not in endpoint.written


def _concealed_with_debug(specs: list[Mapping[str, Any]]) -> list[CheckMessage]:
    if not getattr(settings, "DEBUG", False) or not _concealment_configured():
        return []
    return [
        Warning(
            _("Resources are concealed while DEBUG is True."),
            hint=_(
                "With DEBUG, Django answers a URL that does not exist with its technical 404 "
                "page, listing the URL patterns, while a concealed resource gets authstatus's "
                "404: the two can be told apart. Concealment holds only with DEBUG off."
            ),
            id=Codes.CONCEALED_WITH_DEBUG,
        )
    ]


@register(Tags.database)
def check_policy_names(
    app_configs: Sequence[Any] | None = None, **kwargs: Any
) -> list[CheckMessage]:
    """Groups and permissions named by settings policies exist (a database check: it runs
    with ``migrate`` and ``manage.py check --database default``)."""
    if not kwargs.get("databases"):
        return []
    from django.contrib.auth.models import Group, Permission

    raw = getattr(settings, SETTING_NAME, {})
    if not isinstance(raw, Mapping):
        return []
    errors: list[CheckMessage] = []
    for index, spec in enumerate(raw.get("POLICIES", [])):
        if not isinstance(spec, Mapping):
            continue
        try:
            rule = rule_from_spec(spec, source="settings", rank=0)
        except PolicyError:
            continue  # authstatus.E004
        if rule is None:
            continue
        policy = rule.value
        try:
            groups = set(
                Group.objects.filter(name__in=policy.required_groups).values_list("name", flat=True)
            )
            permissions = {
                f"{app_label}.{codename}"
                for app_label, codename in Permission.objects.filter(
                    codename__in={p.partition(".")[2] for p in policy.required_permissions}
                ).values_list("content_type__app_label", "codename")
            }
        except Exception:  # tables not created yet: migrate runs this check again later
            return []
        missing = sorted(policy.required_groups - groups) + sorted(
            policy.required_permissions - permissions
        )
        if missing:
            errors.append(
                Error(
                    _("POLICIES[%(index)s] (%(path)s) names what does not exist: %(missing)s.")
                    % {"index": index, "path": spec.get("path"), "missing": ", ".join(missing)},
                    hint=_(
                        "Nobody satisfies a policy naming a missing group or permission: it "
                        "fails closed. Create it, or correct the name."
                    ),
                    id=Codes.UNKNOWN_GROUP_OR_PERMISSION,
                )
            )
    return errors


@register(Tags.security)
def check_token_backends(
    app_configs: Sequence[Any] | None = None, **kwargs: Any
) -> list[CheckMessage]:
    """Every ``TOKEN_BACKENDS`` entry builds (E035; a JWT backend without a JWKS E036, an
    empty or unsafe algorithm list E037; an introspection backend without endpoint or
    client E039) and agrees with this resource's identifier (E038)."""
    from authstatus.tokens import BackendConfigurationError, build

    raw = getattr(settings, SETTING_NAME, {})
    if not isinstance(raw, Mapping):
        return []  # authstatus.E001
    entries = raw.get("TOKEN_BACKENDS", DEFAULTS["TOKEN_BACKENDS"])
    if isinstance(entries, str | bytes) or not isinstance(entries, Sequence) or not entries:
        return [
            Error(
                _("TOKEN_BACKENDS must be a non-empty list of backend dicts."),
                id=Codes.BAD_TOKEN_BACKEND,
            )
        ]
    errors: list[CheckMessage] = []
    for index, entry in enumerate(entries):
        try:
            backend = build(entry)
        except BackendConfigurationError as exc:
            errors.append(Error(f"TOKEN_BACKENDS[{index}]: {exc}", id=exc.code))
            continue
        except Exception as exc:
            errors.append(
                Error(
                    _("TOKEN_BACKENDS[%(index)s] cannot be built: %(error)s")
                    % {"index": index, "error": exc},
                    id=Codes.BAD_TOKEN_BACKEND,
                )
            )
            continue
        errors.extend(
            Error(f"TOKEN_BACKENDS[{index}]: {message}", id=code)
            for code, message in backend.problems()
        )
    return errors


@register(Tags.security, deploy=True)
def check_token_backends_reachable(
    app_configs: Sequence[Any] | None = None, **kwargs: Any
) -> list[CheckMessage]:
    """``check --deploy`` only: each JWT backend's JWK Set can be fetched now and holds a key
    for an allowed algorithm (W035). A network call, hence not on every ``check``."""
    from authstatus.tokens import build
    from authstatus.tokens.jwt import JWTBackend

    raw = getattr(settings, SETTING_NAME, {})
    entries = raw.get("TOKEN_BACKENDS", []) if isinstance(raw, Mapping) else []
    warnings: list[CheckMessage] = []
    for index, entry in enumerate(entries if isinstance(entries, list | tuple) else []):
        try:
            backend = build(entry)
        except Exception:  # noqa: S112 - reported by check_token_backends
            continue
        if isinstance(backend, JWTBackend):
            problem = backend.reachable_keys()
            if problem is not None:
                warnings.append(
                    Warning(
                        f"TOKEN_BACKENDS[{index}]: {problem}.",
                        hint=_("Until it can, every JWT of this issuer is answered 503."),
                        id=Codes.JWKS_UNUSABLE,
                    )
                )
    return warnings


SERVER_WELL_KNOWN = "/.well-known/oauth-authorization-server"
RESOURCE_METADATA_NAMES = (
    "authstatus:resource-metadata",
    "oauth2_provider:oauth-resource-metadata",
)
SERVER_METADATA_NAME = "oauth2_provider:oauth-server-metadata"


@register(Tags.security, Tags.urls)
def check_discovery(app_configs: Sequence[Any] | None = None, **kwargs: Any) -> list[CheckMessage]:
    """The RFC 9728 document's authorization server has its RFC 8414 metadata where clients
    look for it: the root, path-inserted URL of RFC 8414 §3.1.

    The document is authstatus's (``authstatus.urls``) or DOT's own. Checked when it names
    this server's own django-oauth-toolkit (neither
    ``OAUTH2_PROTECTED_RESOURCE_AUTHORIZATION_SERVERS`` nor ``OIDC_ISS_ENDPOINT`` is set),
    whose issuer is the base of DOT's metadata route (``https://host/o`` for DOT at ``/o/``):
    the URL clients build from it must resolve to an RFC 8414 view.
    """
    from django.apps import apps
    from django.urls import NoReverseMatch, Resolver404, resolve, reverse

    def _reverses(name: str) -> bool:
        try:
            reverse(name)
        except NoReverseMatch:
            return False
        return True

    if not apps.is_installed("oauth2_provider"):
        return []
    from oauth2_provider.settings import oauth2_settings
    from oauth2_provider.views import OAuthServerMetadataView

    if (
        oauth2_settings.OAUTH2_PROTECTED_RESOURCE_AUTHORIZATION_SERVERS
        or oauth2_settings.OIDC_ISS_ENDPOINT
    ):
        return []
    if not any(_reverses(name) for name in RESOURCE_METADATA_NAMES):
        return []  # no RFC 9728 document: nothing names the authorization server
    try:
        dot_route = reverse(SERVER_METADATA_NAME)
    except NoReverseMatch:
        return []  # no issuer in the document (DOT's metadata route is not mounted)
    issuer_path = dot_route.partition(SERVER_WELL_KNOWN)[0].rstrip("/")
    if not issuer_path:
        return []  # DOT at the root: its own route is the RFC 8414 URL
    looked_up = SERVER_WELL_KNOWN + issuer_path
    try:
        match = resolve(looked_up)
    except Resolver404:
        match = None
    view_class = getattr(match.func, "view_class", None) if match is not None else None
    if isinstance(view_class, type) and issubclass(view_class, OAuthServerMetadataView):
        return []
    return [
        Warning(
            _(
                "The RFC 9728 metadata names the authorization server with issuer path "
                "'%(issuer_path)s', but %(url)s does not serve its RFC 8414 metadata."
            )
            % {"issuer_path": issuer_path, "url": looked_up},
            hint=_(
                "RFC 8414 §3.1 clients (the MCP SDKs among them) look there, not under DOT's "
                "prefix. Include authstatus.urls at the root: "
                "path('', include('authstatus.urls'))."
            ),
            id=Codes.SERVER_METADATA_UNREACHABLE,
        )
    ]


@register(Tags.security)
def check_cors(app_configs: Sequence[Any] | None = None, **kwargs: Any) -> list[CheckMessage]:
    """With django-cors-headers in use, ``CORS_EXPOSE_HEADERS`` includes ``WWW-Authenticate``:
    otherwise a browser script sees a ``401`` but not the challenge that says what to do
    (Fetch: only CORS-safelisted response headers are exposed by default)."""
    from django.apps import apps

    in_use = apps.is_installed("corsheaders") or any(
        str(m).startswith("corsheaders.") for m in getattr(settings, "MIDDLEWARE", None) or ()
    )
    if not in_use:
        return []
    exposed = getattr(settings, "CORS_EXPOSE_HEADERS", ())
    if isinstance(exposed, str):
        exposed = (exposed,)
    if any(str(name).lower() == "www-authenticate" for name in exposed):
        return []
    return [
        Warning(
            _(
                "django-cors-headers is installed but CORS_EXPOSE_HEADERS does not include "
                "WWW-Authenticate."
            ),
            hint=_(
                "Browser clients cannot read the challenges of a 401 or 403 (RFC 6750 §3, "
                "RFC 9728 resource_metadata): add 'WWW-Authenticate' to CORS_EXPOSE_HEADERS."
            ),
            id=Codes.WWW_AUTHENTICATE_NOT_EXPOSED,
        )
    ]


REGISTRATION_VIEWS = {
    "oauth2_provider:dcr-register": "RegistrationView",
    "oauth2_provider:dcr-register-management": "RegistrationManagementView",
}


@register(Tags.security, Tags.urls)
def check_registration(
    app_configs: Sequence[Any] | None = None, **kwargs: Any
) -> list[CheckMessage]:
    """With ``LoopbackRegistrationPermission`` and ``DCR_ENABLED``, the registration routes are
    authstatus's views: DOT's own RFC 7592 update asks no permission, so a registration access
    token would rewrite an anonymous loopback client into anything."""
    from django.apps import apps
    from django.urls import NoReverseMatch, Resolver404, resolve, reverse

    if not apps.is_installed("oauth2_provider"):
        return []
    from oauth2_provider.settings import oauth2_settings

    from authstatus.contrib.oauth2_provider import registration

    if not oauth2_settings.DCR_ENABLED or not registration.anonymous_rules_apply():
        return []
    unguarded = []
    for name, view_name in REGISTRATION_VIEWS.items():
        try:
            args = ["client-id"] if name.endswith("management") else []
            view_class = getattr(resolve(reverse(name, args=args)).func, "view_class", None)
        except (NoReverseMatch, Resolver404):
            continue
        expected = getattr(registration, view_name)
        if not (isinstance(view_class, type) and issubclass(view_class, expected)):
            unguarded.append(name)
    if not unguarded:
        return []
    return [
        Warning(
            _(
                "LoopbackRegistrationPermission is set but %(names)s is django-oauth-toolkit's "
                "own view."
            )
            % {"names": ", ".join(unguarded)},
            hint=_(
                "DOT's RFC 7592 update asks no permission (a registration access token could "
                "turn an anonymous loopback client into a client credentials client) and its "
                "refusals are 401 access_denied. Include authstatus's version of DOT's URLs: "
                "path('o/', include('authstatus.contrib.oauth2_provider.provider_urls'))."
            ),
            id=Codes.REGISTRATION_VIEWS_UNGUARDED,
        )
    ]


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
        problem = row.problem(translated=True)
        if problem is not None:
            warnings.append(
                Warning(
                    _("Resource policy #%(pk)s (%(path)s) does not validate: %(problem)s")
                    % {"pk": row.pk, "path": repr(row.path), "problem": problem},
                    hint=_(
                        "It was written around the model's validation (raw SQL, a migration, "
                        "a restore). Until it is fixed in the admin, it is enforced as its last "
                        "valid version or closed to everyone, never more open; see "
                        "docs/howto/policies-in-admin.md."
                    ),
                    obj=row,
                    id=Codes.INVALID_DATABASE_POLICY,
                )
            )
    return warnings
