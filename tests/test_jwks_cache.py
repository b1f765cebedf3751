"""The JWK Set cache (authstatus.tokens.jwks.KeySet) against the real issuer process, with a
controlled clock: the refetch rate bound, the maximum age, and what an outage keeps."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from authstatus.tokens.jwks import KeySet
from authstatus.tokens.remote import Unreachable
from tests.issuer import Issuer, running


@pytest.fixture(scope="module")
def jwt_issuer() -> Iterator[Issuer]:
    with running() as started:
        yield started


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def keyset(jwt_issuer):
    issuer = jwt_issuer
    issuer.control(jwks_down=False)
    clock = Clock()
    keys = KeySet(
        lambda: issuer.url + "/jwks", timeout=2, min_interval=30, max_age=600, clock=clock
    )
    return keys, clock, issuer


def test_unknown_kids_refetch_at_most_once_per_interval(keyset):
    keys, clock, issuer = keyset
    current = issuer.control()
    assert keys.find(current, "RS256", None).keys
    assert keys.fetches == 1
    for i in range(100):
        assert keys.find(f"made-up-{i}", "RS256", None).keys == ()
    assert keys.fetches == 1  # within the interval: no fetch at all
    clock.now += 30
    assert keys.find("made-up-again", "RS256", None).keys == ()
    assert keys.fetches == 2  # one per interval


def test_rotation_is_picked_up_at_the_next_allowed_fetch(keyset):
    keys, clock, issuer = keyset
    keys.find(issuer.control(), "RS256", None)
    rotated = issuer.control(rotate=True)
    early = keys.find(rotated, "RS256", issued_at=float("inf"))
    assert (early.keys, early.fresh) == ((), False)  # maybe newer than our copy: retry later
    assert 1 <= early.retry_after <= 30
    clock.now += 30
    assert keys.find(rotated, "RS256", None).keys


def test_outage_keeps_known_keys_and_fails_closed_for_unknown_ones(keyset):
    keys, clock, issuer = keyset
    current = issuer.control()
    keys.find(current, "RS256", None)
    issuer.control(jwks_down=True)
    try:
        clock.now += 601  # stale: refetched on the next lookup, which fails
        assert keys.find(current, "RS256", None).keys  # the held key keeps working
        clock.now += 30
        with pytest.raises(Unreachable):
            keys.find("unknown", "RS256", None)
    finally:
        issuer.control(jwks_down=False)
    clock.now += 30
    assert keys.find(current, "RS256", None).keys


def test_never_fetched_and_unreachable_fails_closed():
    keys = KeySet(lambda: "http://127.0.0.1:9/jwks", timeout=1, min_interval=30, max_age=600)
    with pytest.raises(Unreachable):
        keys.find("any", "RS256", None)


def test_keys_must_fit_the_algorithm(keyset):
    keys, _, issuer = keyset
    assert keys.find("ec-1", "ES256", None).keys
    assert keys.find("ec-1", "RS256", None).keys == ()
    assert keys.find(issuer.control(), "ES256", None).keys == ()
