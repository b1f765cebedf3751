"""Bearer tokens issued by django-oauth-toolkit (RFC 6750), reported with their failure reason.

Unlike DOT's ``OAuth2Authentication``, which turns every bad token into an anonymous request,
:class:`BearerAuthenticator` says what was wrong: the request was malformed (RFC 6750 §3.1
``invalid_request``), the token is unknown or revoked, expired, restricted to another resource
(RFC 8707), or belongs to an inactive user or an unusable application. It costs exactly one
database query when a token is presented (the token with its user and application) and none
otherwise. Scopes are not checked here: the decision compares them with the policy.
"""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING, Any

from django.contrib.auth.models import AnonymousUser
from oauth2_provider.models import get_access_token_model

from authstatus.authentication import (
    URI_TOKEN_ATTRIBUTE,
    Authenticator,
    Result,
    authorization_header,
)
from authstatus.conf import app_settings
from authstatus.contrib.oauth2_provider import tokencache, tokenloader
from authstatus.contrib.oauth2_provider.authtime import token_authentication
from authstatus.contrib.oauth2_provider.discovery import flow_challenge, resource_metadata_url
from authstatus.core.challenges import Challenge, bearer_challenge, is_b64token
from authstatus.core.decision import Credentials, Failure

if TYPE_CHECKING:
    from django.http import HttpRequest

__all__ = ["BearerAuthenticator"]

SCHEME = "Bearer"
PARAMETER = "access_token"
FORM_CONTENT_TYPE = "application/x-www-form-urlencoded"

INVALID = "The access token is invalid."
EXPIRED = "The access token expired."
WRONG_AUDIENCE = "The access token is not valid for this resource."


class BearerAuthenticator(Authenticator):
    """RFC 6750 bearer tokens checked against DOT's ``AccessToken`` model.

    Where a token may be sent is the ``BEARER_METHODS`` setting (``header`` by default; RFC
    6750 §2.2 ``body`` and §2.3 ``query`` on request). Whatever is enabled, a request that
    carries a token in more than one place is malformed (RFC 6750 §3.1), as are a bare
    ``Bearer``, several tokens, and a token outside the ``b64token`` grammar (§2.1).
    """

    scheme = SCHEME

    def challenge(self, request: HttpRequest) -> Challenge:
        """``Bearer realm="…", resource_metadata="…"`` (RFC 6750 §3, RFC 9728 §5.1).

        ``resource_metadata`` is the absolute URL of the RFC 9728 metadata document
        (:func:`~authstatus.contrib.oauth2_provider.discovery.resource_metadata_url`), so every
        Bearer challenge — ``400``, ``401`` and ``403`` alike — tells the client where to find
        the authorization servers and scopes; it is left out when no document is served.
        """
        return bearer_challenge(
            realm=app_settings.REALM, resource_metadata=resource_metadata_url(request)
        )

    def challenges(self, request: HttpRequest) -> tuple[Challenge, ...]:
        """The Bearer challenge, then — with ``OAUTH2_CHALLENGE`` on — the base ``OAuth2``
        flow challenge (:func:`~authstatus.contrib.oauth2_provider.discovery.flow_challenge`),
        whose ``flows`` the decision core fills in."""
        bearer = self.challenge(request)
        if app_settings.OAUTH2_CHALLENGE:
            flow = flow_challenge(request)
            if flow is not None:
                return (bearer, flow)
        return (bearer,)

    def authenticate(self, request: HttpRequest) -> Result:
        found = self._token(request)
        if isinstance(found, Result):
            return found
        if found is None:
            return Result.absent()
        return self._check(request, found)

    def _token(self, request: HttpRequest) -> str | Result | None:
        """The token string, ``None`` when absent, or a ``MALFORMED`` result."""
        places: list[str] = []
        header = authorization_header(request)
        if header is not None and header[0].lower() == SCHEME.lower():
            token = header[1]
            if not is_b64token(token):
                return _malformed("The Authorization header must be 'Bearer' and one token.")
            places.append(token)
        query = request.GET.getlist(PARAMETER)
        body = self._body_tokens(request)
        if len(query) + len(body) + len(places) > 1:
            return _malformed("The access token must be sent in exactly one place, once.")
        methods = app_settings.BEARER_METHODS
        if query and "query" in methods:
            places.extend(query)
            # RFC 6750 §2.3: the response must not be stored by shared caches.
            setattr(request, URI_TOKEN_ATTRIBUTE, True)
        if body and "body" in methods:
            places.extend(body)
        if not places:
            return None
        if not is_b64token(places[0]):
            return _malformed("The access token is not a valid b64token.")
        return places[0]

    @staticmethod
    def _body_tokens(request: HttpRequest) -> list[str]:
        # RFC 6750 §2.2: only single-part form-encoded bodies of methods that have a body.
        if request.method in ("GET", "HEAD") or request.content_type != FORM_CONTENT_TYPE:
            return []
        return request.POST.getlist(PARAMETER)

    def _check(self, request: HttpRequest, token: str) -> Result:
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
                return _invalid(Failure.UNKNOWN_TOKEN, INVALID)
        if access_token.is_expired():
            return _invalid(Failure.EXPIRED_TOKEN, EXPIRED)
        user = access_token.user
        if user is not None and not user.is_active:
            return _invalid(Failure.INACTIVE_USER, INVALID)
        application = access_token.application
        if application is not None and not application.is_usable(request):
            return _invalid(Failure.REJECTED, INVALID)
        if access_token.resource and not access_token.allows_audience(
            request.build_absolute_uri(request.path)
        ):
            return _invalid(Failure.WRONG_AUDIENCE, WRONG_AUDIENCE)
        if caching and not cached:
            tokencache.store(checksum, access_token)
        # Client-credentials tokens have no user: the request is authenticated as the client.
        principal = user if user is not None else AnonymousUser()
        auth_time, acr = token_authentication(access_token)
        return Result(
            Credentials.valid(SCHEME, access_token.scope.split(), auth_time=auth_time, acr=acr),
            user=principal,
            auth=access_token,
        )


def _malformed(description: str) -> Result:
    return Result(Credentials.malformed(SCHEME, description))


def _invalid(failure: Failure, description: str) -> Result:
    return Result(Credentials.invalid(SCHEME, failure, description))
