from __future__ import annotations

from django.apps import AppConfig
from django.db.models.signals import post_delete, post_save
from django.utils.translation import gettext_lazy as _


class AuthStatusConfig(AppConfig):
    name = "authstatus"
    verbose_name = _("Access status")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        import importlib

        from django.apps import apps
        from django.contrib.auth.signals import user_logged_in
        from django.core.signals import request_started

        from authstatus import checks
        from authstatus.checks.settings import refuse_unrenderable_settings
        from authstatus.contrib.oauth2_provider import authtime
        from authstatus.enforcement import stepup
        from authstatus.receivers import policy_saved_or_deleted

        for feature in checks.FEATURES:  # each module registers its checks when imported
            importlib.import_module(f"authstatus.checks.{feature}")
        # The adapters register what they contribute (authstatus.enforcement.adapters).
        if apps.is_installed("rest_framework"):
            importlib.import_module("authstatus.contrib.rest_framework.adapter")
        if apps.is_installed("oauth2_provider"):
            importlib.import_module("authstatus.contrib.oauth2_provider.adapter")
        if apps.is_installed("drf_spectacular"):
            # drf-spectacular finds extensions by import: register the security schemes.
            from authstatus.contrib.drf_spectacular import extensions  # noqa: F401

        # A value no challenge can carry would make every refusal a 500 on servers that run
        # no checks: refuse to start instead.
        refuse_unrenderable_settings()

        model = self.get_model("ResourcePolicy")
        post_save.connect(policy_saved_or_deleted, sender=model, dispatch_uid="authstatus-save")
        post_delete.connect(policy_saved_or_deleted, sender=model, dispatch_uid="authstatus-delete")
        # RFC 9470 step-up: the time of each login, carried into the tokens it authorises.
        user_logged_in.connect(stepup.user_logged_in, dispatch_uid="authstatus-logged-in")
        request_started.connect(stepup.clear_authorizing, dispatch_uid="authstatus-started")
        authtime.connect()
