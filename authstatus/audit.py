"""The route audit behind ``manage.py authstatus_audit``: proof, route by route, that every
path through the stack fails closed.

For every route of the URLconf (:func:`authstatus.policies.routes.route_map`) that authstatus
enforces, :func:`audit` sends requests through the project's real middleware and views
(Django's test client) and compares each answer with what the decision table
(:func:`authstatus.core.decision.decide`) demands under the policy in force
(:func:`authstatus.policies.resolution.policy_for`, resolved for the route's *canonical* URL, so a
format suffix or a language prefix that escaped its policy shows).

What is sent, per route:

* every method the view serves, one it does not serve (when there is one), ``HEAD`` beside
  ``GET``, and ``OPTIONS``;
* each as: anonymous, an unknown bearer token, an expired one, valid credentials lacking the
  scopes, groups and permissions the policy asks for (when it asks for any), and valid
  credentials that have them — a bearer token where the route accepts ``Bearer``, else a
  session, else HTTP Basic;
* each served method again with ``Accept: text/html``, with ``?format=api`` and through every
  variant URL of the route (format suffixes, an optional slash);
* a CORS preflight (``OPTIONS`` with ``Origin`` and ``Access-Control-Request-Method``) per
  served method;
* on an object route of a concealed resource: an existing object and a missing id, as
  anonymous and as another user, compared response against response.

A *finding* is: a ``5xx``; a refusal (``401``, ``403``) where the table allows; a view that ran
where the table refuses; a refusal with another status than the table's; a missing or wrong
challenge (scheme, ``error``, ``scope``); a refused CORS preflight answered ``4xx`` (other than
a concealed resource's ``404``) or by the view; an existing object answered differently from a
missing one. For an allowed request the view's own answer (``200``, ``400``, ``404``, ``405``,
``429``, an object-level ``403`` where the policy has requirements) is not a finding.

Whether the view ran is seen from the outside: the test client's handler wraps the view
callback (``ClientHandler.make_view_atomic``, public), and for DRF views — whose callback
always runs, the permission checks being inside it — ``APIView.initial`` is wrapped for the
audit's duration: it returning without raising is the handler running.

**Contract:**

* Nothing is written: the audit runs inside one ``transaction.atomic()`` per database,
  rolled back at the end; the users, groups, application and tokens it needs are created
  there. Each request runs in a savepoint of its own, rolled back after it, so what an
  allowed request changes (a ``DELETE``) is undone before the next one. ``EMAIL_BACKEND``
  is the in-memory one for the duration, and what it collected is dropped.
* Nothing is left behind: ``APIView.initial``, the settings it overrides and the URLconf are
  restored (``try``/``finally``); requests come from a documentation address
  (:data:`REMOTE_ADDR`), so rate-limit counters they leave are not a real client's.
* Nothing is announced: the audit runs inside :func:`authstatus.enforcement.silenced`, so
  no ``access_denied`` receiver logs, counts or locks out anyone for a request nobody sent
  (requests other threads serve meanwhile are still announced).
* Bounded: past ``max_seconds`` no further request is sent, and what was not checked is
  reported (:attr:`AuditReport.complete` is ``False``).
"""

from __future__ import annotations

import base64
import contextvars
import enum
import hashlib
import json
import logging
import re
import secrets
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from asgiref.sync import iscoroutinefunction, markcoroutinefunction
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AnonymousUser, Group, Permission
from django.core import mail
from django.core.cache import caches
from django.db import DatabaseError, connections, transaction
from django.http import HttpResponseBase
from django.test import Client, RequestFactory
from django.test.client import ClientHandler
from django.test.utils import override_settings
from django.urls import Resolver404, resolve
from django.utils import translation

from authstatus.conf import app_settings
from authstatus.contrib.oauth2_provider import audit as dot_audit
from authstatus.contrib.oauth2_provider import tokencache
from authstatus.contrib.oauth2_provider.authentication import BearerAuthenticator
from authstatus.contrib.rest_framework.authentication import AuthStatusAuthentication
from authstatus.core.challenges import Challenge, ChallengeSyntaxError, parse_challenges
from authstatus.core.decision import (
    Access,
    Credentials,
    CredentialState,
    Decision,
    Failure,
    Policy,
    decide,
)
from authstatus.enforcement.authenticators import (
    Authenticator,
    BasicAuthenticator,
    Result,
    SessionAuthenticator,
    combine,
    is_first_party,
)
from authstatus.enforcement.evaluation import UserPrincipal, middleware_authenticators, silenced
from authstatus.policies.resolution import policy_for, route_entries
from authstatus.policies.routes import METHODS, Decorations, Endpoint, route_map

__all__ = [
    "ORIGIN",
    "REMOTE_ADDR",
    "AuditReport",
    "Finding",
    "Kind",
    "Probe",
    "Skipped",
    "Unchecked",
    "Variant",
    "audit",
    "parse_objects",
    "to_json",
]

logger = logging.getLogger("authstatus")

REMOTE_ADDR = "192.0.2.1"
"""Where the audit's requests come from: TEST-NET-1 (RFC 5737), no real client's address."""
ORIGIN = "https://authstatus-audit.invalid"
"""The ``Origin`` of the audit's CORS preflights (``.invalid``: RFC 2606)."""
MISSING_OFFSET = 1_000_000
"""A missing id is the largest existing one plus this."""

_IGNORED_HEADERS = frozenset(
    {"date", "content-length", "expires", "last-modified", "etag", "set-cookie"}
)
"""Headers that differ between any two responses, or whose value follows the body."""
_PARAM = re.compile(r"<(?:[^<>:]+:)?([^<>]+)>")
_UNSAFE_WITH_BODY = frozenset({"POST", "PUT", "PATCH"})


class Kind(enum.StrEnum):
    """Who sends a request: the credentials of the decision table's rows."""

    ANONYMOUS = "anonymous"
    INVALID_TOKEN = "invalid token"
    EXPIRED_TOKEN = "expired token"
    LACKING = "valid, lacking"
    ALLOWED = "valid, allowed"
    OTHER_USER = "another user"


