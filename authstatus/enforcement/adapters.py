"""What adapters contribute to handling a request, registered when they load.

The middleware, uniform concealment and the responses ask here instead of importing an
adapter, so that imports point down (``contrib/`` imports ``enforcement``, never the
reverse). Each adapter registers what it knows when it is imported; ``AppConfig.ready``
imports the adapters of the installed frameworks:

* a **pre-dispatch refusal** per kind of view (:class:`PreDispatch`, keyed by the
  :class:`~authstatus.policies.routes.ViewKind` name): the middleware answers a concealed
  refusal of a request without credentials before the adapter's view dispatches, as the
  adapter would answer it (DRF's, :mod:`authstatus.contrib.rest_framework.anonymous`);
* the **uniform 404** of a URL no route matches under ``UNIFORM_CONCEALMENT_PATHS``, answered
  through an adapter's view where one is installed (DRF's), so it costs what a concealed route
  of that adapter costs;
* the **bearer challenge** a concealed ``404`` may carry as a hint
  (``CONCEALED_CHALLENGE_PATHS``): the bearer authenticator's;
* the **authorization view** of an OAuth 2.0 server (DOT's), which the middleware marks so the
  grant records when the user authenticated (RFC 9470 step-up);
* the **sender** of ``access_denied`` for plain views (the middleware class).

Contract: registering twice replaces; nothing registered means the behaviour without that
adapter (no pre-dispatch refusal, the plain uniform 404, no hint, no marking, sender
``object``). Lookups are dictionary reads: they run per request.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from django.http import HttpRequest, HttpResponse

    from authstatus.core.challenges import Challenge

__all__ = [
    "AuthorizationView",
    "PreDispatch",
    "authorization_view",
    "bearer_challenge",
    "plain_sender",
    "pre_dispatch",
    "register",
    "uniform_not_found",
]


@dataclass(frozen=True, slots=True)
class PreDispatch:
    """An adapter's refusal before its view dispatches.

    ``applies(view)``: whether the adapter can know the answer for this view (not, say, for a
    view that customises the steps before the permission check); asked once per view.
    ``refuse(request, view)``: the concealed ``404`` for a request without credentials whose
    policy refuses it, else ``None`` (the adapter's view decides).
    """

    applies: Callable[[Any], bool]
    refuse: Callable[[HttpRequest, Any], HttpResponse | None]


@dataclass(frozen=True, slots=True)
class AuthorizationView:
    """An OAuth 2.0 authorization endpoint: ``matches(view)``, and ``mark(request, view)``,
    which remembers the request for the grant (and may answer it: a login form first when
    the request's ``max_age`` asks for a newer login)."""

    matches: Callable[[Any], bool]
    mark: Callable[[HttpRequest, Any], HttpResponse | None]


@dataclass
class _Registry:
    pre_dispatch: dict[str, PreDispatch]
    uniform_not_found: Callable[[HttpRequest], HttpResponse] | None = None
    bearer_challenge: Callable[[HttpRequest], Challenge] | None = None
    authorization_view: AuthorizationView | None = None
    plain_sender: type = object


_registry = _Registry(pre_dispatch={})


def register(
    *,
    pre_dispatch: tuple[str, PreDispatch] | None = None,
    uniform_not_found: Callable[[HttpRequest], HttpResponse] | None = None,
    bearer_challenge: Callable[[HttpRequest], Challenge] | None = None,
    authorization_view: AuthorizationView | None = None,
    plain_sender: type | None = None,
) -> None:
    """Register what an adapter contributes (see the module docstring); each argument given
    replaces what was registered for it."""
    if pre_dispatch is not None:
        kind, value = pre_dispatch
        _registry.pre_dispatch[kind] = value
    if uniform_not_found is not None:
        _registry.uniform_not_found = uniform_not_found
    if bearer_challenge is not None:
        _registry.bearer_challenge = bearer_challenge
    if authorization_view is not None:
        _registry.authorization_view = authorization_view
    if plain_sender is not None:
        _registry.plain_sender = plain_sender


def pre_dispatch(kind: str) -> PreDispatch | None:
    """The pre-dispatch refusal registered for the kind of view named ``kind``."""
    return _registry.pre_dispatch.get(kind)


def uniform_not_found() -> Callable[[HttpRequest], HttpResponse] | None:
    """The adapter's uniform ``404`` of a missing URL, if an adapter registered one."""
    return _registry.uniform_not_found


def bearer_challenge(request: HttpRequest) -> Challenge | None:
    """The base ``Bearer`` challenge for ``request``, if a bearer authenticator registered."""
    build = _registry.bearer_challenge
    return None if build is None else build(request)


def authorization_view() -> AuthorizationView | None:
    """The OAuth 2.0 authorization endpoint an adapter registered, if any."""
    return _registry.authorization_view


def plain_sender() -> type:
    """The ``access_denied`` sender for plain views (the middleware class, once loaded)."""
    return _registry.plain_sender
