"""``@access`` and ``@exempt``: the public path of :mod:`authstatus.policies.declarations`
(DESIGN.md's contract), kept for the code that imports them from here."""

from authstatus.policies.declarations import (
    POLICY_ATTRIBUTE,
    Declarations,
    access,
    declarations,
    exempt,
    is_exempt,
    view_policy,
)

__all__ = [
    "POLICY_ATTRIBUTE",
    "Declarations",
    "access",
    "declarations",
    "exempt",
    "is_exempt",
    "view_policy",
]
