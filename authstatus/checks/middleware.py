"""Checks of ``MIDDLEWARE``: authstatus's middleware installed, after ``AuthenticationMiddleware``;
the login page.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Tags, Warning, register
from django.utils.translation import gettext as _

from authstatus.checks.codes import Codes
from authstatus.policies.exemptions import login_path, login_view

MIDDLEWARE_PATH = "authstatus.middleware.AuthStatusMiddleware"


AUTH_MIDDLEWARE = "django.contrib.auth.middleware.AuthenticationMiddleware"


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
