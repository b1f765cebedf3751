"""The policy of one OpenAPI operation: the only place the schema resolves policies."""

from __future__ import annotations

import re
from typing import Any

from authstatus.core.decision import Policy
from authstatus.decorators import view_policy
from authstatus.policies import resolve

__all__ = ["operation_policy", "sample_path"]

_PARAMETER = re.compile(r"\{([^{}/]*)\}")


def sample_path(path: str) -> str:
    """``path`` (an OpenAPI path template, ``/api/vault/{id}/``) with each ``{param}``
    replaced by a segment no policy literal can equal: it contains spaces, which a policy
    pattern never does (:func:`authstatus.core.matching.validate_pattern`). So a parameter
    matches ``*`` and ``**`` only, like any value a client could send."""
    return _PARAMETER.sub(lambda m: f" {m.group(1) or 'param'} ", path)


def operation_policy(path: str, method: str, view: Any) -> Policy:
    """The policy in force for ``method`` on the OpenAPI path ``path`` served by ``view``:
    settings and database policies as loaded now, else the view's ``@access`` default, else
    ``DEFAULT_ACCESS``."""
    return resolve(method.upper(), sample_path(path), view_policy(view))
