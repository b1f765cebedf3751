"""django-oauth-toolkit's database as a token backend (the default ``TOKEN_BACKENDS``)."""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING, Any

from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import SynchronousOnlyOperation
from django.utils.translation import gettext_noop
from oauth2_provider.models import AbstractApplication, get_access_token_model
from oauth2_provider.settings import oauth2_settings

from authstatus.contrib.oauth2_provider import tokencache, tokenloader
from authstatus.contrib.oauth2_provider.authtime import token_authentication
from authstatus.core.decision import CLIENT_CREDENTIALS_GRANT, Credentials, Failure
from authstatus.enforcement.authenticators import Result
from authstatus.tokens import SCHEME, TokenBackend, invalid

if TYPE_CHECKING:
    from django.http import HttpRequest

__all__ = ["DatabaseBackend"]

INVALID = gettext_noop("The access token is invalid.")
EXPIRED = gettext_noop("The access token expired.")
WRONG_AUDIENCE = gettext_noop("The access token is not valid for this resource.")
REGISTRATION_TOKEN = gettext_noop(
    "A registration access token is not an access token for this resource."
)


class DatabaseBackend(TokenBackend):
    """Access tokens that are rows of DOT's ``AccessToken`` model (this site issued them).

    Takes every token: an opaque string it does not find is ``UNKNOWN_TOKEN`` (provisional,
    so a backend listed after it may still know the token).
    """

    label = "django-oauth-toolkit database (AccessToken rows)"
    uses_lookup_thread = True  # one indexed query (and maybe a cache read)

    def check(self, request: HttpRequest, token: str) -> Result | None:
        """The token's result: one query (:mod:`.tokenloader`), or none on a hit of the
        optional cache of valid tokens (:mod:`.tokencache`, ``BEARER_CACHE_SECONDS``).

        The checks, and their order, are those of DOT's ``validate_bearer_token`` plus the
        user's ``is_active``: unknown (or revoked: DOT deletes the row), expired, inactive
        user, unusable application, RFC 8707 audience. A cached token passes every check
        but the first again, its expiry included. A registration access token (RFC 7591
        §3.2.1: DOT stores it as an access token with ``DCR_REGISTRATION_SCOPE``) is refused
        too: it manages a client registration and grants nothing here.

        Every token that was found reports its grant (:func:`_grant_type`), so that a client
        credentials token is told to run that grant again rather than to refresh.
        """
        checksum = _checksum(token)
        caching = tokencache.enabled()
        access_token: Any = tokencache.lookup(checksum, token) if caching else None
        if access_token is not None:
            return self._result(request, access_token)
        access_token = tokenloader.load(get_access_token_model(), checksum)
        if access_token is None:
            return invalid(Failure.UNKNOWN_TOKEN, INVALID)
        return self._result(request, access_token, checksum if caching else None)

    def check_in_memory(self, request: HttpRequest, token: str) -> Result | None:
        """A hit of the token cache when it lives in this process's memory
        (``BEARER_CACHE_SECONDS`` with a ``LocMemCache`` alias): the result :meth:`check`
        gives for it, with no query — every check a hit runs is on the cached rows
        (``select_related`` loaded them). ``None`` for a miss, or for any other cache (a
        shared one is a network or file read): :meth:`check` then runs in a thread. Should
        a custom model's check reach the database after all (``is_usable()`` overridden),
        Django refuses it on the event loop, and this answers ``None`` instead."""
        cache = tokencache.in_memory()
        if cache is None:
            return None
        access_token = tokencache.lookup(_checksum(token), token, cache)
        if access_token is None:
            return None
        try:
            return self._result(request, access_token)
        except SynchronousOnlyOperation:
            return None

    def _result(self, request: HttpRequest, access_token: Any, store: str | None = None) -> Result:
        """The checks after the lookup, on the loaded or cached token; a token loaded from
        the database that passes them all is cached under the checksum ``store``."""
        grant = _grant_type(access_token)
        if access_token.is_expired():
            return invalid(Failure.EXPIRED_TOKEN, EXPIRED, grant)
        user = access_token.user
        if user is not None and not user.is_active:
            return invalid(Failure.INACTIVE_USER, INVALID, grant)
        application = access_token.application
        if application is not None and not application.is_usable(request):
            return invalid(Failure.REJECTED, INVALID, grant)
        scopes = access_token.scope.split()
        if oauth2_settings.DCR_REGISTRATION_SCOPE in scopes:
            return invalid(Failure.WRONG_AUDIENCE, REGISTRATION_TOKEN, grant)
        if access_token.resource and not access_token.allows_audience(
            request.build_absolute_uri(request.path)
        ):
            return invalid(Failure.WRONG_AUDIENCE, WRONG_AUDIENCE, grant)
        if store is not None:
            tokencache.store(store, access_token)
        # Client-credentials tokens have no user: the request is authenticated as the client.
        principal = user if user is not None else AnonymousUser()
        auth_time, acr = token_authentication(access_token)
        return Result(
            Credentials.valid(SCHEME, scopes, grant, auth_time=auth_time, acr=acr),
            user=principal,
            auth=access_token,
        )


def _checksum(token: str) -> str:
    """DOT's ``token_checksum`` of ``token`` (a ``b64token``: ASCII)."""
    return hashlib.sha256(token.encode("ascii")).hexdigest()


def _grant_type(access_token: Any) -> str | None:
    """``client_credentials`` for a token issued to a client by RFC 6749 §4.4 — no user, and
    an application registered for that grant (DOT keeps no grant on the token itself) —
    else ``None``: the other grants all act for a user, and need not be told apart."""
    application = access_token.application
    if (
        access_token.user_id is None
        and application is not None
        and application.authorization_grant_type == AbstractApplication.GRANT_CLIENT_CREDENTIALS
    ):
        return CLIENT_CREDENTIALS_GRANT
    return None
