"""Framework-neutral authenticators: a request in, a :class:`Result` out, never an exception.

An authenticator reports *why* it failed instead of returning ``None``: each returns a
:class:`Result` whose :class:`~authstatus.core.decision.Credentials` say whether credentials of
its scheme were absent, malformed, invalid (with a reason) or valid. The DRF classes in
:mod:`authstatus.contrib.rest_framework` and :class:`authstatus.middleware.AuthStatusMiddleware`
both drive these, so plain Django views and DRF views decide alike.
"""

from __future__ import annotations

import base64
import binascii
import functools
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, overload

from asgiref.sync import sync_to_async
from django.conf import settings
from django.contrib.auth import aauthenticate, authenticate
from django.core.exceptions import SuspiciousOperation
from django.shortcuts import resolve_url
from django.utils.encoding import iri_to_uri
from django.utils.module_loading import import_string
from django.utils.translation import gettext_noop

from authstatus.conf import app_settings, on_reload
from authstatus.core.challenges import Challenge, basic_challenge
from authstatus.core.decision import Credentials, CredentialState, Failure
from authstatus.enforcement.stepup import session_authentication

if TYPE_CHECKING:
    from django.http import HttpRequest

# Set on a request whose bearer token came in the URI query (RFC 6750 §2.3); the middleware
# then marks the response Cache-Control: private.
URI_TOKEN_ATTRIBUTE = "authstatus_token_in_uri"

__all__ = [
    "URI_TOKEN_ATTRIBUTE",
    "Authenticator",
    "BasicAuthenticator",
    "LazyChallenges",
    "Result",
    "SessionAuthenticator",
    "authorization_header",
    "combine",
    "in_query",
    "is_first_party",
    "query_may_carry",
]


@dataclass(frozen=True, slots=True)
class Result:
    """What one authenticator made of a request.

    ``user`` and ``auth`` are set when the credentials are valid: the principal and the
    credential object (e.g. the access token), as DRF's ``(request.user, request.auth)``.
    """

    credentials: Credentials
    user: Any = None
    auth: Any = None

    @classmethod
    def absent(cls) -> Result:
        # Frozen and immutable: every request without credentials shares one value.
        if cls is Result:
            return _ABSENT
        return cls(Credentials.absent())


_ABSENT = Result(Credentials.absent())


def authorization_header(request: HttpRequest) -> tuple[str, str] | None:
    """``(scheme, rest)`` of the ``Authorization`` header, or ``None`` when there is none.

    The scheme is returned as sent (compare it case-insensitively, RFC 9110 §11.1); ``rest``
    is everything after the first run of spaces, unstripped at its end, so callers can
    apply their scheme's exact grammar.
    """
    value = request.META.get("HTTP_AUTHORIZATION")
    if value is None:
        return None
    scheme, _, rest = value.lstrip(" ").partition(" ")
    return scheme, rest.lstrip(" ")


def query_may_carry(request: HttpRequest, name: str) -> bool:
    """Whether the query string may hold a parameter ``name``, from the raw string, without
    parsing it (``request.GET`` costs a ``QueryDict``). Exact when it says no: a name can only
    be hidden from a substring test by percent-encoding (``access%5Ftoken`` is
    ``access_token`` once decoded, and ``+`` decodes to a space, never to a name's letter),
    so any ``%`` means "parse and see"."""
    query = request.META.get("QUERY_STRING", "")
    return name in query or "%" in query


def in_query(request: HttpRequest, name: str) -> bool:
    """Whether the query holds a parameter ``name``; ``False`` for a query Django refuses to
    read (``SuspiciousOperation``: too many fields). Parses only when :func:`query_may_carry`."""
    if not query_may_carry(request, name):
        return False
    try:
        return name in request.GET
    except SuspiciousOperation:
        return False


def is_first_party(authentication_class: type) -> bool:
    """Whether valid credentials of ``authentication_class`` that carry no OAuth scopes meet
    scope requirements (:attr:`~authstatus.core.decision.Credentials.first_party`): it is, or
    subclasses, a class of ``FIRST_PARTY_AUTHENTICATION``. For authstatus's DRF classes the
    authenticator they wrap counts too. A listed path that cannot be imported counts for
    nothing (``authstatus.E070`` reports it): never first-party on a guess."""
    return _first_party(authentication_class)


@functools.cache
def _first_party(authentication_class: type) -> bool:
    wrapped = getattr(authentication_class, "authenticator_class", None)
    candidates = [authentication_class] + ([wrapped] if isinstance(wrapped, type) else [])
    return any(
        issubclass(candidate, listed)
        for listed in _first_party_classes()
        for candidate in candidates
    )


@functools.cache
def _first_party_classes() -> tuple[type, ...]:
    found: list[type] = []
    for path in app_settings.FIRST_PARTY_AUTHENTICATION:
        if not isinstance(path, str):
            continue
        try:
            imported = import_string(path)
        except ImportError:
            continue
        if isinstance(imported, type):
            found.append(imported)
    return tuple(found)