class Variant(enum.StrEnum):
    """How a request is sent: the forms that have broken guarantees before."""

    PLAIN = "plain"
    HTML = "Accept: text/html"
    BROWSABLE = "?format=api"
    SUFFIX = "variant URL"
    PREFLIGHT = "CORS preflight"
    EXISTING_OBJECT = "existing object"


@dataclass(frozen=True, slots=True)
class Probe:
    """One request the audit sent."""

    route: str
    method: str
    url: str
    kind: Kind
    variant: Variant = Variant.PLAIN

    def describe(self) -> str:
        """``GET /api/notes/?format=api as valid, lacking``."""
        extra = (
            f" ({self.variant.value})"
            if self.variant in (Variant.HTML, Variant.PREFLIGHT, Variant.EXISTING_OBJECT)
            else ""
        )
        return f"{self.method} {self.url} as {self.kind.value}{extra}"


@dataclass(frozen=True, slots=True)
class Finding:
    """One answer that breaks a guarantee."""

    route: str
    request: str
    """The request, as :meth:`Probe.describe` writes it."""
    problem: str
    """What differed, in one sentence."""

    def line(self) -> str:
        return f"FINDING {self.route}: {self.request}: {self.problem}"

    def as_dict(self) -> dict[str, str]:
        return {"route": self.route, "request": self.request, "problem": self.problem}


@dataclass(frozen=True, slots=True)
class Skipped:
    """A route the audit leaves out by design (authstatus does not enforce it)."""

    route: str
    reason: str

    def as_dict(self) -> dict[str, str]:
        return {"route": self.route, "reason": self.reason}


@dataclass(frozen=True, slots=True)
class Unchecked:
    """Something the audit could not check (the finding count says nothing about it)."""

    route: str
    what: str
    reason: str

    def line(self) -> str:
        return f"UNCHECKED {self.route}: {self.what}: {self.reason}"

    def as_dict(self) -> dict[str, str]:
        return {"route": self.route, "what": self.what, "reason": self.reason}


@dataclass(frozen=True, slots=True)
class AuditReport:
    """What :func:`audit` found. ``complete`` is ``False`` when the time bound stopped it."""

    routes: int
    """Every route (endpoint) of the URLconf, skipped ones included."""
    audited: int
    """Routes whose requests were all sent."""
    requests: int
    findings: tuple[Finding, ...]
    skipped: tuple[Skipped, ...]
    unchecked: tuple[Unchecked, ...]
    seconds: float
    complete: bool

    def summary(self) -> str:
        """``42 routes (30 audited, 12 skipped), 1,310 requests, 0 findings in 12.3 s``."""
        parts = [f"{self.audited:,} audited", f"{len(self.skipped):,} skipped"]
        not_checked = len({u.route for u in self.unchecked})
        if not_checked:
            parts.append(f"{not_checked:,} with unchecked parts")
        text = (
            f"{self.routes:,} routes ({', '.join(parts)}), {self.requests:,} requests, "
            f"{len(self.findings):,} finding{'' if len(self.findings) == 1 else 's'} "
            f"in {self.seconds:.1f} s"
        )
        if not self.complete:
            text += " (stopped by the time bound: not every route was checked)"
        return text

    def as_dict(self) -> dict[str, Any]:
        return {
            "complete": self.complete,
            "counts": {
                "routes": self.routes,
                "audited": self.audited,
                "skipped": len(self.skipped),
                "requests": self.requests,
                "findings": len(self.findings),
                "unchecked": len(self.unchecked),
                "seconds": round(self.seconds, 3),
            },
            "findings": [f.as_dict() for f in self.findings],
            "skipped": [s.as_dict() for s in self.skipped],
            "unchecked": [u.as_dict() for u in self.unchecked],
        }


def parse_objects(values: Sequence[str]) -> dict[str, str]:
    """``["/api/vault/<int:pk>/=12"]`` → ``{"/api/vault/<int:pk>/": "12"}``: the route as
    ``authstatus_routes`` writes it, ``=``, the existing object's id in the URL.
    ``ValueError`` for an entry without ``=`` or with an empty side."""
    out: dict[str, str] = {}
    for value in values:
        route, sep, ident = value.rpartition("=")
        if not sep or not route or not ident:
            raise ValueError(f"--object {value!r}: expected ROUTE=ID, e.g. /api/vault/<pk>/=12")
        out[route] = ident
    return out


Progress = Callable[[int, int, str], None]


def audit(
    *,
    urlconf: str | None = None,
    objects: Mapping[str, str] | None = None,
    max_seconds: float = 300.0,
    host: str | None = None,
    routes: Sequence[str] = (),
    progress: Progress | None = None,
) -> AuditReport:
    """Audit every route of ``urlconf`` (``ROOT_URLCONF`` by default; see the module
    docstring). ``objects`` maps a route, written as ``authstatus_routes`` writes it, to the
    id of an existing object (for routes whose model the audit cannot find); ``host`` is the
    ``Host`` of the requests (default: the first literal entry of ``ALLOWED_HOSTS``, else
    ``localhost``); ``ValueError`` when ``objects`` names a route the URLconf does not have.
    ``routes``: when given, only the routes whose written form starts with
    one of these prefixes are audited (the others are skipped). ``progress(done, total,
    route)`` is called before each route."""
    started = time.monotonic()
    deadline = started + max_seconds
    with ExitStack() as stack:
        if urlconf is not None:
            stack.enter_context(override_settings(ROOT_URLCONF=urlconf))
        stack.enter_context(override_settings(EMAIL_BACKEND=_LOCMEM_EMAIL))
        stack.enter_context(_kept_outbox())
        stack.enter_context(_watching_drf())
        stack.enter_context(translation.override(translation.get_language()))
        stack.enter_context(silenced())
        principals = _Principals()
        stack.callback(principals.forget_cached_tokens)
        stack.enter_context(_rolled_back())
        run = _Run(host or _default_host(), dict(objects or {}), deadline, principals)
        run.all(tuple(routes), progress)
    return run.report(time.monotonic() - started)


_LOCMEM_EMAIL = "django.core.mail.backends.locmem.EmailBackend"


