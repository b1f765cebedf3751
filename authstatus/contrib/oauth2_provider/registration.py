"""Dynamic client registration (RFC 7591) that is safe to leave open to anonymous clients.

django-oauth-toolkit 3.4 ships the RFC 7591 endpoint (``DynamicClientRegistrationView``,
``OAUTH2_PROVIDER["DCR_ENABLED"]``) and asks a list of permission classes
(``DCR_REGISTRATION_PERMISSION_CLASSES``) whether a request may register. Its two choices are
"logged-in users only" (the default) and "anyone, anything" (``AllowAllDCRPermission``).
:class:`LoopbackRegistrationPermission` is the one in between that native and MCP clients need:

* Anyone may register a client for the **authorization code grant** whose redirect URIs are all
  **loopback** (RFC 8252 §7.3: ``http://127.0.0.1:PORT/…``, ``http://[::1]:PORT/…``) or
  **https** (RFC 8252 §7.2 claimed URLs; web clients). The registration alone grants nothing:
  every token still needs a user who logs in and approves (RFC 6749 §4.1), and the code goes
  back only to the registered URI, which is on the user's own machine or a TLS origin.
* Anything else — another grant (``client_credentials`` would hand a token to whoever
  registers), ``http://`` to a non-loopback host, ``localhost`` (RFC 8252 §8.3: NOT
  RECOMMENDED, it may not resolve to loopback), custom schemes, fragments (RFC 6749 §3.1.2) —
  needs an authenticated registration, exactly as DOT's ``IsAuthenticatedDCRPermission``
  (which this class extends) decides it: a logged-in user, with CSRF checked for cookies.

DOT's view answers a refused permission with ``401 access_denied``, which tells the client
nothing about its metadata. :class:`RegistrationView` (DOT's view, mounted by
:mod:`authstatus.contrib.oauth2_provider.provider_urls`) asks the permission why first and
answers RFC 7591 §3.2.2's ``400 invalid_redirect_uri`` or ``invalid_client_metadata``. It also
fills in what DOT 3.4 leaves out of the §3.2.1 response: ``client_secret_expires_at`` (REQUIRED
when a secret is issued; ``0``: DOT's secrets do not expire) and ``client_id_issued_at``.
"""

from __future__ import annotations

import ipaddress
import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from django.http import HttpResponse, JsonResponse
from oauth2_provider.dcr import IsAuthenticatedDCRPermission
from oauth2_provider.models import get_application_model
from oauth2_provider.settings import oauth2_settings
from oauth2_provider.views import (
    DynamicClientRegistrationManagementView,
    DynamicClientRegistrationView,
)

if TYPE_CHECKING:
    from django.http import HttpRequest

__all__ = [
    "ANONYMOUS_GRANT_TYPES",
    "LoopbackRegistrationPermission",
    "RegistrationError",
    "RegistrationManagementView",
    "RegistrationView",
    "anonymous_refusal",
    "anonymous_rules_apply",
    "redirect_uri_problem",
]

ANONYMOUS_GRANT_TYPES = frozenset({"authorization_code", "refresh_token"})
"""RFC 7591 §2 ``grant_types`` an anonymous registration may ask for: the user-delegation
flow and its refresh. ``authorization_code`` is RFC 7591's default when none is given."""
INVALID_REDIRECT_URI = "invalid_redirect_uri"
INVALID_CLIENT_METADATA = "invalid_client_metadata"


@dataclass(frozen=True, slots=True)
class RegistrationError:
    """An RFC 7591 §3.2.2 error response: ``400`` with ``error`` and ``error_description``."""

    error: str
    description: str

    def response(self) -> JsonResponse:
        body = {"error": self.error, "error_description": self.description}
        return JsonResponse(body, status=400)


def redirect_uri_problem(uri: Any) -> str | None:
    """Why ``uri`` may not be registered anonymously, or ``None`` when it may.

    Accepted: ``https://`` with a host, and ``http://`` to the loopback IP literals of RFC 8252
    §7.3 (``127.0.0.0/8`` and ``[::1]``), with or without a port. Never a fragment (RFC 6749
    §3.1.2) or user information.
    """
    if not isinstance(uri, str) or not uri:
        return "Each redirect URI must be a non-empty string."
    try:
        parts = urlsplit(uri)
        host = parts.hostname
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number
    except ValueError:
        return f"{uri!r} is not a valid URI."
    if parts.fragment or "#" in uri:
        return f"{uri!r} has a fragment (RFC 6749 §3.1.2)."
    if parts.username is not None or parts.password is not None:
        return f"{uri!r} carries user information."
    if not host:
        return (
            f"{uri!r} is not an https or loopback URI; custom URI schemes need an "
            "authenticated registration."
        )
    if parts.scheme == "https":
        return None
    if parts.scheme == "http" and _is_loopback_literal(host):
        return None
    if parts.scheme == "http" and host.lower() == "localhost":
        return (
            f"{uri!r}: use the loopback IP literal http://127.0.0.1:PORT or http://[::1]:PORT "
            "instead of localhost (RFC 8252 §7.3, §8.3)."
        )
    return (
        f"{uri!r} is neither https nor a loopback address (RFC 8252 §7.3); register it "
        "authenticated."
    )


