"""JWT access tokens (RFC 9068) of another authorization server, checked against its JWKS.

Options of a ``TOKEN_BACKENDS`` entry ``{"BACKEND": "authstatus.tokens.jwt.JWTBackend", …}``:

``ISSUER`` (required)
    The issuer identifier; a token's ``iss`` must equal it exactly (RFC 9068 §4).
``JWKS_URI``
    The issuer's JWK Set. Without it (and with ``DISCOVERY`` on, the default), ``jwks_uri`` of
    the issuer's metadata (RFC 8414 §3, then OpenID Connect Discovery), fetched on first use.
``AUDIENCE``
    This resource's identifier(s) (RFC 8707 §2); ``aud`` must contain one (RFC 9068 §4).
    Default: ``OAUTH2_PROTECTED_RESOURCE_IDENTIFIER`` of DOT's settings (the ``resource`` of
    the RFC 9728 document) when set, else the request's origin (``https://host``).
``ALGORITHMS``
    The allow-list of JWS algorithms (RFC 8725 §3.1). Default: every asymmetric algorithm of
    RFC 7518 and RFC 8037. ``none`` and the HMAC algorithms are never accepted, whatever the
    list says (a JWKS is public: an HMAC key made from it is known to everyone).
``LEEWAY``
    Seconds of clock skew tolerated on ``exp``, ``nbf`` and ``iat`` (RFC 7519 §4.1.4). 30.
``JWKS_MIN_REFRESH_SECONDS``, ``JWKS_MAX_AGE_SECONDS``, ``TIMEOUT``
    The key cache (:mod:`authstatus.tokens.jwks`): at most one fetch per 30 s for unknown
    ``kid`` values, keys refetched when older than 3600 s, 3 s per HTTP request.
``USER_FIELD``, ``USER_CLAIM``, ``USER_RESOLVER``
    Which user a token stands for (:mod:`authstatus.tokens.users`); default: no user.
``VERIFIED_CACHE_SIZE``
    How many verified tokens each process remembers (4096; 0: verify every time).

The checks, in order, each with its own :class:`~authstatus.core.decision.Failure`:

1. three base64url parts whose header is a JSON object with ``alg`` — else not a JWT: the
   token is left to the next backend;
2. ``alg`` in the allow-list, never ``none`` or ``HS*`` (``DISALLOWED_ALGORITHM``);
3. ``typ`` is ``at+jwt`` or ``application/at+jwt`` (RFC 9068 §4, RFC 8725 §3.11;
   ``WRONG_TOKEN_TYPE``), no ``crit`` header (RFC 7515 §4.1.11), a JSON payload with string
   ``iss``, numeric ``exp`` and ``aud`` (RFC 9068 §2.2; ``MALFORMED_TOKEN``);
4. ``iss`` is the issuer (``WRONG_ISSUER``, provisional: another backend may trust it);
5. a key of the issuer fits ``kid`` and ``alg`` (``UNKNOWN_KEY``; the JWKS unreachable:
   ``503``) and the signature verifies with it (``BAD_SIGNATURE``);
6. ``exp`` (``EXPIRED_TOKEN``), ``nbf``/``iat`` (``NOT_YET_VALID``), with the leeway;
7. ``aud`` (``WRONG_AUDIENCE``);
8. the user (``UNKNOWN_USER``, ``INACTIVE_USER``).

Signature checks are memoised per process (by the token's SHA-256, at most
``VERIFIED_CACHE_SIZE`` tokens, least recently added dropped first), so a token seen again
costs its claim checks only; time, audience and user are still checked on every request.
Nothing is memoised for a token that failed: each costs its check again.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import threading
import time
from collections import OrderedDict
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeGuard

from django.utils.translation import gettext_noop
from jwcrypto.jwa import JWA

from authstatus.checks.codes import Codes
from authstatus.core.decision import Credentials, Failure
from authstatus.enforcement.authenticators import Result
from authstatus.enforcement.stepup import claims_authentication
from authstatus.tokens import SCHEME, BackendConfigurationError, TokenBackend, invalid
from authstatus.tokens.jwks import ALGORITHM_KEYS, KeySet
from authstatus.tokens.jwks import parse as _parse_keys
from authstatus.tokens.remote import Metadata, Unreachable, get_json
from authstatus.tokens.users import TokenClaims, UserMapping

if TYPE_CHECKING:
    from django.http import HttpRequest

__all__ = ["DESCRIPTIONS", "JWTBackend", "accepts_audience", "resource_audiences"]

DEFAULT_ALGORITHMS = tuple(ALGORITHM_KEYS)
ACCESS_TOKEN_TYPES = frozenset({"at+jwt", "application/at+jwt"})
MEMO_SIZE = 4096

DESCRIPTIONS: dict[Failure, str] = {
    Failure.MALFORMED_TOKEN: gettext_noop(
        "The access token is not a well-formed JWT access token."
    ),
    Failure.DISALLOWED_ALGORITHM: gettext_noop(
        "The access token is signed with an algorithm not accepted."
    ),
    Failure.WRONG_TOKEN_TYPE: gettext_noop("The token is not a JWT access token (typ at+jwt)."),
    Failure.WRONG_ISSUER: gettext_noop(
        "The access token was issued by an issuer this resource does not trust."
    ),
    Failure.UNKNOWN_KEY: gettext_noop(
        "The access token is signed with a key the issuer does not publish."
    ),
    Failure.BAD_SIGNATURE: gettext_noop("The access token signature is invalid."),
    Failure.EXPIRED_TOKEN: gettext_noop("The access token expired."),
    Failure.NOT_YET_VALID: gettext_noop("The access token is not valid yet."),
    Failure.WRONG_AUDIENCE: gettext_noop("The access token is not valid for this resource."),
    Failure.UNKNOWN_USER: gettext_noop("The access token belongs to no user of this service."),
    Failure.INACTIVE_USER: gettext_noop("The access token is invalid."),
}
UNAVAILABLE = gettext_noop("The access token issuer's keys cannot be fetched. Try again later.")


def _b64decode(part: str) -> bytes:
    if "=" in part:
        raise ValueError("padded base64url")
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


def _fail(failure: Failure) -> Result:
    return invalid(failure, DESCRIPTIONS[failure])


def is_number(value: Any) -> TypeGuard[int | float]:
    return isinstance(value, int | float) and not isinstance(value, bool)


def resource_audiences(request: HttpRequest) -> tuple[str, ...]:
    """This resource's default identifiers (RFC 8707 §2): DOT's
    ``OAUTH2_PROTECTED_RESOURCE_IDENTIFIER`` (RFC 9728 ``resource``) when set, else the
    request's origin."""
    from oauth2_provider.settings import oauth2_settings

    configured = oauth2_settings.OAUTH2_PROTECTED_RESOURCE_IDENTIFIER
    if configured:
        return (str(configured),)
    return (request.build_absolute_uri("/"),)