@contextmanager
def _kept_outbox() -> Iterator[None]:
    had = hasattr(mail, "outbox")
    saved = list(getattr(mail, "outbox", []))
    try:
        yield
    finally:
        if had:
            mail.outbox = saved
        elif hasattr(mail, "outbox"):
            del mail.outbox


@contextmanager
def _rolled_back() -> Iterator[None]:
    """One atomic block per database, each rolled back on the way out (nested: a savepoint
    rolled back)."""
    with ExitStack() as stack:
        for alias in connections:
            stack.enter_context(transaction.atomic(using=alias))
        try:
            yield
        finally:
            for alias in connections:
                transaction.set_rollback(True, using=alias)


def _default_host() -> str:
    for entry in getattr(settings, "ALLOWED_HOSTS", None) or ():
        host = str(entry).lstrip(".")
        if host and "*" not in host:
            return host
    return "localhost"


# -- seeing views run -----------------------------------------------------------------------


class _Watch:
    """What ran during one request: plain callbacks, DRF view classes past ``initial``."""

    def __init__(self) -> None:
        self.callbacks: list[Any] = []
        self.drf: list[type] = []


_watching: contextvars.ContextVar[_Watch | None] = contextvars.ContextVar(
    "authstatus_audit_watch", default=None
)
"""The watch of the audit's request in flight: a context variable, so requests other threads
serve meanwhile (through the same patched ``APIView.initial``) are not counted."""


@contextmanager
def _watching_drf() -> Iterator[None]:
    """``APIView.initial`` wrapped for the audit: returning without raising means DRF calls
    the handler next. Restored on the way out, whatever happens."""
    from rest_framework.views import APIView

    original = APIView.__dict__["initial"]

    def initial(self: Any, request: Any, *args: Any, **kwargs: Any) -> None:
        original(self, request, *args, **kwargs)
        watch = _watching.get()
        if watch is not None:
            watch.drf.append(type(self))

    APIView.initial = initial  # type: ignore[method-assign]
    try:
        yield
    finally:
        APIView.initial = original  # type: ignore[method-assign]


class _Handler(ClientHandler):
    """Django's test handler, noting each view callback it calls."""

    def make_view_atomic(self, view: Any) -> Any:
        wrapped = super().make_view_atomic(view)
        if iscoroutinefunction(wrapped):

            async def async_noted(*args: Any, **kwargs: Any) -> Any:
                _note(view)
                return await wrapped(*args, **kwargs)

            return markcoroutinefunction(async_noted)

        def noted(*args: Any, **kwargs: Any) -> Any:
            _note(view)
            return wrapped(*args, **kwargs)

        return noted


def _note(view: Any) -> None:
    watch = _watching.get()
    if watch is not None:
        watch.callbacks.append(view)


class _Client(Client):
    def __init__(self, host: str) -> None:
        super().__init__(raise_request_exception=False, HTTP_HOST=host, REMOTE_ADDR=REMOTE_ADDR)
        self.handler = _Handler(enforce_csrf_checks=False)


# -- credentials ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Needs:
    """What the allowed credentials of a policy must carry."""

    scopes: frozenset[str]
    groups: frozenset[str]
    permissions: frozenset[str]

    @classmethod
    def of(cls, policy: Policy) -> _Needs:
        return cls(policy.required_scopes, policy.required_groups, policy.required_permissions)


class _Transport(enum.Enum):
    BEARER = "bearer"
    SESSION = "session"
    BASIC = "basic"


@dataclass
class _Sent:
    """What one request carries: headers, and the user logged in by its session cookie."""

    headers: dict[str, str] = field(default_factory=dict)
    session_user: Any = None


class _Principals:
    """Users, tokens and the application the audit needs, created on first use inside the
    audit's transaction."""

    def __init__(self) -> None:
        self._tag = secrets.token_hex(4)
        self._users: dict[Any, Any] = {}
        self._tokens: dict[tuple[Any, frozenset[str]], str] = {}
        self._application: Any = None
        self._passwords: dict[Any, str] = {}
        self._expired: str | None = None
        self.invalid_token = f"authstatus-audit-unknown-{secrets.token_hex(16)}"

    def user(self, key: Any, needs: _Needs | None = None) -> Any:
        user = self._users.get(key)
        if user is None:
            model = get_user_model()
            name = f"authstatus-audit-{self._tag}-{len(self._users)}"
            field_ = model._meta.get_field(model.USERNAME_FIELD)
            if field_.get_internal_type() == "EmailField":
                name += "@authstatus-audit.invalid"
            user = model(**{model.USERNAME_FIELD: name})
            user.set_unusable_password()
            user.save()
            if needs is not None:
                for group in sorted(needs.groups):
                    user.groups.add(Group.objects.get_or_create(name=group)[0])
                for permission in _permissions(needs.permissions):
                    user.user_permissions.add(permission)
                user = model._default_manager.get(pk=user.pk)  # no cached permissions
            self._users[key] = user
        return user

    def application(self) -> Any:
        if self._application is None:
            self._application = dot_audit.create_application(f"authstatus-audit-{self._tag}")
        return self._application

    def token(self, user: Any, scopes: frozenset[str]) -> str:
        key = (user.pk, scopes)
        found = self._tokens.get(key)
        if found is None:
            found = f"authstatus-audit-{secrets.token_hex(16)}"
            dot_audit.create_token(user, self.application(), found, scopes, timedelta(hours=1))
            self._tokens[key] = found
        return found

    def expired_token(self) -> str:
        if self._expired is None:
            self._expired = f"authstatus-audit-{secrets.token_hex(16)}"
            dot_audit.create_token(
                self.user("expired"),
                self.application(),
                self._expired,
                frozenset(),
                -timedelta(hours=1),
            )
        return self._expired

    def forget_cached_tokens(self) -> None:
        """Drop what the optional cache of valid tokens (``BEARER_CACHE_SECONDS``) kept of
        the audit's tokens: their rows are rolled back."""
        if not tokencache.enabled():
            return
        tokens = [*self._tokens.values(), *([self._expired] if self._expired else [])]
        try:
            cache = caches[app_settings.BEARER_CACHE_ALIAS]
            cache.delete_many(
                [
                    tokencache.KEY_PREFIX + hashlib.sha256(t.encode("ascii")).hexdigest()
                    for t in tokens
                ]
            )
        except Exception:  # the cache is down: its entries expire on their own
            logger.warning("authstatus audit: could not clear the token cache", exc_info=True)

    def password(self, user: Any) -> str:
        found = self._passwords.get(user.pk)
        if found is None:
            found = secrets.token_urlsafe(16)
            user.set_password(found)
            user.save(update_fields=["password"])
            self._passwords[user.pk] = found
        return found


