"""Where a client finds out how to get a token: absolute URLs for challenges.

* :func:`resource_metadata_url` — the RFC 9728 protected resource metadata document, for the
  ``resource_metadata`` parameter of every ``Bearer`` challenge (RFC 9728 §5.1).
* :func:`flow_challenge` — the base ``OAuth2`` challenge (opt-in ``OAUTH2_CHALLENGE``) with
  django-oauth-toolkit's authorization and token endpoints; the decision core adds ``flows``
  and ``scope`` to it.

Both are built from the request (``request.build_absolute_uri``), so they name the host the
client used; Django has already checked that host against ``ALLOWED_HOSTS``.
"""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING, Any

from django.urls import NoReverseMatch, get_resolver, get_script_prefix, get_urlconf, reverse
from oauth2_provider.settings import oauth2_settings

from authstatus.conf import app_settings
from authstatus.core.challenges import Challenge, is_scope_token
from authstatus.core.decision import OAUTH2

if TYPE_CHECKING:
    from django.http import HttpRequest

__all__ = [
    "AUTHORIZATION_ENDPOINT",
    "RESOURCE_METADATA",
    "TOKEN_ENDPOINT",
    "endpoint_url",
    "flow_challenge",
    "resource_metadata_url",
]

RESOURCE_METADATA = "authstatus:resource-metadata"
"""URL name of the metadata document that ``authstatus.urls`` serves."""
AUTHORIZATION_ENDPOINT = "oauth2_provider:authorize"
TOKEN_ENDPOINT = "oauth2_provider:token"


@lru_cache(maxsize=64)
def _reversed(resolver: Any, prefix: str, url_name: str) -> str | None:
    # Keyed by the resolver object (a new one after clear_url_caches(), e.g. when
    # ROOT_URLCONF changes) and the script prefix: reverse() depends on nothing else here.
    try:
        return reverse(url_name)
    except NoReverseMatch:
        return None


def _absolute(request: HttpRequest, url_name: str) -> str | None:
    path = _reversed(get_resolver(get_urlconf()), get_script_prefix(), url_name)
    return None if path is None else request.build_absolute_uri(path)


def _usable(url: str | None) -> str | None:
    # A challenge value that is a URI must be NQCHAR-only (no space, '"' or '\'), which a
    # reversed, host-checked URL always is; refuse anything else rather than fail a refusal.
    return url if url is not None and is_scope_token(url) else None


def resource_metadata_url(request: HttpRequest) -> str | None:
    """The absolute URL of this resource's RFC 9728 metadata document, or ``None``.

    The document authstatus serves when ``authstatus.urls`` is included (URL name
    ``authstatus:resource-metadata``, at the root ``/.well-known/oauth-protected-resource``
    that RFC 9728 §3 defines): its ``resource`` is this origin and its
    ``bearer_methods_supported`` is ``BEARER_METHODS``, so it agrees with the challenges.
    Without ``authstatus.urls``, django-oauth-toolkit's own
    ``oauth2_settings.oauth2_resource_metadata_url(request)`` — which reverses DOT's route, and
    so points under DOT's mount prefix (``/o/.well-known/…`` when DOT is at ``/o/``).
    ``None`` when neither is mounted: the parameter is then left out.
    """
    url = _absolute(request, RESOURCE_METADATA)
    if url is None:
        url = oauth2_settings.oauth2_resource_metadata_url(request)
    return _usable(url)


def endpoint_url(request: HttpRequest, url_name: str) -> str | None:
    """``request.build_absolute_uri(reverse(url_name))``, or ``None`` when not mounted."""
    return _usable(_absolute(request, url_name))


def flow_challenge(request: HttpRequest) -> Challenge | None:
    """The base ``OAuth2`` challenge: ``realm``, ``authorization_endpoint``, ``token_endpoint``.

    Parameter names are the RFC 8414 §2 metadata names; the values are DOT's
    ``oauth2_provider:authorize`` and ``oauth2_provider:token`` as absolute URLs (the values
    DOT's own RFC 8414 document publishes when ``OIDC_ISS_ENDPOINT`` is not set). An endpoint
    that is not mounted is left out; with neither there is no flow to point at and the
    result is ``None`` (check ``authstatus.W008`` warns about it). The decision core adds
    ``flows`` and ``scope``, or drops the challenge where no flow helps.
    """
    params = [("realm", app_settings.REALM)]
    for name, url_name in (
        ("authorization_endpoint", AUTHORIZATION_ENDPOINT),
        ("token_endpoint", TOKEN_ENDPOINT),
    ):
        url = endpoint_url(request, url_name)
        if url is not None:
            params.append((name, url))
    if len(params) == 1:
        return None
    return Challenge(OAUTH2, tuple(params))
