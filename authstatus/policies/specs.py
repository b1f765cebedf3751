"""Policy specs: a policy as settings, the admin and ``@access`` write it, validated into a rule.

One function, :func:`rule_from_spec`, validates a spec (a dict of the
:data:`POLICY_FIELDS`) for every source — ``AUTHSTATUS["POLICIES"]``, ``ResourcePolicy``
rows, the ``access`` decorator (:func:`build_policy`) — and raises :class:`PolicyError`,
naming the field, for anything that could not be enforced as written. It imports neither the
models nor the registry (:mod:`authstatus.policies`), which both use it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from django.utils.translation import gettext, gettext_noop

from authstatus.conf import app_settings
from authstatus.core.challenges import is_scope_token
from authstatus.core.decision import Access, Policy
from authstatus.core.matching import Matcher, PatternError, Rule, intern_set, normalize_methods

__all__ = [
    "DATABASE",
    "DEFAULT",
    "POLICY_FIELDS",
    "SETTINGS",
    "SPEC_KEYS",
    "VIEW",
    "PolicyError",
    "build_policy",
    "rule_from_spec",
    "settings_rules",
]

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
    """A policy that cannot be enforced as written; the message says which field and why.

    ``message`` is an English ``%``-template over ``params`` (marked with ``gettext_noop``):
    ``str()`` is the English text (logs), :meth:`translated` the text in the active language
    (the admin's form errors and problem column, the system checks).
    """

    def __init__(
        self, message: str, field: str | None = None, params: Mapping[str, object] | None = None
    ) -> None:
        super().__init__(message % params if params else message)
        self.field = field
        self.template = message
        self.params = dict(params or {})

    def translated(self) -> str:
        """The message in the active language (English when the catalog lacks it)."""
        template = gettext(self.template)
        return template % self.params if self.params else template


def _strings(value: object, field: str) -> list[str]:
    """``value`` as a list of strings: ``None``, one string, or a list of strings. Anything
    else (``[1]``, ``[None]``, a number, a dict) is a :class:`PolicyError` for ``field``,
    never a string made up by ``str()`` (``None`` is not the scope ``"None"``)."""
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    if not isinstance(value, list | tuple | set | frozenset):
        raise PolicyError(
            gettext_noop("%(field)s must be a string or a list of strings, not %(value)s."),
            field,
            {"field": field, "value": repr(value)},
        )
    for item in value:
        if not isinstance(item, str):
            raise PolicyError(
                gettext_noop("%(field)s must hold strings only, not %(value)s."),
                field,
                {"field": field, "value": repr(item)},
            )
    return list(value)


def _words(value: object, field: str) -> tuple[str, ...]:
    """A space-separated string, or a list whose items are taken whole (stripped)."""
    items = value.split() if isinstance(value, str) else _strings(value, field)
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
        raise PolicyError(
            gettext_noop("'%(access)s' is not an access level (%(choices)s)."),
            "access",
            {"access": access, "choices": choices},
        ) from None
    scopes = _scope_tokens(
        required_scopes,
        "required_scopes",
        gettext_noop(
            "'%(word)s' is not a valid OAuth scope (RFC 6750 §3: printable ASCII without "
            "spaces, quotes or backslashes)."
        ),
    )
    # Group names may contain spaces: a string is a comma-separated list.
    groups = _strings(required_groups, "required_groups")
    if isinstance(required_groups, str):
        groups = required_groups.split(",")
    group_names = tuple(dict.fromkeys(g.strip() for g in groups if g.strip()))
    permissions = _words(required_permissions, "required_permissions")
    for permission in permissions:
        app_label, dot, codename = permission.partition(".")
        if not (app_label and dot and codename):
            raise PolicyError(
                gettext_noop("'%(permission)s' is not a permission name ('app_label.codename')."),
                "required_permissions",
                {"permission": permission},
            )
    names = _words(requirements, "requirements")
    # Read only when needed: a malformed REQUIREMENTS setting (authstatus.E008) must not
    # invalidate policies that name no requirement.
    declared = app_settings.REQUIREMENTS if names else {}
    for requirement in names:
        if requirement not in declared:
            raise PolicyError(
                gettext_noop(
                    "'%(requirement)s' is not a requirement declared in AUTHSTATUS['REQUIREMENTS']."
                ),
                "requirements",
                {"requirement": requirement},
            )
    if level is not Access.AUTHENTICATED and (scopes or group_names or permissions or names):
        raise PolicyError(
            gettext_noop(
                "A policy with access '%(access)s' cannot have required scopes, groups, "
                "permissions or requirements: only authenticated access checks them."
            ),
            "access",
            {"access": level.value},
        )
    age = _max_age(max_age)
    classes = _scope_tokens(
        acr_values,
        "acr_values",
        gettext_noop(
            "'%(word)s' is not a valid authentication context class reference (RFC 9470 §3: "
            "printable ASCII without spaces, quotes or backslashes)."
        ),
    )
    if level is not Access.AUTHENTICATED and (age is not None or classes):
        raise PolicyError(
            gettext_noop(
                "A policy with access '%(access)s' cannot have max_age or acr_values: only "
                "authenticated access checks how the user authenticated."
            ),
            "access",
            {"access": level.value},
        )
    return Policy(
        access=level,
        conceal=bool(conceal),
        required_scopes=intern_set(scopes),
        required_groups=intern_set(group_names),
        required_permissions=intern_set(permissions),
        requirements=names,
        source=source,
        name=name,
        max_age=age,
        acr_values=classes,
    )


def _scope_tokens(value: Any, field: str, message: str) -> tuple[str, ...]:
    """The words of ``value``, each a scope-token: printable ASCII without spaces, quotes or
    backslashes (RFC 6750 §3; RFC 9470 §3 uses the same syntax for ``acr_values``);
    ``message`` (over ``%(word)s``) says what a word that is not one should have been."""
    words = _words(value, field)
    for word in words:
        if not is_scope_token(word):
            raise PolicyError(message, field, {"word": word})
    return words


MAX_AGE_NOT_A_NUMBER = gettext_noop("max_age must be a whole number of seconds, not %(value)s.")
PRIORITY_NOT_A_NUMBER = gettext_noop("priority must be a whole number, not %(value)s.")


def _max_age(value: Any) -> int | None:
    """``max_age`` as seconds: a positive whole number, or ``None``/blank for no limit."""
    if value is None or value == "":
        return None
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise PolicyError(MAX_AGE_NOT_A_NUMBER, "max_age", {"value": repr(value)})
    try:
        seconds = int(value)
    except ValueError:
        raise PolicyError(MAX_AGE_NOT_A_NUMBER, "max_age", {"value": repr(value)}) from None
    if seconds < 1:
        raise PolicyError(
            gettext_noop("max_age must be at least 1 second, not %(seconds)s."),
            "max_age",
            {"seconds": seconds},
        )
    return seconds


def rule_from_spec(spec: Mapping[str, Any], *, source: str, rank: int) -> Rule[Policy] | None:
    """The rule a policy dict describes (``None`` when disabled), or :class:`PolicyError`."""
    unknown = set(spec) - SPEC_KEYS
    if unknown:
        raise PolicyError(
            gettext_noop("Unknown policy keys: %(keys)s."),
            None,
            {"keys": ", ".join(sorted(unknown))},
        )
    if "path" not in spec or not isinstance(spec["path"], str):
        raise PolicyError(gettext_noop("A policy needs a 'path' pattern."), "path")
    if not spec.get("enabled", True):
        return None
    pattern = spec["path"]
    try:
        methods = normalize_methods(_method_names(spec.get("methods")))
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


def _method_names(value: object) -> str | list[str]:
    """``methods`` as written: a space-separated string or a list of strings."""
    if isinstance(value, str):
        return value
    return _strings(value or None, "methods")


def _priority(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise PolicyError(PRIORITY_NOT_A_NUMBER, "priority", {"value": repr(value)})
    try:
        return int(value)
    except ValueError:
        raise PolicyError(PRIORITY_NOT_A_NUMBER, "priority", {"value": repr(value)}) from None


def settings_rules() -> list[Rule[Policy]]:
    """Rules from ``AUTHSTATUS["POLICIES"]`` (rank 0). Invalid entries raise PolicyError;
    the system check ``authstatus.E004`` reports them at startup."""
    rules = []
    for spec in app_settings.POLICIES:
        rule = rule_from_spec(spec, source=SETTINGS, rank=0)
        if rule is not None:
            rules.append(rule)
    return rules
