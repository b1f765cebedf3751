"""RFC 9728 protected resource metadata, served by django-oauth-toolkit's own view."""

from __future__ import annotations

from django.urls import path
from oauth2_provider.views import OAuthProtectedResourceMetadataView

urlpatterns = [
    path(
        ".well-known/oauth-protected-resource",
        OAuthProtectedResourceMetadataView.as_view(),
        name="resource-metadata",
    ),
    path(
        ".well-known/oauth-protected-resource/<path:resource_path>",
        OAuthProtectedResourceMetadataView.as_view(),
        name="resource-metadata-path",
    ),
]