def _permissions(names: frozenset[str]) -> list[Permission]:
    out = []
    for name in sorted(names):
        app_label, _, codename = name.partition(".")
        found = Permission.objects.filter(
            content_type__app_label=app_label, codename=codename
        ).first()
        if found is not None:
            out.append(found)
    return out


# -- routes ---------------------------------------------------------------------------------


@dataclass
class _Route:
    endpoint: Endpoint
    decorations: Decorations | None
    authenticators: list[Any]
    """Neutral :class:`Authenticator` instances, or DRF authentication class instances
    (third-party ones) for DRF views."""
    transport: _Transport | None
    path: str = ""
    """The canonical URL with sample values."""
    variants: list[str] = field(default_factory=list)
    object_value: str | None = None
    missing_value: str | None = None
    object_param: str | None = None
    object_model: Any = None
    object_from_option: bool = False
    browsable: bool = False
    """Whether the view renders ``?format=api`` (DRF's browsable API is among its renderers)."""
    suffix: str = "json"
    """The format a variant URL's suffix names: one the view renders."""


def _params(written: str) -> list[str]:
    return [m.group(1) for m in _PARAM.finditer(written)]


def _fill(
    written: str,
    values: Mapping[str, str],
    decorations: Decorations | None,
    suffix: str = "json",
) -> str:
    """A URL of the route: parameters replaced by ``values`` (``"1"`` by default), a
    format suffix by ``suffix``, ``[/]`` dropped, ``<language>/`` by the active prefix."""
    text = written
    if "/<language>/" in text:
        prefix = ""
        if decorations is not None and decorations.locale is not None:
            prefix = decorations.locale.language_prefix
        text = text.replace("/<language>/", "/" + prefix, 1)
    fmt = decorations.format_kwarg if decorations is not None else None
    text = text.replace("[/]", "")

    def value(match: re.Match[str]) -> str:
        name = match.group(1)
        if fmt is not None and name == fmt:
            return suffix
        return values.get(name, "1")

    return _PARAM.sub(value, text)


def _drf_authenticators(endpoint: Endpoint) -> list[Any]:
    initkwargs = getattr(endpoint.callback, "initkwargs", None) or {}
    classes = initkwargs.get("authentication_classes")
    if classes is None:
        classes = getattr(endpoint.view_class, "authentication_classes", None) or ()
    out: list[Any] = []
    for cls in classes:
        instance = cls()
        out.append(
            instance.authenticator if isinstance(instance, AuthStatusAuthentication) else instance
        )
    return out


def _transport(authenticators: Sequence[Any]) -> _Transport | None:
    for kind, transport in (
        (BearerAuthenticator, _Transport.BEARER),
        (SessionAuthenticator, _Transport.SESSION),
        (BasicAuthenticator, _Transport.BASIC),
    ):
        if any(isinstance(a, kind) for a in authenticators):
            return transport
    return None


def _resolves_to(path: str, endpoint: Endpoint) -> bool:
    try:
        match = resolve(path.partition("?")[0])
    except Resolver404:
        return False
    return match.func is endpoint.callback


# -- the run --------------------------------------------------------------------------------


class _Deadline(Exception):
    """The time bound is reached."""


