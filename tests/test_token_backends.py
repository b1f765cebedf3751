"""authstatus.tokens: the order backends are asked in, and how their answers combine."""

from __future__ import annotations

import pytest
from django.test import RequestFactory

from authstatus import tokens
from authstatus.core.decision import Credentials, CredentialState, Failure
from authstatus.enforcement.authenticators import Result, combine


class Fixed(tokens.TokenBackend):
    """A backend with a fixed answer (a real TokenBackend, configured by its options)."""

    def check(self, request, token):
        return self.options["answer"]


def fixed(answer):
    return Fixed({"answer": answer})


VALID = Result(Credentials.valid("Bearer", ["read"]))
UNKNOWN = tokens.invalid(Failure.UNKNOWN_TOKEN, "unknown")
WRONG_ISSUER = tokens.invalid(Failure.WRONG_ISSUER, "wrong issuer")
EXPIRED = tokens.invalid(Failure.EXPIRED_TOKEN, "expired")
DOWN = Result(Credentials.unverifiable("Bearer", "down"))


@pytest.mark.parametrize(
    ("answers", "expected"),
    [
        ([None, VALID], VALID),  # not a token of the first kind: the next one decides
        ([UNKNOWN, VALID], VALID),  # unknown is provisional
        ([WRONG_ISSUER, UNKNOWN], WRONG_ISSUER),  # the first provisional answer stands
        ([EXPIRED, VALID], EXPIRED),  # definitive: later backends are not asked
        ([DOWN, VALID], DOWN),
        ([None, None], None),
    ],
)
def test_first_definitive_answer_wins(answers, expected):
    result = tokens.check(RequestFactory().get("/"), "t", [fixed(a) for a in answers])
    if expected is None:
        assert result.credentials.failure is Failure.UNKNOWN_TOKEN
    else:
        assert result is expected


def test_unverifiable_ranks_between_invalid_and_valid():
    assert combine([VALID, DOWN]) is DOWN
    assert combine([DOWN, EXPIRED]) is EXPIRED
    assert combine([Result.absent(), DOWN]).credentials.state is CredentialState.UNVERIFIABLE
