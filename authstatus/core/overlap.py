"""Whether two path patterns (policy syntax, :mod:`authstatus.core.matching`) can match one
path — the question "which routes can this policy govern?" asks of a policy pattern and the
pattern of a route.

Decided over the two segment lists by dynamic programming, so the cost is the product of the
pattern lengths whatever the wildcards: ``**`` matches any number of segments (zero
included), ``*`` one non-empty segment, a literal itself.
"""

from __future__ import annotations

import functools

from authstatus.core.matching import ANY, ONE, validate_pattern

__all__ = ["patterns_overlap"]


def patterns_overlap(first: str, second: str) -> bool:
    """Whether some path matches both patterns; :class:`PatternError` for invalid ones."""
    a = validate_pattern(first)
    b = validate_pattern(second)

    @functools.cache
    def meet(i: int, j: int) -> bool:
        if i == len(a) and j == len(b):
            return True
        if i < len(a) and a[i] == ANY and (meet(i + 1, j) or (j < len(b) and meet(i, j + 1))):
            return True
        if j < len(b) and b[j] == ANY and (meet(i, j + 1) or (i < len(a) and meet(i + 1, j))):
            return True
        if i < len(a) and j < len(b) and a[i] != ANY and b[j] != ANY:
            return _segments_meet(a[i], b[j]) and meet(i + 1, j + 1)
        return False

    return meet(0, 0)


def _segments_meet(x: str, y: str) -> bool:
    if x == ONE:
        return y != ""
    if y == ONE:
        return x != ""
    return x == y
