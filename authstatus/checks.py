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
from authstatus.policies import PolicyError, rule_from_spec

__all__ = ["Codes", "check_drf", "check_middleware", "check_settings"]

MIDDLEWARE_PATH = "authstatus.middleware.AuthStatusMiddleware"
AUTH_MIDDLEWARE = "django.contrib.auth.middleware.AuthenticationMiddleware"
DRF = "authstatus.contrib.rest_framework."
HANDLER = DRF + "exception_handler"
PERMISSION = DRF + "PolicyPermission"
BEARER_METHODS = frozenset({"header", "body", "query"})
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
