"""Checks of the OAuth 2.0 surface: the ``OAuth2`` challenge's endpoints, discovery documents, CORS
and dynamic registration.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Tags, Warning, register
from django.utils.translation import gettext as _

from authstatus.checks.codes import Codes
from authstatus.conf import app_settings

OAUTH2_ENDPOINTS = ("oauth2_provider:authorize", "oauth2_provider:token")


@register(Tags.security, Tags.urls)
def check_oauth2_challenge(
    app_configs: Sequence[Any] | None = None, **kwargs: Any
) -> list[CheckMessage]:
    """With ``OAUTH2_CHALLENGE`` on, django-oauth-toolkit's endpoints can be reversed."""
    if not app_settings.OAUTH2_CHALLENGE:
        return []
    from django.apps import apps
    from django.urls import NoReverseMatch, reverse

    missing = list(OAUTH2_ENDPOINTS)
    if apps.is_installed("oauth2_provider"):
        missing = []
        for name in OAUTH2_ENDPOINTS:
            try:
                reverse(name)
            except NoReverseMatch:
                missing.append(name)
    if not missing:
        return []
    return [
        Warning(
            _("OAUTH2_CHALLENGE is on but %(names)s cannot be reversed.")
            % {"names": ", ".join(missing)},
            hint=_(
                "Include django-oauth-toolkit's URLs, e.g. path('o/', include("
                "'oauth2_provider.urls', namespace='oauth2_provider')). Without them the OAuth2 "
                "challenge leaves the endpoint out, or is not sent at all."
            ),
            id=Codes.OAUTH2_ENDPOINTS_MISSING,
        )
    ]


SERVER_WELL_KNOWN = "/.well-known/oauth-authorization-server"


RESOURCE_METADATA_NAMES = (
    "authstatus:resource-metadata",
    "oauth2_provider:oauth-resource-metadata",
)


SERVER_METADATA_NAME = "oauth2_provider:oauth-server-metadata"


@register(Tags.security, Tags.urls)
def check_discovery(app_configs: Sequence[Any] | None = None, **kwargs: Any) -> list[CheckMessage]:
    """The RFC 9728 document's authorization server has its RFC 8414 metadata where clients
    look for it: the root, path-inserted URL of RFC 8414 §3.1.

    The document is authstatus's (``authstatus.urls``) or DOT's own. Checked when it names
    this server's own django-oauth-toolkit (neither
    ``OAUTH2_PROTECTED_RESOURCE_AUTHORIZATION_SERVERS`` nor ``OIDC_ISS_ENDPOINT`` is set),
    whose issuer is the base of DOT's metadata route (``https://host/o`` for DOT at ``/o/``):
    the URL clients build from it must resolve to an RFC 8414 view.
    """
    from django.apps import apps
    from django.urls import NoReverseMatch, Resolver404, resolve, reverse

    def _reverses(name: str) -> bool:
        try:
            reverse(name)
        except NoReverseMatch:
            return False
        return True

    if not apps.is_installed("oauth2_provider"):
        return []
    from oauth2_provider.settings import oauth2_settings
    from oauth2_provider.views import OAuthServerMetadataView

    if (
        oauth2_settings.OAUTH2_PROTECTED_RESOURCE_AUTHORIZATION_SERVERS
        or oauth2_settings.OIDC_ISS_ENDPOINT
    ):
        return []
    if not any(_reverses(name) for name in RESOURCE_METADATA_NAMES):
        return []  # no RFC 9728 document: nothing names the authorization server
    try:
        dot_route = reverse(SERVER_METADATA_NAME)
    except NoReverseMatch:
        return []  # no issuer in the document (DOT's metadata route is not mounted)
    issuer_path = dot_route.partition(SERVER_WELL_KNOWN)[0].rstrip("/")
    if not issuer_path:
        return []  # DOT at the root: its own route is the RFC 8414 URL
    looked_up = SERVER_WELL_KNOWN + issuer_path
    try:
        match = resolve(looked_up)
    except Resolver404:
        match = None
    view_class = getattr(match.func, "view_class", None) if match is not None else None
    if isinstance(view_class, type) and issubclass(view_class, OAuthServerMetadataView):
        return []
    return [
        Warning(
            _(
                "The RFC 9728 metadata names the authorization server with issuer path "
                "'%(issuer_path)s', but %(url)s does not serve its RFC 8414 metadata."
            )
            % {"issuer_path": issuer_path, "url": looked_up},
            hint=_(
                "RFC 8414 §3.1 clients (the MCP SDKs among them) look there, not under DOT's "
                "prefix. Include authstatus.urls at the root: "
                "path('', include('authstatus.urls'))."
            ),
            id=Codes.SERVER_METADATA_UNREACHABLE,
        )
    ]