class _Run:
    def __init__(
        self, host: str, objects: dict[str, str], deadline: float, principals: _Principals
    ) -> None:
        self.host = host
        self.objects = objects
        self.deadline = deadline
        self.client = _Client(host)
        self.factory = RequestFactory(HTTP_HOST=host, REMOTE_ADDR=REMOTE_ADDR)
        self.principals = principals
        self.findings: list[Finding] = []
        self.skipped: list[Skipped] = []
        self.unchecked: list[Unchecked] = []
        self.requests = 0
        self.routes = 0
        self.audited = 0
        self.complete = True
        self._sessions: dict[Any, Any] = {}

    def report(self, seconds: float) -> AuditReport:
        return AuditReport(
            routes=self.routes,
            audited=self.audited,
            requests=self.requests,
            findings=tuple(self.findings),
            skipped=tuple(self.skipped),
            unchecked=tuple(self.unchecked),
            seconds=seconds,
            complete=self.complete,
        )

    # -- walking routes

    def all(self, selected: tuple[str, ...], progress: Progress | None) -> None:
        enforcers: dict[int, str] = {}
        for entry in route_entries(include_exempt=True):
            enforcers.setdefault(id(entry.endpoint), entry.enforced_by)
        endpoints = route_map().endpoints
        unknown = sorted(set(self.objects) - {e.written for e in endpoints})
        if unknown:
            raise ValueError(
                f"no route is written {', '.join(unknown)} (write it as authstatus_routes does)"
            )
        self.routes = len(endpoints)
        todo: list[Endpoint] = []
        for endpoint in endpoints:
            enforced_by = enforcers.get(id(endpoint), "unknown")
            if selected and not endpoint.written.startswith(selected):
                self.skipped.append(Skipped(endpoint.written, "not selected (--route)"))
            elif enforced_by == "exempt":
                self.skipped.append(Skipped(endpoint.written, "exempt"))
            elif enforced_by.startswith("permission_classes"):
                self.skipped.append(Skipped(endpoint.written, enforced_by))
            elif enforced_by == "unknown" or endpoint.sample is None:
                self.unchecked.append(
                    Unchecked(endpoint.written, "route", "its pattern cannot be sampled")
                )
            else:
                todo.append(endpoint)
        for index, endpoint in enumerate(todo):
            if time.monotonic() > self.deadline:
                self._stopped(todo[index:])
                return
            if progress is not None:
                progress(index, len(todo), endpoint.written)
            try:
                self.route(endpoint)
            except _Deadline:
                self._stopped(todo[index:])
                return
            self.audited += 1
        if progress is not None:
            progress(len(todo), len(todo), "")

    def _stopped(self, endpoints: Sequence[Endpoint]) -> None:
        self.complete = False
        for endpoint in endpoints:
            self.unchecked.append(Unchecked(endpoint.written, "route", "time bound reached"))

    def route(self, endpoint: Endpoint) -> None:
        decorations = route_map().decorations.get(endpoint.callback)
        authenticators = (
            _drf_authenticators(endpoint) if endpoint.is_drf else middleware_authenticators()
        )
        route = _Route(endpoint, decorations, list(authenticators), _transport(authenticators))
        if endpoint.is_drf:
            formats = [
                str(getattr(r, "format", ""))
                for r in getattr(endpoint.view_class, "renderer_classes", ())
            ]
            route.browsable = "api" in formats
            route.suffix = "json" if "json" in formats or not formats else formats[0]
        self._locate_object(route)
        values: dict[str, str] = {}
        if route.object_param is not None and route.object_value is not None:
            values[route.object_param] = route.object_value
        route.path = _fill(endpoint.written, values, decorations)
        if not _resolves_to(route.path, endpoint):
            self.unchecked.append(
                Unchecked(endpoint.written, route.path, "this sample URL reaches another view")
            )
            return
        for variant in endpoint.variants:
            path = _fill(variant, values, decorations, route.suffix)
            if path != route.path and _resolves_to(path, endpoint):
                route.variants.append(path)
        if route.transport is None:
            self.unchecked.append(
                Unchecked(
                    endpoint.written,
                    "valid credentials",
                    "the route accepts no scheme the audit can present "
                    "(Bearer, the session, Basic)",
                )
            )
        served = list(endpoint.methods)
        unserved = [m for m in METHODS if m not in served][:1]
        methods = [*served, *unserved, *(["HEAD"] if "GET" in served else []), "OPTIONS"]
        for method in methods:
            for kind in (
                Kind.ANONYMOUS,
                Kind.INVALID_TOKEN,
                Kind.EXPIRED_TOKEN,
                Kind.LACKING,
                Kind.ALLOWED,
            ):
                self.probe(route, method, route.path, kind, Variant.PLAIN)
                if method in served:
                    self.probe(route, method, route.path, kind, Variant.HTML)
                    if route.browsable:
                        url = route.path + "?format=api"
                        self.probe(route, method, url, kind, Variant.BROWSABLE)
                    for path in route.variants:
                        self.probe(route, method, path, kind, Variant.SUFFIX)
        for method in served:
            self.preflight(route, method)
        self.compare_objects(route, served)

    def _locate_object(self, route: _Route) -> None:
        """The existing object of an object route: ``--object``, else the view's model's
        first row (by its lookup field)."""
        endpoint = route.endpoint
        params = _params(endpoint.written)
        given = self.objects.get(endpoint.written)
        view_class = endpoint.view_class
        lookup_field = getattr(view_class, "lookup_field", None) if endpoint.is_drf else None
        lookup_kwarg = (
            (getattr(view_class, "lookup_url_kwarg", None) or lookup_field)
            if endpoint.is_drf
            else None
        )
        if given is not None:
            param = lookup_kwarg if lookup_kwarg in params else (params[-1] if params else None)
            if param is None:
                return
            route.object_param, route.object_value = param, given
            route.object_from_option = True
            route.missing_value = (
                str(int(given) + MISSING_OFFSET)
                if given.isdigit()
                else f"authstatus-audit-missing-{secrets.token_hex(4)}"
            )
            return
        if not endpoint.is_drf:
            # The view's model is unknown: only --object names the object (and its id's
            # parameter is the last one).
            route.object_param = params[-1] if params else None
            return
        if lookup_kwarg is None or lookup_kwarg not in params:
            return
        queryset = getattr(view_class, "queryset", None)
        model = getattr(queryset, "model", None)
        if model is None:
            serializer = getattr(view_class, "serializer_class", None)
            model = getattr(getattr(serializer, "Meta", None), "model", None)
        if model is None:
            return
        route.object_param, route.object_model = lookup_kwarg, model
        field_name = "pk" if lookup_field in (None, "pk") else str(lookup_field)
        values = model._default_manager.order_by(field_name).values_list(field_name, flat=True)
        first = values.first()
        if first is None:
            return
        route.object_value = str(first)
        if isinstance(first, int):
            route.missing_value = str(values.last() + MISSING_OFFSET)
        else:
            route.missing_value = f"authstatus-audit-missing-{secrets.token_hex(4)}"

    # -- credentials

    def _sent(self, route: _Route, kind: Kind, policy: Policy) -> _Sent | None:
        """What a request of ``kind`` carries on ``route``; ``None``: the kind does not apply
        (nothing to lack, no scheme to present)."""
        if kind is Kind.ANONYMOUS:
            return _Sent()
        if kind is Kind.INVALID_TOKEN:
            return _Sent({"HTTP_AUTHORIZATION": f"Bearer {self.principals.invalid_token}"})
        if kind is Kind.EXPIRED_TOKEN:
            return _Sent({"HTTP_AUTHORIZATION": f"Bearer {self.principals.expired_token()}"})
        transport = route.transport
        if transport is None:
            return None
        needs = _Needs.of(policy)
        if kind is Kind.LACKING:
            has_more = needs.groups or needs.permissions
            if transport is _Transport.BEARER:
                has_more = has_more or needs.scopes
            if not has_more:
                return None
            user = self.principals.user("lacking")
            needs = _Needs(frozenset(), frozenset(), frozenset())
        else:
            user = self.principals.user(("allowed", needs.groups, needs.permissions), needs)
        if transport is _Transport.BEARER:
            token = self.principals.token(user, needs.scopes)
            return _Sent({"HTTP_AUTHORIZATION": f"Bearer {token}"})
        if transport is _Transport.BASIC:
            password = self.principals.password(user)
            raw = f"{user.get_username()}:{password}".encode()
            return _Sent({"HTTP_AUTHORIZATION": "Basic " + base64.b64encode(raw).decode("ascii")})
        return _Sent(session_user=user)

    def _session_cookie(self, user: Any) -> Any:
        cookie = self._sessions.get(user.pk)
        if cookie is None:
            self.client.cookies.clear()
            self.client.force_login(user)
            cookie = self.client.cookies[settings.SESSION_COOKIE_NAME]
            self._sessions[user.pk] = cookie
        return cookie

    # -- requests

    def send(
        self, method: str, url: str, sent: _Sent, extra: Mapping[str, str] | None = None
    ) -> tuple[HttpResponseBase, _Watch]:
        if time.monotonic() > self.deadline:
            raise _Deadline
        self.client.cookies.clear()
        if sent.session_user is not None:
            cookie = self._session_cookie(sent.session_user)
            self.client.cookies.clear()
            self.client.cookies[settings.SESSION_COOKIE_NAME] = cookie.value
        headers = {**sent.headers, **(extra or {})}
        data: Any = ""
        content_type = "application/octet-stream"
        if method in _UNSAFE_WITH_BODY:
            data, content_type = "{}", "application/json"
        self.requests += 1
        ran = _Watch()
        token = _watching.set(ran)
        response: HttpResponseBase
        try:
            with _rolled_back():  # every request meets the same data
                response = self.client.generic(
                    method,
                    url,
                    data=data,
                    content_type=content_type,
                    **headers,  # type: ignore[arg-type]
                )
        except DatabaseError as exc:
            response = HttpResponseBase(status=500, reason=f"database error: {exc}")
        finally:
            _watching.reset(token)
        self.client.cookies.clear()
        return response, ran

    def _ran(self, route: _Route, watch: _Watch) -> bool:
        endpoint = route.endpoint
        if endpoint.is_drf:
            view_class = endpoint.view_class
            return view_class is not None and any(issubclass(c, view_class) for c in watch.drf)
        return any(c is endpoint.callback for c in watch.callbacks)

    def expected(
        self, route: _Route, method: str, sent: _Sent, policy: Policy
    ) -> tuple[Decision, Credentials]:
        """The table's answer for ``sent`` under ``policy``: the credentials as the route's
        authenticators report them, decided by :func:`decide`."""
        request = self.factory.generic(
            method,
            route.path,
            **sent.headers,  # type: ignore[arg-type]
        )
        request.user = sent.session_user or AnonymousUser()
        request.session = (
            self._session_store(sent.session_user) if sent.session_user is not None else {}
        )
        results = [self._authenticate(a, request) for a in route.authenticators]
        result = combine(results)
        principal = (
            UserPrincipal(result.user)
            if result.credentials.state is CredentialState.VALID
            else None
        )
        decision = decide(
            result.credentials,
            policy,
            principal,
            self._challenges(route, request),
            now=time.time(),
        )
        return decision, result.credentials

    def _session_store(self, user: Any) -> Any:
        from importlib import import_module

        engine = import_module(settings.SESSION_ENGINE)
        return engine.SessionStore(self._session_cookie(user).value)

    @staticmethod
    def _authenticate(authenticator: Any, request: Any) -> Result:
        if isinstance(authenticator, Authenticator):
            return authenticator.authenticate(request)
        from rest_framework.exceptions import AuthenticationFailed
        from rest_framework.request import Request

        drf_request = Request(request)
        scheme = _foreign_scheme(authenticator, drf_request)
        try:
            found = authenticator.authenticate(drf_request)
        except AuthenticationFailed:
            return Result(Credentials.invalid(scheme, Failure.REJECTED))
        except Exception:  # a broken third-party class: never valid
            return Result(Credentials.invalid(scheme, Failure.REJECTED))
        if found is None:
            return Result.absent()
        credentials = Credentials.valid(scheme, first_party=is_first_party(type(authenticator)))
        return Result(credentials, user=found[0], auth=found[1])

    @staticmethod
    def _challenges(route: _Route, request: Any) -> tuple[Challenge, ...]:
        seen: set[str] = set()
        out: list[Challenge] = []
        for authenticator in route.authenticators:
            if isinstance(authenticator, Authenticator):
                found = authenticator.challenges(request)
            else:
                from rest_framework.request import Request

                header = authenticator.authenticate_header(Request(request))
                try:
                    found = parse_challenges(header) if header else ()
                except ChallengeSyntaxError:
                    found = ()
            for challenge in found:
                if challenge.scheme.lower() not in seen:
                    seen.add(challenge.scheme.lower())
                    out.append(challenge)
        return tuple(out)

    def policy(self, route: _Route, method: str) -> Policy:
        """The policy in force on the route's *canonical* URL for ``method``."""
        match = resolve(route.path)
        return policy_for(method, route.path, match, match.func)

    # -- checks

    def probe(self, route: _Route, method: str, url: str, kind: Kind, variant: Variant) -> None:
        policy = self.policy(route, method)
        sent = self._sent(route, kind, policy)
        if sent is None:
            return
        extra = {"HTTP_ACCEPT": "text/html"} if variant is Variant.HTML else {}
        decision, _ = self.expected(route, method, sent, policy)
        response, watch = self.send(method, url, sent, extra)
        probe = Probe(route.endpoint.written, method, url, kind, variant)
        status = response.status_code
        ran = self._ran(route, watch)
        problems: list[str] = []
        if status >= 500:
            problems.append(f"answered {status}")
        elif decision.allowed:
            if status in (401, 403) and not _object_level(policy, response):
                problems.append(
                    f"refused with {status}{_challenge_note(response)} where the table allows "
                    f"(policy: {_describe(policy)})"
                )
        else:
            if ran:
                problems.append(
                    f"the view ran on a request the table refuses with {decision.status} "
                    f"(answered {status})"
                )
            if not _status_matches(decision, status, variant, response):
                problems.append(
                    f"answered {status}{_challenge_note(response)}, the table demands "
                    f"{decision.status}{_challenges_note(decision.challenges)} "
                    f"({decision.outcome.value}; policy: {_describe(policy)})"
                )
            elif status == decision.status:
                problem = _challenge_problem(decision, response, variant)
                if problem:
                    problems.append(problem)
        for problem in problems:
            self.findings.append(Finding(probe.route, probe.describe(), problem))

    def preflight(self, route: _Route, method: str) -> None:
        policy = self.policy(route, "OPTIONS")
        sent = _Sent()
        decision, _ = self.expected(route, "OPTIONS", sent, policy)
        extra = {"HTTP_ORIGIN": ORIGIN, "HTTP_ACCESS_CONTROL_REQUEST_METHOD": method}
        response, watch = self.send("OPTIONS", route.path, sent, extra)
        probe = Probe(route.endpoint.written, "OPTIONS", route.path, Kind.ANONYMOUS)
        request = f"OPTIONS {route.path} ({Variant.PREFLIGHT.value} for {method})"
        status = response.status_code
        if status >= 500 or (status >= 400 and not (status == 404 and policy.conceal)):
            self.findings.append(
                Finding(
                    probe.route,
                    request,
                    f"answered {status}: a preflight is answered below 400, or with a "
                    "concealed resource's 404",
                )
            )
        if self._ran(route, watch) and not decision.allowed:
            self.findings.append(
                Finding(
                    probe.route,
                    request,
                    f"the view ran on a preflight the policy refuses ({decision.status} "
                    f"{decision.outcome.value} for OPTIONS; policy: {_describe(policy)})",
                )
            )

    def compare_objects(self, route: _Route, served: Sequence[str]) -> None:
        """An existing object and a missing id must be answered alike wherever the policy
        conceals the route: as anonymous, and as another user who may not see the object."""
        if route.object_param is None:
            return
        endpoint = route.endpoint
        if route.object_value is None or route.missing_value is None:
            if any(self.policy(route, m).conceal for m in served):
                where = (
                    "no row of the view's model in the database"
                    if endpoint.is_drf
                    else "the view's model is unknown"
                )
                self.unchecked.append(
                    Unchecked(
                        endpoint.written,
                        "existing object vs missing id",
                        f"no object to compare with ({where}; pass --object "
                        f"'{endpoint.written}=ID')",
                    )
                )
            return
        param = route.object_param
        existing = _fill(endpoint.written, {param: route.object_value}, route.decorations)
        missing = _fill(endpoint.written, {param: route.missing_value}, route.decorations)
        pairs: list[tuple[str, str, Variant, dict[str, str]]] = [
            (existing, missing, Variant.EXISTING_OBJECT, {})
        ]
        pairs.append((existing, missing, Variant.HTML, {"HTTP_ACCEPT": "text/html"}))
        for variant in endpoint.variants:
            a = _fill(variant, {param: route.object_value}, route.decorations, route.suffix)
            b = _fill(variant, {param: route.missing_value}, route.decorations, route.suffix)
            if a != existing and _resolves_to(a, endpoint):
                pairs.append((a, b, Variant.EXISTING_OBJECT, {}))
        obj = self._object(route)
        methods = [*served, *(["HEAD"] if "GET" in served else [])]
        for method in methods:
            policy = self.policy(route, method)
            if not policy.conceal:
                continue
            who: list[tuple[Kind, _Sent]] = []
            if policy.access is not Access.ANONYMOUS:
                who.append((Kind.ANONYMOUS, _Sent()))
            other = self._sent(route, Kind.ALLOWED, policy)
            if other is not None and self._hidden_from(route, policy, other, obj):
                who.append((Kind.OTHER_USER, other))
            for kind, sent in who:
                for first, second, variant, extra in pairs:
                    shown, _ = self.send(method, first, sent, extra)
                    missed, _ = self.send(method, second, sent, extra)
                    difference = _difference(
                        shown, missed, (first, route.object_value), (second, route.missing_value)
                    )
                    if difference:
                        probe = Probe(endpoint.written, method, first, kind, variant)
                        self.findings.append(
                            Finding(
                                endpoint.written,
                                probe.describe(),
                                f"answered unlike the missing id ({method} {second}): {difference}",
                            )
                        )

    def _object(self, route: _Route) -> Any:
        model = route.object_model
        if model is None:
            return None
        view_class = route.endpoint.view_class
        field_name = getattr(view_class, "lookup_field", None) or "pk"
        return model._default_manager.filter(**{field_name: route.object_value}).first()

    def _hidden_from(self, route: _Route, policy: Policy, sent: _Sent, obj: Any) -> bool:
        """Whether the object is not the other user's to see: the policy's object
        requirements refuse them, or ``--object`` named it (the caller says so)."""
        if route.object_from_option:
            return True
        if obj is None or not policy.requirements:
            return False
        user = sent.session_user
        if user is None:
            user = self.principals.user(
                ("allowed", policy.required_groups, policy.required_permissions)
            )
        return not UserPrincipal(user, obj).satisfies(policy.requirements)


