"""Checks that a concealed resource cannot be told from a missing one: ``handler404``, the slash
redirect, the CSRF failure view, ``DEBUG``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Tags, Warning, register
from django.middleware.common import CommonMiddleware as DjangoCommonMiddleware
from django.urls import get_resolver
from django.utils.module_loading import import_string
from django.utils.translation import gettext as _

from authstatus.checks.codes import Codes
from authstatus.conf import SETTING_NAME
from authstatus.middleware import CommonMiddleware
from authstatus.policies.declarations import declarations
from authstatus.policies.routes import route_map
from authstatus.views import CSRF_FAILURE_VIEW, HANDLER404, csrf_failure, page_not_found

COMMON_MIDDLEWARE = "authstatus.middleware.CommonMiddleware"


CSRF_MIDDLEWARE = "django.middleware.csrf.CsrfViewMiddleware"


@register(Tags.security, Tags.urls)
def check_concealment(
    app_configs: Sequence[Any] | None = None, **kwargs: Any
) -> list[CheckMessage]:
    """Where concealment is configured, nothing outside authstatus tells a concealed resource
    from a missing one: the root URLconf's ``handler404`` is authstatus's, ``APPEND_SLASH``
    cannot redirect to a concealed route, and a CSRF failure on one is a 404."""
    if not _concealment_configured():
        return []

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

    for path in getattr(settings, "MIDDLEWARE", None) or []:
        cls = _import(path)
        if (
            isinstance(cls, type)
            and issubclass(cls, DjangoCommonMiddleware)
            and not issubclass(cls, CommonMiddleware)
        ):
            return str(path)
    return None
