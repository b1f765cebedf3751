"""The core is stdlib only: importing it must not import Django (DESIGN.md)."""

import subprocess
import sys


def test_importing_the_core_does_not_import_django():
    code = (
        "import sys; import authstatus.core.decision, authstatus.core.challenges, "
        "authstatus.core.matching; "
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in "
        "{'django', 'rest_framework', 'oauth2_provider'}); print(','.join(bad))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == ""
