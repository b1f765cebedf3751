"""Bearer tokens (RFC 6750), reported with their failure reason.

Unlike DOT's ``OAuth2Authentication``, which turns every bad token into an anonymous request,
:class:`BearerAuthenticator` says what was wrong: the request was malformed (RFC 6750 §3.1
``invalid_request``), or the token did not check out — and why. It finds the token in the
request; the ``TOKEN_BACKENDS`` (:mod:`authstatus.tokens`) check it: by default
django-oauth-toolkit's database (:class:`~.backends.DatabaseBackend`, exactly one query when a
token is presented, none otherwise), or JWT access tokens (RFC 9068) and introspection
(RFC 7662) of other authorization servers. Scopes are not checked here: the decision compares
them with the policy.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.utils.translation import gettext_noop

from authstatus import tokens
from authstatus.conf import app_settings
from authstatus.contrib.oauth2_provider.discovery import flow_challenge, resource_metadata_url
from authstatus.core.challenges import Challenge, bearer_challenge, is_b64token
from authstatus.core.decision import Credentials
from authstatus.enforcement.authenticators import (
    URI_TOKEN_ATTRIBUTE,
    Authenticator,
    Result,
    authorization_header,
    query_may_carry,
)

if TYPE_CHECKING:
    from django.http import HttpRequest

__all__ = ["BearerAuthenticator"]

SCHEME = "Bearer"
PARAMETER = "access_token"
FORM_CONTENT_TYPE = "application/x-www-form-urlencoded"


class BearerAuthenticator(Authenticator):
    """RFC 6750 bearer tokens checked against DOT's ``AccessToken`` model.

    Where a token may be sent is the ``BEARER_METHODS`` setting (``header`` by default; RFC
    6750 §2.2 ``body`` and §2.3 ``query`` on request). Whatever is enabled, a request that
    carries a token in more than one place is malformed (RFC 6750 §3.1), as are a bare
    ``Bearer``, several tokens, and a token outside the ``b64token`` grammar (§2.1).
    """

    scheme = SCHEME
    carries_scopes = True

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
        return tokens.check(request, found)

    async def aauthenticate(self, request: HttpRequest) -> Result:
        """:meth:`authenticate` for async code: no thread hop without a token; with one,
        the backends run in one (:func:`authstatus.tokens.acheck`)."""
        found = self._token(request)
        if isinstance(found, Result):
            return found
        if found is None:
            return Result.absent()
        return await tokens.acheck(request, found)

    def _token(self, request: HttpRequest) -> str | Result | None:
        """The token string, ``None`` when absent, or a ``MALFORMED`` result."""
        places: list[str] = []
        header = authorization_header(request)
        if header is not None and header[0].lower() == SCHEME.lower():
            token = header[1]
            if not is_b64token(token):
                return _malformed(
                    gettext_noop("The Authorization header must be 'Bearer' and one token.")
                )
            places.append(token)
        query = request.GET.getlist(PARAMETER) if query_may_carry(request, PARAMETER) else []
        body = self._body_tokens(request)
        if len(query) + len(body) + len(places) > 1:
            return _malformed(
                gettext_noop("The access token must be sent in exactly one place, once.")
            )
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
            return _malformed(gettext_noop("The access token is not a valid b64token."))
        return places[0]

    @staticmethod
    def _body_tokens(request: HttpRequest) -> list[str]:
        # RFC 6750 §2.2: only single-part form-encoded bodies of methods that have a body.
        if request.method in ("GET", "HEAD") or request.content_type != FORM_CONTENT_TYPE:
            return []
        return request.POST.getlist(PARAMETER)


def _malformed(description: str) -> Result:
    return Result(Credentials.malformed(SCHEME, description))
