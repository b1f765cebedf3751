"""``AutoSchema``: drf-spectacular's, plus what the operation's policy makes it answer.

Set ``REST_FRAMEWORK["DEFAULT_SCHEMA_CLASS"] = "authstatus.contrib.drf_spectacular.AutoSchema"``.
For each operation it resolves the policy once (:func:`~.policy.operation_policy`) and adds:

* ``security``: one requirement per accepted scheme, the ``oauth2`` one listing the scopes the
  policy requires; an anonymous-allowed operation also gets the empty requirement ``{}``
  (OpenAPI 3.0.3 §4.8.30: authentication is optional).
* responses, each ``application/problem+json`` (RFC 9457) with the ``ProblemDetails`` schema:

  - ``401`` when authentication could help (an authenticated-only policy), or when
    credentials of a scheme that can fail may be sent and rejected (RFC 9110 §15.5.2), with
    the ``WWW-Authenticate`` header;
  - ``403`` when the policy can refuse an authenticated client: closed to everyone, required
    scopes, groups, permissions or requirements, a CSRF check (session, unsafe method), a
    permission class other than ``PolicyPermission``;
  - ``400`` ``invalid_request`` when Bearer tokens are accepted (RFC 6750 §3.1), and the
    validation error of an operation with a request body;
  - ``404`` for a concealed operation — and then **no** ``401`` or ``403``, nor the Bearer
    ``400``: a concealed resource answers every refusal as missing (RFC 9110 §15.5.5), and
    the schema must not tell more than the responses do — and for an operation whose path
    has parameters (the object may not exist); the same response object either way;
  - ``415`` for an operation with a request body, ``429`` (with ``Retry-After``) for a
    throttled view.

Responses an operation declares itself (``@extend_schema(responses=...)``) are kept.
"""

from __future__ import annotations

import copy
from typing import Any

from drf_spectacular.openapi import AutoSchema as SpectacularAutoSchema
from drf_spectacular.plumbing import ResolvedComponent
from rest_framework.permissions import SAFE_METHODS

from authstatus.conf import app_settings
from authstatus.contrib.drf_spectacular import extensions  # noqa: F401 - registers the schemes
from authstatus.contrib.drf_spectacular.policy import operation_policy
from authstatus.contrib.rest_framework.authentication import (
    AuthStatusAuthentication,
    BearerAuthentication,
    SessionAuthentication,
)
from authstatus.contrib.rest_framework.permissions import PolicyPermission
from authstatus.core.decision import Access, Policy, Resolution
from authstatus.enforcement.responses import PROBLEM_JSON

__all__ = ["PROBLEM_SCHEMA", "VALIDATION_PROBLEM_SCHEMA", "AutoSchema"]

PROBLEM = "ProblemDetails"
VALIDATION_PROBLEM = "ValidationProblemDetails"
DRF_ERROR = "ErrorDetail"
DRF_VALIDATION_ERROR = "ValidationErrors"

PROBLEM_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "RFC 9457 problem details, with authstatus's `resolution` extension.",
    "properties": {
        "type": {
            "type": "string",
            "description": "Identifies the problem type (RFC 9457 §3.1.1); stable: branch on it.",
        },
        "title": {"type": "string", "description": "Short summary of the problem type."},
        "status": {"type": "integer", "description": "The HTTP status code of the response."},
        "detail": {"type": "string", "description": "This occurrence of the problem."},
        "instance": {"type": "string", "description": "This occurrence, as a URI reference."},
        "resolution": {
            "type": "string",
            "enum": [r.value for r in Resolution if r is not Resolution.NONE],
            "description": "What the client can do about it.",
        },
        "required_scopes": {
            "type": "array",
            "items": {"type": "string"},
            "description": "For insufficient-scope: the scopes the resource needs.",
        },
    },
    "required": ["type", "title", "status"],
}
"""``resolution`` and ``detail`` are always sent by authstatus; ``about:blank`` problems
(RFC 9457 §4.2.1) of unmapped DRF errors carry no ``resolution``."""

VALIDATION_PROBLEM_SCHEMA: dict[str, Any] = {
    "allOf": [
        {"$ref": f"#/components/schemas/{PROBLEM}"},
        {
            "type": "object",
            "properties": {
                "errors": {
                    "type": "object",
                    "additionalProperties": {},
                    "description": "validation-error only: each field (or "
                    "`non_field_errors`) mapped to its messages.",
                }
            },
        },
    ],
}

_DRF_ERROR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {"detail": {"type": "string"}},
    "required": ["detail"],
}
_DRF_VALIDATION_SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": {},
    "description": "DRF's validation errors: each field mapped to its messages.",
}

_WWW_AUTHENTICATE = "One challenge per accepted scheme (RFC 9110 §11.6.1)."


