"""Policies: where they come from, how they are validated, compiled and resolved.

A *policy source* yields :class:`~authstatus.core.matching.Rule` objects whose value is a
:class:`~authstatus.core.decision.Policy`. The settings source reads ``AUTHSTATUS["POLICIES"]``;
further sources (the database) slot in beside it with a higher ``rank``, so at equal
specificity the later source wins. All rules are compiled into one matcher, cached per process
and rebuilt when a source says it changed. Resolving a request's policy never queries the
database.

Resolution order for a request: the most specific matching rule; else the default the view
declared in code (:func:`authstatus.decorators.access`); else ``DEFAULT_ACCESS``.
"""

from __future__ import annotations

import functools
import logging
import math
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from django.core.cache.backends.base import BaseCache

from django.core.cache import caches
from django.db import connection

from authstatus.conf import app_settings, on_reload
from authstatus.core.challenges import is_scope_token
from authstatus.core.decision import Access, Policy
from authstatus.core.matching import Matcher, PatternError, Rule, normalize_methods

__all__ = [
    "PoliciesUnavailable",
    "PolicyError",
    "build_policy",
    "default_policy",
    "policies_changed",
    "registry",
    "resolve",
    "rule_from_spec",
]

logger = logging.getLogger("authstatus")

SETTINGS = "settings"
DATABASE = "database"
DEFAULT = "default"
VIEW = "view"

# The fields of a policy, in the order forms show them: the keys of a settings policy dict
# and the editable fields of ResourcePolicy.
POLICY_FIELDS = (
    "path",
    "methods",
    "access",
    "conceal",
    "required_scopes",
    "required_groups",
    "required_permissions",
    "requirements",
    "max_age",
    "acr_values",
    "enabled",
    "priority",
    "description",
)
SPEC_KEYS = frozenset(POLICY_FIELDS)