def _foreign_scheme(authenticator: Any, request: Any) -> str:
    try:
        header = authenticator.authenticate_header(request)
        challenges = parse_challenges(header) if header else ()
    except Exception:  # a header that cannot be read: name the class
        challenges = ()
    return challenges[0].scheme if challenges else type(authenticator).__name__


def _object_level(policy: Policy, response: HttpResponseBase) -> bool:
    """An allowed request refused by the object-level requirements (the view looked the
    object up and the policy's requirements refused it): ``403`` without a challenge."""
    return (
        bool(policy.requirements)
        and response.status_code == 403
        and not response.has_header("WWW-Authenticate")
    )


def _status_matches(
    decision: Decision, status: int, variant: Variant, response: HttpResponseBase
) -> bool:
    if status == decision.status:
        return True
    # A browser asked for a page: a 401 may be a redirect to the login page.
    return (
        variant is Variant.HTML
        and decision.status == 401
        and app_settings.REDIRECT_BROWSERS_TO_LOGIN
        and status == 302
    )


def _hidden_schemes(decision: Decision, variant: Variant) -> frozenset[str]:
    """Schemes a browser navigation's ``401`` leaves out (``BROWSER_HIDDEN_SCHEMES``)."""
    if variant is not Variant.HTML or decision.status != 401:
        return frozenset()
    hidden = app_settings.BROWSER_HIDDEN_SCHEMES
    if all(c.scheme.lower() in hidden for c in decision.challenges):
        return frozenset()  # at least one challenge stays
    return frozenset(hidden)


