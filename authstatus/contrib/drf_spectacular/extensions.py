"""Security schemes of the authstatus DRF authentication classes (OpenAPI 3.0.3 §4.8.27).

============================  ==============  ==========================================
class                         scheme name     Security Scheme Object
============================  ==============  ==========================================
``BearerAuthentication``      ``oauth2``      ``oauth2`` with DOT's flows, endpoints and
                                              scopes; ``http bearer`` (name
                                              ``bearerAuth``) when DOT is not the issuer
``SessionAuthentication``     ``cookieAuth``  ``apiKey`` in the session cookie
``BasicAuthentication``       ``basicAuth``   ``http basic`` (RFC 7617)
============================  ==============  ==========================================

An operation's ``oauth2`` requirement lists the scopes its policy requires (RFC 6750 §3);
the other schemes take none (OpenAPI 3.0.3 §4.8.30: the list MUST be empty for them).
Registered on import; authstatus imports this module when ``drf_spectacular`` is installed.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.settings import spectacular_settings

from authstatus.contrib.drf_spectacular.policy import operation_policy
from authstatus.core.decision import Policy

__all__ = ["BasicScheme", "BearerScheme", "SessionScheme", "policy_of"]


def policy_of(auto_schema: Any) -> Policy:
    """The operation's policy: the one :class:`~.schema.AutoSchema` resolved, or resolved
    here for drf-spectacular's own ``AutoSchema``."""
    policy = getattr(auto_schema, "authstatus_policy", None)
    if isinstance(policy, Policy):
        return policy
    return operation_policy(auto_schema.path, auto_schema.method, auto_schema.view)


def _bearer_definition() -> dict[str, Any]:
    from authstatus.contrib.oauth2_provider.openapi import DEFAULT_FLOWS, security_scheme

    return security_scheme(spectacular_settings.OAUTH2_FLOWS or DEFAULT_FLOWS)


class BearerScheme(OpenApiAuthenticationExtension):  # type: ignore[no-untyped-call]
    target_class = "authstatus.contrib.rest_framework.BearerAuthentication"
    match_subclasses = True

    @property
    def name(self) -> str:  # type: ignore[override]
        return "oauth2" if _bearer_definition()["type"] == "oauth2" else "bearerAuth"

    def get_security_definition(self, auto_schema: Any) -> dict[str, Any]:
        return _bearer_definition()

    def get_security_requirement(self, auto_schema: Any) -> dict[str, list[str]]:
        name = self.name
        if name != "oauth2":
            return {name: []}
        return {name: sorted(policy_of(auto_schema).required_scopes)}


class SessionScheme(OpenApiAuthenticationExtension):  # type: ignore[no-untyped-call]
    target_class = "authstatus.contrib.rest_framework.SessionAuthentication"
    match_subclasses = True
    name = "cookieAuth"

    def get_security_definition(self, auto_schema: Any) -> dict[str, Any]:
        return {"type": "apiKey", "in": "cookie", "name": settings.SESSION_COOKIE_NAME}


class BasicScheme(OpenApiAuthenticationExtension):  # type: ignore[no-untyped-call]
    target_class = "authstatus.contrib.rest_framework.BasicAuthentication"
    match_subclasses = True
    name = "basicAuth"

    def get_security_definition(self, auto_schema: Any) -> dict[str, Any]:
        return {"type": "http", "scheme": "basic"}