on_reload(_first_party.cache_clear)
on_reload(_first_party_classes.cache_clear)


class Authenticator:
    """Base class. Subclasses set :attr:`scheme` and implement :meth:`authenticate`.

    Contract:

    * :meth:`authenticate` never raises for anything the client sent. Credentials of another
      scheme, or none at all, are ``ABSENT``; credentials of this scheme that cannot be parsed
      are ``MALFORMED`` (bearer requests, answered ``400``) or ``INVALID``
      (``MALFORMED_CREDENTIALS``); credentials that do not check out are ``INVALID`` with the
      reason; good ones are ``VALID`` with ``user`` (and ``auth``) set.
    * :meth:`challenge` returns the challenge for a ``401`` on a route that accepts this
      scheme, without any ``error`` parameter (the decision adds those), like DRF's
      ``BaseAuthentication.authenticate_header``.
    * :meth:`challenges` returns every base challenge the authenticator contributes, in
      order: :meth:`challenge`, plus for bearer tokens the opt-in ``OAuth2`` flow challenge.
    * :attr:`carries_scopes` is ``True`` for authenticators whose valid credentials say which
      OAuth scopes they grant (bearer tokens): every other one's meet a scope requirement only
      when it is first-party (:func:`is_first_party`).
    * :attr:`can_fail` is ``False`` for authenticators that can only report ``ABSENT`` or
      ``VALID`` (sessions): once another authenticator has succeeded they need not run.
    * :meth:`aauthenticate` is :meth:`authenticate` for async code (``AuthStatusMiddleware``
      in front of an async view under ASGI). The default runs :meth:`authenticate` in a
      thread (``sync_to_async``, one hop); override it to decide on the event loop.
    """

    scheme: ClassVar[str]
    can_fail: ClassVar[bool] = True
    carries_scopes: ClassVar[bool] = False

    def authenticate(self, request: HttpRequest) -> Result:
        raise NotImplementedError

    async def aauthenticate(self, request: HttpRequest) -> Result:
        return await sync_to_async(self.authenticate)(request)

    def challenge(self, request: HttpRequest) -> Challenge:
        return Challenge(self.scheme, (("realm", app_settings.REALM),))

    def challenges(self, request: HttpRequest) -> tuple[Challenge, ...]:
        return (self.challenge(request),)


class SessionAuthenticator(Authenticator):
    """Django's session, as set by ``AuthenticationMiddleware``.

    An expired or forged session cookie is indistinguishable from no session (Django drops it),
    so this reports only ``ABSENT`` or ``VALID``. Its challenge uses the scheme named by the
    ``SESSION_SCHEME`` setting (default ``Cookie``, after draft-broyer-http-cookie-auth):
    browsers do not recognise it, so they show the 401 page instead of a password dialog, and
    its ``form-action`` parameter tells other clients where to log in. The credentials carry
    the login's time and class as recorded at login (:mod:`authstatus.enforcement.stepup`).
    """

    can_fail = False

    @property
    def scheme(self) -> str:  # type: ignore[override]
        return app_settings.SESSION_SCHEME

    def authenticate(self, request: HttpRequest) -> Result:
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated:  # the common anonymous case, first
            return _ABSENT
        return self._result(request, user)

    async def aauthenticate(self, request: HttpRequest) -> Result:
        """The user from ``request.auser()`` (``AuthenticationMiddleware``, Django's async
        path): no thread hop without a session cookie; with one, the session and user
        queries run through Django's async ORM and session API."""
        auser = getattr(request, "auser", None)
        if auser is None:
            return self._result(request, getattr(request, "user", None))
        return self._result(request, await auser())

    def _result(self, request: HttpRequest, user: Any) -> Result:
        if user is None or not user.is_authenticated or not user.is_active:
            return Result.absent()
        auth_time, acr = session_authentication(request)  # the session is loaded by now
        credentials = Credentials.valid(
            self.scheme, auth_time=auth_time, acr=acr, first_party=is_first_party(type(self))
        )
        return Result(credentials, user=user)

    def challenge(self, request: HttpRequest) -> Challenge:
        return Challenge(
            self.scheme,
            (
                ("realm", app_settings.REALM),
                # A URI: percent-encoded (RFC 3987 §3.1), so a LOGIN_URL with non-ASCII,
                # spaces or quotes cannot make the challenge unsendable.
                ("form-action", iri_to_uri(str(resolve_url(settings.LOGIN_URL)))),
                ("cookie-name", settings.SESSION_COOKIE_NAME),
            ),
        )


