from __future__ import annotations

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AuthStatusConfig(AppConfig):
    name = "authstatus"
    verbose_name = _("Access status")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from authstatus import checks  # noqa: F401 - registers the system checks
