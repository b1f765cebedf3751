"""One request, one decision: the glue both adapters (DRF and middleware) share.

:func:`evaluate` combines the authenticators' results, adapts
the Django user to the core's :class:`~authstatus.core.decision.Principal`, asks
:func:`~authstatus.core.decision.decide`, and sends ``access_denied`` for refusals.
"""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any

from asgiref.sync import sync_to_async
from django.core.exceptions import SuspiciousOperation
from django.utils.module_loading import import_string

from authstatus.conf import app_settings, on_reload
from authstatus.core.challenges import Challenge
from authstatus.core.decision import CredentialState, Decision, Policy, decide
from authstatus.enforcement.authenticators import Authenticator, Result, combine
from authstatus.policies.requirements import requirement
from authstatus.signals import access_denied

if TYPE_CHECKING:
    from django.http import HttpRequest

__all__ = [
    "UserPrincipal",
    "aevaluate",
    "evaluate",
    "is_preflight",
    "log_concealed_failure",
    "notify",
    "silenced",
]

logger = logging.getLogger("authstatus")

_VALID = CredentialState.VALID  # read per request: a module constant costs less (Python 3.11)


class UserPrincipal:
    """A Django user as the core sees it. Each check queries only when the policy asks.

    Requirement predicates are called as ``predicate(user, obj)`` with ``obj`` ``None`` at view
    level — the signature of django-rules predicates, so those can be named directly.
    """

    def __init__(self, user: Any, obj: Any = None) -> None:
        self.user = user
        self.obj = obj

    def in_groups(self, groups: frozenset[str]) -> bool:
        if not getattr(self.user, "is_authenticated", False):
            return False
        names = self.user.groups.filter(name__in=groups).values_list("name", flat=True)
        return set(names) >= groups

    def has_permissions(self, permissions: frozenset[str]) -> bool:
        return bool(self.user.has_perms(sorted(permissions)))

    def satisfies(self, requirements: tuple[str, ...]) -> bool:
        return all(requirement(name).check(self.user, self.obj) for name in requirements)


def is_preflight(request: HttpRequest) -> bool:
    """Whether ``request`` is a CORS preflight (Fetch standard, "CORS-preflight request"):
    ``OPTIONS`` with ``Origin`` and ``Access-Control-Request-Method``."""
    meta = request.META
    return (
        request.method == "OPTIONS"
        and "HTTP_ORIGIN" in meta
        and "HTTP_ACCESS_CONTROL_REQUEST_METHOD" in meta
    )


def evaluate(
    request: HttpRequest,
    *,
    results: Sequence[Result],
    challenges: Sequence[Challenge],
    policy: Policy,
    sender: type = object,
    audience: bool = False,
    announce: bool = True,
) -> tuple[Decision, Result]:
    """Decide ``request`` under ``policy`` (the adapter resolved it:
    :mod:`authstatus.policies.resolution`); ``announce=False`` leaves sending ``access_denied`` to
    the caller (which knows the final answer only later).

    A CORS preflight (:func:`is_preflight`) is decided under the policy of the route, never a
    relaxed one: where it is refused, the decision is the core's ``PREFLIGHT`` answer, which the
    adapter renders without the view (:func:`authstatus.enforcement.responses.render_decision`)."""
    result = results[0] if len(results) == 1 else combine(results)
    principal = UserPrincipal(result.user) if result.credentials.state is _VALID else None
    # The clock is read here, not in the core, and only when a policy measures an age.
    now = time.time() if policy.max_age is not None else None
    decision = decide(
        result.credentials,
        policy,
        principal,
        challenges,
        audience=audience,
        now=now,
        preflight=is_preflight(request),
    )
    if announce:
        notify(request, decision, result, sender)
    return decision, result


async def aevaluate(
    request: HttpRequest,
    *,
    results: Sequence[Result],
    challenges: Sequence[Challenge],
    policy: Policy,
    sender: type = object,
) -> tuple[Decision, Result]:
    """:func:`evaluate` for async code. It runs on the event loop, except when valid
    credentials must be checked against groups, permissions or requirement predicates (they
    query the database): then in one thread hop. ``access_denied`` goes out with
    ``Signal.asend``: sync receivers run in a thread, async ones on the loop, none costs
    nothing."""
    if (
        combine(results).credentials.state is CredentialState.VALID
        and policy.has_principal_requirements
    ):
        return await sync_to_async(evaluate)(
            request, results=results, challenges=challenges, policy=policy, sender=sender
        )
    decision, result = evaluate(
        request, results=results, challenges=challenges, policy=policy, announce=False
    )
    if decision.refused and not _silenced.get():
        await access_denied.asend(sender=sender, **_signal_kwargs(request, decision, result))
    return decision, result


def notify(request: HttpRequest, decision: Decision, result: Result, sender: type) -> None:
    """Send ``access_denied`` for a refusal; nothing for an allowed or preflight decision, and
    nothing while :func:`silenced` (explain and audits have no side effects)."""
    if decision.refused and not _silenced.get():
        access_denied.send(sender=sender, **_signal_kwargs(request, decision, result))


_silenced: ContextVar[bool] = ContextVar("authstatus_silenced", default=False)


@contextmanager
def silenced() -> Iterator[None]:
    """Within this block no decision is announced through ``access_denied``: what explains
    or audits a request (``authstatus_explain``, the admin's "try a request",
    ``authstatus_audit``) decides it with the code that serves real requests, and must not
    make a receiver log, count or lock out anyone for a request nobody sent. A context
    variable: it holds for the thread or task that entered it, and its ``sync_to_async``
    hops, never for requests served meanwhile by other threads."""
    token = _silenced.set(True)
    try:
        yield
    finally:
        _silenced.reset(token)


def _signal_kwargs(request: HttpRequest, decision: Decision, result: Result) -> dict[str, Any]:
    """The arguments of every ``access_denied`` signal (docs/reference/signals.md)."""
    return {
        "request": request,
        "decision": decision,
        "credentials": result.credentials,
        "user": result.user,
    }


@functools.cache
def middleware_authenticators() -> list[Authenticator]:
    """Instances of ``MIDDLEWARE_AUTHENTICATORS``, built once per settings."""
    return [import_string(path)() for path in app_settings.MIDDLEWARE_AUTHENTICATORS]


on_reload(middleware_authenticators.cache_clear)


def log_concealed_failure(request: HttpRequest, exc: BaseException) -> None:
    """Log an exception raised while authenticating a request on a concealed resource.

    The client gets the 404 a missing resource gets (anything else would reveal the
    resource), so the log is the only place the failure shows. A ``SuspiciousOperation``
    goes to ``django.security.<class name>``, as Django logs it when it answers 400;
    anything else (a database outage, a failing third-party authenticator) to
    ``authstatus`` at ERROR with the traceback, as Django logs a 500.
    """
    extra = {"status_code": 404, "request": request}
    if isinstance(exc, SuspiciousOperation):
        security = logging.getLogger(f"django.security.{type(exc).__name__}")
        security.error(str(exc), exc_info=exc, extra=extra)
        return
    logger.error(
        "Authentication raised on a concealed resource, answered 404: %s %s",
        request.method,
        request.path,
        exc_info=exc,
        extra=extra,
    )
