"""The RFC 9728 and RFC 8414 metadata documents, served by subclasses of DOT's views.

:class:`ServerMetadataView` serves django-oauth-toolkit's RFC 8414 authorization server
metadata where RFC 8414 §3.1 says clients look for an issuer with a path: at the root, with
the issuer's path appended (``/.well-known/oauth-authorization-server/o`` for DOT at ``/o/``).
DOT itself serves it only under its own prefix (``/o/.well-known/…``), where strict clients
(the MCP SDKs among them) never look.

django-oauth-toolkit 3.4's ``OAuthProtectedResourceMetadataView`` builds the document from its
``OAUTH2_PROTECTED_RESOURCE_*`` settings and scopes backend; :class:`ResourceMetadataView`
keeps all of that and changes only what authstatus knows better:

* ``bearer_methods_supported`` is authstatus's ``BEARER_METHODS`` — the methods
  :class:`~authstatus.contrib.oauth2_provider.BearerAuthenticator` actually accepts — so the
  document and the authenticator cannot disagree (RFC 9728 §2).
* The path-inserted form (RFC 9728 §3.1, ``/.well-known/oauth-protected-resource/<path>``)
  maps back to exactly the resource identifier it was built from: only the slash after the
  host is removed when the well-known suffix is inserted (RFC 9728 §3), so a trailing slash
  of the path is kept (DOT drops it), and RFC 9728 §3.3's comparison can succeed.
* No member is ``null`` and no array is empty (RFC 9728 §3.2: parameters with zero elements
  are omitted).
* ``Cache-Control: public, max-age=3600``: the document is the same for every client (it
  never looks at credentials) and changes only with the settings.

The view does no access control at all: it is in the ``authstatus`` namespace and marked
``@exempt``, so any ``Authorization`` header — none, malformed, invalid or valid — gets the
same ``200``.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from django.http import Http404, JsonResponse
from oauth2_provider.settings import oauth2_settings
from oauth2_provider.views import OAuthProtectedResourceMetadataView, OAuthServerMetadataView

from authstatus import tokens
from authstatus.conf import app_settings
from authstatus.contrib.oauth2_provider.backends import DatabaseBackend

if TYPE_CHECKING:
    from django.http import HttpRequest, HttpResponse

__all__ = ["CACHE_CONTROL", "ResourceMetadataView", "ServerMetadataView"]

WELL_KNOWN = "/.well-known/oauth-protected-resource"
SERVER_WELL_KNOWN = "/.well-known/oauth-authorization-server"
# RFC 6750 §2.1-2.3, in the order RFC 9728 §2 lists them.
BEARER_METHOD_ORDER = ("header", "body", "query")
CACHE_CONTROL = "public, max-age=3600"


class ResourceMetadataView(OAuthProtectedResourceMetadataView):  # type: ignore[misc]
    """``GET /.well-known/oauth-protected-resource[/<path>]``: RFC 9728 §3.2 metadata."""

    def get_bearer_methods_supported(self) -> list[str]:
        """``BEARER_METHODS``, in RFC 6750's order (RFC 9728 §2 ``bearer_methods_supported``)."""
        methods = app_settings.BEARER_METHODS
        return [m for m in BEARER_METHOD_ORDER if m in methods]

    def get_authorization_servers(self, request: HttpRequest) -> list[str]:
        """RFC 9728 §2 ``authorization_servers``: DOT's list (this site's issuer, or
        ``OAUTH2_PROTECTED_RESOURCE_AUTHORIZATION_SERVERS`` verbatim) when its database is a
        token backend, followed by the issuers of the other ``TOKEN_BACKENDS`` — every
        authorization server whose tokens this resource accepts."""
        if oauth2_settings.OAUTH2_PROTECTED_RESOURCE_AUTHORIZATION_SERVERS:
            return list(oauth2_settings.OAUTH2_PROTECTED_RESOURCE_AUTHORIZATION_SERVERS)
        configured = tokens.backends()
        out: list[str] = []
        if any(isinstance(b, DatabaseBackend) for b in configured):
            out.extend(super().get_authorization_servers(request))
        out.extend(i for i in tokens.issuers() if i not in out)
        return out

    def get_resource(self, request: HttpRequest) -> str:
        """``OAUTH2_PROTECTED_RESOURCE_IDENTIFIER`` when set (DOT's rule); otherwise the URL the
        well-known suffix was inserted into (RFC 9728 §3, §3.1): the origin plus any path
        after the suffix, exactly as requested."""
        if oauth2_settings.OAUTH2_PROTECTED_RESOURCE_IDENTIFIER:
            return str(oauth2_settings.OAUTH2_PROTECTED_RESOURCE_IDENTIFIER)
        url = request.build_absolute_uri(request.path)
        base, _, path = url.partition(WELL_KNOWN)
        return base + path if path.strip("/") else base

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        response: HttpResponse = super().get(request, *args, **kwargs)
        document = {
            key: value
            for key, value in json.loads(response.content).items()
            if value is not None and value != [] and value != ""
        }
        out = JsonResponse(document)
        for name, value in response.items():
            if name.lower() not in ("content-type", "content-length"):
                out[name] = value
        out["Cache-Control"] = CACHE_CONTROL
        return out


class ServerMetadataView(OAuthServerMetadataView):  # type: ignore[misc]
    """``GET /.well-known/oauth-authorization-server/<issuer path>``: DOT's RFC 8414 document.

    Only for DOT's own issuer (``OIDC_ISS_ENDPOINT``, else the base of DOT's metadata route:
    ``https://host/o``): RFC 8414 §3.3 has the client compare the ``issuer`` of the document
    with the URL it built the well-known URL from, and DOT derives the ``issuer`` from the
    request path — so any other path would publish a document for an issuer that does not
    exist. Those paths answer ``404``. The document is DOT's, ``registration_endpoint``
    included when ``DCR_ENABLED`` is on; ``Cache-Control`` as for the RFC 9728 document.
    """

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        # Paths only: the host is the issuer's by construction (the client derived this URL
        # from it), and a scheme a proxy rewrote must not turn the document into a 404.
        base, _, issuer_path = request.path.partition(SERVER_WELL_KNOWN)
        if base + "/" + issuer_path.strip("/") != _issuer_path(request):
            raise Http404("No authorization server has this issuer.")
        response: HttpResponse = super().get(request, *args, **kwargs)
        response["Cache-Control"] = CACHE_CONTROL
        return response


def _issuer_path(request: HttpRequest) -> str:
    issuer = str(oauth2_settings.oauth2_authorization_server_issuer(request))
    return urlsplit(issuer).path.rstrip("/")
