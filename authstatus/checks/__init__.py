"""System checks, ids ``authstatus.E0xx`` (errors) and ``authstatus.W0xx`` (warnings).

Every id is listed in :class:`Codes` (:mod:`authstatus.checks.codes`, a leaf module) and
documented in ``docs/reference/checks.md``; ids are stable and never reused. Checks validate
settings at startup (``manage.py check``, ``runserver``, ``migrate``) instead of at import
time. One module per feature, each registering its checks when imported
(:meth:`authstatus.apps.AuthStatusConfig.ready` imports them all):

* :mod:`~authstatus.checks.settings` — the ``AUTHSTATUS`` setting itself;
* :mod:`~authstatus.checks.middleware` — ``MIDDLEWARE`` and the login page;
* :mod:`~authstatus.checks.drf` — ``REST_FRAMEWORK``;
* :mod:`~authstatus.checks.concealment` — what could tell a concealed resource from a missing one;
* :mod:`~authstatus.checks.routes` — URL routes against policies, database rows;
* :mod:`~authstatus.checks.tokens` — ``TOKEN_BACKENDS``;
* :mod:`~authstatus.checks.oauth` — the ``OAuth2`` challenge, discovery, CORS, registration.

This package's own module imports nothing else, so code at any layer may report a check id
(``from authstatus.checks.codes import Codes``) without importing the checks.
"""

from authstatus.checks.codes import Codes

__all__ = ["Codes"]

FEATURES = ("settings", "middleware", "drf", "concealment", "routes", "tokens", "oauth")
"""The modules of this package that register checks, for ``AppConfig.ready``."""
