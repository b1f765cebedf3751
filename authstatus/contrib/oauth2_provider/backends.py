"""django-oauth-toolkit's database as a token backend (the default ``TOKEN_BACKENDS``)."""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING, Any

from django.contrib.auth.models import AnonymousUser
from oauth2_provider.models import get_access_token_model

from authstatus.authentication import Result
from authstatus.contrib.oauth2_provider import tokencache, tokenloader
from authstatus.core.decision import Credentials, Failure
from authstatus.tokens import SCHEME, TokenBackend, invalid

if TYPE_CHECKING:
    from django.http import HttpRequest

__all__ = ["DatabaseBackend"]

INVALID = "The access token is invalid."
EXPIRED = "The access token expired."
WRONG_AUDIENCE = "The access token is not valid for this resource."


class DatabaseBackend(TokenBackend):
    """Access tokens that are rows of DOT's ``AccessToken`` model (this site issued them).

    Takes every token: an opaque string it does not find is ``UNKNOWN_TOKEN`` (provisional,
    so a backend listed after it may still know the token).
    """

    label = "django-oauth-toolkit database (AccessToken rows)"

    def check(self, request: HttpRequest, token: str) -> Result | None:
        """The token's result: one query (:mod:`.tokenloader`), or none on a hit of the
        optional cache of valid tokens (:mod:`.tokencache`, ``BEARER_CACHE_SECONDS``).

        The checks, and their order, are those of DOT's ``validate_bearer_token`` plus the
        user's ``is_active``: unknown (or revoked: DOT deletes the row), expired, inactive
        user, unusable application, RFC 8707 audience. A cached token passes every check
        but the first again, its expiry included.
        """
        checksum = hashlib.sha256(token.encode("ascii")).hexdigest()
        caching = tokencache.enabled()
        access_token: Any = tokencache.lookup(checksum, token) if caching else None
        cached = access_token is not None
        if not cached:
            access_token = tokenloader.load(get_access_token_model(), checksum)
            if access_token is None:
                return invalid(Failure.UNKNOWN_TOKEN, INVALID)
        if access_token.is_expired():
            return invalid(Failure.EXPIRED_TOKEN, EXPIRED)
        user = access_token.user
        if user is not None and not user.is_active:
            return invalid(Failure.INACTIVE_USER, INVALID)
        application = access_token.application
        if application is not None and not application.is_usable(request):
            return invalid(Failure.REJECTED, INVALID)
        if access_token.resource and not access_token.allows_audience(
            request.build_absolute_uri(request.path)
        ):
            return invalid(Failure.WRONG_AUDIENCE, WRONG_AUDIENCE)
        if caching and not cached:
            tokencache.store(checksum, access_token)
        # Client-credentials tokens have no user: the request is authenticated as the client.
        principal = user if user is not None else AnonymousUser()
        return Result(
            Credentials.valid(SCHEME, access_token.scope.split()),
            user=principal,
            auth=access_token,
        )
