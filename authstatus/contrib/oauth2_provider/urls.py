"""RFC 9728 protected resource metadata (:class:`~.views.ResourceMetadataView`, a subclass of
django-oauth-toolkit's view), at the root form and the path-inserted form (RFC 9728 §3.1);
DOT's RFC 8414 authorization server metadata (:class:`~.views.ServerMetadataView`) at the
root, path-inserted form of its issuer (RFC 8414 §3.1)."""

from __future__ import annotations

from django.urls import path

from authstatus.contrib.oauth2_provider.views import ResourceMetadataView, ServerMetadataView
from authstatus.policies.declarations import exempt

# @exempt: the middleware never enforces it, whatever EXEMPT_NAMESPACES says; the document
# must be reachable with any Authorization header (RFC 9728 §3.1 has the client fetch it
# after a refusal, often still holding the rejected token).
metadata = exempt(ResourceMetadataView.as_view())
server_metadata = exempt(ServerMetadataView.as_view())

urlpatterns = [
    path(".well-known/oauth-protected-resource", metadata, name="resource-metadata"),
    path(
        ".well-known/oauth-protected-resource/<path:resource_path>",
        metadata,
        name="resource-metadata-path",
    ),
    path(
        ".well-known/oauth-authorization-server/<path:issuer_path>",
        server_metadata,
        name="authorization-server-metadata",
    ),
]
