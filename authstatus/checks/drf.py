"""Checks of ``REST_FRAMEWORK``: authstatus's exception handler, permission, schema class and
authentication classes.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Tags, Warning, register
from django.utils.translation import gettext as _

from authstatus.checks.codes import Codes
from authstatus.checks.concealment import _is_subclass
from authstatus.checks.settings import _scopeless_warnings

DRF = "authstatus.contrib.rest_framework."


HANDLER = DRF + "exception_handler"


PERMISSION = DRF + "PolicyPermission"


SCHEMA_CLASS = "authstatus.contrib.drf_spectacular.AutoSchema"


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
