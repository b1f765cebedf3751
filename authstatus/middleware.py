"""``AuthStatusMiddleware``: policies enforced for plain Django views.

Place it after ``AuthenticationMiddleware``. In ``process_view`` it decides every plain
Django view (function or class-based) with the same core, challenges and bodies as DRF views,
using the authenticators in ``MIDDLEWARE_AUTHENTICATORS`` (the session by default). It leaves
alone:

* DRF views — ``PolicyPermission`` enforces those, with the view's own authentication classes;
* views in the ``EXEMPT_NAMESPACES`` (the admin, DOT's endpoints, authstatus's own), the view
  serving ``settings.LOGIN_URL``, and views marked ``@authstatus.policies.declarations.exempt``:
  they do their own access control, and a login page must stay reachable.

A concealed refusal raises ``Http404``, so Django's own 404 handling (``handler404``, which
should be :func:`authstatus.views.page_not_found`) answers it exactly as it answers a URL that
does not exist. Nothing else may tell the two apart:

* every 404 varies on ``Authorization``, ``Cookie`` and ``Accept``, as refusals do;
* ``CsrfViewMiddleware`` refuses an unsafe request in its ``process_view``, which runs before
  this one's: with ``CSRF_FAILURE_VIEW = "authstatus.views.csrf_failure"`` a request that
  would be refused as concealed gets the 404 instead of the CSRF failure page;
* a request that cannot be authenticated at all (a query string too large to read) is a 404
  on a concealed resource;
* :class:`CommonMiddleware` replaces Django's, so ``APPEND_SLASH`` never redirects to a
  concealed resource (a missing one gets no redirect either).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from asgiref.sync import iscoroutinefunction, markcoroutinefunction, sync_to_async
from django.core.exceptions import SuspiciousOperation
from django.http import Http404
from django.utils.cache import patch_cache_control, patch_vary_headers

from authstatus.concealment.slash import CommonMiddleware
from authstatus.conf import app_settings, on_reload
from authstatus.core.decision import CredentialState, Decision, Policy
from authstatus.enforcement import adapters
from authstatus.enforcement.authenticators import (
    URI_TOKEN_ATTRIBUTE,
    LazyChallenges,
    Result,
    challenges_for,
    in_query,
)
from authstatus.enforcement.evaluation import (
    aevaluate,
    evaluate,
    log_concealed_failure,
    middleware_authenticators,
)
from authstatus.enforcement.responses import (
    TOKEN_PARAMETER,
    VARY,
    render_decision,
    unavailable_response,
)
from authstatus.policies import propagation as policies
from authstatus.policies.exemptions import is_exempt_view, login_path, login_view
from authstatus.policies.propagation import PoliciesUnavailable
from authstatus.policies.resolution import policy_for, request_policy
from authstatus.policies.routes import view_kind

if TYPE_CHECKING:
    from django.http import HttpRequest, HttpResponse

__all__ = [
    "AuthStatusMiddleware",
    "CommonMiddleware",
    "is_exempt_view",
    "login_path",
    "login_view",
    "refused_as_concealed",
]


# What process_view does for a view, decided once per (view, namespace, URLconf): whether
# it is enforced is fixed by the route and the settings, never by the request. A plan is the
# action and, for an adapter's view or an authorization view, what the adapter registered.
_SKIP, _ENFORCE, _AUTHORIZE, _ADAPTER = 0, 1, 2, 3
_Handler = Callable[["HttpRequest", Any], "HttpResponse | None"]
_Plan = tuple[int, _Handler | None]
_NOTHING: _Plan = (_SKIP, None)
_VALID = CredentialState.VALID  # read per request: a module constant costs less (Python 3.11)
_plans: dict[tuple[Any, str, str | None], _Plan] = {}
_PLANS_MAX = 10_000  # views made per request (unusual) must not grow it without bound


def _plan(request: HttpRequest, view_func: Any) -> _Plan:
    match = request.resolver_match
    namespace = match.namespace if match is not None else ""
    urlconf = getattr(request, "urlconf", None)
    key = (view_func, namespace, urlconf)
    plan = _plans.get(key)
    if plan is None:
        namespaces = match.namespaces if match is not None else ()
        kind = view_kind(view_func)
        authorization = adapters.authorization_view()
        if kind is not None:
            # The adapter enforces its views (DRF's: PolicyPermission), exempt namespaces or
            # not; the middleware answers only its refusal before the view dispatches (a
            # concealed refusal of a request without credentials), for the views whose
            # answer the adapter can know.
            found = adapters.pre_dispatch(kind.name)
            applies = found is not None and found.applies(view_func)
            plan = (_ADAPTER, found.refuse) if found is not None and applies else _NOTHING
        elif AuthStatusMiddleware._enforces(request, view_func, namespaces):
            plan = (_ENFORCE, None)
        elif namespaces and authorization is not None and authorization.matches(view_func):
            plan = (_AUTHORIZE, authorization.mark)
        else:
            plan = _NOTHING
        if len(_plans) >= _PLANS_MAX:
            _plans.clear()
        _plans[key] = plan
    return plan


on_reload(_plans.clear, settings=("AUTHSTATUS", "LOGIN_URL", "ROOT_URLCONF", "FORCE_SCRIPT_NAME"))


class AuthStatusMiddleware:
    """Sync and async (Django's "Asynchronous support" for middleware): in front of an async
    view under ASGI, anonymous and session requests are decided on the event loop, without
    ``sync_to_async``; a bearer token costs one thread hop, for its query
    (:func:`authstatus.tokens.acheck`). See ``docs/howto/asgi.md``."""

    sync_capable = True
    async_capable = True

    def __init__(self, get_response: Callable[[HttpRequest], Any]) -> None:
        self.get_response = get_response
        self.async_mode = iscoroutinefunction(get_response)
        if self.async_mode:
            markcoroutinefunction(self)
            # Django's handler runs a sync process_view through sync_to_async in async mode
            # (BaseHandler.adapt_method_mode): a coroutine function runs on the loop.
            self.process_view = self._aprocess_view  # type: ignore[method-assign,assignment]

    def __call__(self, request: HttpRequest) -> Any:
        if self.async_mode:
            return self.__acall__(request)
        return _finish(request, self.get_response(request))

    async def __acall__(self, request: HttpRequest) -> HttpResponse:
        return _finish(request, await self.get_response(request))

    def process_view(
        self,
        request: HttpRequest,
        view_func: Callable[..., Any],
        view_args: tuple[Any, ...],
        view_kwargs: dict[str, Any],
    ) -> HttpResponse | None:
        plan, handler = _plan(request, view_func)
        if plan != _ENFORCE:
            if plan == _ADAPTER:
                return _before_dispatch(handler, request, view_func)
            return handler(request, view_func) if handler is not None else None
        try:
            decision, result = self._decide(request, view_func)
        except PoliciesUnavailable:
            return unavailable_response(request)
        return _respond(request, decision, result)

    async def _aprocess_view(
        self, request: HttpRequest, view_func: Callable[..., Any], *arguments: Any
    ) -> HttpResponse | None:
        """:meth:`process_view` in async mode (the view's args and kwargs are unused)."""
        plan, handler = _plan(request, view_func)
        if plan != _ENFORCE:
            if plan == _AUTHORIZE and handler is not None:
                # DOT's sync view reads the session: it runs in a thread
                return await sync_to_async(handler)(request, view_func)
            if plan == _ADAPTER:  # DRF views are sync: the view runs in a thread too
                return await sync_to_async(_before_dispatch)(handler, request, view_func)
            return None
        try:
            decision, result = await self._adecide(request, view_func)
        except PoliciesUnavailable:
            return unavailable_response(request)
        return _respond(request, decision, result)

    @staticmethod
    def _enforces(request: HttpRequest, view_func: Any, namespaces: Iterable[str]) -> bool:
        return not (
            view_kind(view_func) is not None
            or is_exempt_view(view_func, namespaces, getattr(request, "urlconf", None))
        )

    @staticmethod
    def _decide(request: HttpRequest, view_func: Any) -> tuple[Decision, Result]:
        """The decision for a plain view. A request the authenticators cannot read (Django
        raises ``SuspiciousOperation`` for a query with too many fields) is a 404 on a
        concealed resource — as it is on a missing one — and Django's 400 elsewhere."""
        authenticators = middleware_authenticators()
        try:
            results = [a.authenticate(request) for a in authenticators]
        except SuspiciousOperation as exc:
            _unreadable(request, view_func, exc)
            raise
        return evaluate(
            request,
            results=results,
            challenges=LazyChallenges(lambda: challenges_for(authenticators, request)),
            policy=_policy(request, view_func),
            sender=AuthStatusMiddleware,
        )

    @staticmethod
    async def _adecide(request: HttpRequest, view_func: Any) -> tuple[Decision, Result]:
        """:meth:`_decide` on the event loop (see :meth:`Authenticator.aauthenticate`)."""
        authenticators = middleware_authenticators()
        try:
            results = [await a.aauthenticate(request) for a in authenticators]
        except SuspiciousOperation as exc:
            await policies.registry.aready()
            _unreadable(request, view_func, exc)
            raise
        await policies.registry.aready()
        return await aevaluate(
            request,
            results=results,
            challenges=LazyChallenges(lambda: challenges_for(authenticators, request)),
            policy=_policy(request, view_func),
            sender=AuthStatusMiddleware,
        )


def _policy(request: HttpRequest, view_func: Any) -> Policy:
    # request_policy() without its defaults: Django's handler always sets these.
    return policy_for(
        request.method or "GET",
        request.path_info,
        request.resolver_match,
        view_func,
        urlconf=getattr(request, "urlconf", None),
    )


def _unreadable(request: HttpRequest, view_func: Any, exc: SuspiciousOperation) -> None:
    if request_policy(request, view_func).conceal:
        log_concealed_failure(request, exc)
        raise Http404 from None


def _respond(request: HttpRequest, decision: Decision, result: Result) -> HttpResponse | None:
    if decision.allowed:
        if result.credentials.state is _VALID:
            # Both of AuthenticationMiddleware's accessors: an async view reads auser().
            request.user = result.user
            request.auser = functools.partial(_user, result.user)
        return None
    if decision.status == 404:
        raise Http404
    return render_decision(request, decision)


async def _user(user: Any) -> Any:
    return user


def _finish(request: HttpRequest, response: HttpResponse) -> HttpResponse:
    if response.status_code == 404:
        # Deciding a concealed refusal reads the session, so SessionMiddleware marks that
        # 404 "Vary: Cookie"; a URL that does not exist is answered without reading it.
        # Every 404 varies like a refusal, so the header cannot tell the two apart.
        patch_vary_headers(response, VARY)
    if getattr(request, URI_TOKEN_ATTRIBUTE, False) or _token_in_query(request):
        # RFC 6750 §2.3: a response to a request with the token in the URI query — also
        # where no authenticator looked (a missing URL), or a 404 would differ.
        patch_cache_control(response, private=True)
    return response


def _before_dispatch(
    refuse: _Handler | None, request: HttpRequest, view_func: Any
) -> HttpResponse | None:
    """An adapter's refusal before its view dispatches (:mod:`authstatus.enforcement.adapters`);
    ``None``: the adapter's view decides."""
    if refuse is None:
        return None
    try:
        return refuse(request, view_func)
    except PoliciesUnavailable:
        return None  # the adapter answers the 503, as it does on every enforced route


def refused_as_concealed(request: HttpRequest) -> bool:
    """Whether :class:`AuthStatusMiddleware` refuses ``request`` as concealed (a 404), for
    code that answers before its ``process_view`` runs (:func:`authstatus.views.csrf_failure`).
    Only requests whose URL resolved to a view the middleware enforces are considered."""
    match = getattr(request, "resolver_match", None)
    if match is None or not AuthStatusMiddleware._enforces(request, match.func, match.namespaces):
        return False
    try:
        decision, _ = AuthStatusMiddleware._decide(request, match.func)
    except (PoliciesUnavailable, SuspiciousOperation):
        return False
    except Http404:
        return True
    return decision.status == 404


def _token_in_query(request: HttpRequest) -> bool:
    """Whether the query carries an ``access_token`` while query tokens are enabled."""
    return "query" in app_settings.BEARER_METHODS and in_query(request, TOKEN_PARAMETER)


adapters.register(plain_sender=AuthStatusMiddleware)
