"""OpenAPI from the policies that are enforced: drf-spectacular extensions (extra ``openapi``).

Set the schema class and install the app::

    INSTALLED_APPS = [..., "drf_spectacular", "authstatus"]
    REST_FRAMEWORK = {
        ...,
        "DEFAULT_SCHEMA_CLASS": "authstatus.contrib.drf_spectacular.AutoSchema",
    }

* :mod:`~authstatus.contrib.drf_spectacular.extensions` — security schemes for the authstatus
  authentication classes (registered when ``drf_spectacular`` is installed).
* :class:`~authstatus.contrib.drf_spectacular.schema.AutoSchema` — per operation, the
  ``security`` requirements and the ``400``/``401``/``403``/``404`` responses the operation's
  policy can produce, each with its problem details schema.
* :func:`~authstatus.contrib.drf_spectacular.policy.operation_policy` — the one place that
  resolves an operation's policy.

The schema shows the policies in force when it is generated (settings and database rows
alike): after an admin edits a policy, generate it again.
"""

from __future__ import annotations

from authstatus.contrib.drf_spectacular.policy import operation_policy, sample_path
from authstatus.contrib.drf_spectacular.schema import AutoSchema

__all__ = ["AutoSchema", "operation_policy", "sample_path"]
