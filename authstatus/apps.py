from __future__ import annotations

from django.apps import AppConfig
from django.db.models.signals import post_delete, post_save
from django.utils.translation import gettext_lazy as _


class AuthStatusConfig(AppConfig):
    name = "authstatus"
    verbose_name = _("Access status")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from django.apps import apps

        from authstatus import checks

        if apps.is_installed("drf_spectacular"):
            # drf-spectacular finds extensions by import: register the security schemes.
            from authstatus.contrib.drf_spectacular import extensions  # noqa: F401
        from authstatus.receivers import policy_saved_or_deleted

        # A value no challenge can carry would make every refusal a 500 on servers that run
        # no checks: refuse to start instead.
        checks.refuse_unrenderable_settings()

        model = self.get_model("ResourcePolicy")
        post_save.connect(policy_saved_or_deleted, sender=model, dispatch_uid="authstatus-save")
        post_delete.connect(policy_saved_or_deleted, sender=model, dispatch_uid="authstatus-delete")
