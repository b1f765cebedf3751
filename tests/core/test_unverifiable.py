"""Credentials that cannot be checked now (the issuer is unreachable): 503, never 2xx or 401."""

from __future__ import annotations

import pytest

from authstatus.core.challenges import basic_challenge, bearer_challenge
from authstatus.core.decision import (
    Access,
    Credentials,
    CredentialState,
    Failure,
    Outcome,
    Policy,
    Resolution,
    decide,
)

ACCEPTED = (bearer_challenge(realm="api"), basic_challenge("api"))
UNVERIFIABLE = Credentials.unverifiable("Bearer", "Try again later.", retry_after=7)


@pytest.mark.parametrize("access", list(Access))
@pytest.mark.parametrize("scopes", [frozenset(), frozenset({"write"})])
def test_unverifiable_credentials_are_a_503_with_retry_after(access, scopes):
    decision = decide(UNVERIFIABLE, Policy(access, required_scopes=scopes), None, ACCEPTED)
    assert (decision.status, decision.outcome, decision.resolution) == (
        503,
        Outcome.UNAVAILABLE,
        Resolution.RETRY_LATER,
    )
    assert decision.challenges == ()
    assert decision.retry_after == 7
    assert decision.failure is Failure.ISSUER_UNAVAILABLE
    assert decision.description == "Try again later."


@pytest.mark.parametrize("access", list(Access))
def test_a_concealed_resource_stays_a_404(access):
    decision = decide(UNVERIFIABLE, Policy(access, conceal=True), None, ACCEPTED)
    assert (decision.status, decision.outcome, decision.retry_after) == (
        404,
        Outcome.NOT_FOUND,
        None,
    )


def test_only_unavailable_decisions_carry_retry_after():
    expired = Credentials.invalid("Bearer", Failure.EXPIRED_TOKEN, "expired")
    assert decide(expired, Policy(), None, ACCEPTED).retry_after is None


def test_unverifiable_credentials_need_their_failure():
    with pytest.raises(ValueError, match="need failure"):
        Credentials(CredentialState.UNVERIFIABLE, "Bearer")
