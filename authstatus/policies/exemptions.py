"""Which views authstatus leaves alone: views marked ``@exempt``, views in the
``EXEMPT_NAMESPACES`` (the admin, DOT's endpoints, authstatus's own), and the view serving
``settings.LOGIN_URL`` — they do their own access control, and a login page must stay
reachable. Part of what is in force: the middleware, the route map and explain ask here.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.urls import (
    NoReverseMatch,
    Resolver404,
    get_script_prefix,
    resolve,
    reverse,
    set_script_prefix,
)
from django.utils.functional import Promise

from authstatus.conf import app_settings, on_reload
from authstatus.policies.declarations import is_exempt

__all__ = ["is_exempt_view", "login_path", "login_view"]


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