class AutoSchema(SpectacularAutoSchema):
    """drf-spectacular's ``AutoSchema`` with authstatus's security and refusal responses."""

    authstatus_policy: Policy | None = None

    def get_operation(
        self,
        path: str,
        path_regex: str,
        path_prefix: str,
        method: str,
        registry: Any,
    ) -> dict[str, Any] | None:
        self.authstatus_policy = operation_policy(path, method, self.view)
        operation: dict[str, Any] | None = super().get_operation(
            path, path_regex, path_prefix, method, registry
        )
        if operation is None:
            return None
        responses = {
            **self._refusal_responses(self.authstatus_policy, "requestBody" in operation),
            **operation.get("responses", {}),
        }
        operation["responses"] = dict(sorted(responses.items()))
        return operation

    def get_auth(self) -> list[dict[str, list[str]]]:
        auths: list[dict[str, list[str]]] = super().get_auth()
        policy = self.authstatus_policy
        if policy is not None and policy.access is Access.ANONYMOUS and {} not in auths:
            auths.append({})
        return auths

    # Responses -----------------------------------------------------------------------

    def _refusal_responses(self, policy: Policy, has_body: bool) -> dict[str, dict[str, Any]]:
        view = self.view
        authenticators = list(view.get_authenticators())
        bearer = any(isinstance(a, BearerAuthentication) for a in authenticators)
        session = any(isinstance(a, SessionAuthentication) for a in authenticators)
        fallible = any(
            not isinstance(a, AuthStatusAuthentication) or a.authenticator.can_fail
            for a in authenticators
        )
        foreign_permissions = any(
            not isinstance(p, PolicyPermission) for p in view.get_permissions()
        )
        out: dict[str, dict[str, Any]] = {}
        if not policy.conceal:
            if authenticators and (
                policy.access is Access.AUTHENTICATED or fallible or foreign_permissions
            ):
                out["401"] = self._unauthorized(policy)
            if self._refusable(policy, session, foreign_permissions):
                out["403"] = self._forbidden(policy, bearer)
            if bearer:
                out["400"] = self._bad_request(has_body, bearer=True)
        if has_body and "400" not in out:
            out["400"] = self._bad_request(has_body, bearer=False)
        if policy.conceal or "{" in self.path:
            out["404"] = self._problem(
                "Not found: the resource does not exist, or not for this client."
            )
        if has_body:
            out["415"] = self._error("The request body's media type is not supported.")
        if view.get_throttles():
            response = self._error("Too many requests: retry after `Retry-After` seconds.")
            response["headers"] = {
                "Retry-After": {
                    "description": "Seconds to wait (RFC 9110 §10.2.3).",
                    "required": True,
                    "schema": {"type": "integer"},
                }
            }
            out["429"] = response
        return out

    def _refusable(self, policy: Policy, session: bool, foreign_permissions: bool) -> bool:
        if policy.access is Access.NOBODY or foreign_permissions:
            return True
        if session and self.method not in SAFE_METHODS:
            return True  # CSRF: a session-authenticated unsafe request without the token
        return policy.access is Access.AUTHENTICATED and bool(
            policy.required_scopes or policy.has_principal_requirements
        )

    def _unauthorized(self, policy: Policy) -> dict[str, Any]:
        if policy.access is Access.AUTHENTICATED:
            description = "Authentication required, or the credentials sent are not valid."
        else:
            description = "The credentials sent are not valid (send none, or valid ones)."
        response = self._problem(description)
        response["headers"] = {
            "WWW-Authenticate": {
                "description": _WWW_AUTHENTICATE,
                "required": True,
                "schema": {"type": "string"},
            }
        }
        return response

    def _forbidden(self, policy: Policy, bearer: bool) -> dict[str, Any]:
        if policy.access is Access.NOBODY:
            response = self._problem("Not available to anyone: authentication cannot help.")
        else:
            response = self._problem("Refused: the client may not do this.")
        if bearer and policy.required_scopes and policy.access is Access.AUTHENTICATED:
            scopes = " ".join(sorted(policy.required_scopes))
            response["description"] = (
                f"Refused: the client may not do this, or its token lacks a scope ({scopes})."
            )
            response["headers"] = {
                "WWW-Authenticate": {
                    "description": '`Bearer error="insufficient_scope"` when a token with '
                    "more scope would help (RFC 6750 §3.1).",
                    "schema": {"type": "string"},
                }
            }
        return response

    def _bad_request(self, has_body: bool, *, bearer: bool) -> dict[str, Any]:
        reasons = []
        if bearer:
            reasons.append("a malformed bearer request (RFC 6750 §3.1 invalid_request)")
        if has_body:
            reasons.append("invalid input")
        description = "Bad request: " + ", or ".join(reasons) + "."
        if not has_body:
            response = self._problem(description)
        elif app_settings.PROBLEM_DETAILS_FOR_ALL_ERRORS:
            response = self._problem(description, VALIDATION_PROBLEM, VALIDATION_PROBLEM_SCHEMA)
        else:
            response = self._problem(description)
            response["content"]["application/json"] = {
                "schema": self._component(DRF_VALIDATION_ERROR, _DRF_VALIDATION_SCHEMA)
            }
        if bearer:
            response["headers"] = {
                "WWW-Authenticate": {
                    "description": '`Bearer error="invalid_request"` for a malformed bearer '
                    "request.",
                    "schema": {"type": "string"},
                }
            }
        return response

    def _error(self, description: str) -> dict[str, Any]:
        """A DRF error: problem details with ``PROBLEM_DETAILS_FOR_ALL_ERRORS``, else DRF's
        ``{"detail": …}``."""
        if app_settings.PROBLEM_DETAILS_FOR_ALL_ERRORS:
            return self._problem(description)
        return {
            "description": description,
            "content": {
                "application/json": {"schema": self._component(DRF_ERROR, _DRF_ERROR_SCHEMA)}
            },
        }

    def _problem(
        self, description: str, name: str = PROBLEM, schema: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        ref = self._component(PROBLEM, PROBLEM_SCHEMA)
        if schema is not None:
            ref = self._component(name, schema)
        return {"description": description, "content": {PROBLEM_JSON: {"schema": ref}}}

    def _component(self, name: str, schema: dict[str, Any]) -> dict[str, str]:
        # A copy: drf-spectacular's postprocessing hooks edit components in place (the enum
        # hook moves `resolution` into ResolutionEnum), and the next generation needs the original.
        component = ResolvedComponent(  # type: ignore[no-untyped-call]
            name=name,
            type=ResolvedComponent.SCHEMA,
            object=f"authstatus.{name}",
            schema=copy.deepcopy(schema),
        )
        self.registry.register_on_missing(component)
        ref: dict[str, str] = component.ref
        return ref