def _challenge_problem(decision: Decision, response: HttpResponseBase, variant: Variant) -> str:
    """What is wrong with the response's challenges, or ``""``: the schemes in order, and
    each one's ``error`` and ``scope``."""
    hidden = _hidden_schemes(decision, variant)
    expected = [c for c in decision.challenges if c.scheme.lower() not in hidden]
    header = response.get("WWW-Authenticate") if response.has_header("WWW-Authenticate") else None
    if header is None:
        return (
            f"no WWW-Authenticate, the table demands {_challenges_note(tuple(expected))}"
            if expected
            else ""
        )
    try:
        actual = list(parse_challenges(header))
    except ChallengeSyntaxError as exc:
        return f"WWW-Authenticate cannot be parsed ({exc}): {header}"
    actual = [c for c in actual if c.scheme.lower() not in hidden]
    if not expected:
        return f"a challenge ({header}) where the table demands none"
    if [c.scheme.lower() for c in actual] != [c.scheme.lower() for c in expected]:
        return (
            f"challenges {', '.join(c.scheme for c in actual)}, the table demands "
            f"{', '.join(c.scheme for c in expected)}"
        )
    for want, got in zip(expected, actual, strict=True):
        for name in ("error", "scope"):
            if want.param(name) != got.param(name):
                return (
                    f"{got.scheme} {name}={got.param(name)!r}, the table demands "
                    f"{name}={want.param(name)!r}"
                )
    return ""


