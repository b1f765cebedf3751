"""The decision table of DESIGN.md, one parametrised test; plus the properties around it."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass

import pytest
from hypothesis import given
from hypothesis import strategies as st

from authstatus.core.challenges import Challenge, basic_challenge, bearer_challenge
from authstatus.core.decision import (
    AUDIENCE_OUTCOMES,
    SCOPES_NOT_CARRIED,
    Access,
    Credentials,
    CredentialState,
    Failure,
    Outcome,
    Policy,
    Resolution,
    decide,
    refuse,
    strictest,
)

BEARER = bearer_challenge(realm="api")
COOKIE = Challenge("Cookie", (("realm", "api"),))
BASIC = basic_challenge("api")
ACCEPTED = (BEARER, COOKIE, BASIC)


@dataclass(frozen=True)
class FakePrincipal:
    """A principal with fixed facts (the core's Principal protocol; not a mock of Django)."""

    groups: frozenset[str] = frozenset()
    permissions: frozenset[str] = frozenset()
    requirements: frozenset[str] = frozenset()

    def in_groups(self, groups: frozenset[str]) -> bool:
        return groups <= self.groups

    def has_permissions(self, permissions: frozenset[str]) -> bool:
        return permissions <= self.permissions

    def satisfies(self, requirements: tuple[str, ...]) -> bool:
        return set(requirements) <= self.requirements


ANYONE = Policy(Access.ANONYMOUS)
MEMBERS = Policy(Access.AUTHENTICATED)
NOBODY = Policy(Access.NOBODY)
STAFF = Policy(Access.AUTHENTICATED, required_groups=frozenset({"staff"}))
WRITERS = Policy(Access.AUTHENTICATED, required_scopes=frozenset({"write"}))
HIDDEN_WRITERS = Policy(
    Access.AUTHENTICATED,
    conceal=True,
    required_scopes=frozenset({"write"}),
    requirements=("owner",),
)
STAFF_WRITERS = Policy(
    Access.AUTHENTICATED,
    required_scopes=frozenset({"write"}),
    required_groups=frozenset({"staff"}),
)

NONE = Credentials.absent()
TOKEN_READ = Credentials.valid("Bearer", ["read"])
TOKEN_WRITE = Credentials.valid("Bearer", ["read", "write"])
SESSION = Credentials.valid("Cookie", first_party=True)
# A valid credential of a class that carries no scopes and nobody declared first-party (an
# API key, a token whose scopes authstatus cannot read).
API_KEY = Credentials.valid("Api-Key")
EXPIRED = Credentials.invalid("Bearer", Failure.EXPIRED_TOKEN, "The access token expired.")
UNKNOWN = Credentials.invalid("Bearer", Failure.UNKNOWN_TOKEN, "The access token is invalid.")
BAD_PASSWORD = Credentials.invalid("Basic", Failure.BAD_CREDENTIALS, "Invalid password.")
MALFORMED = Credentials.malformed("Bearer", "Bare Bearer.")
# RFC 9470 step-up: the decision is measured against NOW, which the adapter would read.
NOW = 1_800_000_000.0
RECENT = Policy(Access.AUTHENTICATED, max_age=300)
RECENT_WRITERS = Policy(Access.AUTHENTICATED, max_age=300, required_scopes=frozenset({"write"}))
STAFF_RECENT = Policy(Access.AUTHENTICATED, max_age=300, required_groups=frozenset({"staff"}))
HIDDEN_RECENT = Policy(Access.AUTHENTICATED, conceal=True, max_age=300)
STRONG = Policy(Access.AUTHENTICATED, acr_values=("mfa", "hwk"))
RECENT_STRONG = Policy(Access.AUTHENTICATED, max_age=300, acr_values=("mfa",))
TOKEN_FRESH = Credentials.valid("Bearer", ["read", "write"], auth_time=NOW - 10)
TOKEN_STALE = Credentials.valid("Bearer", ["read", "write"], auth_time=NOW - 301)
TOKEN_STALE_READ = Credentials.valid("Bearer", ["read"], auth_time=NOW - 301)
TOKEN_MFA = Credentials.valid("Bearer", ["read"], auth_time=NOW - 10, acr="mfa")
SESSION_FRESH = Credentials.valid("Cookie", auth_time=NOW - 300, first_party=True)
SESSION_STALE = Credentials.valid("Cookie", auth_time=NOW - 3600, first_party=True)
TOO_OLD = (
    "Your last authentication is too old: at most 300 seconds are allowed. Authenticate again."
)
UNKNOWN_TIME = "The time of your last authentication is not known: authenticate again."
WEAK = "This request needs a stronger authentication: mfa or hwk."
USER = FakePrincipal()
STAFFER = FakePrincipal(groups=frozenset({"staff"}))
OWNER = FakePrincipal(requirements=frozenset({"owner"}))


def bearer_error(error: str, description: str | None = None, scope: str | None = None):
    params = [("realm", "api")]
    if scope:
        params.append(("scope", scope))
    params.append(("error", error))
    if description:
        params.append(("error_description", description))
    return Challenge("Bearer", tuple(params))


def step_up(
    description: str, max_age: str | None = None, acr: str | None = None, scope: str | None = None
) -> Challenge:
    """The RFC 9470 §3 Bearer challenge, parameters in PARAMETER_ORDER."""
    params = [*bearer_error("insufficient_user_authentication", description, scope).params]
    if max_age:
        params.append(("max_age", max_age))
    if acr:
        params.append(("acr_values", acr))
    return Challenge("Bearer", tuple(params))


ROWS = [
    # (id, credentials, policy, principal, status, outcome, resolution, challenges)
    ("1 anonymous, anonymous-allowed", NONE, ANYONE, None, 200, Outcome.ALLOWED,
     Resolution.NONE, ()),
    ("2 anonymous, authenticated-only", NONE, MEMBERS, None, 401,
     Outcome.AUTHENTICATION_REQUIRED, Resolution.AUTHENTICATE, ACCEPTED),
    ("2 anonymous, scope needed: scope on the Bearer challenge", NONE, WRITERS, None, 401,
     Outcome.AUTHENTICATION_REQUIRED, Resolution.AUTHENTICATE,
     (bearer_challenge(realm="api", scope=["write"]), COOKIE, BASIC)),
    ("3 anonymous, closed", NONE, NOBODY, None, 403, Outcome.CLOSED,
     Resolution.NOT_AVAILABLE, ()),
    ("4 expired token", EXPIRED, MEMBERS, None, 401, Outcome.INVALID_CREDENTIALS,
     Resolution.REFRESH_TOKEN,
     (bearer_error("invalid_token", "The access token expired."), COOKIE, BASIC)),
    ("4 unknown token", UNKNOWN, MEMBERS, None, 401, Outcome.INVALID_CREDENTIALS,
     Resolution.REAUTHENTICATE,
     (bearer_error("invalid_token", "The access token is invalid."), COOKIE, BASIC)),
    ("4 unknown token on an anonymous-allowed route", UNKNOWN, ANYONE, None, 401,
     Outcome.INVALID_CREDENTIALS, Resolution.REAUTHENTICATE,
     (bearer_error("invalid_token", "The access token is invalid."), COOKIE, BASIC)),
    ("4 unknown token on a closed route", UNKNOWN, NOBODY, None, 401,
     Outcome.INVALID_CREDENTIALS, Resolution.REAUTHENTICATE,
     (bearer_error("invalid_token", "The access token is invalid."), COOKIE, BASIC)),
    ("4 wrong Basic password: no error params on any scheme", BAD_PASSWORD, MEMBERS, None, 401,
     Outcome.INVALID_CREDENTIALS, Resolution.REAUTHENTICATE, ACCEPTED),
    ("5 valid, not in group", TOKEN_WRITE, STAFF, USER, 403, Outcome.FORBIDDEN,
     Resolution.NOT_PERMITTED, ()),
    ("5 valid session, not in group", SESSION, STAFF, USER, 403, Outcome.FORBIDDEN,
     Resolution.NOT_PERMITTED, ()),
    ("5 valid, closed", TOKEN_WRITE, NOBODY, STAFFER, 403, Outcome.CLOSED,
     Resolution.NOT_AVAILABLE, ()),
    ("5 token lacking scope", TOKEN_READ, WRITERS, USER, 403, Outcome.INSUFFICIENT_SCOPE,
     Resolution.REQUEST_SCOPE, (bearer_error("insufficient_scope", scope="write"),)),
    ("5 lacking group and scope: more scope would not help", TOKEN_READ, STAFF_WRITERS, USER,
     403, Outcome.FORBIDDEN, Resolution.NOT_PERMITTED, ()),
    ("6 valid token with scope", TOKEN_WRITE, WRITERS, USER, 200, Outcome.ALLOWED,
     Resolution.NONE, ()),
    ("6 session is not scope-limited", SESSION, WRITERS, USER, 200, Outcome.ALLOWED,
     Resolution.NONE, ()),
    ("5 scope-less, not first-party: cannot prove a scope, no scope hint", API_KEY, WRITERS,
     USER, 403, Outcome.FORBIDDEN, Resolution.NOT_PERMITTED, ()),
    ("5 scope-less, not first-party, lacking a group: the group refusal", API_KEY,
     STAFF_WRITERS, USER, 403, Outcome.FORBIDDEN, Resolution.NOT_PERMITTED, ()),
    ("6 scope-less, not first-party, no scope required", API_KEY, MEMBERS, USER, 200,
     Outcome.ALLOWED, Resolution.NONE, ()),
    ("6 in group", SESSION, STAFF, STAFFER, 200, Outcome.ALLOWED, Resolution.NONE, ()),
    ("6 valid on anonymous-allowed", TOKEN_READ, ANYONE, USER, 200, Outcome.ALLOWED,
     Resolution.NONE, ()),
    ("400 malformed bearer request: only the Bearer challenge", MALFORMED, MEMBERS, None, 400,
     Outcome.INVALID_REQUEST, Resolution.FIX_REQUEST,
     (bearer_error("invalid_request", "Bare Bearer."),)),
    ("400 on an anonymous-allowed route", MALFORMED, ANYONE, None, 400,
     Outcome.INVALID_REQUEST, Resolution.FIX_REQUEST,
     (bearer_error("invalid_request", "Bare Bearer."),)),
    # RFC 9470 step-up: after the principal's requirements (403), before the scopes (403)
    ("5c token authenticated too long ago", TOKEN_STALE, RECENT, USER, 401,
     Outcome.INSUFFICIENT_USER_AUTHENTICATION, Resolution.REAUTHENTICATE,
     (step_up(TOO_OLD, max_age="300"), COOKIE, BASIC)),
    ("5c token of unknown authentication time fails max_age",
     Credentials.valid("Bearer", ["read"]), RECENT, USER, 401,
     Outcome.INSUFFICIENT_USER_AUTHENTICATION, Resolution.REAUTHENTICATE,
     (step_up(UNKNOWN_TIME, max_age="300"), COOKIE, BASIC)),
    ("5c stale session: no error on any scheme (only Bearer defines one)", SESSION_STALE,
     RECENT, USER, 401, Outcome.INSUFFICIENT_USER_AUTHENTICATION, Resolution.REAUTHENTICATE,
     ACCEPTED),
    ("5c stale and lacking scope: the challenge names the scope too", TOKEN_STALE_READ,
     RECENT_WRITERS, USER, 401, Outcome.INSUFFICIENT_USER_AUTHENTICATION,
     Resolution.REAUTHENTICATE, (step_up(TOO_OLD, max_age="300", scope="write"), COOKIE, BASIC)),
    ("5c wrong authentication class", TOKEN_FRESH, STRONG, USER, 401,
     Outcome.INSUFFICIENT_USER_AUTHENTICATION, Resolution.REAUTHENTICATE,
     (step_up(WEAK, acr="mfa hwk"), COOKIE, BASIC)),
    ("5c too old and of the right class: max_age and acr_values", TOKEN_STALE,
     RECENT_STRONG, USER, 401, Outcome.INSUFFICIENT_USER_AUTHENTICATION,
     Resolution.REAUTHENTICATE, (step_up(TOO_OLD, max_age="300", acr="mfa"), COOKIE, BASIC)),
    ("5a stale, not in group: a new login would not help", TOKEN_STALE, STAFF_RECENT, USER,
     403, Outcome.FORBIDDEN, Resolution.NOT_PERMITTED, ()),
    ("5b fresh but lacking scope", TOKEN_MFA, RECENT_WRITERS, USER, 403,
     Outcome.INSUFFICIENT_SCOPE, Resolution.REQUEST_SCOPE,
     (bearer_error("insufficient_scope", scope="write"),)),
    ("6 fresh token", TOKEN_FRESH, RECENT, USER, 200, Outcome.ALLOWED, Resolution.NONE, ()),
    ("6 session exactly max_age old", SESSION_FRESH, RECENT, USER, 200, Outcome.ALLOWED,
     Resolution.NONE, ()),
    ("6 fresh token of an accepted class", TOKEN_MFA, RECENT_STRONG, USER, 200,
     Outcome.ALLOWED, Resolution.NONE, ()),
    ("404 concealed, stale token: concealment wins", TOKEN_STALE, HIDDEN_RECENT, USER, 404,
     Outcome.NOT_FOUND, Resolution.NOT_FOUND, ()),
    ("404 concealed, stale token, even to the audience", TOKEN_STALE, HIDDEN_RECENT, USER,
     404, Outcome.NOT_FOUND, Resolution.NOT_FOUND, (), True),
    # concealed: 404 for everyone but the audience (the owner of an existing object), who is
    # told the refusals of AUDIENCE_OUTCOMES precisely; the last column is `audience`
    ("404 concealed, lacking scope, not the audience", TOKEN_READ, HIDDEN_WRITERS, OWNER, 404,
     Outcome.NOT_FOUND, Resolution.NOT_FOUND, (), False),
    ("403 concealed, the owner lacking scope", TOKEN_READ, HIDDEN_WRITERS, OWNER, 403,
     Outcome.INSUFFICIENT_SCOPE, Resolution.REQUEST_SCOPE,
     (bearer_error("insufficient_scope", scope="write"),), True),
    ("404 concealed, anonymous even if called the audience", NONE, HIDDEN_WRITERS, None, 404,
     Outcome.NOT_FOUND, Resolution.NOT_FOUND, (), True),
    ("404 concealed, invalid token even if called the audience", UNKNOWN, HIDDEN_WRITERS, None,
     404, Outcome.NOT_FOUND, Resolution.NOT_FOUND, (), True),
    ("200 concealed, the owner with scope", TOKEN_WRITE, HIDDEN_WRITERS, OWNER, 200,
     Outcome.ALLOWED, Resolution.NONE, (), True),
]  # fmt: skip


@pytest.mark.parametrize(
    (
        "credentials",
        "policy",
        "principal",
        "status",
        "outcome",
        "resolution",
        "challenges",
        "audience",
    ),
    [pytest.param(*row[1:8], row[8] if len(row) > 8 else False, id=row[0]) for row in ROWS],
)
def test_decision_table(
    credentials, policy, principal, status, outcome, resolution, challenges, audience
):
    decision = decide(credentials, policy, principal, ACCEPTED, audience=audience, now=NOW)
    assert (decision.status, decision.outcome, decision.resolution) == (
        status,
        outcome,
        resolution,
    )
    assert decision.challenges == challenges
    assert decision.allowed is (status == 200)
    if status == 404:
        assert decision.failure is None
    else:
        assert (
            decision.failure == credentials.failure if status != 200 else decision.failure is None
        )


def test_scope_less_credentials_are_told_why():
    decision = decide(API_KEY, WRITERS, USER, ACCEPTED)
    assert decision.description == SCOPES_NOT_CARRIED
    assert decision.failure is None
    assert not decide(API_KEY, dataclasses.replace(WRITERS, conceal=True), USER, ACCEPTED).allowed


@given(
    scopes=st.frozensets(st.sampled_from(["read", "write", "admin"]), max_size=3),
    first_party=st.booleans(),
)
def test_only_a_token_carrying_the_scopes_or_a_first_party_login_meets_them(scopes, first_party):
    """Fail closed: credentials without scopes meet a scope requirement only when first-party."""
    policy = Policy(Access.AUTHENTICATED, required_scopes=scopes)
    token = decide(Credentials.valid("Bearer", scopes), policy, USER, ACCEPTED)
    scopeless = decide(Credentials.valid("X", first_party=first_party), policy, USER, ACCEPTED)
    assert token.allowed
    assert scopeless.allowed is (first_party or not scopes)


@pytest.mark.parametrize(
    ("credentials", "principal", "audience"),
    [(row[1], row[3], row[8] if len(row) > 8 else False) for row in ROWS],
)
@pytest.mark.parametrize(
    "policy", [ANYONE, MEMBERS, NOBODY, STAFF, WRITERS, HIDDEN_WRITERS, RECENT, HIDDEN_RECENT]
)
def test_a_preflight_is_decided_by_the_table_and_answered_without_the_view(
    credentials, principal, audience, policy
):
    """A CORS preflight is never relaxed: what the table allows stays allowed, a concealed
    refusal stays the 404, and every other refusal becomes the empty 200 that does not let
    the view run and is not a refusal to announce."""
    plain = decide(credentials, policy, principal, ACCEPTED, audience=audience, now=NOW)
    preflight = decide(
        credentials, policy, principal, ACCEPTED, audience=audience, now=NOW, preflight=True
    )
    if plain.allowed or plain.status == 404:
        assert preflight == plain
    else:
        assert (preflight.status, preflight.outcome, preflight.resolution) == (
            200,
            Outcome.PREFLIGHT,
            Resolution.NONE,
        )
        assert preflight.challenges == ()
        assert not preflight.allowed
        assert not preflight.refused
    assert plain.refused is not plain.allowed


@pytest.mark.parametrize(
    ("credentials", "principal"),
    [(row[1], row[3]) for row in ROWS],
)
@pytest.mark.parametrize("access", list(Access))
def test_only_audience_outcomes_are_told_to_the_audience(credentials, principal, access):
    """With ``audience``, a concealed refusal is the plain one exactly when its outcome is in
    AUDIENCE_OUTCOMES; every other refusal stays the plain 404."""
    scopes = frozenset({"write"}) if access is Access.AUTHENTICATED else frozenset()
    plain = decide(credentials, Policy(access, required_scopes=scopes), principal or USER, ACCEPTED)
    told = decide(
        credentials,
        Policy(access, conceal=True, required_scopes=scopes),
        principal or USER,
        ACCEPTED,
        audience=True,
    )
    if plain.allowed or plain.outcome in AUDIENCE_OUTCOMES:
        assert told == dataclasses.replace(plain, policy=told.policy)
    else:
        assert (told.status, told.outcome, told.challenges) == (404, Outcome.NOT_FOUND, ())


@pytest.mark.parametrize(
    ("credentials", "principal"),
    [(row[1], row[3]) for row in ROWS if len(row) == 8],
)
@pytest.mark.parametrize("access", list(Access))
def test_concealed_denials_are_plain_404s(credentials, principal, access):
    """Every denial on a concealed resource is a 404 with no challenge and no reason."""
    policy = Policy(access, conceal=True)
    plain = decide(credentials, Policy(access), principal or USER, ACCEPTED)
    concealed = decide(credentials, policy, principal or USER, ACCEPTED)
    if plain.allowed:
        assert concealed.allowed
    else:
        assert (concealed.status, concealed.outcome, concealed.challenges) == (
            404,
            Outcome.NOT_FOUND,
            (),
        )
        assert concealed.failure is None
        assert concealed.description == "Not found."


class UnbuildableChallenges(Sequence[Challenge]):
    """Base challenges that cannot be built (a REALM no header can carry): reading raises."""

    def __getitem__(self, index):
        raise ValueError("REALM cannot be sent in a header")

    def __len__(self):
        raise ValueError("REALM cannot be sent in a header")


@pytest.mark.parametrize(
    ("credentials", "principal"),
    [(row[1], row[3]) for row in ROWS],
)
@pytest.mark.parametrize("access", list(Access))
def test_concealment_is_decided_before_any_challenge_is_built(credentials, principal, access):
    """A concealed refusal never reads the base challenges: building them costs time a
    missing URL does not spend, and one that cannot be built must not turn the 404 into a
    500. The plain refusal of the same request does read them."""
    unbuildable = UnbuildableChallenges()
    if decide(credentials, Policy(access), principal or USER, ACCEPTED).allowed:
        assert decide(
            credentials, Policy(access, conceal=True), principal or USER, unbuildable
        ).allowed
        return
    concealed = decide(credentials, Policy(access, conceal=True), principal or USER, unbuildable)
    assert concealed.status == 404
    plain = decide(credentials, Policy(access), principal or USER, ACCEPTED)
    if plain.challenges:
        with pytest.raises(ValueError, match="REALM"):
            decide(credentials, Policy(access), principal or USER, unbuildable)


def test_concealment_is_identical_whatever_the_reason():
    policy = Policy(Access.AUTHENTICATED, conceal=True, required_groups=frozenset({"staff"}))
    decisions = {
        decide(c, policy, USER, ACCEPTED)
        for c in (NONE, EXPIRED, UNKNOWN, MALFORMED, BAD_PASSWORD, TOKEN_READ)
    }
    assert len(decisions) == 1
    assert decisions.pop().status == 404


def test_error_parameters_only_on_the_scheme_used():
    decision = decide(UNKNOWN, MEMBERS, None, ACCEPTED)
    with_errors = [c.scheme for c in decision.challenges if c.param("error") is not None]
    assert with_errors == ["Bearer"]


def test_challenges_never_invent_a_scheme():
    """A route that does not accept Bearer gets no Bearer challenge, not even for scopes."""
    decision = decide(TOKEN_READ, WRITERS, USER, (COOKIE,))
    assert decision.status == 403
    assert decision.challenges == ()


def test_description_outside_rfc6750_charset_is_sanitised():
    credentials = Credentials.invalid("Bearer", Failure.UNKNOWN_TOKEN, 'bad "token" \\ here')
    challenge = decide(credentials, MEMBERS, None, (BEARER,)).challenges[0]
    assert challenge.param("error_description") == "bad token  here"


def test_refuse_is_a_403_without_challenge_or_a_404_when_concealed():
    decision = refuse(MEMBERS, "CSRF Failed.")
    assert (decision.status, decision.outcome, decision.challenges, decision.description) == (
        403,
        Outcome.FORBIDDEN,
        (),
        "CSRF Failed.",
    )
    assert refuse(Policy(Access.AUTHENTICATED, conceal=True)).status == 404


def test_valid_credentials_need_a_principal():
    with pytest.raises(ValueError, match="principal"):
        decide(TOKEN_READ, MEMBERS, None, ACCEPTED)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"state": "absent", "scheme": "Bearer"},
        {"state": "invalid", "scheme": "Bearer"},
        {"state": "valid", "scheme": "Bearer", "failure": Failure.EXPIRED_TOKEN},
        {"state": "valid"},
    ],
)
def test_inconsistent_credentials_are_rejected(kwargs):
    kwargs["state"] = CredentialState(kwargs["state"])
    with pytest.raises(ValueError, match="credentials"):
        Credentials(**kwargs)


