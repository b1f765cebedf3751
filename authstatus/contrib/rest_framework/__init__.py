"""Django REST framework integration: authentication classes, permission, exception handler.

Import paths in the public contract::

    authstatus.contrib.rest_framework.BearerAuthentication
    authstatus.contrib.rest_framework.SessionAuthentication
    authstatus.contrib.rest_framework.BasicAuthentication
    authstatus.contrib.rest_framework.PolicyPermission
    authstatus.contrib.rest_framework.PolicyFilterBackend
    authstatus.contrib.rest_framework.exception_handler
"""

from __future__ import annotations

from authstatus.contrib.rest_framework.authentication import (
    AuthStatusAuthentication,
    BasicAuthentication,
    BearerAuthentication,
    CredentialsRejected,
    SessionAuthentication,
)
from authstatus.contrib.rest_framework.exceptions import exception_handler
from authstatus.contrib.rest_framework.filters import PolicyFilterBackend
from authstatus.contrib.rest_framework.permissions import AccessDenied, PolicyPermission

__all__ = [
    "AccessDenied",
    "AuthStatusAuthentication",
    "BasicAuthentication",
    "BearerAuthentication",
    "CredentialsRejected",
    "PolicyFilterBackend",
    "PolicyPermission",
    "SessionAuthentication",
    "exception_handler",
]
