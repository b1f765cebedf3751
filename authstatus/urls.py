"""``path("", include("authstatus.urls"))``: authstatus's own endpoints (namespace
``authstatus``, which the middleware never enforces)."""

from __future__ import annotations

from django.urls import include, path

app_name = "authstatus"

urlpatterns = [path("", include("authstatus.contrib.oauth2_provider.urls"))]
