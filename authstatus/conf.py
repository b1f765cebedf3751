"""The ``AUTHSTATUS`` setting: defaults, typed access, reloaded when settings change.

Shaped like DRF's ``api_settings``: one dict in the project's settings, read lazily on first
access (never at import time), cached, and dropped whenever Django's ``setting_changed`` signal
names ``AUTHSTATUS`` (so ``override_settings`` works in tests). Nothing here writes to
``django.conf.settings``. Validation lives in :mod:`authstatus.checks`; this module only reads.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, Final, TypeVar

from django.conf import settings
from django.core.signals import setting_changed
from django.dispatch import receiver

__all__ = ["DEFAULTS", "SETTING_NAME", "app_settings"]

SETTING_NAME: Final = "AUTHSTATUS"

DEFAULTS: Final[Mapping[str, Any]] = {
    # realm parameter of every challenge (RFC 9110 §11.5).
    "REALM": "api",
    # Access for routes that no policy matches and whose view declares none.
    "DEFAULT_ACCESS": "authenticated",
    # Baseline policies: a list of dicts with the ResourcePolicy fields.
    "POLICIES": [],
    # Named requirements: {"name": "dotted.path.to.predicate"} or
    # {"name": {"check": "dotted.path.to.predicate", "filter": "dotted.path.to.filter"}}.
    "REQUIREMENTS": {},
    # Where a bearer token may be sent (RFC 6750 §2): "header", "body", "query".
    "BEARER_METHODS": ["header"],
    # Authenticators the middleware uses for plain Django views, in challenge order.
    "MIDDLEWARE_AUTHENTICATORS": ["authstatus.enforcement.authenticators.SessionAuthenticator"],
    # Authentication classes (DRF classes or authstatus authenticators, subclasses included)
    # whose credentials carry no OAuth scopes yet meet scope requirements: logins of the
    # site's own users. Scope-less credentials of any other class fail them (403).
    "FIRST_PARTY_AUTHENTICATION": [
        "authstatus.enforcement.authenticators.SessionAuthenticator",
        "authstatus.enforcement.authenticators.BasicAuthenticator",
        "rest_framework.authentication.SessionAuthentication",
        "rest_framework.authentication.BasicAuthentication",
    ],
    # URL namespaces the middleware never enforces (they do their own access control).
    "EXEMPT_NAMESPACES": ["admin", "oauth2_provider", "authstatus"],
    # Scheme name of the session challenge: one browsers do not recognise, so they render
    # the 401 body instead of popping up a password dialog.
    "SESSION_SCHEME": "Cookie",
    # Redirect browsers (clients preferring text/html) to LOGIN_URL instead of a 401 page.
    "REDIRECT_BROWSERS_TO_LOGIN": False,
    # Cache (alias in CACHES) that carries policy changes between processes and hosts.
    "CACHE_ALIAS": "default",
    # Seconds a process may go without checking for policy changes.
    "POLL_INTERVAL": 0.5,
    # Seconds between comparisons of the policy table with what a process loaded: bounds
    # staleness when the cache cannot (a lost announcement, a restored cache, raw SQL).
    "RESYNC_INTERVAL": 10.0,
    # Reload policies on the poller thread and swap the new matcher in, so that no request
    # waits for a reload (False: the request that finds a reload wanted performs it; other
    # threads answer with the current policies meanwhile).
    "RELOAD_IN_BACKGROUND": True,
    # Prefix of the RFC 9457 problem "type" URIs; the outcome slug is appended.
    "PROBLEM_TYPE_BASE": "https://django-authstatus.readthedocs.io/en/latest/reference/problems/#",
    # Path patterns under which a 404 to a request without credentials carries the Bearer
    # challenge, on existing and missing paths alike (a hint; off when empty).
    "CONCEALED_CHALLENGE_PATHS": [],
    # Path patterns of a concealed namespace: a URL no route matches under them pays the
    # authentication work of a concealed refusal before its 404, so timing cannot tell a
    # concealed route from a missing one (off when empty).
    "UNIFORM_CONCEALMENT_PATHS": [],
    # Send an `OAuth2` challenge after `Bearer` naming the OAuth 2.0 flows (and DOT's
    # endpoints) that fix the refusal. Follows a proposal on the IETF OAuth WG list, not an
    # RFC: off by default.
    "OAUTH2_CHALLENGE": False,
    # Seconds a valid bearer token may be answered from a cache instead of the database
    # (0: off). Also how long a revoked token may still be accepted.
    "BEARER_CACHE_SECONDS": 0,
    # Cache (alias in CACHES) of valid bearer tokens; a process-local one is fastest.
    "BEARER_CACHE_ALIAS": "default",
    # Look DOT's tokens up with the statement prepared once per connection (tokenloader);
    # False: with the plain queryset (slower; the fallback when preparing fails).
    "PREPARED_TOKEN_QUERY": True,
    # Where bearer tokens are checked, in order (authstatus.tokens): dicts with a BACKEND
    # path and that backend's options. The default: django-oauth-toolkit's database.
    "TOKEN_BACKENDS": [{"BACKEND": "authstatus.contrib.oauth2_provider.backends.DatabaseBackend"}],
    # Under ASGI, check bearer tokens on one long-lived thread per process whose database
    # connections outlive a request (authstatus.tokens.lookup_thread), wherever the request's
    # own sync thread would be new (and so could see nothing the lookup thread cannot).
    "ASYNC_TOKEN_THREAD": True,
    # Seconds a connection of that thread is kept (None: no limit, 0: closed after each
    # lookup); its CONN_MAX_AGE, which Django wants 0 under ASGI for request threads.
    "ASYNC_TOKEN_CONNECTION_MAX_AGE": 300,
    # Render every DRF error (validation 400, 405, 406, 415, 429, ...) as RFC 9457 problem
    # details, not only authstatus's refusals. Off by default: existing clients keep DRF's bodies.
    "PROBLEM_DETAILS_FOR_ALL_ERRORS": False,
    # Schemes left out of a 401's challenges for a browser navigation (Accept preferring
    # text/html, or Sec-Fetch-Mode: navigate): browsers pop up a password dialog for Basic.
    "BROWSER_HIDDEN_SCHEMES": ["Basic"],
}


class AppSettings:
    """Typed, lazy view of ``settings.AUTHSTATUS`` merged over :data:`DEFAULTS`."""

    def __init__(self) -> None:
        self._cache: dict[str, Any] | None = None

    @property
    def user_settings(self) -> Mapping[str, Any]:
        value = getattr(settings, SETTING_NAME, {})
        return value if isinstance(value, Mapping) else {}

    def _merged(self) -> dict[str, Any]:
        if self._cache is None:
            self._cache = {**DEFAULTS, **self.user_settings}
        return self._cache

    def reload(self) -> None:
        self._cache = None

    def get(self, name: str) -> Any:
        return self._merged()[name]

    @property
    def REALM(self) -> str:
        return str(self.get("REALM"))

    @property
    def DEFAULT_ACCESS(self) -> str:
        return str(self.get("DEFAULT_ACCESS"))

    @property
    def POLICIES(self) -> Sequence[Mapping[str, Any]]:
        return list(self.get("POLICIES"))

    @property
    def REQUIREMENTS(self) -> Mapping[str, Any]:
        return dict(self.get("REQUIREMENTS"))

    @property
    def BEARER_METHODS(self) -> frozenset[str]:
        return frozenset(self.get("BEARER_METHODS"))

    @property
    def MIDDLEWARE_AUTHENTICATORS(self) -> Sequence[str]:
        return list(self.get("MIDDLEWARE_AUTHENTICATORS"))

    @property
    def FIRST_PARTY_AUTHENTICATION(self) -> Sequence[str]:
        value = self.get("FIRST_PARTY_AUTHENTICATION")
        return [] if isinstance(value, str) else list(value)

    @property
    def EXEMPT_NAMESPACES(self) -> frozenset[str]:
        return frozenset(self.get("EXEMPT_NAMESPACES"))

    @property
    def SESSION_SCHEME(self) -> str:
        return str(self.get("SESSION_SCHEME"))

    @property
    def REDIRECT_BROWSERS_TO_LOGIN(self) -> bool:
        return bool(self.get("REDIRECT_BROWSERS_TO_LOGIN"))

    @property
    def CACHE_ALIAS(self) -> str:
        return str(self.get("CACHE_ALIAS"))

    @property
    def POLL_INTERVAL(self) -> float:
        return float(self.get("POLL_INTERVAL"))

    @property
    def RESYNC_INTERVAL(self) -> float:
        return float(self.get("RESYNC_INTERVAL"))

    @property
    def RELOAD_IN_BACKGROUND(self) -> bool:
        return bool(self.get("RELOAD_IN_BACKGROUND"))

    @property
    def PROBLEM_TYPE_BASE(self) -> str:
        return str(self.get("PROBLEM_TYPE_BASE"))

    @property
    def CONCEALED_CHALLENGE_PATHS(self) -> Sequence[str]:
        return list(self.get("CONCEALED_CHALLENGE_PATHS"))

    @property
    def UNIFORM_CONCEALMENT_PATHS(self) -> Sequence[str]:
        return list(self.get("UNIFORM_CONCEALMENT_PATHS"))

    @property
    def OAUTH2_CHALLENGE(self) -> bool:
        return bool(self.get("OAUTH2_CHALLENGE"))

    @property
    def BEARER_CACHE_SECONDS(self) -> float:
        return float(self.get("BEARER_CACHE_SECONDS"))

    @property
    def BEARER_CACHE_ALIAS(self) -> str:
        return str(self.get("BEARER_CACHE_ALIAS"))

    @property
    def PREPARED_TOKEN_QUERY(self) -> bool:
        return bool(self.get("PREPARED_TOKEN_QUERY"))

    @property
    def TOKEN_BACKENDS(self) -> Sequence[Mapping[str, Any]]:
        return list(self.get("TOKEN_BACKENDS"))

    @property
    def ASYNC_TOKEN_THREAD(self) -> bool:
        return bool(self.get("ASYNC_TOKEN_THREAD"))

    @property
    def ASYNC_TOKEN_CONNECTION_MAX_AGE(self) -> float | None:
        value = self.get("ASYNC_TOKEN_CONNECTION_MAX_AGE")
        return None if value is None else float(value)

    @property
    def PROBLEM_DETAILS_FOR_ALL_ERRORS(self) -> bool:
        return bool(self.get("PROBLEM_DETAILS_FOR_ALL_ERRORS"))

    @property
    def BROWSER_HIDDEN_SCHEMES(self) -> frozenset[str]:
        """Lower-cased: schemes compare case-insensitively (RFC 9110 §11.1)."""
        return frozenset(str(s).lower() for s in self.get("BROWSER_HIDDEN_SCHEMES"))


app_settings = AppSettings()

_Hook = TypeVar("_Hook", bound=Callable[[], object])
_reload_hooks: dict[str, list[Callable[[], object]]] = {}


def on_reload(hook: _Hook, *, settings: Iterable[str] = (SETTING_NAME,)) -> _Hook:
    """Register ``hook``, a zero-argument callable, to run whenever one of ``settings``
    (Django setting names; ``AUTHSTATUS`` by default) changes: the one reload point of the
    library, like DRF's ``reload_api_settings``. A cache registers its ``cache_clear`` (or
    ``clear``) here instead of listening to ``setting_changed`` itself."""
    for name in settings:
        _reload_hooks.setdefault(name, []).append(hook)
    return hook


@receiver(setting_changed)
def _reload_on_change(*, setting: str, **kwargs: Any) -> None:
    if setting == SETTING_NAME:
        app_settings.reload()
    for hook in _reload_hooks.get(setting, ()):
        hook()