scopes = st.frozensets(st.sampled_from(["read", "write", "admin", "x:y"]), max_size=4)


@given(granted=scopes, required=scopes, groups_ok=st.booleans(), conceal=st.booleans())
def test_scope_decisions(granted, required, groups_ok, conceal):
    """Allowed exactly when groups are met and the token carries every required scope; a
    challenge naming the missing scopes only when scope is the only thing missing."""
    policy = Policy(
        Access.AUTHENTICATED,
        conceal=conceal,
        required_scopes=required,
        required_groups=frozenset({"staff"}),
    )
    principal = STAFFER if groups_ok else USER
    decision = decide(Credentials.valid("Bearer", granted), policy, principal, ACCEPTED)
    if groups_ok and required <= granted:
        assert decision.allowed
    elif conceal:
        assert decision.status == 404
    elif not groups_ok:
        assert (decision.status, decision.challenges) == (403, ())
    else:
        assert decision.outcome is Outcome.INSUFFICIENT_SCOPE
        (challenge,) = decision.challenges
        assert challenge.param("error") == "insufficient_scope"
        assert set(challenge.param("scope").split()) == required


@given(
    age=st.floats(min_value=-60, max_value=10_000, allow_nan=False),
    max_age=st.integers(min_value=1, max_value=5_000),
)
def test_step_up_allows_exactly_within_max_age(age, max_age):
    """RFC 9470: allowed exactly when the authentication is at most max_age seconds old."""
    credentials = Credentials.valid("Bearer", ["read"], auth_time=NOW - age)
    policy = Policy(Access.AUTHENTICATED, max_age=max_age)
    decision = decide(credentials, policy, USER, ACCEPTED, now=NOW)
    if age <= max_age:
        assert decision.allowed
    else:
        assert (decision.status, decision.outcome) == (
            401,
            Outcome.INSUFFICIENT_USER_AUTHENTICATION,
        )
        assert decision.challenges[0].param("max_age") == str(max_age)


def test_a_max_age_policy_needs_the_current_time():
    with pytest.raises(ValueError, match="now="):
        decide(TOKEN_FRESH, RECENT, USER, ACCEPTED)


def test_step_up_is_not_told_to_the_audience():
    assert Outcome.INSUFFICIENT_USER_AUTHENTICATION not in AUDIENCE_OUTCOMES


def test_strictest_takes_the_smallest_max_age_and_the_common_acr_values():
    combined = strictest(
        [
            Policy(Access.AUTHENTICATED, max_age=600, acr_values=("mfa", "hwk", "pwd")),
            Policy(Access.AUTHENTICATED, max_age=300, acr_values=("hwk", "mfa")),
            Policy(Access.AUTHENTICATED),
        ],
        source="test",
        name="siblings",
    )
    assert (combined.access, combined.max_age, combined.acr_values) == (
        Access.AUTHENTICATED,
        300,
        ("mfa", "hwk"),
    )
    disjoint = strictest(
        [Policy(acr_values=("mfa",)), Policy(acr_values=("hwk",))], source="t", name="n"
    )
    assert disjoint.access is Access.NOBODY  # no single class satisfies both
    assert strictest([MEMBERS], source="t", name="n").max_age is None
