"""DRF authentication classes that report *why* they failed.

Each wraps a framework-neutral :class:`~authstatus.enforcement.authenticators.Authenticator`. On
valid credentials ``authenticate`` returns ``(user, auth)`` as DRF expects; on absent ones ``None``;
on malformed or invalid ones it raises :class:`CredentialsRejected` carrying the full
:class:`~authstatus.enforcement.authenticators.Result`, so a bad token is never silently anonymous —
not even on an ``AllowAny`` view — and the exception handler can answer precisely. Results are
cached on the request, so evaluating an authenticator twice costs nothing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from rest_framework import authentication as drf_authentication
from rest_framework.exceptions import AuthenticationFailed

from authstatus.contrib.oauth2_provider.authentication import BearerAuthenticator
from authstatus.core.challenges import format_challenge
from authstatus.core.decision import CredentialState
from authstatus.enforcement.authenticators import (
    Authenticator,
    BasicAuthenticator,
    Result,
    SessionAuthenticator,
)

if TYPE_CHECKING:
    from rest_framework.request import Request

__all__ = [
    "AuthStatusAuthentication",
    "BasicAuthentication",
    "BearerAuthentication",
    "CredentialsRejected",
    "SessionAuthentication",
]

RESULTS_ATTRIBUTE = "_authstatus_results"
"""Where each authentication class's :class:`Result` is kept on the Django request."""
UNRENDERABLE = "Unrenderable"


class CredentialsRejected(AuthenticationFailed):
    """Raised by an authstatus authentication class for malformed or invalid credentials."""

    def __init__(self, result: Result) -> None:
        super().__init__(result.credentials.description or None)
        self.result = result


class AuthStatusAuthentication(drf_authentication.BaseAuthentication):
    """Base class: set :attr:`authenticator_class` to a neutral authenticator."""

    authenticator_class: ClassVar[type[Authenticator]]

    def __init__(self) -> None:
        self.authenticator = self.authenticator_class()

    def evaluate(self, request: Request) -> Result:
        """This authenticator's result for ``request``, computed once."""
        cache: dict[type, Result] = request._request.__dict__.setdefault(RESULTS_ATTRIBUTE, {})
        result = cache.get(type(self))
        if result is None:
            result = self.authenticator.authenticate(request._request)
            cache[type(self)] = result
        return result

    def evaluated(self, request: Request) -> bool:
        return type(self) in request._request.__dict__.get(RESULTS_ATTRIBUTE, {})

    def authenticate(self, request: Request) -> tuple[Any, Any] | None:
        result = self.evaluate(request)
        state = result.credentials.state
        if state is CredentialState.VALID:
            return result.user, result.auth
        if state is CredentialState.ABSENT:
            return None
        raise CredentialsRejected(result)

    def authenticate_header(self, request: Request) -> str:
        """The challenge, for DRF's ``handle_exception`` (which calls it on every
        authentication failure, concealed routes included, to choose 401 over 403)."""
        try:
            return format_challenge(self.authenticator.challenge(request._request))
        except ValueError:
            # A setting no header can carry (refused at startup: authstatus.E005, E007,
            # E025), changed at run time. DRF needs a non-empty value to keep the 401; the
            # exception handler renders the decision, and a concealed refusal builds none.
            return UNRENDERABLE


class BearerAuthentication(AuthStatusAuthentication):
    """Bearer tokens (RFC 6750), checked by ``TOKEN_BACKENDS``: django-oauth-toolkit's
    database by default (one query when a token is sent), JWT access tokens or
    introspection of other authorization servers (:mod:`authstatus.tokens`)."""

    authenticator_class = BearerAuthenticator


class BasicAuthentication(AuthStatusAuthentication):
    """HTTP Basic (RFC 7617), challenged as ``Basic realm="…", charset="UTF-8"``."""

    authenticator_class = BasicAuthenticator


class SessionAuthentication(AuthStatusAuthentication):
    """Django's session, with DRF's CSRF enforcement for unsafe methods.

    Its challenge uses a scheme browsers do not recognise (``SESSION_SCHEME``), so a
    session-only route never makes a browser pop up a Basic password dialog.
    """

    authenticator_class = SessionAuthenticator

    def authenticate(self, request: Request) -> tuple[Any, Any] | None:
        user_auth = super().authenticate(request)
        if user_auth is not None:
            # DRF's own check: raises PermissionDenied("CSRF Failed: …").
            drf_authentication.SessionAuthentication().enforce_csrf(request)
        return user_auth