def _normal(uri: str) -> str:
    return uri.rstrip("/")


def accepts_audience(request: HttpRequest, configured: tuple[str, ...] | None, aud: Any) -> bool:
    """Whether ``aud`` (a string or a list, RFC 7519 §4.1.3) names this resource: one of
    ``configured``, or of :func:`resource_audiences` when that is ``None``. Compared exactly,
    but for a trailing slash."""
    values = [aud] if isinstance(aud, str) else aud
    if not isinstance(values, list):
        return False
    mine = {_normal(a) for a in (configured or resource_audiences(request))}
    return any(isinstance(v, str) and _normal(v) in mine for v in values)


class JWTBackend(TokenBackend):
    """RFC 9068 JWT access tokens of ``ISSUER`` (see the module docstring)."""

    label = "JWT access tokens (RFC 9068)"

    def __init__(self, options: Mapping[str, Any]) -> None:
        super().__init__(options)
        issuer = options.get("ISSUER")
        if not isinstance(issuer, str) or not issuer.startswith(("https://", "http://")):
            raise BackendConfigurationError("JWTBackend needs ISSUER, the issuer's URL.")
        self._issuer = issuer
        jwks_uri = options.get("JWKS_URI")
        if jwks_uri is not None and not isinstance(jwks_uri, str):
            raise BackendConfigurationError("JWKS_URI must be a URL.", Codes.JWKS_MISSING)
        self.jwks_uri: str | None = jwks_uri
        self.discovery = bool(options.get("DISCOVERY", True))
        if jwks_uri is None and not self.discovery:
            raise BackendConfigurationError(
                f"The JWT backend for {issuer} has no JWKS: set JWKS_URI, or leave DISCOVERY "
                "on to read jwks_uri from the issuer's metadata.",
                Codes.JWKS_MISSING,
            )
        algorithms = options.get("ALGORITHMS", DEFAULT_ALGORITHMS)
        if isinstance(algorithms, str) or not isinstance(algorithms, list | tuple):
            raise BackendConfigurationError("ALGORITHMS must be a list.", Codes.BAD_ALGORITHMS)
        bad = [a for a in algorithms if a not in ALGORITHM_KEYS]
        if not algorithms or bad:
            raise BackendConfigurationError(
                "ALGORITHMS must be a non-empty list of asymmetric JWS algorithms "
                f"({', '.join(DEFAULT_ALGORITHMS)}); not accepted: {bad or 'an empty list'}.",
                Codes.BAD_ALGORITHMS,
            )
        self.algorithms = frozenset(algorithms)
        audience = options.get("AUDIENCE")
        if isinstance(audience, str):
            audience = [audience]
        if audience is not None and (
            not isinstance(audience, list | tuple)
            or not audience
            or not all(isinstance(a, str) and a for a in audience)
        ):
            raise BackendConfigurationError("AUDIENCE must be a URI or a list of URIs.")
        self.audience: tuple[str, ...] | None = None if audience is None else tuple(audience)
        self.leeway = float(options.get("LEEWAY", 30))
        self.timeout = float(options.get("TIMEOUT", 3))
        self.users = UserMapping(options)
        self._metadata = Metadata(issuer, "jwks_uri", self.timeout, 0)
        self.keys = KeySet(
            self._jwks_uri,
            timeout=self.timeout,
            min_interval=float(options.get("JWKS_MIN_REFRESH_SECONDS", 30)),
            max_age=float(options.get("JWKS_MAX_AGE_SECONDS", 3600)),
        )
        self.memo_size = int(options.get("VERIFIED_CACHE_SIZE", MEMO_SIZE))
        self._memo: OrderedDict[bytes, dict[str, Any]] = OrderedDict()
        self._memo_lock = threading.Lock()

    @property
    def issuer(self) -> str:
        return self._issuer

    def describe(self) -> str:
        keys = self.jwks_uri or f"jwks_uri of {self._issuer}'s metadata"
        return (
            f"{self.label} from {self._issuer}, keys {keys}, "
            f"algorithms {' '.join(sorted(self.algorithms))}, user: {self.users.describe()}"
        )

    def _jwks_uri(self) -> str:
        # Only called by the key set, whose fetches are already rate-limited.
        if self.jwks_uri is None:
            self.jwks_uri = self._metadata.get()
        return self.jwks_uri

    def check(self, request: HttpRequest, token: str) -> Result | None:
        parts = token.split(".")
        if len(parts) != 3:
            return None
        digest = hashlib.sha256(token.encode("ascii")).digest()
        claims = self._memo.get(digest)
        if claims is None:
            try:
                header = json.loads(_b64decode(parts[0]))
            except (ValueError, binascii.Error, UnicodeDecodeError):
                return None
            if not isinstance(header, dict) or not isinstance(header.get("alg"), str):
                return None
            found = self._verify(request, parts, header)
            if isinstance(found, Result):
                return found
            claims = found
            if self.memo_size > 0:
                with self._memo_lock:
                    self._memo[digest] = claims
                    if len(self._memo) > self.memo_size:
                        self._memo.popitem(last=False)
        return self._claims_result(request, claims)

    def _verify(
        self, request: HttpRequest, parts: list[str], header: dict[str, Any]
    ) -> dict[str, Any] | Result:
        """The claims of a token whose signature verifies with one of the issuer's keys."""
        alg = header["alg"]
        if alg not in self.algorithms:
            return _fail(Failure.DISALLOWED_ALGORITHM)
        typ = header.get("typ")
        if not isinstance(typ, str) or typ.lower() not in ACCESS_TOKEN_TYPES:
            return _fail(Failure.WRONG_TOKEN_TYPE)
        if "crit" in header:
            return _fail(Failure.MALFORMED_TOKEN)
        try:
            claims = json.loads(_b64decode(parts[1]))
            signature = _b64decode(parts[2])
        except (ValueError, binascii.Error, UnicodeDecodeError):
            return _fail(Failure.MALFORMED_TOKEN)
        if (
            not isinstance(claims, dict)
            or not isinstance(claims.get("iss"), str)
            or not is_number(claims.get("exp"))
            or "aud" not in claims
        ):
            return _fail(Failure.MALFORMED_TOKEN)
        if claims["iss"] != self._issuer:
            return _fail(Failure.WRONG_ISSUER)
        kid = header.get("kid")
        if kid is not None and not isinstance(kid, str):
            return _fail(Failure.MALFORMED_TOKEN)
        iat = claims.get("iat")
        # The latest the token may have been issued on our clock: iat is whole seconds, and
        # the issuer's clock may be up to the leeway ahead of ours.
        issued = float(iat) + self.leeway + 1 if is_number(iat) else None
        try:
            lookup = self.keys.find(kid, alg, issued)
        except Unreachable:
            return Result(Credentials.unverifiable(SCHEME, UNAVAILABLE, self._retry_after()))
        if not lookup.keys:
            if not lookup.fresh:
                # Maybe signed with a key published after our copy of the set, which may not
                # be refetched yet: not "unknown" — retry once it may.
                return Result(Credentials.unverifiable(SCHEME, UNAVAILABLE, lookup.retry_after))
            return _fail(Failure.UNKNOWN_KEY)
        signing_input = f"{parts[0]}.{parts[1]}".encode("ascii")
        algorithm = JWA.signing_alg(alg)
        for key in lookup.keys:
            try:
                algorithm.verify(key.jwk, signing_input, signature)
            except Exception:  # noqa: S112 - cryptography raises several types; try the next key
                continue
            return claims
        return _fail(Failure.BAD_SIGNATURE)

    def _retry_after(self) -> int:
        return max(1, int(self.keys.min_interval))

    def _claims_result(self, request: HttpRequest, claims: dict[str, Any]) -> Result:
        now = time.time()
        if now > claims["exp"] + self.leeway:
            return _fail(Failure.EXPIRED_TOKEN)
        for name in ("nbf", "iat"):
            value = claims.get(name)
            if value is not None and (not is_number(value) or value > now + self.leeway):
                return _fail(Failure.NOT_YET_VALID)
        if not accepts_audience(request, self.audience, claims["aud"]):
            return _fail(Failure.WRONG_AUDIENCE)
        user = self.users.user(claims)
        if user is None:
            return _fail(Failure.UNKNOWN_USER)
        if user.is_authenticated and not user.is_active:
            return _fail(Failure.INACTIVE_USER)
        scope = claims.get("scope")
        scope = scope if isinstance(scope, str) else ""
        auth = TokenClaims(
            issuer=self._issuer,
            claims=claims,
            scope=scope,
            subject=claims.get("sub") if isinstance(claims.get("sub"), str) else None,
            client_id=claims.get("client_id") if isinstance(claims.get("client_id"), str) else None,
            expires_at=float(claims["exp"]),
        )
        # RFC 9470 step-up: when and how the user authenticated, as the issuer says.
        auth_time, acr = claims_authentication(claims)
        return Result(
            Credentials.valid(SCHEME, scope.split(), auth_time=auth_time, acr=acr),
            user=user,
            auth=auth,
        )

    def reachable_keys(self) -> str | None:
        """Fetch the JWK Set now (``manage.py check --deploy``): ``None`` when it holds a key
        for an allowed algorithm, else what is wrong."""
        try:
            keys = _parse_keys(get_json(self._jwks_uri(), self.timeout))
        except Unreachable as exc:
            return f"the JWK Set of {self._issuer} cannot be fetched: {exc}"
        if not any(k.fits(alg) for k in keys for alg in self.algorithms):
            return f"the JWK Set of {self._issuer} has no key for {sorted(self.algorithms)}"
        return None

    def problems(self) -> list[tuple[str, str]]:
        out: list[tuple[str, str]] = []
        from oauth2_provider.settings import oauth2_settings

        resource = oauth2_settings.OAUTH2_PROTECTED_RESOURCE_IDENTIFIER
        if (
            resource
            and self.audience is not None
            and _normal(str(resource)) not in {_normal(a) for a in self.audience}
        ):
            out.append(
                (
                    Codes.AUDIENCE_NOT_RESOURCE,
                    f"AUDIENCE {list(self.audience)} of the JWT backend for "
                    f"{self._issuer} does not contain this resource's identifier "
                    f"'{resource}' (OAUTH2_PROTECTED_RESOURCE_IDENTIFIER).",
                )
            )
        try:
            self.users.validate()
        except BackendConfigurationError as exc:
            out.append((Codes.BAD_TOKEN_BACKEND, str(exc)))
        return out