@register(Tags.security)
def check_cors(app_configs: Sequence[Any] | None = None, **kwargs: Any) -> list[CheckMessage]:
    """With django-cors-headers in use, ``CORS_EXPOSE_HEADERS`` includes ``WWW-Authenticate``:
    otherwise a browser script sees a ``401`` but not the challenge that says what to do
    (Fetch: only CORS-safelisted response headers are exposed by default)."""
    from django.apps import apps

    in_use = apps.is_installed("corsheaders") or any(
        str(m).startswith("corsheaders.") for m in getattr(settings, "MIDDLEWARE", None) or ()
    )
    if not in_use:
        return []
    exposed = getattr(settings, "CORS_EXPOSE_HEADERS", ())
    if isinstance(exposed, str):
        exposed = (exposed,)
    if any(str(name).lower() == "www-authenticate" for name in exposed):
        return []
    return [
        Warning(
            _(
                "django-cors-headers is installed but CORS_EXPOSE_HEADERS does not include "
                "WWW-Authenticate."
            ),
            hint=_(
                "Browser clients cannot read the challenges of a 401 or 403 (RFC 6750 §3, "
                "RFC 9728 resource_metadata): add 'WWW-Authenticate' to CORS_EXPOSE_HEADERS."
            ),
            id=Codes.WWW_AUTHENTICATE_NOT_EXPOSED,
        )
    ]


REGISTRATION_VIEWS = {
    "oauth2_provider:dcr-register": "RegistrationView",
    "oauth2_provider:dcr-register-management": "RegistrationManagementView",
}


@register(Tags.security, Tags.urls)
def check_registration(
    app_configs: Sequence[Any] | None = None, **kwargs: Any
) -> list[CheckMessage]:
    """With ``LoopbackRegistrationPermission`` and ``DCR_ENABLED``, the registration routes are
    authstatus's views: DOT's own RFC 7592 update asks no permission, so a registration access
    token would rewrite an anonymous loopback client into anything."""
    from django.apps import apps
    from django.urls import NoReverseMatch, Resolver404, resolve, reverse

    if not apps.is_installed("oauth2_provider"):
        return []
    from oauth2_provider.settings import oauth2_settings

    from authstatus.contrib.oauth2_provider import registration

    if not oauth2_settings.DCR_ENABLED or not registration.anonymous_rules_apply():
        return []
    unguarded = []
    for name, view_name in REGISTRATION_VIEWS.items():
        try:
            args = ["client-id"] if name.endswith("management") else []
            view_class = getattr(resolve(reverse(name, args=args)).func, "view_class", None)
        except (NoReverseMatch, Resolver404):
            continue
        expected = getattr(registration, view_name)
        if not (isinstance(view_class, type) and issubclass(view_class, expected)):
            unguarded.append(name)
    if not unguarded:
        return []
    return [
        Warning(
            _(
                "LoopbackRegistrationPermission is set but %(names)s is django-oauth-toolkit's "
                "own view."
            )
            % {"names": ", ".join(unguarded)},
            hint=_(
                "DOT's RFC 7592 update asks no permission (a registration access token could "
                "turn an anonymous loopback client into a client credentials client) and its "
                "refusals are 401 access_denied. Include authstatus's version of DOT's URLs: "
                "path('o/', include('authstatus.contrib.oauth2_provider.provider_urls'))."
            ),
            id=Codes.REGISTRATION_VIEWS_UNGUARDED,
        )
    ]
