"""django-oauth-toolkit as an OpenAPI security scheme (OpenAPI 3.0.3 §4.8.27, §4.8.29).

:func:`security_scheme` describes the bearer tokens DOT issues: an ``oauth2`` scheme whose
flows point at DOT's authorization and token endpoints, with every scope DOT's scopes backend
knows (``OAUTH2_PROVIDER["SCOPES"]`` by default). When DOT's endpoints are not mounted, DOT is
not the issuer of the tokens this resource accepts, and the scheme is plain ``http bearer``
(RFC 6750). Kept here because this package is the only one that imports DOT.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.urls import NoReverseMatch, reverse

from authstatus.contrib.oauth2_provider.discovery import AUTHORIZATION_ENDPOINT, TOKEN_ENDPOINT

__all__ = ["DEFAULT_FLOWS", "all_scopes", "security_scheme"]

DEFAULT_FLOWS = ("authorizationCode", "clientCredentials")
"""The OpenAPI flows described when none are configured: the two OAuth 2.0 Security BCP
(RFC 9700 §2.4) keeps; ``implicit`` and ``password`` are deprecated there."""

_NEEDS_AUTHORIZATION_URL = frozenset({"implicit", "authorizationCode"})
_NEEDS_TOKEN_URL = frozenset({"password", "clientCredentials", "authorizationCode"})


def _path(url_name: str) -> str | None:
    try:
        return reverse(url_name)
    except NoReverseMatch:
        return None


def all_scopes() -> dict[str, str]:
    """Every scope DOT's scopes backend knows, with its description."""
    from oauth2_provider.scopes import get_scopes_backend

    return {str(k): str(v) for k, v in get_scopes_backend().get_all_scopes().items()}


def security_scheme(flows: Sequence[str] = DEFAULT_FLOWS) -> dict[str, Any]:
    """The OpenAPI Security Scheme Object for DOT's bearer tokens.

    URLs are relative references (OpenAPI 3.0.3 §4.3: resolved against the server URL), so
    the schema is right on every host it is served from.
    """
    authorization_url = _path(AUTHORIZATION_ENDPOINT)
    token_url = _path(TOKEN_ENDPOINT)
    if authorization_url is None and token_url is None:
        return {"type": "http", "scheme": "bearer"}
    scopes = all_scopes()
    described: dict[str, Any] = {}
    for flow in flows:
        entry: dict[str, Any] = {}
        if flow in _NEEDS_AUTHORIZATION_URL:
            if authorization_url is None:
                continue
            entry["authorizationUrl"] = authorization_url
        if flow in _NEEDS_TOKEN_URL:
            if token_url is None:
                continue
            entry["tokenUrl"] = token_url
        if token_url is not None and flow in ("authorizationCode", "password"):
            entry["refreshUrl"] = token_url  # RFC 6749 §6: refresh at the token endpoint
        entry["scopes"] = scopes
        described[flow] = entry
    if not described:
        return {"type": "http", "scheme": "bearer"}
    return {"type": "oauth2", "flows": described}
