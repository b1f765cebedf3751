"""The access decision: the six-scenario table of DESIGN.md as one pure function.

:func:`decide` turns what the client sent (:class:`Credentials`), what the resource demands
(:class:`Policy`) and what the authenticated principal may do (:class:`Principal`) into a
:class:`Decision`: the HTTP status, the reason, the ``WWW-Authenticate`` challenges and the
*resolution* — what the client can do about it.

The rules, in the order they apply:

1. A malformed bearer request is answered ``400`` with ``Bearer error="invalid_request"``
   (RFC 6750 §3.1).
2. Credentials that were sent but cannot be checked now (the issuer's JWKS or introspection
   endpoint is unreachable) are answered ``503`` with ``Retry-After`` and no challenge
   (RFC 9110 §15.6.4): never allowed, and never a ``401`` telling a valid token it is bad.
3. Credentials that were sent but are not valid are answered ``401``; the challenge of the
   scheme the client used carries the error (RFC 6750 §3.1 ``invalid_token``), every other
   accepted scheme is challenged without one (RFC 9110 §15.5.2). This applies even on
   anonymous-allowed resources: a client that sent a token must learn it is bad.
4. A resource closed to everyone is answered ``403`` with no challenge: authentication cannot
   help (RFC 9110 §15.5.4).
5. No credentials on a resource that needs them: ``401`` with one challenge per accepted
   scheme and no ``error`` parameter (RFC 6750 §3: "the resource server SHOULD NOT include an
   error code or other error information" when the request lacks authentication).
6. Valid credentials lacking a group, permission or requirement: ``403`` with no challenge.
7. Valid credentials whose user authentication is too old (``max_age``) or of another class
   (``acr_values``): ``401`` — a new authentication helps — with, when the client used Bearer,
   ``Bearer error="insufficient_user_authentication"`` and ``max_age`` / ``acr_values``
   (RFC 9470 §3); every other accepted scheme is challenged without an error. Credentials
   whose authentication time is unknown fail a ``max_age`` policy, and credentials of no
   known class fail an ``acr_values`` one: step-up never passes on a guess.
8. Valid credentials lacking only OAuth scope: ``403`` with
   ``Bearer error="insufficient_scope", scope="…"`` (RFC 6750 §3.1), because a token with
   more scope would help. Credentials that carry no scopes at all meet a scope requirement
   only when they are *first-party* (:attr:`Credentials.first_party`: a login of the site's
   own users, by session or password); any other — an API key, a token of an issuer whose
   scopes authstatus cannot read — cannot prove a scope and is refused ``403`` with no
   challenge (:data:`SCOPES_NOT_CARRIED`): fail closed, and no ``scope`` hint that such
   credentials could never act on.
9. Otherwise the request is allowed.

A *CORS preflight* (Fetch standard, "CORS-preflight request": ``OPTIONS`` with ``Origin``
and ``Access-Control-Request-Method``) is decided by the same rules, as the ``OPTIONS``
request it is. A browser sends it without credentials, so where the rules refuse it, a ``401``
or ``403`` would only stop the real request — which carries the credentials — from ever
being sent; yet a preflight is a request anyone can send, and relaxing its policy would run
the view for it. So a refused preflight is neither refused nor allowed: its decision is
:attr:`Outcome.PREFLIGHT`, a ``200`` with an empty body (what django-cors-headers answers a
preflight with) that the adapter renders *without calling the view* and does not announce as
a refusal. A concealed resource's preflight is refused with the ``404`` like every other
request to it.

A *concealed* resource answers every denial with ``404`` and no challenge, so that it cannot
be told apart from one that does not exist (RFC 9110 §15.5.4: "an origin server that wishes to
'hide' the current existence of a forbidden target resource MAY instead respond with a status
code of 404") — except to its *audience*: a requester the adapter has found to satisfy the
object requirements of an existing object (its owner) already knows it exists, and is told the
refusals of :data:`AUDIENCE_OUTCOMES` precisely (``403 insufficient_scope`` with ``scope``), so
an OAuth client can step up. Everyone else — anonymous, invalid credentials, other users,
missing ids — still gets the ``404``.

Challenges are built from the *base* challenges the adapter passes in (one per accepted
scheme). :func:`decide` adds the ``scope`` and ``error`` parameters to ``Bearer`` and puts
every parameter in the one canonical order (:data:`PARAMETER_ORDER`). When the adapter also
passes a base ``OAuth2`` challenge (the opt-in flow challenge proposed on the IETF OAuth WG
list — not an RFC), :func:`decide` says there which OAuth 2.0 flows fix the refusal
(:data:`FLOWS`): ``refresh_token authorization_code`` for an expired token,
``authorization_code`` otherwise, with the required ``scope`` — and ``client_credentials``
for a token the client obtained with its own credentials (RFC 6749 §4.4: no user to ask, and
§4.4.3 issues no refresh token), as the authenticator reports in
:attr:`Credentials.grant_type`. It is sent only beside a
``Bearer`` challenge, never on a ``400`` and never on a concealed ``404``.

This module imports nothing outside the standard library and ``authstatus.core``.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import Protocol

from authstatus.core.challenges import Challenge, sanitize_nqschar

__all__ = [
    "AUDIENCE_OUTCOMES",
    "BEARER",
    "CLIENT_CREDENTIALS_GRANT",
    "CLIENT_FLOWS",
    "DESCRIPTIONS",
    "FLOWS",
    "INSUFFICIENT_USER_AUTHENTICATION",
    "OAUTH2",
    "PARAMETER_ORDER",
    "SCOPES_NOT_CARRIED",
    "STEP_UP_AUTH_TIME_UNKNOWN",
    "STEP_UP_TOO_OLD",
    "STEP_UP_WEAKER",
    "Access",
    "CredentialState",
    "Credentials",
    "Decision",
    "Failure",
    "Flow",
    "Outcome",
    "Policy",
    "Principal",
    "Resolution",
    "decide",
    "refuse",
    "step_up_params",
    "strictest",
]

BEARER = "Bearer"
"""The RFC 6750 scheme: the only one with ``scope`` and ``error`` parameters."""
OAUTH2 = "OAuth2"
"""The flow challenge's scheme (IETF OAuth WG list proposal, not registered): it names the
OAuth 2.0 flows, and their endpoints, that would fix the refusal."""

PARAMETER_ORDER = (
    "realm",
    "scope",
    "error",
    "error_description",
    "error_uri",
    "max_age",
    "acr_values",
    "flows",
)
"""The canonical order of challenge parameters, defined here only.

