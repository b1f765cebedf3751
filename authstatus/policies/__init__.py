"""What is in force: policy specs and their sources (settings, database, code declarations),
the registry that compiles them and carries changes between processes, the route map, and the
resolution of a request to the policy in force. No request handling, no adapter imports.

* :mod:`~authstatus.policies.specs` — a policy dict (settings, admin row, ``@access``) into a
  rule;
* :mod:`~authstatus.policies.propagation` — the registry: sources compiled into one matcher,
  cached, propagated across processes;
* :mod:`~authstatus.policies.routes` — the route map: every URL pattern as an endpoint;
* :mod:`~authstatus.policies.resolution` — the policy in force per resource;
* :mod:`~authstatus.policies.declarations` — ``@access`` and ``@exempt`` (public as
  :mod:`authstatus.decorators`);
* :mod:`~authstatus.policies.requirements` — named requirement predicates.

The registry's names are re-exported here (``authstatus.policies.registry``,
``PoliciesUnavailable``, …), where they have always been imported from.
"""

from authstatus.policies.propagation import (
    DatabaseSource,
    InvalidPolicy,
    PoliciesUnavailable,
    PolicyError,
    PolicyRegistry,
    PolicySource,
    Snapshot,
    build_policy,
    default_policy,
    policies_changed,
    registry,
    resolve,
    rule_from_spec,
)

__all__ = [
    "DatabaseSource",
    "InvalidPolicy",
    "PoliciesUnavailable",
    "PolicyError",
    "PolicyRegistry",
    "PolicySource",
    "Snapshot",
    "build_policy",
    "default_policy",
    "policies_changed",
    "registry",
    "resolve",
    "rule_from_spec",
]