def _is_loopback_literal(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def anonymous_refusal(metadata: Any) -> RegistrationError | None:
    """Why the RFC 7591 client ``metadata`` may not be registered anonymously, or ``None``."""
    if not isinstance(metadata, dict):
        return RegistrationError(INVALID_CLIENT_METADATA, "Request body must be a JSON object.")
    grant_types = metadata.get("grant_types", ["authorization_code"])
    if not isinstance(grant_types, list) or not all(isinstance(g, str) for g in grant_types):
        return RegistrationError(
            INVALID_CLIENT_METADATA, "grant_types must be an array of strings."
        )
    others = sorted(set(grant_types) - ANONYMOUS_GRANT_TYPES)
    if others or "authorization_code" not in grant_types:
        return RegistrationError(
            INVALID_CLIENT_METADATA,
            "Anonymous registration is for the authorization_code grant only; "
            f"{', '.join(others) or 'these grant types'} need an authenticated registration.",
        )
    uris = metadata.get("redirect_uris")
    if not isinstance(uris, list) or not uris:
        return RegistrationError(
            INVALID_REDIRECT_URI, "redirect_uris must be a non-empty array of URIs."
        )
    for uri in uris:
        problem = redirect_uri_problem(uri)
        if problem is not None:
            return RegistrationError(INVALID_REDIRECT_URI, problem)
    return None


class LoopbackRegistrationPermission(IsAuthenticatedDCRPermission):  # type: ignore[misc]
    """A ``DCR_REGISTRATION_PERMISSION_CLASSES`` entry: authenticated registrations as DOT's
    default decides them; anonymous ones only for loopback or https redirect URIs and the
    authorization code grant (see the module docstring)."""

    def has_permission(self, request: HttpRequest) -> bool:
        return self.refusal(request) is None

    def refusal(self, request: HttpRequest) -> RegistrationError | None:
        """``None`` when ``request`` may register; otherwise the RFC 7591 error to answer."""
        if super().has_permission(request):
            return None
        try:
            metadata = json.loads(request.body)
        except (ValueError, UnicodeDecodeError):
            return RegistrationError(INVALID_CLIENT_METADATA, "Request body must be valid JSON.")
        return anonymous_refusal(metadata)


class RegistrationView(DynamicClientRegistrationView):  # type: ignore[misc]
    """DOT's RFC 7591 ``POST /register/`` with RFC 7591 errors for refused metadata and the
    response members DOT leaves out (module docstring)."""

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        for permission_class in oauth2_settings.DCR_REGISTRATION_PERMISSION_CLASSES:
            refusal = getattr(permission_class(), "refusal", None)
            error = refusal(request) if refusal is not None else None
            if isinstance(error, RegistrationError):
                return error.response()
        response: HttpResponse = super().post(request, *args, **kwargs)
        if response.status_code != 201:
            return response
        data = json.loads(response.content)
        application = (
            get_application_model().objects.filter(client_id=data.get("client_id")).first()
        )
        if application is not None and getattr(application, "created", None) is not None:
            data["client_id_issued_at"] = int(application.created.timestamp())
        if "client_secret" in data:
            # RFC 7591 §3.2.1: REQUIRED when a secret is issued; 0 means it never expires.
            data["client_secret_expires_at"] = 0
        out = JsonResponse(data, status=201)
        # It carries a client secret and a registration access token: never stored (as RFC
        # 6749 §5.1 asks of token responses).
        out["Cache-Control"] = "no-store"
        return out


class RegistrationManagementView(DynamicClientRegistrationManagementView):  # type: ignore[misc]
    """DOT's RFC 7592 client configuration endpoint; an update of a client registered
    anonymously (no user) must meet the anonymous rules again (:func:`anonymous_refusal`)."""

    def put(self, request: HttpRequest, client_id: str, *args: Any, **kwargs: Any) -> HttpResponse:
        if anonymous_rules_apply():
            auth = self._authenticate_registration_request(request, client_id)
            if isinstance(auth, HttpResponse):
                return auth  # DOT's 401 invalid_token
            if auth.application.user_id is None:
                try:
                    metadata = json.loads(request.body)
                except (ValueError, UnicodeDecodeError):
                    metadata = None
                error = anonymous_refusal(metadata)
                if error is not None:
                    return error.response()
        response: HttpResponse = super().put(request, client_id, *args, **kwargs)
        return response


def anonymous_rules_apply() -> bool:
    """Whether ``DCR_REGISTRATION_PERMISSION_CLASSES`` includes
    :class:`LoopbackRegistrationPermission` (or a subclass)."""
    return any(
        isinstance(cls, type) and issubclass(cls, LoopbackRegistrationPermission)
        for cls in oauth2_settings.DCR_REGISTRATION_PERMISSION_CLASSES
    )
