"""The OAuth2 flow challenge and the canonical parameter order, decided by the core."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from authstatus.core.challenges import Challenge, basic_challenge, bearer_challenge
from authstatus.core.decision import (
    CLIENT_CREDENTIALS_GRANT,
    CLIENT_FLOWS,
    FLOWS,
    OAUTH2,
    PARAMETER_ORDER,
    Access,
    Credentials,
    Failure,
    Flow,
    Policy,
    Resolution,
    decide,
)

METADATA = "https://rs.example/.well-known/oauth-protected-resource"
BEARER = bearer_challenge(realm="api", resource_metadata=METADATA)
FLOW = Challenge(
    OAUTH2,
    (
        ("realm", "api"),
        ("authorization_endpoint", "https://as.example/authorize/"),
        ("token_endpoint", "https://as.example/token/"),
    ),
)
COOKIE = Challenge("Cookie", (("realm", "api"), ("form-action", "/login/")))
BASIC = basic_challenge("api")
ACCEPTED = (BEARER, FLOW, COOKIE, BASIC)

MEMBERS = Policy(Access.AUTHENTICATED)
WRITERS = Policy(Access.AUTHENTICATED, required_scopes=frozenset({"write", "read"}))
ANYONE = Policy(Access.ANONYMOUS)

NONE = Credentials.absent()
EXPIRED = Credentials.invalid("Bearer", Failure.EXPIRED_TOKEN, "The access token expired.")
UNKNOWN = Credentials.invalid("Bearer", Failure.UNKNOWN_TOKEN, "The access token is invalid.")
AUDIENCE = Credentials.invalid("Bearer", Failure.WRONG_AUDIENCE, "Not for this resource.")
BAD_PASSWORD = Credentials.invalid("Basic", Failure.BAD_CREDENTIALS, "Invalid password.")
MALFORMED = Credentials.malformed("Bearer", "Bare Bearer.")
TOKEN_READ = Credentials.valid("Bearer", ["read"])
CC = CLIENT_CREDENTIALS_GRANT
CC_EXPIRED = Credentials.invalid("Bearer", Failure.EXPIRED_TOKEN, "The access token expired.", CC)
CC_AUDIENCE = Credentials.invalid("Bearer", Failure.WRONG_AUDIENCE, "Not for this resource.", CC)
CC_READ = Credentials.valid("Bearer", ["read"], CC)


class User:
    def in_groups(self, groups):
        return True

    def has_permissions(self, permissions):
        return True

    def satisfies(self, requirements):
        return True


def flow(flows: str, scope: str | None = None) -> Challenge:
    params = [("realm", "api")]
    if scope:
        params.append(("scope", scope))
    params += [("flows", flows), *FLOW.params[1:]]
    return Challenge(OAUTH2, tuple(params))


def bearer(*pairs: tuple[str, str]) -> Challenge:
    return Challenge("Bearer", (("realm", "api"), *pairs, ("resource_metadata", METADATA)))


CODE = "authorization_code"
REFRESH = "refresh_token authorization_code"
CLIENT = "client_credentials"

CASES = [
    # (id, credentials, policy, status, challenges)
    ("no token", NONE, MEMBERS, 401, (bearer(), flow(CODE), COOKIE, BASIC)),
    ("no token, scopes needed: scope on both", NONE, WRITERS, 401,
     (bearer(("scope", "read write")), flow(CODE, "read write"), COOKIE, BASIC)),
    ("expired token: refresh first", EXPIRED, MEMBERS, 401,
     (bearer(("error", "invalid_token"), ("error_description", "The access token expired.")),
      flow(REFRESH), COOKIE, BASIC)),
    ("unknown token", UNKNOWN, MEMBERS, 401,
     (bearer(("error", "invalid_token"), ("error_description", "The access token is invalid.")),
      flow(CODE), COOKIE, BASIC)),
    ("token for another resource", AUDIENCE, ANYONE, 401,
     (bearer(("error", "invalid_token"), ("error_description", "Not for this resource.")),
      flow(CODE), COOKIE, BASIC)),
    ("wrong Basic password: a token would do too", BAD_PASSWORD, MEMBERS, 401,
     (bearer(), flow(CODE), COOKIE, BASIC)),
    ("insufficient scope: the needed scope", TOKEN_READ, WRITERS, 403,
     (bearer(("scope", "read write"), ("error", "insufficient_scope")),
      flow(CODE, "read write"))),
    # RFC 6749 §4.4.3: no refresh token for a client's own token, and no user to ask.
    ("client credentials token expired: run the grant again", CC_EXPIRED, MEMBERS, 401,
     (bearer(("error", "invalid_token"), ("error_description", "The access token expired.")),
      flow(CLIENT), COOKIE, BASIC)),
    ("client credentials token for another resource", CC_AUDIENCE, MEMBERS, 401,
     (bearer(("error", "invalid_token"), ("error_description", "Not for this resource.")),
      flow(CLIENT), COOKIE, BASIC)),
    ("client credentials token lacking scope: the grant with the scope", CC_READ, WRITERS, 403,
     (bearer(("scope", "read write"), ("error", "insufficient_scope")),
      flow(CLIENT, "read write"))),
    ("400: never an OAuth2 challenge", MALFORMED, MEMBERS, 400,
     (bearer(("error", "invalid_request"), ("error_description", "Bare Bearer.")),)),
]  # fmt: skip


@pytest.mark.parametrize(
    ("credentials", "policy", "status", "challenges"),
    [pytest.param(*case[1:], id=case[0]) for case in CASES],
)
def test_flows_per_case(credentials, policy, status, challenges):
    decision = decide(credentials, policy, User(), ACCEPTED)
    assert decision.status == status
    assert decision.challenges == challenges


def test_flows_follow_the_resolution_table():
    assert FLOWS[Resolution.REFRESH_TOKEN] == (Flow.REFRESH_TOKEN, Flow.AUTHORIZATION_CODE)
    assert set(FLOWS) == {
        Resolution.REFRESH_TOKEN,
        Resolution.AUTHENTICATE,
        Resolution.REAUTHENTICATE,
        Resolution.REQUEST_SCOPE,
    }


@pytest.mark.parametrize(
    ("credentials", "resolution"),
    [
        (EXPIRED, Resolution.REFRESH_TOKEN),
        (UNKNOWN, Resolution.REAUTHENTICATE),
        (CC_EXPIRED, Resolution.CLIENT_CREDENTIALS),
        (CC_AUDIENCE, Resolution.CLIENT_CREDENTIALS),
    ],
)
def test_resolution_of_an_invalid_token_follows_its_grant(credentials, resolution):
    assert decide(credentials, MEMBERS, None, ACCEPTED).resolution is resolution


def test_client_flows_never_name_refresh_or_the_user():
    assert CLIENT_FLOWS == {
        Resolution.CLIENT_CREDENTIALS: (Flow.CLIENT_CREDENTIALS,),
        Resolution.REQUEST_SCOPE: (Flow.CLIENT_CREDENTIALS,),
    }


@pytest.mark.parametrize("credentials", [NONE, EXPIRED, UNKNOWN, MALFORMED, TOKEN_READ])
def test_never_on_a_concealed_404(credentials):
    policy = Policy(Access.AUTHENTICATED, conceal=True, required_scopes=frozenset({"write"}))
    decision = decide(credentials, policy, User(), ACCEPTED)
    assert (decision.status, decision.challenges) == (404, ())


@pytest.mark.parametrize("credentials", [NONE, BAD_PASSWORD])
def test_never_without_a_bearer_challenge(credentials):
    decision = decide(credentials, MEMBERS, None, (FLOW, COOKIE, BASIC))
    assert decision.challenges == (COOKIE, BASIC)


def test_not_when_the_adapter_sends_none():
    decision = decide(EXPIRED, MEMBERS, None, (BEARER, COOKIE))
    assert [c.scheme for c in decision.challenges] == ["Bearer", "Cookie"]


def test_closed_and_forbidden_get_no_challenge_at_all():
    closed = decide(NONE, Policy(Access.NOBODY), None, ACCEPTED)
    forbidden = decide(
        TOKEN_READ, Policy(Access.AUTHENTICATED, required_groups=frozenset({"x"})), _No(), ACCEPTED
    )
    assert closed.challenges == forbidden.challenges == ()


class _No(User):
    def in_groups(self, groups):
        return False


def test_only_the_bearer_and_flow_challenges_are_reordered():
    """A third-party challenge is passed on exactly as its authenticator wrote it."""
    odd = Challenge("Token", (("error", "x"), ("realm", "api")))
    decision = decide(UNKNOWN, MEMBERS, None, (BEARER, odd))
    assert decision.challenges[1] is odd


names = st.sampled_from(
    ["realm", "scope", "error_uri", "resource_metadata", "x-extra", "charset", "Realm2"]
)


@given(st.lists(names, unique_by=str.lower, max_size=6), st.sampled_from([NONE, UNKNOWN]))
def test_bearer_parameters_always_come_out_in_the_canonical_order(order, credentials):
    """Whatever order the adapter's base challenge has, 401 with and without an error agree:
    realm, scope, error, error_description, error_uri, then the rest in their given order."""
    base = Challenge("Bearer", tuple((n, "v") for n in order))
    (out,) = decide(credentials, WRITERS, None, (base,)).challenges
    got = [name for name, _ in out.params]
    leading = [n for n in got if n.lower() in PARAMETER_ORDER]
    assert leading == sorted(leading, key=lambda n: PARAMETER_ORDER.index(n.lower()))
    assert got[: len(leading)] == leading
    assert got[len(leading) :] == [n for n in order if n.lower() not in PARAMETER_ORDER]
    assert out.param("scope") == "read write"


def test_401_without_error_and_403_with_error_share_the_order():
    plain = decide(NONE, WRITERS, None, ACCEPTED).challenges[0]
    scoped = decide(TOKEN_READ, WRITERS, User(), ACCEPTED).challenges[0]
    assert [n for n, _ in plain.params] == ["realm", "scope", "resource_metadata"]
    assert [n for n, _ in scoped.params] == ["realm", "scope", "error", "resource_metadata"]