class BasicAuthenticator(Authenticator):
    """HTTP Basic (RFC 7617) against Django's authentication backends.

    The challenge is ``Basic realm="…", charset="UTF-8"`` (RFC 7617 §2.1). Credentials are
    decoded as UTF-8, falling back to ISO-8859-1 for old clients. A header that is not valid
    base64 or has no ``:`` is ``INVALID`` (``MALFORMED_CREDENTIALS``): RFC 7617 answers bad
    Basic credentials with a fresh challenge, not ``400``. The password is checked on every
    request, so the user authenticated now: valid credentials meet any ``max_age``.
    """

    scheme = "Basic"

    def authenticate(self, request: HttpRequest) -> Result:
        parsed = self._parse(request)
        if isinstance(parsed, Result):
            return parsed
        username, password = parsed
        return self._checked(authenticate(request, username=username, password=password))

    async def aauthenticate(self, request: HttpRequest) -> Result:
        """No thread hop without Basic credentials; with them, Django's ``aauthenticate``
        (the backends' async API: password hashing runs in a thread)."""
        parsed = self._parse(request)
        if isinstance(parsed, Result):
            return parsed
        username, password = parsed
        user = await aauthenticate(request, username=username, password=password)
        return self._checked(user)

    def _parse(self, request: HttpRequest) -> Result | tuple[str, str]:
        header = authorization_header(request)
        if header is None or header[0].lower() != "basic":
            return Result.absent()
        decoded = self._decode(header[1].strip(" "))
        if decoded is None:
            return Result(
                Credentials.invalid(
                    self.scheme,
                    Failure.MALFORMED_CREDENTIALS,
                    gettext_noop("The Basic credentials could not be decoded."),
                )
            )
        return decoded

    def _checked(self, user: Any) -> Result:
        if user is None:
            return Result(
                Credentials.invalid(
                    self.scheme,
                    Failure.BAD_CREDENTIALS,
                    gettext_noop("Invalid username or password."),
                )
            )
        if not user.is_active:
            return Result(
                Credentials.invalid(
                    self.scheme, Failure.INACTIVE_USER, gettext_noop("User inactive.")
                )
            )
        credentials = Credentials.valid(
            self.scheme, auth_time=time.time(), first_party=is_first_party(type(self))
        )
        return Result(credentials, user=user)

    def challenge(self, request: HttpRequest) -> Challenge:
        return basic_challenge(app_settings.REALM)

    @staticmethod
    def _decode(token: str) -> tuple[str, str] | None:
        try:
            raw = base64.b64decode(token.encode("ascii"), validate=True)
        except (binascii.Error, UnicodeEncodeError, ValueError):
            return None
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            text = raw.decode("latin-1")
        username, sep, password = text.partition(":")
        # PostgreSQL rejects NUL in text parameters: refuse it here rather than answer 500.
        if not sep or "\x00" in text:
            return None
        return username, password


_PRECEDENCE = {
    CredentialState.MALFORMED: 0,
    CredentialState.INVALID: 1,
    CredentialState.UNVERIFIABLE: 2,
    CredentialState.VALID: 3,
    CredentialState.ABSENT: 4,
}


def combine(results: Iterable[Result]) -> Result:
    """One result for the whole request, whatever the order of the authenticators.

    A malformed request beats invalid credentials, which beat unverifiable ones (the issuer is
    unreachable), which beat valid ones: a client that sent
    a bad token must hear about it even if a session cookie would have let it in. Among equals
    the first (in authenticator order) wins, as in DRF.
    """
    best = Result.absent()
    for result in results:
        if _PRECEDENCE[result.credentials.state] < _PRECEDENCE[best.credentials.state]:
            best = result
    return best


def challenges_for(
    authenticators: Sequence[Authenticator], request: HttpRequest
) -> tuple[Challenge, ...]:
    """The base challenges of every authenticator, in order, one per scheme."""
    seen: set[str] = set()
    out: list[Challenge] = []
    for authenticator in authenticators:
        for challenge in authenticator.challenges(request):
            if challenge.scheme.lower() not in seen:
                seen.add(challenge.scheme.lower())
                out.append(challenge)
    return tuple(out)


class LazyChallenges(Sequence[Challenge]):
    """Challenges computed on first use, by ``compute``.

    Only refusals carry challenges; building them (``resolve_url(LOGIN_URL)``, metadata
    URLs, third-party ``authenticate_header()``) is most of what an allowed request would
    otherwise spend on them. Same values, same order, whenever they are read.
    """

    __slots__ = ("_compute", "_value")

    def __init__(self, compute: Callable[[], tuple[Challenge, ...]]) -> None:
        self._compute = compute
        self._value: tuple[Challenge, ...] | None = None

    def _get(self) -> tuple[Challenge, ...]:
        if self._value is None:
            self._value = self._compute()
        return self._value

    @overload
    def __getitem__(self, index: int) -> Challenge: ...

    @overload
    def __getitem__(self, index: slice) -> tuple[Challenge, ...]: ...

    def __getitem__(self, index: int | slice) -> Challenge | tuple[Challenge, ...]:
        return self._get()[index]

    def __len__(self) -> int:
        return len(self._get())

    def __iter__(self) -> Iterator[Challenge]:
        return iter(self._get())
