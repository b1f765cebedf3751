"""Checks of the ``AUTHSTATUS`` setting itself: types, values, patterns, propagation and cache
settings, requirements.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Error, Tags, Warning, register
from django.core.exceptions import ImproperlyConfigured
from django.utils.module_loading import import_string
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from authstatus.checks.codes import Codes
from authstatus.conf import DEFAULTS, SETTING_NAME, app_settings
from authstatus.core.challenges import is_token, quote
from authstatus.core.decision import Access
from authstatus.core.matching import PatternError, validate_pattern
from authstatus.enforcement.authenticators import is_first_party
from authstatus.policies.requirements import declared
from authstatus.policies.specs import PolicyError, rule_from_spec

BEARER_METHODS = frozenset({"header", "body", "query"})


LOCMEM = "django.core.cache.backends.locmem.LocMemCache"


PROCESS_LOCAL_BACKENDS = frozenset({LOCMEM, "django.core.cache.backends.dummy.DummyCache"})


# Network cache backends that wait forever for an answer unless OPTIONS say otherwise, and the
# OPTIONS key of their socket (read) timeout.
TIMEOUT_OPTIONS = {
    "django.core.cache.backends.redis.RedisCache": "socket_timeout",
    "django_redis.cache.RedisCache": "SOCKET_TIMEOUT",
    "django.core.cache.backends.memcached.PyMemcacheCache": "timeout",
}


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