Order carries no meaning (RFC 9110 §11.2); a stable one keeps headers easy to read and to
compare. Parameters named here come first, in this order; every other parameter keeps its
relative place after them (``resource_metadata`` of RFC 9728 §5.1, the ``OAuth2``
challenge's endpoints). Applied to every ``Bearer`` and ``OAuth2`` challenge :func:`decide`
returns, whether or not it added a parameter, so a ``401`` without ``error`` and one with
read alike.
"""


class Access(enum.StrEnum):
    """Who a resource is open to, before any further requirement."""

    ANONYMOUS = "anonymous"
    """Anonymous-allowed: everyone, with or without credentials."""
    AUTHENTICATED = "authenticated"
    """Authenticated-only: any valid credentials (plus the policy's requirements)."""
    NOBODY = "nobody"
    """Closed to everyone: authentication cannot help."""


class CredentialState(enum.StrEnum):
    """What the authenticators made of the credentials in a request."""

    ABSENT = "absent"
    MALFORMED = "malformed"
    INVALID = "invalid"
    UNVERIFIABLE = "unverifiable"
    """Credentials that cannot be checked now (the issuer is unreachable): retry later."""
    VALID = "valid"


class Failure(enum.StrEnum):
    """Why presented credentials were rejected. Stable values, part of the public contract."""

    MALFORMED_REQUEST = "malformed_request"
    """RFC 6750 §3.1 ``invalid_request``: bare ``Bearer``, several tokens, several methods."""
    MALFORMED_CREDENTIALS = "malformed_credentials"
    """Credentials that cannot be decoded, e.g. a Basic header that is not base64."""
    UNKNOWN_TOKEN = "unknown_token"
    """No such token: never issued, revoked (DOT deletes revoked tokens) or mistyped."""
    EXPIRED_TOKEN = "expired_token"
    """The token was valid once; a refresh may fix it."""
    WRONG_AUDIENCE = "wrong_audience"
    """RFC 8707: the token is restricted to other resources."""
    INACTIVE_USER = "inactive_user"
    """The credentials belong to a user who is no longer active."""
    BAD_CREDENTIALS = "bad_credentials"
    """Wrong user name or password."""
    REJECTED = "rejected"
    """A third-party authenticator refused the credentials without saying why."""
    NOT_YET_VALID = "not_yet_valid"
    """A JWT whose ``nbf`` (RFC 7519 §4.1.5) or ``iat`` lies in the future, past the leeway."""
    BAD_SIGNATURE = "bad_signature"
    """A JWT whose signature does not verify with the issuer's key (RFC 7515 §5.2)."""
    UNKNOWN_KEY = "unknown_key"
    """A JWT signed with a key (``kid``) the issuer's JWKS does not publish."""
    WRONG_ISSUER = "wrong_issuer"
    """A token from an issuer this resource does not trust (RFC 9068 §4 ``iss``)."""
    WRONG_TOKEN_TYPE = "wrong_token_type"
    """A JWT that is not an access token: ``typ`` is not ``at+jwt`` (RFC 9068 §4,
    RFC 8725 §3.11)."""
    DISALLOWED_ALGORITHM = "disallowed_algorithm"
    """A JWT signed with an algorithm outside the allow-list, ``none`` or HMAC (RFC 8725 §3.1)."""
    MALFORMED_TOKEN = "malformed_token"
    """A JWT that cannot be decoded or lacks a claim RFC 9068 §2.2 requires."""
    UNKNOWN_USER = "unknown_user"
    """A token whose subject maps to no user of this site."""
    ISSUER_UNAVAILABLE = "issuer_unavailable"
    """The token could not be checked: the issuer's JWKS or introspection endpoint is
    unreachable. Neither valid nor invalid: answered ``503`` (``UNVERIFIABLE`` credentials)."""


class Outcome(enum.StrEnum):
    """The kind of answer; one stable problem ``type`` each (RFC 9457 §3.1.1)."""

    ALLOWED = "allowed"
    INVALID_REQUEST = "invalid-request"
    AUTHENTICATION_REQUIRED = "authentication-required"
    INVALID_CREDENTIALS = "invalid-credentials"
    CLOSED = "closed"
    FORBIDDEN = "forbidden"
    INSUFFICIENT_SCOPE = "insufficient-scope"
    INSUFFICIENT_USER_AUTHENTICATION = "insufficient-user-authentication"
    NOT_FOUND = "not-found"
    UNAVAILABLE = "verification-unavailable"
    PREFLIGHT = "preflight"
    """A CORS preflight the policy refuses as a request: answered ``200`` with an empty body,
    without the view (see :func:`decide`)."""


class Resolution(enum.StrEnum):
    """What the client can do about the answer: the last column of the decision table."""

    NONE = "none"
    """Allowed: nothing to do."""
    FIX_REQUEST = "fix_request"
    """The request is malformed: fix the client."""
    AUTHENTICATE = "authenticate"
    """Log in or send credentials with one of the challenged schemes."""
    REAUTHENTICATE = "reauthenticate"
    """The credentials sent are invalid, or their authentication is too old or of another
    class (RFC 9470): log in again."""
    REFRESH_TOKEN = "refresh_token"
    """The access token expired: refresh it (or log in again)."""
    CLIENT_CREDENTIALS = "client_credentials"
    """The client's own token (RFC 6749 §4.4) expired or is not valid here: request a new one
    with the client's credentials — there is no refresh token (§4.4.3) and no user to ask."""
    REQUEST_SCOPE = "request_scope"
    """Obtain a token carrying the scopes in the challenge."""
    NOT_AVAILABLE = "not_available"
    """Nobody may do this: tell the user it is not available."""
    NOT_PERMITTED = "not_permitted"
    """This principal may not do this: tell the user it is private; do not retry as is."""
    NOT_FOUND = "not_found"
    """Nothing: the resource does not exist for this client."""
    RETRY_LATER = "retry_later"
    """The server cannot decide now (no policies loaded, the token's issuer unreachable):
    retry after ``Retry-After``."""


class Flow(enum.StrEnum):
    """An OAuth 2.0 flow a client can run to fix a refusal, named by its grant type
    (RFC 6749 §4.1.3 ``authorization_code``, §6 ``refresh_token``; the values of RFC 8414
    ``grant_types_supported``)."""

    REFRESH_TOKEN = "refresh_token"
    """Refresh the access token at the token endpoint (RFC 6749 §6)."""
    AUTHORIZATION_CODE = "authorization_code"
    """Ask the user to delegate access again at the authorization endpoint (RFC 6749 §4.1)."""
    CLIENT_CREDENTIALS = "client_credentials"
    """Request a token with the client's own credentials at the token endpoint (RFC 6749 §4.4)."""


FLOWS: dict[Resolution, tuple[Flow, ...]] = {
    Resolution.REFRESH_TOKEN: (Flow.REFRESH_TOKEN, Flow.AUTHORIZATION_CODE),
    Resolution.AUTHENTICATE: (Flow.AUTHORIZATION_CODE,),
    Resolution.REAUTHENTICATE: (Flow.AUTHORIZATION_CODE,),
    Resolution.REQUEST_SCOPE: (Flow.AUTHORIZATION_CODE,),
}
"""The flows, in the order to try them, that the ``OAuth2`` challenge names per resolution.

An expired token may be refreshed (the refresh token may have expired too, hence the
authorization code flow after it); no token, an invalid one, or one lacking scope needs the
user's delegation. Resolutions not listed (``fix_request``, refusals authentication cannot
fix) get no ``OAuth2`` challenge.
"""

CLIENT_FLOWS: dict[Resolution, tuple[Flow, ...]] = {
    Resolution.CLIENT_CREDENTIALS: (Flow.CLIENT_CREDENTIALS,),
    Resolution.REQUEST_SCOPE: (Flow.CLIENT_CREDENTIALS,),
}
"""The flows for a token issued by the client credentials grant (RFC 6749 §4.4): the client
requests a new token — with the scope the challenge names — using its own credentials."""

CLIENT_CREDENTIALS_GRANT = "client_credentials"
"""The RFC 6749 §4.4.2 ``grant_type`` (RFC 8414 ``grant_types_supported`` value) that
:attr:`Credentials.grant_type` reports for a client's own token."""


@dataclass(frozen=True, slots=True)
class Credentials:
    """What a request presented, as one value.

    ``scheme`` is the authentication scheme of the credentials (``Bearer``, ``Basic``, the
    session scheme, …) for every state but ``ABSENT``. ``scopes`` is ``None`` for credentials
    that are not scope-limited (sessions, passwords: first-party logins), and the granted
    OAuth scopes of a bearer token otherwise. ``description`` is a human-readable, client-safe
    explanation of a failure; it never contains the credentials themselves. ``grant_type`` is
    the RFC 6749 grant that issued a token, when the authenticator knows it (a token it found,
    valid or not): ``client_credentials`` changes what a refusal tells the client to do.

    ``first_party`` says credentials without scopes stand for the site's own user with all
    the user's rights (a session, a password), so they meet scope requirements; the adapter
    sets it from the project's ``FIRST_PARTY_AUTHENTICATION``. It is ``False`` by default:
    scope-less credentials of an authentication class nobody declared cannot prove a scope
    (fail closed). It has no effect on credentials that carry scopes.

    ``auth_time`` is when the user last actively authenticated for these credentials, in
    seconds since the epoch (the OpenID Connect ``auth_time`` claim; the login of a session,
    the grant of a token), ``None`` when unknown. ``acr`` is the authentication context class
    reference it was made with (the ``acr`` claim), ``None`` when unknown. RFC 9470 step-up
    policies compare them with ``max_age`` and ``acr_values``.
    """

    state: CredentialState
    scheme: str | None = None
    failure: Failure | None = None
    scopes: frozenset[str] | None = None
    description: str = ""
    retry_after: int | None = None
    grant_type: str | None = None
    auth_time: float | None = None
    acr: str | None = None
    first_party: bool = False

    @property
    def client_credentials(self) -> bool:
        """Whether the token was issued to the client itself (RFC 6749 §4.4), not for a user."""
        return self.grant_type == CLIENT_CREDENTIALS_GRANT

    def __post_init__(self) -> None:
        if self.state is CredentialState.ABSENT:
            if self.scheme is not None or self.failure is not None:
                raise ValueError("absent credentials have no scheme and no failure")
            return
        if not self.scheme:
            raise ValueError(f"{self.state} credentials need a scheme")
        failed = self.state in (
            CredentialState.MALFORMED,
            CredentialState.INVALID,
            CredentialState.UNVERIFIABLE,
        )
        if failed != (self.failure is not None):
            raise ValueError(f"{self.state} credentials {'need' if failed else 'take no'} failure")

    @classmethod
    def absent(cls) -> Credentials:
        return cls(CredentialState.ABSENT)

    @classmethod
    def valid(
        cls,
        scheme: str,
        scopes: Iterable[str] | None = None,
        grant_type: str | None = None,
        *,
        auth_time: float | None = None,
        acr: str | None = None,
        first_party: bool = False,
    ) -> Credentials:
        return cls(
            CredentialState.VALID,
            scheme,
            scopes=None if scopes is None else frozenset(scopes),
            grant_type=grant_type,
            auth_time=auth_time,
            acr=acr or None,
            first_party=first_party,
        )

    @classmethod
    def invalid(
        cls, scheme: str, failure: Failure, description: str = "", grant_type: str | None = None
    ) -> Credentials:
        return cls(
            CredentialState.INVALID, scheme, failure, description=description, grant_type=grant_type
        )

    @classmethod
    def unverifiable(cls, scheme: str, description: str = "", retry_after: int = 5) -> Credentials:
        """Credentials that cannot be checked now; the decision is ``503`` with
        ``Retry-After: retry_after`` (RFC 9110 §10.2.3, §15.6.4)."""
        return cls(
            CredentialState.UNVERIFIABLE,
            scheme,
            Failure.ISSUER_UNAVAILABLE,
            description=description,
            retry_after=retry_after,
        )

    @classmethod
    def malformed(cls, scheme: str, description: str = "") -> Credentials:
        return cls(
            CredentialState.MALFORMED, scheme, Failure.MALFORMED_REQUEST, description=description
        )


@dataclass(frozen=True, slots=True)
class Policy:
    """What a resource demands. ``source`` and ``name`` only explain where it came from.

    ``max_age`` is the most seconds allowed since the user last authenticated, ``None`` for
    no limit; ``acr_values`` the authentication context classes of which the credentials'
    ``acr`` must be one, in order of preference, ``()`` for any (RFC 9470 §3).
    """

    access: Access = Access.AUTHENTICATED
    conceal: bool = False
    required_scopes: frozenset[str] = frozenset()
    required_groups: frozenset[str] = frozenset()
    required_permissions: frozenset[str] = frozenset()
    requirements: tuple[str, ...] = ()
    source: str = "default"
    name: str = ""
    max_age: int | None = None
    acr_values: tuple[str, ...] = ()

    @property
    def requires_step_up(self) -> bool:
        """Whether the policy asks how recently, or how, the user authenticated."""
        return self.max_age is not None or bool(self.acr_values)

    @property
    def has_principal_requirements(self) -> bool:
        """Whether anything beyond "authenticated" is asked of the principal (not the token)."""
        return bool(self.required_groups or self.required_permissions or self.requirements)


_ACCESS_ORDER = (Access.ANONYMOUS, Access.AUTHENTICATED, Access.NOBODY)

# Members read on every request, as module constants: reading one from its Enum class costs
# about 0.1 µs on Python 3.11, and deciding an anonymous request reads half a dozen.
_MALFORMED, _INVALID, _UNVERIFIABLE, _ABSENT = (
    CredentialState.MALFORMED,
    CredentialState.INVALID,
    CredentialState.UNVERIFIABLE,
    CredentialState.ABSENT,
)
_ANONYMOUS, _NOBODY = Access.ANONYMOUS, Access.NOBODY
_ALLOWED_OUTCOME = Outcome.ALLOWED
_PREFLIGHT_OUTCOME = Outcome.PREFLIGHT


def strictest(policies: Iterable[Policy], *, source: str, name: str) -> Policy:
    """One policy at least as strict as each of ``policies``: the most closed access, and
    concealment, scopes, groups, permissions and requirements of all of them together; the
    smallest ``max_age``.

    ``acr_values`` is an any-of list and credentials carry one ``acr``: only a class every
    policy accepts satisfies them all, so the strictest list is the intersection (in the
    first policy's order of preference) of the non-empty lists. When no class is common to
    all, nothing can satisfy them and the result is closed to everyone.

    What a route no policy names inherits from its siblings (:mod:`authstatus.policies.resolution`):
    whatever any sibling demands, it demands too.
    """
    items = list(policies)
    if not items:
        raise ValueError("strictest() needs at least one policy")
    access = max((p.access for p in items), key=_ACCESS_ORDER.index)
    ages = [p.max_age for p in items if p.max_age is not None]
    acr_lists = [p.acr_values for p in items if p.acr_values]
    acr_values: tuple[str, ...] = ()
    if acr_lists:
        acr_values = tuple(v for v in acr_lists[0] if all(v in other for other in acr_lists))
        if not acr_values:
            access = Access.NOBODY
    return Policy(
        access=access,
        conceal=any(p.conceal for p in items),
        required_scopes=frozenset().union(*(p.required_scopes for p in items)),
        required_groups=frozenset().union(*(p.required_groups for p in items)),
        required_permissions=frozenset().union(*(p.required_permissions for p in items)),
        requirements=tuple(dict.fromkeys(r for p in items for r in p.requirements)),
        source=source,
        name=name,
        max_age=min(ages) if ages else None,
        acr_values=acr_values,
    )


class Principal(Protocol):
    """What :func:`decide` needs to know about an authenticated principal.

    Adapters implement it over a Django user; each method is called at most once per decision
    and only when the policy asks, so an implementation may query lazily.
    """

    def in_groups(self, groups: frozenset[str]) -> bool:
        """Whether the principal belongs to every one of ``groups``."""
        ...

    def has_permissions(self, permissions: frozenset[str]) -> bool:
        """Whether the principal holds every one of ``permissions`` (``app_label.codename``)."""
        ...

    def satisfies(self, requirements: tuple[str, ...]) -> bool:
        """Whether every named requirement predicate holds for the principal."""
        ...


@dataclass(frozen=True, slots=True)
class Decision:
    """The answer to one request, as data. Adapters render it; they never re-decide."""

    outcome: Outcome
    status: int
    resolution: Resolution
    challenges: tuple[Challenge, ...] = ()
    failure: Failure | None = None
    required_scopes: frozenset[str] = frozenset()
    description: str = ""
    policy: Policy = field(default_factory=Policy)
    retry_after: int | None = None
    """Seconds for ``Retry-After`` (RFC 9110 §10.2.3) on a ``503``; ``None`` otherwise."""

    @property
    def allowed(self) -> bool:
        """Whether the view may run. Only an allowed decision lets it."""
        return self.outcome is _ALLOWED_OUTCOME

    @property
    def refused(self) -> bool:
        """Whether the answer is a refusal (announced through ``access_denied``): neither
        allowed nor a preflight answered in the view's place (:attr:`Outcome.PREFLIGHT`)."""
        return self.outcome is not _ALLOWED_OUTCOME and self.outcome is not _PREFLIGHT_OUTCOME


AUDIENCE_OUTCOMES = frozenset({Outcome.INSUFFICIENT_SCOPE})
"""Refusals a concealed resource tells its audience precisely: those that come after the
principal qualified (groups, permissions, requirements), where more scope would help."""

_RESOLUTION_FOR_FAILURE = {Failure.EXPIRED_TOKEN: Resolution.REFRESH_TOKEN}

DESCRIPTIONS: dict[Outcome, str] = {
    Outcome.INVALID_REQUEST: "The request is malformed.",
    Outcome.AUTHENTICATION_REQUIRED: "Authentication credentials were not provided.",
    Outcome.INVALID_CREDENTIALS: "The credentials provided are not valid.",
    Outcome.CLOSED: "This resource is not available to anyone.",
    Outcome.FORBIDDEN: "You do not have permission to perform this action.",
    Outcome.INSUFFICIENT_SCOPE: "The access token does not carry the scope this request needs.",
    Outcome.INSUFFICIENT_USER_AUTHENTICATION: "A more recent or stronger authentication is "
    "required: confirm who you are.",
    Outcome.NOT_FOUND: "Not found.",
    Outcome.UNAVAILABLE: "The access token cannot be checked now. Try again later.",
}
"""The default ``description`` per refusal, in English (it is also the ASCII-only
``error_description``); the Django adapter translates it for humans
(``authstatus.enforcement.i18n``)."""


def decide(
    credentials: Credentials,
    policy: Policy,
    principal: Principal | None,
    challenges: Sequence[Challenge],
    *,
    audience: bool = False,
    now: float | None = None,
    preflight: bool = False,
) -> Decision:
    """Decide the answer to one request (see the module docstring for the rules).

    ``challenges`` are the base challenges of the schemes the resource accepts, in the order
    they are offered (RFC 9110 §11.6.1), optionally with a base ``OAuth2`` flow challenge;
    :func:`decide` adds ``error``, ``scope`` and ``flows`` parameters to them, puts their
    parameters in :data:`PARAMETER_ORDER`, and never invents a scheme the resource does not
    accept. ``principal`` is required when the credentials are valid. ``audience`` says the
    requester may know the resource exists (see the module docstring): a refusal among
    :data:`AUDIENCE_OUTCOMES` is then not concealed. ``now`` is the current time in seconds
    since the epoch, against which ``max_age`` is measured: the adapter reads the clock, so
    the decision stays a pure function; a ``max_age`` policy on valid credentials needs it.
    ``preflight`` says the request is a CORS preflight: a refusal becomes the
    :attr:`Outcome.PREFLIGHT` decision, unless the resource is concealed.

    Concealment is applied as soon as the table says "refuse", before any challenge is
    built: a concealed refusal does no more work than a missing resource's 404 (the base
    challenges, often lazy, are never read), and a challenge that cannot be built cannot
    fail it.
    """
    refusal = _refusal(credentials, policy, principal, now)
    if refusal is None:
        return _allow(policy)
    outcome, status, resolution, error, credentials = refusal
    if policy.conceal and not (audience and outcome in AUDIENCE_OUTCOMES):
        return _concealed(policy)
    if preflight:
        return _preflight(policy)
    built = (
        ()
        if outcome in _WITHOUT_CHALLENGES
        else _refusal_challenges(challenges, policy, resolution, credentials, error)
    )
    return _deny(policy, outcome, status, resolution, built, credentials, audience=audience)


_Refusal = tuple[Outcome, int, Resolution, str | None, Credentials]
"""outcome, status, resolution, the RFC 6750 §3.1 error code its challenges carry, and the
credentials as the refusal describes them."""

_WITHOUT_CHALLENGES = frozenset({Outcome.CLOSED, Outcome.FORBIDDEN, Outcome.UNAVAILABLE})
"""Refusals authentication cannot fix now: no challenge (RFC 9110 §15.5.4, §15.6.4)."""


def _refusal(
    credentials: Credentials, policy: Policy, principal: Principal | None, now: float | None
) -> _Refusal | None:
    """The refusal the table gives (the rules of the module docstring), ``None`` if allowed."""
    state, access = credentials.state, policy.access
    if state is _MALFORMED:
        # RFC 6750 §3.1 invalid_request: only the Bearer challenge, the request is the problem.
        return Outcome.INVALID_REQUEST, 400, Resolution.FIX_REQUEST, "invalid_request", credentials
    if state is _INVALID:
        return (
            Outcome.INVALID_CREDENTIALS,
            401,
            _invalid_resolution(credentials),
            "invalid_token",
            credentials,
        )
    if state is _UNVERIFIABLE:
        # Neither valid nor invalid: a 401 would tell a valid client its token is bad.
        return Outcome.UNAVAILABLE, 503, Resolution.RETRY_LATER, None, credentials
    if access is _NOBODY:
        return Outcome.CLOSED, 403, Resolution.NOT_AVAILABLE, None, credentials
    if state is _ABSENT:
        if access is _ANONYMOUS:
            return None
        return Outcome.AUTHENTICATION_REQUIRED, 401, Resolution.AUTHENTICATE, None, credentials
    if access is _ANONYMOUS:
        return None
    if principal is None:
        raise ValueError("valid credentials need a principal")
    if not _principal_qualifies(policy, principal):
        return Outcome.FORBIDDEN, 403, Resolution.NOT_PERMITTED, None, credentials
    if policy.requires_step_up:
        reason = _step_up_reason(policy, credentials, now)
        if reason:
            # RFC 9470 §3: 401, the error on the Bearer challenge the client used.
            stale = replace(credentials, description=reason)
            return (
                Outcome.INSUFFICIENT_USER_AUTHENTICATION,
                401,
                Resolution.REAUTHENTICATE,
                INSUFFICIENT_USER_AUTHENTICATION,
                stale,
            )
    if policy.required_scopes and credentials.scopes is None and not credentials.first_party:
        unprovable = replace(credentials, description=SCOPES_NOT_CARRIED)
        return Outcome.FORBIDDEN, 403, Resolution.NOT_PERMITTED, None, unprovable
    if _missing_scopes(policy, credentials):
        return (
            Outcome.INSUFFICIENT_SCOPE,
            403,
            Resolution.REQUEST_SCOPE,
            "insufficient_scope",
            credentials,
        )
    return None


def _invalid_resolution(credentials: Credentials) -> Resolution:
    """What fixes rejected credentials: a client's own token (RFC 6749 §4.4) is replaced with
    the client's credentials, whatever was wrong with it; otherwise refresh an expired token,
    or authenticate again."""
    if credentials.client_credentials:
        return Resolution.CLIENT_CREDENTIALS
    return _RESOLUTION_FOR_FAILURE.get(credentials.failure, Resolution.REAUTHENTICATE)  # type: ignore[arg-type]


def _principal_qualifies(policy: Policy, principal: Principal) -> bool:
    if policy.required_groups and not principal.in_groups(policy.required_groups):
        return False
    if policy.required_permissions and not principal.has_permissions(policy.required_permissions):
        return False
    return not (policy.requirements and not principal.satisfies(policy.requirements))


INSUFFICIENT_USER_AUTHENTICATION = "insufficient_user_authentication"
"""The RFC 9470 §3 error code."""


SCOPES_NOT_CARRIED = "These credentials cannot carry the OAuth scopes this request needs."
"""Why credentials without scopes that are not first-party are refused on a route that
requires scopes (rule 8): the ``detail`` of the ``403``."""

STEP_UP_AUTH_TIME_UNKNOWN = "The time of your last authentication is not known: authenticate again."
STEP_UP_TOO_OLD = (
    "Your last authentication is too old: at most %(max_age)s seconds are allowed. "
    "Authenticate again."
)
STEP_UP_WEAKER = "This request needs a stronger authentication: %(acr_values)s."
"""The RFC 9470 step-up reasons, ``%``-templates over :func:`step_up_params`: English, as the
``error_description`` must be (RFC 6750 §3 allows ASCII only); the Django adapter translates
them for the problem ``detail`` from the same templates."""


def step_up_params(policy: Policy) -> dict[str, object]:
    """The values the :data:`STEP_UP_TOO_OLD` and :data:`STEP_UP_WEAKER` templates take."""
    return {"max_age": policy.max_age, "acr_values": " or ".join(policy.acr_values)}


def _step_up_reason(policy: Policy, credentials: Credentials, now: float | None) -> str:
    """Why the credentials' authentication does not meet the policy (RFC 9470), or ``""``.

    An unknown authentication time fails ``max_age`` and an unknown class fails
    ``acr_values``: step-up must never pass on what is not known.
    """
    if policy.max_age is not None:
        if now is None:
            raise ValueError("a max_age policy needs the current time: decide(..., now=)")
        if credentials.auth_time is None:
            return STEP_UP_AUTH_TIME_UNKNOWN
        if now - credentials.auth_time > policy.max_age:
            return STEP_UP_TOO_OLD % step_up_params(policy)
    if policy.acr_values and credentials.acr not in policy.acr_values:
        return STEP_UP_WEAKER % step_up_params(policy)
    return ""


def _missing_scopes(policy: Policy, credentials: Credentials) -> frozenset[str]:
    """Scopes the policy needs and the token lacks; ``()`` for credentials that carry no
    scopes (first-party ones: the caller refused the others already)."""
    if credentials.scopes is None:
        return frozenset()
    return policy.required_scopes - credentials.scopes


def _refusal_challenges(
    accepted: Sequence[Challenge],
    policy: Policy,
    resolution: Resolution,
    credentials: Credentials,
    error: str | None = None,
) -> tuple[Challenge, ...]:
    """The challenges of a refusal, built from the accepted base challenges, in their order.

    - ``Bearer`` gets ``scope`` when the policy requires scopes (RFC 6750 §3), and ``error``
      (with ``error_description``) when the client used Bearer (RFC 6750 §3.1) or, for
      ``insufficient_scope``, always. Only the Bearer scheme defines these parameters, so a
      wrong Basic password challenges every scheme without one (RFC 9110 §15.5.2).
    - ``OAuth2`` gets ``flows`` (:data:`FLOWS`, or :data:`CLIENT_FLOWS` for a client
      credentials token) and ``scope``; it is dropped when the
      resolution has no flows or no ``Bearer`` challenge is offered beside it.
    - ``insufficient_user_authentication`` (RFC 9470 §3) adds ``max_age`` and ``acr_values``
      beside the error, on the Bearer challenge the client used.
    - ``invalid_request`` (``400``) keeps only the Bearer challenge the client used, and
      ``insufficient_scope`` (``403``) only the Bearer and OAuth2 ones: neither is an
      invitation to use another scheme.
    """
    offers_bearer = any(c.matches_scheme(BEARER) for c in accepted)
    table = CLIENT_FLOWS if credentials.client_credentials else FLOWS
    flows = table.get(resolution, ()) if offers_bearer else ()
    scope = " ".join(sorted(policy.required_scopes))
    out: list[Challenge] = []
    for challenge in accepted:
        if challenge.matches_scheme(BEARER):
            used = credentials.scheme is not None and challenge.matches_scheme(credentials.scheme)
            if error == "invalid_request" and not used:
                continue
            with_error = error == "insufficient_scope" or (error is not None and used)
            bearer = _bearer(
                challenge, scope, error if with_error else None, credentials.description
            )
            if with_error and error == INSUFFICIENT_USER_AUTHENTICATION:
                bearer = _canonical(_replace(bearer, ("max_age", "acr_values"), _step_up(policy)))
            out.append(bearer)
        elif challenge.matches_scheme(OAUTH2):
            if flows:
                params = [("flows", " ".join(flows))]
                if scope:
                    params.append(("scope", scope))
                out.append(_canonical(_replace(challenge, ("flows", "scope"), params)))
        elif error not in ("invalid_request", "insufficient_scope"):
            out.append(challenge)
    return tuple(out)


def _step_up(policy: Policy) -> list[tuple[str, str]]:
    """RFC 9470 §3 ``max_age`` and ``acr_values`` of ``policy``, those it sets."""
    params = []
    if policy.max_age is not None:
        params.append(("max_age", str(policy.max_age)))
    if policy.acr_values:
        params.append(("acr_values", " ".join(policy.acr_values)))
    return params


def _bearer(challenge: Challenge, scope: str, error: str | None, description: str) -> Challenge:
    """A Bearer challenge with RFC 6750 §3 ``scope`` and §3.1 error attributes, in order.

    A description is cut down to RFC 6750's NQSCHAR set and left out when nothing remains,
    so no client-supplied text can break the header.
    """
    params: list[tuple[str, str]] = []
    if scope:
        params.append(("scope", scope))
    if error is not None:
        params.append(("error", error))
        safe_description = sanitize_nqschar(description)
        if safe_description:
            params.append(("error_description", safe_description))
    replaced = ("scope", "error", "error_description", "error_uri")
    return _canonical(_replace(challenge, replaced if error is not None else (), params))


def _replace(
    challenge: Challenge, names: tuple[str, ...], params: Sequence[tuple[str, str]]
) -> Challenge:
    """``challenge`` without the parameters ``names`` (case-insensitively), plus ``params``
    (each replacing a parameter of the same name). A token68 challenge is left as it is."""
    if challenge.token68 is not None:
        return challenge
    kept = tuple(p for p in challenge.params if p[0].lower() not in names)
    return Challenge(challenge.scheme, kept).with_params(*params)


def _canonical(challenge: Challenge) -> Challenge:
    """``challenge`` with its parameters in :data:`PARAMETER_ORDER` (a stable sort)."""
    rank = {name: i for i, name in enumerate(PARAMETER_ORDER)}
    params = sorted(challenge.params, key=lambda p: rank.get(p[0].lower(), len(rank)))
    if challenge.token68 is not None or tuple(params) == challenge.params:
        return challenge
    return Challenge(challenge.scheme, tuple(params))


_ALLOWED: dict[int, Decision] = {}
_ALLOWED_MAX = 4096


def _allow(policy: Policy) -> Decision:
    # Decisions are immutable: one per policy object serves every request it allows. An
    # entry holds its policy, so the id it is kept under cannot be reused while it lives.
    decision = _ALLOWED.get(id(policy))
    if decision is None or decision.policy is not policy:
        decision = Decision(Outcome.ALLOWED, 200, Resolution.NONE, policy=policy)
        if len(_ALLOWED) >= _ALLOWED_MAX:
            _ALLOWED.clear()
        _ALLOWED[id(policy)] = decision
    return decision


def _concealed(policy: Policy) -> Decision:
    return Decision(
        Outcome.NOT_FOUND,
        404,
        Resolution.NOT_FOUND,
        description=DESCRIPTIONS[Outcome.NOT_FOUND],
        policy=policy,
    )


def _preflight(policy: Policy) -> Decision:
    return Decision(Outcome.PREFLIGHT, 200, Resolution.NONE, policy=policy)


def _deny(
    policy: Policy,
    outcome: Outcome,
    status: int,
    resolution: Resolution,
    challenges: tuple[Challenge, ...],
    credentials: Credentials,
    *,
    audience: bool = False,
) -> Decision:
    if policy.conceal and not (audience and outcome in AUDIENCE_OUTCOMES):
        return _concealed(policy)
    return Decision(
        outcome,
        status,
        resolution,
        challenges,
        failure=credentials.failure,
        required_scopes=policy.required_scopes if outcome is not Outcome.CLOSED else frozenset(),
        description=credentials.description or DESCRIPTIONS[outcome],
        policy=policy,
        retry_after=credentials.retry_after if outcome is Outcome.UNAVAILABLE else None,
    )


def refuse(policy: Policy, description: str = "") -> Decision:
    """A ``403`` decided outside the table, e.g. by a third-party permission class.

    Authentication could not help (the principal is known), so no challenge is sent; a
    concealed resource still answers ``404``.
    """
    return _deny(
        policy,
        Outcome.FORBIDDEN,
        403,
        Resolution.NOT_PERMITTED,
        (),
        Credentials(CredentialState.ABSENT, description=description),
    )
