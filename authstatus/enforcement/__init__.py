"""One request, one decision: authenticators turn a request into credentials, the policy in
force comes from :mod:`authstatus.policies`, :func:`authstatus.core.decision.decide` decides,
and the decision is rendered.

* :mod:`~authstatus.enforcement.authenticators` — framework-neutral authenticators (also
  importable as :mod:`authstatus.authentication`, the paths settings have named);
* :mod:`~authstatus.enforcement.evaluation` — the glue both adapters share: ``evaluate``;
* :mod:`~authstatus.enforcement.responses` — problem details, HTML, the login redirect;
* :mod:`~authstatus.enforcement.i18n` — a decision's text in the active language;
* :mod:`~authstatus.enforcement.stepup` — when a session's user last authenticated (RFC 9470).

The evaluation names are re-exported here, where custom adapters import them from.
"""

from authstatus.enforcement.evaluation import (
    UserPrincipal,
    aevaluate,
    evaluate,
    is_preflight,
    log_concealed_failure,
    middleware_authenticators,
    notify,
    silenced,
)

__all__ = [
    "UserPrincipal",
    "aevaluate",
    "evaluate",
    "is_preflight",
    "log_concealed_failure",
    "middleware_authenticators",
    "notify",
    "silenced",
]