def _challenge_note(response: HttpResponseBase) -> str:
    if not response.has_header("WWW-Authenticate"):
        return ""
    return f" (WWW-Authenticate: {response['WWW-Authenticate']})"


def _challenges_note(challenges: Sequence[Challenge]) -> str:
    if not challenges:
        return " without challenge"
    parts = []
    for challenge in challenges:
        error = challenge.param("error")
        parts.append(f"{challenge.scheme} error={error}" if error else challenge.scheme)
    return " with " + ", ".join(parts)


def _describe(policy: Policy) -> str:
    """``authenticated concealed scopes=read``: the parts of a policy a finding turns on."""
    parts = [policy.access.value]
    if policy.conceal:
        parts.append("concealed")
    for name, values in (
        ("scopes", policy.required_scopes),
        ("groups", policy.required_groups),
        ("permissions", policy.required_permissions),
    ):
        if values:
            parts.append(f"{name}={','.join(sorted(values))}")
    if policy.requirements:
        parts.append("requirements=" + ",".join(policy.requirements))
    if policy.max_age is not None:
        parts.append(f"max_age={policy.max_age}")
    return " ".join(parts)


def _difference(
    a: HttpResponseBase,
    b: HttpResponseBase,
    first: tuple[str, str | None],
    second: tuple[str, str | None],
) -> str:
    """How two responses differ once each one's own path (and id) are written alike:
    status, headers (those that differ between any two responses left out), cookies set,
    body. A header or body is alike when it is with the paths written alike, or with the
    paths and every standalone occurrence of the ids (an id as short as ``1`` also occurs
    in unrelated text, hence both ways)."""
    if a.status_code != b.status_code:
        return f"status {a.status_code} vs {b.status_code}"
    names = sorted({n.lower() for n, _ in a.items()} | {n.lower() for n, _ in b.items()})
    for name in names:
        if name in _IGNORED_HEADERS:
            continue
        value_a = a.get(name) if a.has_header(name) else None
        value_b = b.get(name) if b.has_header(name) else None
        if value_a is None or value_b is None:
            if value_a is not value_b:
                return f"header {name}: {value_a!r} vs {value_b!r}"
            continue
        if not _alike(value_a, value_b, first, second):
            return f"header {name}: {value_a!r} vs {value_b!r}"
    cookies_a = sorted(getattr(a, "cookies", {}) or {})
    cookies_b = sorted(getattr(b, "cookies", {}) or {})
    if cookies_a != cookies_b:
        return f"cookies set: {cookies_a} vs {cookies_b}"
    body_a, body_b = _content(a), _content(b)
    if not _alike(body_a, body_b, first, second):
        return "body " + _first_difference(
            _normalised(body_a, (first[0], None)), _normalised(body_b, (second[0], None))
        )
    return ""


def _alike(a: str, b: str, first: tuple[str, str | None], second: tuple[str, str | None]) -> bool:
    if _normalised(a, (first[0], None)) == _normalised(b, (second[0], None)):
        return True
    return _normalised(a, first) == _normalised(b, second)


def _first_difference(a: str, b: str, context: int = 50) -> str:
    """The two texts around where they first differ."""
    at = next(
        (i for i, (x, y) in enumerate(zip(a, b, strict=False)) if x != y), min(len(a), len(b))
    )
    start = max(0, at - context)
    return (
        f"at character {at}: {_excerpt(a[start : at + context])!r} vs "
        f"{_excerpt(b[start : at + context])!r}"
    )


def _content(response: HttpResponseBase) -> str:
    if getattr(response, "streaming", False):
        return b"".join(response.streaming_content).decode("utf-8", "replace")  # type: ignore[attr-defined]
    return bytes(getattr(response, "content", b"")).decode("utf-8", "replace")


_CSRF_TOKEN = re.compile(r"(?<![A-Za-z0-9])[A-Za-z0-9]{64}(?![A-Za-z0-9])")
"""A masked CSRF token (Django masks it anew for every response that shows one)."""


def _normalised(text: str, own: tuple[str, str | None]) -> str:
    path, ident = own
    text = _CSRF_TOKEN.sub("{csrf}", text.replace(path, "{path}"))
    if ident:
        text = re.sub(rf"(?<![0-9A-Za-z]){re.escape(ident)}(?![0-9A-Za-z])", "{id}", text)
    return text


def _excerpt(text: str, length: int = 120) -> str:
    text = " ".join(text.split())
    return text if len(text) <= length else text[: length - 1] + "…"


def to_json(report: AuditReport) -> str:
    """The report as the JSON document ``--format json`` prints."""
    return json.dumps(report.as_dict(), indent=2)
