"""Bearer token backends: where an access token is checked, configured in one place.

``AUTHSTATUS["TOKEN_BACKENDS"]`` lists the backends, in the order they are asked, as dicts
with a ``BACKEND`` dotted path and that backend's options (like Django's ``CACHES``)::

    "TOKEN_BACKENDS": [
        {"BACKEND": "authstatus.tokens.jwt.JWTBackend", "ISSUER": "https://as.example"},
        {"BACKEND": "authstatus.contrib.oauth2_provider.backends.DatabaseBackend"},
    ]

The default is django-oauth-toolkit's database alone (one query per token), which is what
authstatus always did. :class:`~authstatus.contrib.oauth2_provider.BearerAuthenticator`
parses the request (RFC 6750 §2, §3.1: where the token is and whether the request is well
formed) and hands the token to :func:`check`, so every backend gets the same
``invalid_request`` handling, challenges, scopes and decisions.

The contract of a backend (:class:`TokenBackend`):

* :meth:`~TokenBackend.check` returns a :class:`~authstatus.enforcement.authenticators.Result` for a
  token it is responsible for, or ``None`` when the token is not of its kind (a JWT backend and an
  opaque string), so the next backend is asked. It never raises for anything the client sent.
* A result of ``UNKNOWN_TOKEN`` or ``WRONG_ISSUER`` is *provisional*: a later backend may know
  the token (several issuers, or a JWT issuer beside DOT's database). The first provisional
  result is the answer when no later backend gives a definitive one.
* A token that cannot be checked now (the issuer is unreachable) is ``UNVERIFIABLE``
  credentials: answered ``503`` with ``Retry-After``, never allowed and never ``401``.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from asgiref.sync import sync_to_async
from django.utils.module_loading import import_string
from django.utils.translation import gettext_noop

from authstatus.checks.codes import Codes
from authstatus.conf import app_settings, on_reload
from authstatus.core.decision import Credentials, Failure
from authstatus.enforcement.authenticators import Result
from authstatus.tokens import lookup_thread

if TYPE_CHECKING:
    from django.http import HttpRequest

__all__ = [
    "DATABASE_BACKEND",
    "SCHEME",
    "BackendConfigurationError",
    "TokenBackend",
    "acheck",
    "backends",
    "check",
    "invalid",
]

SCHEME = "Bearer"
DATABASE_BACKEND = "authstatus.contrib.oauth2_provider.backends.DatabaseBackend"
INVALID = gettext_noop("The access token is invalid.")

_PROVISIONAL = frozenset({Failure.UNKNOWN_TOKEN, Failure.WRONG_ISSUER})


class BackendConfigurationError(ValueError):
    """A ``TOKEN_BACKENDS`` entry that cannot work; system checks report it."""

    def __init__(self, message: str, code: str = Codes.BAD_TOKEN_BACKEND) -> None:
        super().__init__(message)
        self.code = code


class TokenBackend:
    """Base class of token backends. Subclasses implement :meth:`check`.

    ``options`` are the entry's keys other than ``BACKEND``. A subclass validates them in its
    ``__init__`` and raises :class:`BackendConfigurationError` for a value it cannot work
    with; :meth:`problems` returns the softer findings (warnings) for the system checks.
    """

    #: What ``authstatus_explain --scopes`` and the admin say the token is checked against.
    label = "bearer token backend"
    #: Whether :func:`acheck` may run this backend on the token-lookup thread (one per
    #: process, one lookup at a time): only a backend whose one wait is a quick database
    #: query. One that may wait on the network (a JWKS fetch, an introspection request)
    #: would hold up every other request's lookup behind it.
    uses_lookup_thread = False

    def __init__(self, options: Mapping[str, Any]) -> None:
        self.options = dict(options)

    @property
    def issuer(self) -> str | None:
        """The issuer identifier (RFC 8414 §2 ``issuer``) whose tokens this backend checks,
        for ``authorization_servers`` of the RFC 9728 document; ``None`` for this site."""
        return None

    def check(self, request: HttpRequest, token: str) -> Result | None:
        raise NotImplementedError

    def check_in_memory(self, request: HttpRequest, token: str) -> Result | None:
        """The definitive result :meth:`check` would return, when this process's memory
        alone holds it — no database, cache server, file or network — else ``None``.
        :func:`acheck` calls it on the event loop, before any thread hop; it must not block.
        The default: ``None`` (every token is checked in :meth:`check`)."""
        return None

    def describe(self) -> str:
        """One line for people: which tokens this backend accepts and how it checks them."""
        return self.label

    def problems(self) -> list[tuple[str, str]]:
        """``(check id, message)`` pairs for configuration the system checks should report."""
        return []


def build(entry: Any) -> TokenBackend:
    """The backend one ``TOKEN_BACKENDS`` entry describes; :class:`BackendConfigurationError`
    when it cannot be built."""
    if not isinstance(entry, Mapping) or not isinstance(entry.get("BACKEND"), str):
        raise BackendConfigurationError("Each TOKEN_BACKENDS entry is a dict with a BACKEND path.")
    try:
        cls = import_string(entry["BACKEND"])
    except ImportError as exc:
        raise BackendConfigurationError(f"Cannot import {entry['BACKEND']}: {exc}") from exc
    if not (isinstance(cls, type) and issubclass(cls, TokenBackend)):
        raise BackendConfigurationError(f"{entry['BACKEND']} is not a TokenBackend subclass.")
    return cls({k: v for k, v in entry.items() if k != "BACKEND"})


@functools.cache
def backends() -> list[TokenBackend]:
    """The configured backends, built once per settings (so their key and result caches
    live as long as the process and its settings)."""
    return [build(entry) for entry in app_settings.TOKEN_BACKENDS]


on_reload(backends.cache_clear)


def check(
    request: HttpRequest, token: str, configured: Sequence[TokenBackend] | None = None
) -> Result:
    """The result for ``token``: the first definitive answer of the backends, in order (see
    the module docstring); ``UNKNOWN_TOKEN`` when no backend takes it."""
    provisional: Result | None = None
    for backend in backends() if configured is None else configured:
        result = backend.check(request, token)
        if result is None:
            continue
        if result.credentials.failure not in _PROVISIONAL:
            return result
        if provisional is None:
            provisional = result
    return provisional if provisional is not None else invalid(Failure.UNKNOWN_TOKEN, INVALID)


async def acheck(request: HttpRequest, token: str) -> Result:
    """:func:`check` for async code, in one thread hop whatever ``TOKEN_BACKENDS`` holds: the
    database backend's one query (through the statement
    :mod:`~authstatus.contrib.oauth2_provider.tokenloader` compiles once, which Django's async
    ORM — itself a ``sync_to_async`` around the sync query — would rebuild per call), a JWKS
    or introspection request, a cache read.

    The hop goes to the long-lived token-lookup thread (:mod:`.lookup_thread`, whose
    connections outlive a request) where the request's own sync thread would be new and
    every backend is one for it (:attr:`TokenBackend.uses_lookup_thread`), and is Django's
    thread-sensitive ``sync_to_async`` elsewhere (a parent sync thread, such as a test's,
    sees its own transaction).

    No hop at all when the first backend answers from memory
    (:meth:`TokenBackend.check_in_memory`: the database backend's token cache in a
    ``LocMemCache`` alias, ``BEARER_CACHE_SECONDS``): :func:`check` too would return the first
    backend's definitive answer without asking the others."""
    configured = backends()
    if configured:
        found = configured[0].check_in_memory(request, token)
        if found is not None and found.credentials.failure not in _PROVISIONAL:
            return found
    if lookup_thread.applies() and all(b.uses_lookup_thread for b in configured):
        return await lookup_thread.run(check, request, token)
    return await sync_to_async(check)(request, token)


def invalid(failure: Failure, description: str, grant_type: str | None = None) -> Result:
    return Result(Credentials.invalid(SCHEME, failure, description, grant_type))


def issuers() -> list[str]:
    """The issuers of the configured backends, in order, without repeats."""
    out: list[str] = []
    for backend in backends():
        if backend.issuer is not None and backend.issuer not in out:
            out.append(backend.issuer)
    return out
