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
from collections.abc import Awaitable, Callable, Iterable
from typing import TYPE_CHECKING, Any, cast
from urllib.parse import urlsplit

from asgiref.sync import iscoroutinefunction, markcoroutinefunction, sync_to_async
from django.conf import settings
from django.core.exceptions import SuspiciousOperation
from django.http import Http404
from django.middleware import common
from django.urls import (
    NoReverseMatch,
    Resolver404,
    get_script_prefix,
    resolve,
    reverse,
    set_script_prefix,
)
from django.utils.cache import patch_cache_control, patch_vary_headers
from django.utils.functional import Promise

from authstatus.conf import app_settings, on_reload
from authstatus.contrib.rest_framework import anonymous
from authstatus.core.decision import CredentialState, Decision, Policy
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
from authstatus.policies.declarations import is_exempt
from authstatus.policies.propagation import PoliciesUnavailable
from authstatus.policies.resolution import policy_for, request_policy

if TYPE_CHECKING:
    from django.http import HttpRequest, HttpResponse, HttpResponseBase

__all__ = [
    "AuthStatusMiddleware",
    "CommonMiddleware",
    "is_exempt_view",
    "login_path",
    "login_view",
    "refused_as_concealed",
]


def is_drf_view(view_func: Any) -> bool:
    cls = getattr(view_func, "cls", None)
    return cls is not None and isinstance(cls, type) and issubclass(cls, _api_view())


@functools.cache
def _api_view() -> type:
    # Imported on first use: rest_framework.views imports the authentication classes
    # named in DRF's settings, which import authstatus.
    from rest_framework.views import APIView

    return APIView


def is_exempt_view(view_func: Any, namespaces: Iterable[str], urlconf: str | None = None) -> bool:
    """Whether the middleware leaves this plain view alone (see the module docstring).

    The login page is recognised by its *view* — the one ``settings.LOGIN_URL`` resolves to
    in ``urlconf`` (:func:`login_view`) — never by the request's path: ``request.path``
    carries ``SCRIPT_NAME``, which a client can choose through a proxy that forwards it
    (gunicorn trusts ``SCRIPT_NAME`` headers from its forwarders), so a protected view whose
    path is a suffix of ``LOGIN_URL`` would escape enforcement.
    """
    if is_exempt(view_func) or set(namespaces) & app_settings.EXEMPT_NAMESPACES:
        return True
    login = login_view(urlconf)
    return login is not None and view_func is login


_login_views: dict[str | None, Any] = {}


def login_view(urlconf: str | None = None) -> Any:
    """The view ``settings.LOGIN_URL`` resolves to in ``urlconf`` (``None``: the root one),
    or ``None`` when it names none (an external login page, a path no route matches).

    Computed once per URLconf and settings (``setting_changed`` of ``LOGIN_URL``,
    ``ROOT_URLCONF`` or ``FORCE_SCRIPT_NAME`` empties the cache), and independently of the
    request that happens to ask first: a URL name is reversed without any script prefix,
    and a path is taken as written, less ``FORCE_SCRIPT_NAME`` — never less the request's
    ``SCRIPT_NAME``, which a client may choose.
    """
    try:
        return _login_views[urlconf]
    except KeyError:
        pass
    view = _resolve_login_view(urlconf)
    _login_views[urlconf] = view
    return view


def login_path(urlconf: str | None = None) -> str | None:
    """``LOGIN_URL`` as a path without script prefix (see :func:`login_view`), or ``None``
    when it is not a local path (``https://sso.example/…``)."""
    target = settings.LOGIN_URL  # a URL name, a view, a path or a URL (resolve_url's kinds)
    if isinstance(target, Promise):
        target = str(target)
    saved = get_script_prefix()
    set_script_prefix("/")  # thread-local, restored below: reverse() prepends it
    try:
        url = reverse(target, urlconf)
    except NoReverseMatch:
        if not isinstance(target, str):
            return None
        url = target  # a path (or an external URL), as resolve_url() falls back to
    finally:
        set_script_prefix(saved)
    parts = urlsplit(url)
    if parts.scheme or parts.netloc or not parts.path.startswith("/"):
        return None
    path = parts.path
    forced = (getattr(settings, "FORCE_SCRIPT_NAME", None) or "").rstrip("/")
    if forced and path.startswith(forced + "/"):
        path = path[len(forced) :]
    return path


def _resolve_login_view(urlconf: str | None) -> Any:
    path = login_path(urlconf)
    if path is None:
        return None
    try:
        return resolve(path, urlconf).func
    except Resolver404:
        return None


on_reload(_login_views.clear, settings=("LOGIN_URL", "ROOT_URLCONF", "FORCE_SCRIPT_NAME"))


# What process_view does for a view, decided once per (view, namespace, URLconf): whether
# it is enforced is fixed by the route and the settings, never by the request.
_SKIP, _ENFORCE, _AUTHORIZE, _DRF = 0, 1, 2, 3
_VALID = CredentialState.VALID  # read per request: a module constant costs less (Python 3.11)
_plans: dict[tuple[Any, str, str | None], int] = {}
_PLANS_MAX = 10_000  # views made per request (unusual) must not grow it without bound


