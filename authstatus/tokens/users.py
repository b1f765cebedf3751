"""Which Django user a token from another issuer stands for, and what ``request.auth`` is.

A backend's ``USER`` options choose the rule:

* ``USER_FIELD``: the token's ``USER_CLAIM`` (default ``sub``, RFC 9068 §2.2; DOT's
  introspection answers ``username``) is looked up in this field of the user model — one
  query. No such user is ``UNKNOWN_USER``, an inactive one ``INACTIVE_USER``. A token whose
  claim equals its ``client_id`` is a client token (RFC 9068 §2.2: client credentials) and
  has no user, unless ``CLIENT_TOKENS`` is ``False`` (then it is ``UNKNOWN_USER``).
* ``USER_RESOLVER``: a dotted path to ``resolver(claims) -> user | None``; ``None`` is
  ``UNKNOWN_USER``. It may create users, or return ``AnonymousUser()`` for client tokens.
* neither: no user. The request is authenticated as the client (``request.user`` is
  ``AnonymousUser``, as for DOT's client-credentials tokens), with the token's scopes. No
  query at all.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import FieldDoesNotExist
from django.utils.module_loading import import_string

from authstatus.tokens import BackendConfigurationError

__all__ = ["TokenClaims", "UserMapping"]

NO_USER = "no user"


@dataclass(frozen=True, slots=True)
class TokenClaims:
    """``request.auth`` for a token checked by another issuer: its claims (RFC 9068 §2.2, or
    the RFC 7662 §2.2 introspection response) and the usual fields pulled out of them."""

    issuer: str
    claims: Mapping[str, Any] = field(repr=False)
    scope: str = ""
    subject: str | None = None
    client_id: str | None = None
    expires_at: float | None = None

    @property
    def scopes(self) -> frozenset[str]:
        return frozenset(self.scope.split())

    def is_expired(self, leeway: float = 0.0) -> bool:
        return self.expires_at is not None and time.time() > self.expires_at + leeway


class UserMapping:
    """The rule of one backend (see the module docstring)."""

    def __init__(self, options: Mapping[str, Any], default_claim: str = "sub") -> None:
        self.claim = str(options.get("USER_CLAIM", default_claim))
        self.field: str | None = options.get("USER_FIELD")
        resolver = options.get("USER_RESOLVER")
        if self.field is not None and resolver is not None:
            raise BackendConfigurationError("Set USER_FIELD or USER_RESOLVER, not both.")
        self._resolver_path: str | None = resolver
        self._resolver: Callable[[Mapping[str, Any]], Any] | None = None
        self.client_tokens = bool(options.get("CLIENT_TOKENS", True))
        if resolver is not None and not isinstance(resolver, str) and not callable(resolver):
            raise BackendConfigurationError("USER_RESOLVER must be a dotted path or a callable.")
        if callable(resolver):
            self._resolver = resolver

    @property
    def maps_users(self) -> bool:
        return self.field is not None or self._resolver_path is not None

    def describe(self) -> str:
        if self.field is not None:
            return f"'{self.claim}' -> user.{self.field}"
        if self._resolver_path is not None:
            return f"user from {self._resolver_path}"
        return NO_USER

    def validate(self) -> None:
        """Raise :class:`BackendConfigurationError` when the rule cannot work."""
        if self.field is not None:
            try:
                get_user_model()._meta.get_field(self.field)
            except FieldDoesNotExist as exc:
                raise BackendConfigurationError(
                    f"USER_FIELD '{self.field}' is not a field of the user model."
                ) from exc
        if isinstance(self._resolver_path, str):
            self.resolver()

    def resolver(self) -> Callable[[Mapping[str, Any]], Any]:
        if self._resolver is None:
            try:
                self._resolver = import_string(str(self._resolver_path))
            except ImportError as exc:
                raise BackendConfigurationError(f"Cannot import USER_RESOLVER: {exc}") from exc
        return self._resolver

    def user(self, claims: Mapping[str, Any]) -> Any | None:
        """The user, ``AnonymousUser()`` for "no user", or ``None`` for no such user."""
        if self.field is not None:
            value = claims.get(self.claim)
            if self.client_tokens and value is not None and value == claims.get("client_id"):
                # RFC 9068 §2.2: without a resource owner (client credentials), sub is the
                # client's identifier. The client itself is authenticated, as DOT does.
                return AnonymousUser()
            if not isinstance(value, str) or not value or "\x00" in value:
                return None
            model = get_user_model()
            try:
                return model._default_manager.get(**{self.field: value})
            except (model.DoesNotExist, model.MultipleObjectsReturned):
                # Several users with that value: the field cannot identify a token's user.
                return None
        if self._resolver_path is not None or self._resolver is not None:
            return self.resolver()(claims)
        return AnonymousUser()
