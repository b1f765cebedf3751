"""Explain what authstatus would answer to a request, without sending it.

Used by ``manage.py authstatus_explain`` and the admin's "try a request" page. The request
is described, not replayed: anonymous, a user (authenticated by session), or a bearer token
with given scopes (optionally of a user). The policy is resolved and decided by the same
functions that serve real requests, and the response is rendered to show the exact status
and headers. Nothing is written to the database; no signal is sent.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.contrib.auth.models import AnonymousUser
from django.test import RequestFactory
from django.urls import Resolver404, resolve

from authstatus import policies
from authstatus.authentication import challenges_for
from authstatus.core.decision import Credentials, Decision, decide
from authstatus.decorators import view_policy
from authstatus.enforcement import UserPrincipal, middleware_authenticators
from authstatus.middleware import is_drf_view, is_exempt_view
from authstatus.responses import render_decision

if TYPE_CHECKING:
    from django.http import HttpRequest

    from authstatus.core.challenges import Challenge

__all__ = ["Explanation", "explain"]

EXPLAINED_HEADERS = ("WWW-Authenticate", "Content-Type", "Cache-Control", "Vary", "Location")


@dataclass(frozen=True)
class Explanation:
    method: str
    path: str
    route: str | None
    enforced_by: str
    """``drf`` (PolicyPermission), ``middleware``, ``exempt`` or ``none`` (no such route)."""
    source: str
    decision: Decision | None
    status: int
    headers: tuple[tuple[str, str], ...]

    def lines(self) -> list[str]:
        """A plain-text rendering (the command prints these)."""
        out = [
            f"{self.method} {self.path}",
            f"route:       {self.route or '(none: Django answers 404)'}",
            f"enforced by: {self.enforced_by}",
            f"policy:      {self.source}",
        ]
        if self.decision is not None:
            d = self.decision
            out += [
                f"decision:    {d.outcome.value} (resolution: {d.resolution.value})",
                f"status:      {self.status}",
            ]
        elif self.enforced_by == "exempt":
            out.append("status:      decided by the view itself (exempt)")
        else:
            out.append(f"status:      {self.status}")
        out += [f"{name}: {value}" for name, value in self.headers]
        return out


def _credentials(user: Any, scopes: list[str] | None) -> tuple[Credentials, Any]:
    if scopes is not None:
        return Credentials.valid("Bearer", scopes), user or AnonymousUser()
    if user is not None:
        from authstatus.conf import app_settings

        return Credentials.valid(app_settings.SESSION_SCHEME), user
    return Credentials.absent(), AnonymousUser()


def _challenges(view: Any, request: HttpRequest) -> tuple[Challenge, ...]:
    if is_drf_view(view):
        from rest_framework.request import Request

        from authstatus.contrib.rest_framework.decisions import challenges

        instance = view.cls(**getattr(view, "initkwargs", {}))
        return challenges(Request(request, authenticators=instance.get_authenticators()))
    return challenges_for(middleware_authenticators(), request)


def explain(
    method: str,
    path: str,
    *,
    user: Any = None,
    scopes: list[str] | None = None,
    accept: str = "application/json",
) -> Explanation:
    """What a ``method`` request for ``path`` by this client would be answered."""
    method = method.upper()
    request = RequestFactory().generic(method, path, HTTP_ACCEPT=accept)
    try:
        match = resolve(request.path_info)
    except Resolver404:
        return Explanation(method, path, None, "none", "-", None, 404, ())
    view = match.func
    route = match.route
    if not is_drf_view(view) and is_exempt_view(view, match.namespaces):
        return Explanation(method, path, route, "exempt", "-", None, 0, ())
    policy, source = policies.resolve_explained(method, request.path_info, view_policy(view))
    credentials, principal_user = _credentials(user, scopes)
    request.user = principal_user
    principal = UserPrincipal(principal_user) if user is not None or scopes is not None else None
    decision = decide(credentials, policy, principal, _challenges(view, request))
    enforced_by = "drf" if is_drf_view(view) else "middleware"
    if decision.allowed:
        return Explanation(method, path, route, enforced_by, source, decision, 200, ())
    response = render_decision(request, decision)
    headers = tuple((h, response[h]) for h in EXPLAINED_HEADERS if h in response)
    return Explanation(
        method, path, route, enforced_by, source, decision, response.status_code, headers
    )