def _plan(request: HttpRequest, view_func: Any) -> int:
    match = request.resolver_match
    namespace = match.namespace if match is not None else ""
    urlconf = getattr(request, "urlconf", None)
    key = (view_func, namespace, urlconf)
    plan = _plans.get(key)
    if plan is None:
        namespaces = match.namespaces if match is not None else ()
        if is_drf_view(view_func):
            # PolicyPermission enforces DRF views, exempt namespaces or not; the middleware
            # answers only a concealed refusal of a request without credentials, as it would,
            # and only for views whose answer it can know (anonymous.plan).
            plan = _DRF if _drf_plan(view_func) else _SKIP
        elif AuthStatusMiddleware._enforces(request, view_func, namespaces):
            plan = _ENFORCE
        elif namespaces and _authorization_view(view_func):
            plan = _AUTHORIZE
        else:
            plan = _SKIP
        if len(_plans) >= _PLANS_MAX:
            _plans.clear()
        _plans[key] = plan
    return plan


def _authorization_view(view_func: Any) -> bool:
    from authstatus.contrib.oauth2_provider.authtime import authorization_view

    return authorization_view(view_func)


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
        plan = _plan(request, view_func)
        if plan != _ENFORCE:
            if plan == _DRF:
                return _refuse_anonymous(request, view_func)
            return _mark_authorization(request, view_func) if plan == _AUTHORIZE else None
        try:
            decision, result = self._decide(request, view_func)
        except PoliciesUnavailable:
            return unavailable_response(request)
        return _respond(request, decision, result)

    async def _aprocess_view(
        self, request: HttpRequest, view_func: Callable[..., Any], *arguments: Any
    ) -> HttpResponse | None:
        """:meth:`process_view` in async mode (the view's args and kwargs are unused)."""
        plan = _plan(request, view_func)
        if plan != _ENFORCE:
            if plan == _AUTHORIZE:  # DOT's sync view reads the session: it runs in a thread
                return await sync_to_async(_mark_authorization)(request, view_func)
            if plan == _DRF:  # DRF views are sync: the view runs in a thread too
                return await sync_to_async(_refuse_anonymous)(request, view_func)
            return None
        try:
            decision, result = await self._adecide(request, view_func)
        except PoliciesUnavailable:
            return unavailable_response(request)
        return _respond(request, decision, result)

    @staticmethod
    def _enforces(request: HttpRequest, view_func: Any, namespaces: Iterable[str]) -> bool:
        return not (
            is_drf_view(view_func)
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


def _drf_plan(view_func: Any) -> bool:
    return anonymous.plan(view_func) is not None


def _refuse_anonymous(request: HttpRequest, view_func: Any) -> HttpResponse | None:
    """A DRF view's concealed refusal of a request without credentials, answered here rather
    than by DRF (:mod:`authstatus.contrib.rest_framework.anonymous`); ``None``: DRF decides."""
    try:
        return anonymous.refuse_anonymous(request, view_func)
    except PoliciesUnavailable:
        return None  # DRF answers the 503, as it does on every enforced route


def _mark_authorization(request: HttpRequest, view_func: Any) -> HttpResponse | None:
    """Keep a request to DOT's authorization view (namespaced, like all of DOT's) in
    :data:`authstatus.enforcement.stepup.authorizing`, so the grant it creates records the session's
    authentication time (:mod:`authstatus.contrib.oauth2_provider.authtime`); send the user
    to the login form first when the request's ``max_age`` asks for a newer login."""
    from authstatus.contrib.oauth2_provider.authtime import authorization_view, max_age_login
    from authstatus.enforcement.stepup import authorizing

    if not authorization_view(view_func):
        return None
    authorizing.set(request)
    return max_age_login(request)


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


class CommonMiddleware(common.CommonMiddleware):
    """Django's ``CommonMiddleware``, except that it never redirects to a concealed resource.

    Use it in place of ``django.middleware.common.CommonMiddleware`` (check
    ``authstatus.W010``). With ``APPEND_SLASH``, Django answers ``/api/vault`` with a redirect
    to ``/api/vault/`` because that URL has a route, and ``/api/nothere`` with a 404: the
    redirect alone would tell a concealed route from a missing one. Here a path whose slashed
    form is concealed for the request's method gets the 404 a missing path gets — for
    everyone, its audience included (they use the canonical URL with the slash). Deciding who
    may follow the redirect would mean authenticating the request for a view that does not
    serve it; and while policies cannot be loaded, nothing is redirected. ``PREPEND_WWW``
    redirects then keep the path as sent.
    """

    async def __acall__(self, request: HttpRequest) -> HttpResponseBase:
        """Django's ``MiddlewareMixin`` runs ``process_request`` and ``process_response`` in
        a thread under ASGI; both only read settings and resolve URLs, so they run on the
        event loop here (policies are made ready first, in a thread only when a load is
        due)."""
        response: HttpResponseBase | None = self.process_request(request)
        if response is None:
            response = await cast("Awaitable[HttpResponseBase]", self.get_response(request))
        if response.status_code == 404:
            await policies.registry.aready()
        return self.process_response(request, response)

    def should_redirect_with_slash(self, request: HttpRequest) -> bool:
        if not super().should_redirect_with_slash(request):
            return False
        return not _conceals(request, f"{request.path_info}/")


def _conceals(request: HttpRequest, path: str) -> bool:
    """Whether the policy in force on ``path`` for the request's method conceals it."""
    try:
        match = resolve(path, getattr(request, "urlconf", None))
    except Resolver404:
        return False
    try:
        policy = policy_for(
            request.method or "GET",
            path,
            match,
            match.func,
            urlconf=getattr(request, "urlconf", None),
        )
    except PoliciesUnavailable:
        return True
    return policy.conceal
