"""The policy of one OpenAPI operation: the only place the schema resolves policies."""

from __future__ import annotations

import re
from typing import Any

from authstatus.core.decision import Policy
from authstatus.policies.declarations import view_policy
from authstatus.policies.propagation import resolve
from authstatus.policies.resolution import endpoint_policy
from authstatus.policies.routes import Endpoint, route_map

__all__ = ["operation_endpoint", "operation_policy", "sample_path"]

_PARAMETER = re.compile(r"\{([^{}/]*)\}")


def sample_path(path: str) -> str:
    """``path`` (an OpenAPI path template, ``/api/vault/{id}/``) with each ``{param}``
    replaced by a segment no policy literal can equal: it contains spaces, which a policy
    pattern never does (:func:`authstatus.core.matching.validate_pattern`). So a parameter
    matches ``*`` and ``**`` only, like any value a client could send."""
    return _PARAMETER.sub(lambda m: f" {m.group(1) or 'param'} ", path)


def operation_endpoint(path: str, method: str, view: Any) -> Endpoint | None:
    """The route-map endpoint that serves this operation: the view's class, the viewset
    action, and the path (``{param}`` for ``*``), as :mod:`authstatus.policies.routes` reads
    them."""
    glob = _PARAMETER.sub("*", path)
    action = getattr(view, "action", None)
    for endpoint in route_map().endpoints:
        if endpoint.view_class is not type(view) or endpoint.pattern is None:
            continue
        if endpoint.pattern.replace("**", "*") != glob:
            continue
        if endpoint.actions and endpoint.action(method) != action:
            continue
        return endpoint
    return None


def operation_policy(path: str, method: str, view: Any) -> Policy:
    """The policy in force for ``method`` on the OpenAPI path ``path`` served by ``view``,
    per resource (:func:`authstatus.policies.resolution.endpoint_policy`): the policies that govern
    every URL of the route — settings and database, as loaded now — else the view's
    declarations, else ``DEFAULT_ACCESS``, made as strict as the route's named siblings.
    An operation no route-map endpoint matches is decided by its path alone."""
    upper = method.upper()
    endpoint = operation_endpoint(path, upper, view)
    if endpoint is not None:
        resolved = endpoint_policy(endpoint, upper)
        if resolved is not None:
            return resolved.policy
    return resolve(
        upper, sample_path(path), view_policy(view, upper, getattr(view, "action", None))
    )
