"""Explain what authstatus would answer to a request, without sending it.

Used by ``manage.py authstatus_explain`` and the admin's "try a request" page. The request is
described, not replayed: anonymous, a user (authenticated by session), or a bearer token with
given scopes (optionally of a user). It is decided by the code that serves real requests:

* a DRF view is instantiated as its route would instantiate it (viewset action included), and
  DRF's own steps before the handler run — authentication, *every* permission class the view
  has (so views whose ``permission_classes`` leave ``PolicyPermission`` out are decided as they
  really are) and, given ``obj``, ``get_object()`` with its object permissions — with the
  project's exception handler rendering the refusal. The described credentials are what the
  view's own authentication classes report, so its challenges are exact.
* a plain view is decided as :class:`~authstatus.middleware.AuthStatusMiddleware` decides it.

The request is built for a host the project accepts (``host``, else the first literal entry
of ``ALLOWED_HOSTS``, else ``localhost``), so the explanation works whatever
``ALLOWED_HOSTS`` is. The handler never runs, and explaining has no side effects: no
``access_denied`` is sent (:func:`authstatus.enforcement.silenced`) and whatever the view's
own steps write (a third-party permission class logging, a lookup creating a row) is rolled
back with the transaction the explanation runs in.
"""

from __future__ import annotations

import json
import time
import unicodedata
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.db import transaction
from django.test import RequestFactory
from django.urls import Resolver404, resolve
from django.utils.translation import gettext as _

from authstatus import tokens
from authstatus.conf import app_settings
from authstatus.core.decision import BEARER, Credentials, Decision, decide
from authstatus.enforcement.authenticators import (
    Result,
    SessionAuthenticator,
    challenges_for,
    is_first_party,
)
from authstatus.enforcement.evaluation import UserPrincipal, middleware_authenticators, silenced
from authstatus.enforcement.responses import render_decision
from authstatus.policies.exemptions import is_exempt_view
from authstatus.policies.resolution import resolve_explained
from authstatus.policies.routes import is_drf_view, route_map

if TYPE_CHECKING:
    from django.http import HttpRequest, HttpResponse
    from django.urls import ResolverMatch

__all__ = ["Explanation", "default_host", "explain"]

EXPLAINED_HEADERS = ("WWW-Authenticate", "Content-Type", "Cache-Control", "Vary", "Location")
_ALLOWED: dict[str, Any] = {
    "status": 200,
    "headers": (),
    "outcome": "allowed",
    "resolution": "none",
}


@dataclass(frozen=True)
class Explanation:
    method: str
    path: str
    route: str | None
    enforced_by: str
    """``drf`` (``PolicyPermission``), ``drf (permission_classes: …)`` when the view leaves
    ``PolicyPermission`` out, ``middleware``, ``exempt`` or ``none`` (no such route)."""
    source: str
    decision: Decision | None
    status: int
    headers: tuple[tuple[str, str], ...]
    outcome: str = ""
    """The problem ``type`` slug of a refusal (``insufficient-scope``, …); ``allowed``."""
    resolution: str = ""
    notes: tuple[str, ...] = ()
    token_backends: tuple[str, ...] = ()
    """For a bearer token (``scopes`` given): how each ``TOKEN_BACKENDS`` entry checks it."""

    def lines(self) -> list[str]:
        """A plain-text rendering (the command prints these), its labels in the active
        language; values (outcomes, resolutions, headers) are the literal ones."""
        rows = [
            (_("route"), self.route or _("(none: Django answers 404)")),
            (_("enforced by"), self.enforced_by),
            (_("policy"), self.source),
        ]
        if self.enforced_by == "exempt":
            rows.append((_("status"), _("decided by the view itself (exempt)")))
        else:
            if self.outcome:
                rows.append(
                    (
                        _("decision"),
                        _("%(outcome)s (resolution: %(resolution)s)")
                        % {"outcome": self.outcome, "resolution": self.resolution},
                    )
                )
            rows.append((_("status"), str(self.status)))
        out = [f"{self.method} {self.path}"] + [_labelled(label, value) for label, value in rows]
        out += [f"{name}: {value}" for name, value in self.headers]
        checked_by = _("token checked by")
        out += [f"{checked_by}: {backend}" for backend in self.token_backends]
        out += [_labelled(_("note"), note) for note in self.notes]
        return out


LABEL_WIDTH = 13
"""``enforced by: `` (the longest English label): values start in one column."""


