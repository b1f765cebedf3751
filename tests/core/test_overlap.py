"""``patterns_overlap`` against a brute-force reference: some path matches both patterns."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from authstatus.core.matching import Matcher, PatternError, Rule
from authstatus.core.overlap import patterns_overlap

SEGMENTS = st.sampled_from(["a", "b", "", "*", "**"])
patterns = st.lists(SEGMENTS, min_size=1, max_size=3).map(lambda s: "/" + "/".join(s))


def _reference(first: str, second: str) -> bool:
    """Try every path up to len(first) + len(second) segments over the patterns' literals,
    one fresh literal and the empty segment: enough to witness any overlap."""
    a = Matcher([Rule(first, 1)])
    b = Matcher([Rule(second, 2)])
    alphabet = sorted({"a", "b", "", "z"})
    limit = first.count("/") + second.count("/")
    for length in range(1, limit + 1):
        for segments in itertools.product(alphabet, repeat=length):
            path = "/" + "/".join(segments)
            if a.match("GET", path) and b.match("GET", path):
                return True
    return False


@hypothesis_settings(max_examples=300)
@given(patterns, patterns)
def test_overlap_matches_the_reference(first, second):
    assert patterns_overlap(first, second) is _reference(first, second)
    assert patterns_overlap(second, first) is patterns_overlap(first, second)


@pytest.mark.parametrize(
    ("first", "second", "expected"),
    [
        ("/api/orders/", "/api/orders/", True),
        ("/api/orders/*/", "/api/orders/*/", True),
        ("/api/vault/1/", "/api/vault/*/", True),
        ("/api/**", "/api/orders/*/ship/", True),
        ("/api/orders.json", "/api/orders/", False),
        ("/api/*/", "/api/", False),  # '*' is never an empty segment
        ("/**", "/", True),
    ],
)
def test_overlap_examples(first, second, expected):
    assert patterns_overlap(first, second) is expected


def test_overlap_cost_is_polynomial():
    many = "/" + "/".join(["**", "y"] * 20)
    assert patterns_overlap(many, "/" + "/".join(["x"] * 200)) is False
    assert patterns_overlap(many, "/" + "/".join(["**"] * 200)) is True


def test_invalid_patterns_raise():
    with pytest.raises(PatternError):
        patterns_overlap("api/", "/api/")
