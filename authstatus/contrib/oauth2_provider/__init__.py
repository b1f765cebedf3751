"""django-oauth-toolkit integration: the only package of authstatus that imports DOT."""

from __future__ import annotations

from authstatus.contrib.oauth2_provider.authentication import BearerAuthenticator

__all__ = ["BearerAuthenticator"]