def _labelled(label: str, value: str) -> str:
    """``label: value`` with the value in column :data:`LABEL_WIDTH`, counting wide (CJK)
    characters as the two terminal columns they take."""
    text = f"{label}:"
    width = sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)
    return text + " " * max(1, LABEL_WIDTH - width) + value


def default_host() -> str:
    """A host ``ALLOWED_HOSTS`` accepts: its first literal entry (a leading ``.`` removed),
    else ``localhost`` (what Django accepts with ``DEBUG`` and an empty list)."""
    for entry in getattr(settings, "ALLOWED_HOSTS", None) or ():
        host = str(entry).lstrip(".")
        if host and "*" not in host:
            return host
    return "localhost"


def explain(
    method: str,
    path: str,
    *,
    user: Any = None,
    scopes: list[str] | None = None,
    accept: str = "application/json",
    host: str | None = None,
    obj: str | None = None,
) -> Explanation:
    """What a ``method`` request for ``path`` by this client would be answered.

    ``obj`` is the id of one object: the view's ``get_object()`` looks it up (the route's
    lookup parameter set to ``obj``) and its object-level requirements are decided too.

    Contract: announces nothing and writes nothing (see the module docstring).
    """
    with silenced(), transaction.atomic():
        explanation = _explain(method, path, user, scopes, accept, host, obj)
        transaction.set_rollback(True)
    return explanation


def _explain(
    method: str,
    path: str,
    user: Any,
    scopes: list[str] | None,
    accept: str,
    host: str | None,
    obj: str | None,
) -> Explanation:
    method = method.upper()
    request = RequestFactory().generic(
        method, path, HTTP_ACCEPT=accept, HTTP_HOST=host or default_host()
    )
    try:
        match = resolve(request.path_info)
    except Resolver404:
        return Explanation(method, path, None, "none", "-", None, 404, (), "not-found")
    request.resolver_match = match
    view = match.func
    if not is_drf_view(view) and is_exempt_view(view, match.namespaces):
        return Explanation(method, path, _route(match), "exempt", "-", None, 0, ())
    if is_drf_view(view):
        explanation = _explain_drf(request, match, user, scopes, obj)
    else:
        explanation = _explain_plain(request, match, user, scopes)
    if scopes is None:
        return explanation
    return replace(explanation, token_backends=tuple(b.describe() for b in tokens.backends()))


def _explain_plain(
    request: HttpRequest, match: ResolverMatch, user: Any, scopes: list[str] | None
) -> Explanation:
    method = request.method or "GET"
    resolved = resolve_explained(method, request.path_info, match, match.func)
    # Described credentials authenticated just now (a new login, a new token): step-up
    # policies (max_age) are explained as met.
    now = time.time()
    if scopes is not None:
        credentials = Credentials.valid(BEARER, scopes, auth_time=now)
        principal_user = user or AnonymousUser()
    elif user is not None:
        credentials = Credentials.valid(
            app_settings.SESSION_SCHEME,
            auth_time=now,
            first_party=is_first_party(SessionAuthenticator),
        )
        principal_user = user
    else:
        credentials, principal_user = Credentials.absent(), AnonymousUser()
    request.user = principal_user
    principal = UserPrincipal(principal_user) if user is not None or scopes is not None else None
    challenges = challenges_for(middleware_authenticators(), request)
    decision = decide(credentials, resolved.policy, principal, challenges, now=now)
    notes: tuple[str, ...] = ()
    if scopes is not None:
        notes = (
            _("plain views accept the middleware's authenticators (MIDDLEWARE_AUTHENTICATORS)"),
        )
    common: dict[str, Any] = {
        "route": _route(match),
        "source": resolved.source,
        "decision": decision,
    }
    if decision.allowed:
        return Explanation(
            method, request.path, enforced_by="middleware", **common, **_ALLOWED, notes=notes
        )
    response = render_decision(request, decision)
    return Explanation(
        method,
        request.path,
        enforced_by="middleware",
        **common,
        status=response.status_code,
        headers=_headers(response),
        outcome=decision.outcome.value,
        resolution=decision.resolution.value,
        notes=notes,
    )