class PolicyError(ValueError):
    """A policy that cannot be enforced as written; the message says which field and why."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


def _words(value: str | Iterable[str] | None) -> tuple[str, ...]:
    if value is None:
        return ()
    items = value.split() if isinstance(value, str) else [str(v) for v in value]
    return tuple(dict.fromkeys(i.strip() for i in items if i.strip()))


def build_policy(
    access: str | Access,
    *,
    conceal: bool = False,
    required_scopes: str | Iterable[str] | None = None,
    required_groups: str | Iterable[str] | None = None,
    required_permissions: str | Iterable[str] | None = None,
    requirements: str | Iterable[str] | None = None,
    max_age: int | None = None,
    acr_values: str | Iterable[str] | None = None,
    source: str = SETTINGS,
    name: str = "",
) -> Policy:
    """A validated :class:`Policy`, or :class:`PolicyError` naming the offending field.

    Scopes must be RFC 6750 §3 scope-tokens; permissions ``app_label.codename``; requirement
    names must be declared in ``AUTHSTATUS["REQUIREMENTS"]``. Requirements of any kind on a
    policy whose access is ``anonymous`` or ``nobody`` are contradictions: nothing could ever
    check them. ``max_age`` is a positive number of seconds; ``acr_values`` are
    space-separated authentication context class references (RFC 9470 §3), each free of
    spaces, quotes and backslashes so it fits a challenge.
    """
    try:
        level = Access(access)
    except ValueError:
        choices = ", ".join(a.value for a in Access)
        raise PolicyError(f"'{access}' is not an access level ({choices}).", "access") from None
    scopes = _words(required_scopes)
    for scope in scopes:
        if not is_scope_token(scope):
            raise PolicyError(
                f"'{scope}' is not a valid OAuth scope (RFC 6750 §3: printable ASCII "
                "without spaces, quotes or backslashes).",
                "required_scopes",
            )
    # Group names may contain spaces: a string is a comma-separated list.
    if isinstance(required_groups, str):
        required_groups = required_groups.split(",")
    group_names = tuple(dict.fromkeys(g.strip() for g in required_groups or () if g.strip()))
    permissions = _words(required_permissions)
    for permission in permissions:
        app_label, dot, codename = permission.partition(".")
        if not (app_label and dot and codename):
            raise PolicyError(
                f"'{permission}' is not a permission name ('app_label.codename').",
                "required_permissions",
            )
    names = _words(requirements)
    # Read only when needed: a malformed REQUIREMENTS setting (authstatus.E008) must not
    # invalidate policies that name no requirement.
    declared = app_settings.REQUIREMENTS if names else {}
    for requirement in names:
        if requirement not in declared:
            raise PolicyError(
                f"'{requirement}' is not a requirement declared in AUTHSTATUS['REQUIREMENTS'].",
                "requirements",
            )
    if level is not Access.AUTHENTICATED and (scopes or group_names or permissions or names):
        raise PolicyError(
            f"A policy with access '{level.value}' cannot have required scopes, groups, "
            "permissions or requirements: only authenticated access checks them.",
            "access",
        )
    age = _max_age(max_age)
    classes = _words(acr_values)
    for value in classes:
        if not is_scope_token(value):
            raise PolicyError(
                f"'{value}' is not a valid authentication context class reference "
                "(printable ASCII without spaces, quotes or backslashes).",
                "acr_values",
            )
    if level is not Access.AUTHENTICATED and (age is not None or classes):
        raise PolicyError(
            f"A policy with access '{level.value}' cannot have max_age or acr_values: only "
            "authenticated access checks how the user authenticated.",
            "access",
        )
    return Policy(
        access=level,
        conceal=bool(conceal),
        required_scopes=frozenset(scopes),
        required_groups=frozenset(group_names),
        required_permissions=frozenset(permissions),
        requirements=names,
        source=source,
        name=name,
        max_age=age,
        acr_values=classes,
    )


def _max_age(value: Any) -> int | None:
    """``max_age`` as seconds: a positive whole number, or ``None``/blank for no limit."""
    if value is None or value == "":
        return None
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise PolicyError(f"max_age must be a whole number of seconds, not {value!r}.", "max_age")
    try:
        seconds = int(value)
    except ValueError:
        raise PolicyError(
            f"max_age must be a whole number of seconds, not {value!r}.", "max_age"
        ) from None
    if seconds < 1:
        raise PolicyError(f"max_age must be at least 1 second, not {seconds}.", "max_age")
    return seconds


def rule_from_spec(spec: Mapping[str, Any], *, source: str, rank: int) -> Rule[Policy] | None:
    """The rule a policy dict describes (``None`` when disabled), or :class:`PolicyError`."""
    unknown = set(spec) - SPEC_KEYS
    if unknown:
        raise PolicyError(f"Unknown policy keys: {', '.join(sorted(unknown))}.")
    if "path" not in spec or not isinstance(spec["path"], str):
        raise PolicyError("A policy needs a 'path' pattern.", "path")
    if not spec.get("enabled", True):
        return None
    pattern = spec["path"]
    try:
        methods = normalize_methods(spec.get("methods") or ())
        rule: Rule[Policy] = Rule(
            pattern=pattern,
            value=build_policy(
                spec.get("access", Access.AUTHENTICATED),
                conceal=spec.get("conceal", False),
                required_scopes=spec.get("required_scopes"),
                required_groups=spec.get("required_groups"),
                required_permissions=spec.get("required_permissions"),
                requirements=spec.get("requirements"),
                max_age=spec.get("max_age"),
                acr_values=spec.get("acr_values"),
                source=source,
                name=str(spec.get("description") or pattern),
            ),
            methods=methods,
            priority=_priority(spec.get("priority", 0)),
            rank=rank,
        )
        Matcher([rule])  # validates the pattern
    except PatternError as exc:
        raise PolicyError(str(exc), "methods" if "method" in str(exc) else "path") from exc
    except (TypeError, ValueError) as exc:
        if isinstance(exc, PolicyError):
            raise
        raise PolicyError(str(exc), "priority") from exc
    return rule


def _priority(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise PolicyError(f"priority must be a whole number, not {value!r}.", "priority")
    try:
        return int(value)
    except ValueError:
        raise PolicyError(f"priority must be a whole number, not {value!r}.", "priority") from None


def settings_rules() -> list[Rule[Policy]]:
    """Rules from ``AUTHSTATUS["POLICIES"]`` (rank 0). Invalid entries raise PolicyError;
    the system check ``authstatus.E004`` reports them at startup."""
    rules = []
    for spec in app_settings.POLICIES:
        rule = rule_from_spec(spec, source=SETTINGS, rank=0)
        if rule is not None:
            rules.append(rule)
    return rules


def database_rules() -> list[Rule[Policy]]:
    """Rules from enabled ``ResourcePolicy`` rows (rank 1: they win ties with settings).

    One query. A row that does not validate (saved around the admin form) fails the whole
    load with PolicyError rather than being skipped: skipping a row could widen access.
    """
    from authstatus.models import ResourcePolicy

    rules = []
    for row in ResourcePolicy.objects.filter(enabled=True):
        try:
            rule = row.rule()
        except Exception as exc:
            # Name the row (the message alone does not say which one), and report values
            # of the wrong type (JSON fields hold anything when written around clean()) as
            # the PolicyError they are.
            raise PolicyError(
                f"resource policy #{row.pk} ({row.path!r}): {exc}", getattr(exc, "field", None)
            ) from exc
        if rule is not None:
            rules.append(rule)
    return rules


class PoliciesUnavailable(RuntimeError):
    """No policies could be loaded and none were loaded before: refuse (503), never allow."""


VERSION_KEY = "authstatus:policies:version"


class PolicyRegistry:
    """The compiled rules of every source, shared by the threads of one process.

    Steady state costs no database query: the compiled matcher is kept in memory, and at
    most once per ``POLL_INTERVAL`` seconds the registry reads one *version* key from the
    cache named by ``CACHE_ALIAS``. :func:`policies_changed` writes a new version whenever a
    policy is saved or deleted, so every process — on every host sharing the cache —
    reloads within ``POLL_INTERVAL``. If the cache or the database fails, the last policies
    that loaded stay in force; a process that never loaded any raises
    :class:`PoliciesUnavailable`.
    """

    def __init__(self, sources: Sequence[Callable[[], Sequence[Rule[Policy]]]]) -> None:
        self._lock = threading.Lock()
        self._sources = list(sources)
        self._matcher: Matcher[Policy] | None = None
        self._version: object = None
        self._local_change = False
        self._next_check = -math.inf

    def matcher(self) -> Matcher[Policy]:
        matcher = self._matcher
        if matcher is not None and time.monotonic() < self._next_check:
            return matcher
        with self._lock:
            return self._refresh()

    def _refresh(self) -> Matcher[Policy]:
        now = time.monotonic()
        if self._matcher is not None and now < self._next_check:
            return self._matcher  # another thread refreshed while this one waited
        try:
            version = _read_version()
        except Exception:
            logger.exception("authstatus: policy cache unavailable; keeping current policies")
            version = _UNKNOWN
        # Reload when nothing is loaded, when this process changed a policy itself (it knows,
        # even if the cache cannot tell it), when the last load was provisional, or when the
        # cache holds another version than the one loaded.
        if (
            self._matcher is None
            or self._local_change
            or self._version is _PROVISIONAL
            or (version is not _UNKNOWN and version != self._version)
        ):
            try:
                self._matcher = Matcher(rule for source in self._sources for rule in source())
                # A load inside the transaction that made the change may see rows that are
                # then rolled back (Django has no rollback hook): keep it only until the
                # next poll, so a rolled-back change outlives its transaction by at most
                # POLL_INTERVAL.
                provisional = self._local_change and connection.in_atomic_block
                self._version = _PROVISIONAL if provisional else version
                self._local_change = False
            except Exception as exc:  # whatever failed, never fall back to "no policies"
                logger.exception("authstatus: policies failed to load; keeping the last good")
                if self._matcher is None:
                    raise PoliciesUnavailable(str(exc)) from exc
        # The interval is read here, not per request: settings changes reset the registry.
        self._next_check = now + _poll_interval()
        return self._matcher

    def invalidate(self) -> None:
        """This process changed a policy: reload on its next request."""
        with self._lock:
            self._next_check = -math.inf
            self._local_change = True

    def reset(self) -> None:
        """Forget everything loaded (tests; settings changes)."""
        with self._lock:
            self._matcher = None
            self._next_check = -math.inf
            self._version = None
            self._local_change = False

    def match(self, method: str, path: str) -> Rule[Policy] | None:
        return self.matcher().match(method, path)


_UNKNOWN = object()  # the cache could not be read
_PROVISIONAL = object()  # loaded inside the transaction that changed a policy


def _poll_interval() -> float:
    return app_settings.POLL_INTERVAL


def _cache() -> BaseCache:
    return caches[app_settings.CACHE_ALIAS]


def _read_version() -> object:
    cache = _cache()
    version = cache.get(VERSION_KEY)
    if version is None:
        # First process after a cache flush: agree on one version (add is atomic).
        cache.add(VERSION_KEY, uuid.uuid4().hex, None)
        version = cache.get(VERSION_KEY)
    return version


def policies_changed() -> None:
    """Announce a policy change to every process (call after the change is committed)."""
    registry.invalidate()
    try:
        _cache().set(VERSION_KEY, uuid.uuid4().hex, None)
    except Exception:
        logger.exception(
            "authstatus: could not announce a policy change through the cache; other "
            "processes keep their policies until the cache works again"
        )


registry = PolicyRegistry([settings_rules, database_rules])
on_reload(registry.reset)


def default_policy() -> Policy:
    """The policy of routes nothing else covers: ``DEFAULT_ACCESS``."""
    return _default_policy(app_settings.DEFAULT_ACCESS)


@functools.lru_cache(maxsize=8)
def _default_policy(access: str) -> Policy:
    return Policy(access=Access(access), source=DEFAULT)


def resolve(method: str, path: str, view_policy: Policy | None = None) -> Policy:
    """The policy in force for ``method`` and ``path`` (see the module docstring)."""
    rule = registry.match(method, path)
    if rule is not None:
        return rule.value
    return view_policy if view_policy is not None else default_policy()


def resolve_explained(
    method: str, path: str, view_policy: Policy | None = None
) -> tuple[Policy, str]:
    """:func:`resolve`, with where the policy came from: ``"settings: …"``,
    ``"database: …"``, ``"view: …"`` or ``"default: DEFAULT_ACCESS"``."""
    rule = registry.match(method, path)
    if rule is not None:
        return rule.value, f"{rule.value.source}: {rule.value.name}"
    if view_policy is not None:
        return view_policy, f"{VIEW}: {view_policy.name}"
    return default_policy(), f"{DEFAULT}: DEFAULT_ACCESS"
