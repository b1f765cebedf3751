"""The ``fuzz`` hypothesis profile: ``make fuzz`` runs ``pytest tests/fuzz
--hypothesis-profile=fuzz``. In the normal suite these targets run with the default profile
(100 examples each)."""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

FUZZ_EXAMPLES = int(os.environ.get("AUTHSTATUS_FUZZ_EXAMPLES", "100000"))

settings.register_profile(
    "fuzz",
    max_examples=FUZZ_EXAMPLES,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    print_blob=True,
)
