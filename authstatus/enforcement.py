"""One request, one decision: the glue both adapters (DRF and middleware) share.

:func:`evaluate` combines the authenticators' results, adapts
the Django user to the core's :class:`~authstatus.core.decision.Principal`, asks
:func:`~authstatus.core.decision.decide`, and sends ``access_denied`` for refusals.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from django.utils.module_loading import import_string

from authstatus.authentication import Authenticator, Result, combine
from authstatus.conf import app_settings, on_reload
from authstatus.core.challenges import Challenge
from authstatus.core.decision import CredentialState, Decision, Policy, decide
from authstatus.requirements import requirement
from authstatus.signals import access_denied

if TYPE_CHECKING:
    from django.http import HttpRequest

__all__ = ["UserPrincipal", "evaluate"]


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
    :mod:`authstatus.resources`); ``announce=False`` leaves sending ``access_denied`` to the
    caller (which knows the final answer only later)."""
    result = combine(results)
    principal = (
        UserPrincipal(result.user) if result.credentials.state is CredentialState.VALID else None
    )
    # The clock is read here, not in the core, and only when a policy measures an age.
    now = time.time() if policy.max_age is not None else None
    decision = decide(result.credentials, policy, principal, challenges, audience=audience, now=now)
    if announce and not decision.allowed:
        notify(request, decision, result, sender)
    return decision, result


def notify(request: HttpRequest, decision: Decision, result: Result, sender: type) -> None:
    access_denied.send(
        sender=sender,
        request=request,
        decision=decision,
        credentials=result.credentials,
        user=result.user,
    )


_middleware_authenticators: list[Authenticator] = []


def middleware_authenticators() -> list[Authenticator]:
    """Instances of ``MIDDLEWARE_AUTHENTICATORS``, built once per settings."""
    if not _middleware_authenticators:
        _middleware_authenticators.extend(
            import_string(path)() for path in app_settings.MIDDLEWARE_AUTHENTICATORS
        )
    return _middleware_authenticators


on_reload(_middleware_authenticators.clear)
