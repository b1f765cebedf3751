"""Opaque tokens of another authorization server, asked of its introspection endpoint
(RFC 7662).

Options of a ``TOKEN_BACKENDS`` entry
``{"BACKEND": "authstatus.tokens.introspection.IntrospectionBackend", …}``:

``ISSUER`` (required)
    The authorization server's issuer identifier (listed in the RFC 9728 document).
``INTROSPECTION_ENDPOINT``
    Default: ``introspection_endpoint`` of the issuer's metadata (RFC 8414 §2).
``CLIENT_ID``, ``CLIENT_SECRET`` (required)
    This resource server's confidential client at the issuer: the request is authenticated
    with HTTP Basic (RFC 7662 §2.1, RFC 6749 §2.3.1). DOT's ``/o/introspect/`` accepts any
    confidential client this way.
``CACHE_SECONDS``
    An active result is cached until the token's ``exp``, never longer than this (60). It is
    also how long a revoked token may still be accepted: RFC 7662 §4 leaves the trade-off to
    the resource server.
``INACTIVE_CACHE_SECONDS``
    An inactive result is cached this long (5), so one bad token repeated costs one call.
``CACHE_ALIAS``
    The Django cache holding results (``default``); shared by every process and host that
    uses it. Keys are the SHA-256 of the issuer and the token, never the token.
``AUDIENCE``, ``LEEWAY``, ``TIMEOUT``, ``RETRY_AFTER``
    As for :mod:`authstatus.tokens.jwt` (an ``aud`` in the answer must name this resource);
    ``TIMEOUT`` per call (3 s); ``RETRY_AFTER`` of the ``503`` when the endpoint is down (5 s).
``USER_FIELD``, ``USER_CLAIM`` (``sub``; ``username`` for DOT), ``USER_RESOLVER``
    :mod:`authstatus.tokens.users`.

An endpoint that cannot be reached, times out, or answers anything but a JSON object with a
boolean ``active`` fails closed: the credentials are ``UNVERIFIABLE`` (``503`` with
``Retry-After``), never allowed and never ``401`` — the token may well be valid. Failures are
not cached: the next request asks again.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.core.cache import caches
from django.utils.translation import gettext_noop

from authstatus.checks.codes import Codes
from authstatus.core.decision import Credentials, Failure
from authstatus.enforcement.authenticators import Result
from authstatus.enforcement.stepup import claims_authentication
from authstatus.tokens import SCHEME, BackendConfigurationError, TokenBackend, invalid
from authstatus.tokens.jwt import accepts_audience, is_number
from authstatus.tokens.remote import Metadata, Unreachable, post_form
from authstatus.tokens.users import TokenClaims, UserMapping

if TYPE_CHECKING:
    from django.http import HttpRequest

__all__ = ["IntrospectionBackend"]

logger = logging.getLogger("authstatus")

KEY_PREFIX = "authstatus:introspection:"
INACTIVE = gettext_noop("The access token is not active.")
EXPIRED = gettext_noop("The access token expired.")
WRONG_AUDIENCE = gettext_noop("The access token is not valid for this resource.")
UNKNOWN_USER = gettext_noop("The access token belongs to no user of this service.")
UNAVAILABLE = gettext_noop("The access token cannot be checked now. Try again later.")


class IntrospectionBackend(TokenBackend):
    """RFC 7662 introspection at ``ISSUER`` (see the module docstring)."""

    label = "token introspection (RFC 7662)"

    def __init__(self, options: Mapping[str, Any]) -> None:
        super().__init__(options)
        issuer = options.get("ISSUER")
        if not isinstance(issuer, str) or not issuer.startswith(("https://", "http://")):
            raise BackendConfigurationError(
                "IntrospectionBackend needs ISSUER, the issuer's URL.", Codes.BAD_INTROSPECTION
            )
        self._issuer = issuer
        self.endpoint: str | None = options.get("INTROSPECTION_ENDPOINT")
        client_id, secret = options.get("CLIENT_ID"), options.get("CLIENT_SECRET")
        if not isinstance(client_id, str) or not isinstance(secret, str) or not client_id:
            raise BackendConfigurationError(
                "IntrospectionBackend needs CLIENT_ID and CLIENT_SECRET of a confidential "
                "client (RFC 7662 §2.1).",
                Codes.BAD_INTROSPECTION,
            )
        self.auth = (client_id, secret)
        self.cache_seconds = float(options.get("CACHE_SECONDS", 60))
        self.inactive_seconds = float(options.get("INACTIVE_CACHE_SECONDS", 5))
        if self.cache_seconds < 0 or self.inactive_seconds < 0:
            raise BackendConfigurationError("Cache durations must be 0 or more seconds.")
        self.cache_alias = str(options.get("CACHE_ALIAS", "default"))
        audience = options.get("AUDIENCE")
        self.audience: tuple[str, ...] | None = (
            (audience,)
            if isinstance(audience, str)
            else None
            if audience is None
            else tuple(audience)
        )
        self.leeway = float(options.get("LEEWAY", 30))
        self.timeout = float(options.get("TIMEOUT", 3))
        self.retry_after = int(options.get("RETRY_AFTER", 5))
        self.users = UserMapping(options)
        self._metadata = Metadata(
            issuer, "introspection_endpoint", self.timeout, float(self.retry_after)
        )
        self.calls = 0
        """Number of introspection requests sent — for tests and benchmarks."""

    @property
    def issuer(self) -> str:
        return self._issuer

    def describe(self) -> str:
        where = self.endpoint or f"introspection_endpoint of {self._issuer}'s metadata"
        return (
            f"{self.label} at {where} as client {self.auth[0]}, active results cached "
            f"<= {self.cache_seconds:g} s, user: {self.users.describe()}"
        )

    def _endpoint(self) -> str:
        if self.endpoint is None:
            self.endpoint = self._metadata.get()
        return self.endpoint

    def _cache_get(self, key: str) -> Any:
        try:
            return caches[self.cache_alias].get(key)
        except Exception:
            logger.warning("authstatus: introspection cache read failed", exc_info=True)
            return None

    def _cache_set(self, key: str, value: Any, seconds: float) -> None:
        if seconds <= 0:
            return
        try:
            caches[self.cache_alias].set(key, value, seconds)
        except Exception:
            logger.warning("authstatus: introspection cache write failed", exc_info=True)

    def introspect(self, token: str) -> dict[str, Any]:
        """The endpoint's answer for ``token``; :class:`Unreachable` if there is none."""
        self.calls += 1
        answer = post_form(
            self._endpoint(),
            {"token": token, "token_type_hint": "access_token"},
            self.auth,
            self.timeout,
        )
        if not isinstance(answer.get("active"), bool):
            raise Unreachable("the introspection answer has no boolean 'active' (RFC 7662 §2.2)")
        return answer

    def check(self, request: HttpRequest, token: str) -> Result | None:
        # Keyed by issuer and token, so backends sharing a cache cannot read each other's.
        key = KEY_PREFIX + hashlib.sha256(f"{self._issuer}\n{token}".encode()).hexdigest()
        answer = self._cache_get(key)
        if not isinstance(answer, dict):
            try:
                answer = self.introspect(token)
            except Unreachable as exc:
                logger.warning("authstatus: token introspection failed: %s", exc)
                return Result(Credentials.unverifiable(SCHEME, UNAVAILABLE, self.retry_after))
            self._store(key, answer)
        return self._result(request, answer)

    def _store(self, key: str, answer: dict[str, Any]) -> None:
        if not answer["active"]:
            self._cache_set(key, {"active": False}, self.inactive_seconds)
            return
        seconds = self.cache_seconds
        exp = answer.get("exp")
        if isinstance(exp, int | float) and not isinstance(exp, bool):
            seconds = min(seconds, exp - time.time())
        self._cache_set(key, answer, seconds)

    def _result(self, request: HttpRequest, answer: dict[str, Any]) -> Result:
        if not answer["active"]:
            return invalid(Failure.UNKNOWN_TOKEN, INACTIVE)
        exp = answer.get("exp")
        expires_at = float(exp) if is_number(exp) else None
        if expires_at is not None and time.time() > expires_at + self.leeway:
            return invalid(Failure.EXPIRED_TOKEN, EXPIRED)
        aud = answer.get("aud")
        if aud is not None and not accepts_audience(request, self.audience, aud):
            return invalid(Failure.WRONG_AUDIENCE, WRONG_AUDIENCE)
        user = self.users.user(answer)
        if user is None:
            return invalid(Failure.UNKNOWN_USER, UNKNOWN_USER)
        if user.is_authenticated and not user.is_active:
            return invalid(Failure.INACTIVE_USER, INACTIVE)
        scope = answer.get("scope")
        scope = scope if isinstance(scope, str) else ""
        auth = TokenClaims(
            issuer=self._issuer,
            claims=answer,
            scope=scope,
            subject=answer.get("sub") if isinstance(answer.get("sub"), str) else None,
            client_id=answer.get("client_id") if isinstance(answer.get("client_id"), str) else None,
            expires_at=expires_at,
        )
        # RFC 9470 step-up: when and how the user authenticated, as the issuer says.
        auth_time, acr = claims_authentication(answer)
        return Result(
            Credentials.valid(SCHEME, scope.split(), auth_time=auth_time, acr=acr),
            user=user,
            auth=auth,
        )

    def problems(self) -> list[tuple[str, str]]:
        out: list[tuple[str, str]] = []
        if self.cache_alias not in (getattr(settings, "CACHES", None) or {"default": {}}):
            out.append(
                (Codes.BAD_INTROSPECTION, f"CACHE_ALIAS '{self.cache_alias}' is not in CACHES.")
            )
        try:
            self.users.validate()
        except BackendConfigurationError as exc:
            out.append((Codes.BAD_TOKEN_BACKEND, str(exc)))
        return out