def _explain_drf(
    request: HttpRequest, match: ResolverMatch, user: Any, scopes: list[str] | None, obj: Any
) -> Explanation:
    from rest_framework.views import APIView

    from authstatus.contrib.rest_framework.permissions import AccessDenied, PolicyPermission

    callback: Any = match.func
    view: APIView = callback.cls(**getattr(callback, "initkwargs", {}))
    actions = getattr(callback, "actions", None)
    if actions:  # what ViewSetMixin.as_view() does per request
        view.action_map = actions  # type: ignore[attr-defined]
        for method_name, action in actions.items():
            setattr(view, method_name, getattr(view, action))
    kwargs = dict(match.kwargs)
    if obj is not None:
        kwargs[
            str(getattr(view, "lookup_url_kwarg", None) or getattr(view, "lookup_field", "pk"))
        ] = obj
    view.args, view.kwargs = match.args, kwargs
    view.format_kwarg = view.get_format_suffix(**kwargs)
    drf_request = view.initialize_request(request, *match.args, **kwargs)
    view.request = drf_request
    view.headers = view.default_response_headers
    drf_request._request._dont_enforce_csrf_checks = True  # type: ignore[attr-defined]
    notes = list(_present(drf_request, user, scopes))
    permission_classes = list(view.permission_classes)
    if any(isinstance(c, type) and issubclass(c, PolicyPermission) for c in permission_classes):
        enforced_by = "drf"
    else:
        names = ", ".join(getattr(c, "__name__", str(c)) for c in permission_classes)
        enforced_by = f"drf (permission_classes: {names or 'none'}; PolicyPermission not used)"
    method = request.method or "GET"
    resolved = resolve_explained(method, request.path_info, match, view)
    lookup = getattr(view, "lookup_url_kwarg", None) or getattr(view, "lookup_field", "")
    if obj is None and lookup in kwargs and resolved.policy.requirements:
        notes.append(_("object-level requirements not decided: give the object's id (--object)"))
    common: dict[str, Any] = {
        "route": _route(match),
        "enforced_by": enforced_by,
        "source": resolved.source,
    }
    decision: Decision | None = None
    try:
        view.perform_authentication(drf_request)
        view.check_permissions(drf_request)
        if obj is not None:
            view.get_object()  # type: ignore[attr-defined]
    except Exception as exc:
        if isinstance(exc, AccessDenied):
            decision = exc.decision
        response = view.finalize_response(drf_request, view.handle_exception(exc))
        if hasattr(response, "render"):
            response.render()
    else:
        return Explanation(
            method, request.path, **common, decision=None, **_ALLOWED, notes=tuple(notes)
        )
    outcome, resolution = _outcome(response, decision)
    return Explanation(
        method,
        request.path,
        **common,
        decision=decision,
        status=response.status_code,
        headers=_headers(response),
        outcome=outcome,
        resolution=resolution,
        notes=tuple(notes),
    )


def _present(drf_request: Any, user: Any, scopes: list[str] | None) -> list[str]:
    """Make the view's own authentication classes report the described credentials (their
    results are cached per request: seeding the cache is presenting them). Returns notes."""
    from authstatus.contrib.rest_framework.authentication import (
        RESULTS_ATTRIBUTE,
        AuthStatusAuthentication,
    )

    if user is None and scopes is None:
        return []
    ours = [a for a in drf_request.authenticators if isinstance(a, AuthStatusAuthentication)]
    wanted = [BEARER] if scopes is not None else [app_settings.SESSION_SCHEME, "Basic"]
    cache: dict[type, Result] = drf_request._request.__dict__.setdefault(RESULTS_ATTRIBUTE, {})
    for scheme in wanted:
        for authenticator in ours:
            if authenticator.authenticator.scheme.lower() == scheme.lower():
                credentials = Credentials.valid(
                    authenticator.authenticator.scheme,
                    scopes,
                    auth_time=time.time(),
                    first_party=is_first_party(type(authenticator)),
                )
                cache[type(authenticator)] = Result(credentials, user=user or AnonymousUser())
                for other in ours:
                    cache.setdefault(type(other), Result.absent())
                return []
    if scopes is not None:
        return [
            _("this view accepts no bearer token: the request is explained without credentials")
        ]
    return [_("this view accepts no logged-in user: the request is explained without credentials")]


def _outcome(response: HttpResponse, decision: Decision | None) -> tuple[str, str]:
    if decision is not None:
        return decision.outcome.value, decision.resolution.value
    if response.get("Content-Type", "").startswith("application/problem+json"):
        try:
            body = json.loads(response.content)
        except ValueError:
            return "", ""
        return str(body.get("type", "")).rpartition("#")[2], str(body.get("resolution", ""))
    return "", ""


def _route(match: ResolverMatch) -> str:
    """The route as ``authstatus_routes`` writes it (``/api/orders/<pk>/``)."""
    endpoint = route_map().endpoint(match.func)
    return endpoint.written if endpoint is not None else match.route


def _headers(response: HttpResponse) -> tuple[tuple[str, str], ...]:
    return tuple((h, response[h]) for h in EXPLAINED_HEADERS if h in response)
