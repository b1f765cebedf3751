"""Checks of the URL routes against the policies: inherited routes, policies matching no route,
duplicates, unfiltered lists, database rows.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.contrib.auth.models import Group, Permission
from django.core.checks import CheckMessage, Error, Tags, Warning, register
from django.db import DatabaseError, router
from django.utils.translation import gettext as _

from authstatus.checks.codes import Codes
from authstatus.checks.concealment import _concealment_configured
from authstatus.conf import SETTING_NAME, app_settings
from authstatus.contrib.rest_framework.filters import PolicyFilterBackend
from authstatus.core.decision import Access
from authstatus.core.matching import Matcher, PatternError, normalize_methods
from authstatus.models import ResourcePolicy
from authstatus.policies.requirements import declared
from authstatus.policies.resolution import (
    INHERITED,
    detail_requirements,
    endpoint_policy,
    endpoints_matching,
    route_entries,
)
from authstatus.policies.routes import route_map
from authstatus.policies.specs import PolicyError, rule_from_spec, settings_rules

if TYPE_CHECKING:
    from authstatus.core.decision import Policy
    from authstatus.policies.routes import Endpoint


@register(Tags.security, Tags.urls)
def check_routes(app_configs: Sequence[Any] | None = None, **kwargs: Any) -> list[CheckMessage]:
    """The routes and the settings policies agree (W013-W017).

    Checks see the policies in settings and the views' ``@access`` declarations; database
    rows are shown by ``manage.py authstatus_routes`` and the admin.
    """
    raw = getattr(settings, SETTING_NAME, {})
    if not isinstance(raw, Mapping):
        return []  # authstatus.E001
    try:
        matcher = Matcher(settings_rules())
        Access(app_settings.DEFAULT_ACCESS)
    except (PolicyError, PatternError, TypeError, ValueError):
        return []  # authstatus.E003 / E004 report it
    specs = [
        spec
        for spec in raw.get("POLICIES", [])
        if isinstance(spec, Mapping) and spec.get("enabled", True)
    ]
    return [
        *_inheriting_routes(matcher),
        *_unmatched_policies(specs),
        *_duplicate_policies(specs),
        *_unfiltered_lists(matcher),
        *_concealed_with_debug(specs),
    ]


def _inheriting_routes(matcher: Matcher[Policy]) -> list[CheckMessage]:

    out: list[CheckMessage] = []
    for entry in route_entries(include_exempt=False, matcher=matcher):
        resolved = entry.resolved
        if resolved is None or resolved.policy.source != INHERITED:
            continue
        out.append(
            Warning(
                _(
                    "%(route)s %(methods)s: no policy names this route; it inherits the "
                    "strictest of %(siblings)s."
                )
                % {
                    "route": entry.endpoint.written,
                    "methods": " ".join(entry.methods),
                    "siblings": ", ".join(resolved.inherited_from),
                },
                hint=_(
                    "A route no policy names is never weaker than a sibling route of its view "
                    "that has one (docs/howto/policies-in-settings.md, 'Resources'). Write a "
                    "policy for it, or declare one with @access(..., actions=...), to say what "
                    "you mean."
                ),
                id=Codes.ROUTE_INHERITS,
            )
        )
    return out


def _unmatched_policies(specs: list[Mapping[str, Any]]) -> list[CheckMessage]:

    out: list[CheckMessage] = []
    for spec in specs:
        try:
            matched = endpoints_matching(str(spec["path"]), spec.get("methods") or "")
        except (KeyError, PatternError, TypeError):
            continue  # authstatus.E004
        if not matched:
            methods = spec.get("methods") or _("all methods")
            out.append(
                Warning(
                    _("The policy for %(path)s (%(methods)s) matches no URL route.")
                    % {"path": spec["path"], "methods": methods},
                    hint=_(
                        "Policies match the canonical path of a route: without a DRF format "
                        "suffix or an i18n_patterns language prefix, with its trailing slash. "
                        "`manage.py authstatus_routes` lists the routes."
                    ),
                    id=Codes.POLICY_MATCHES_NO_ROUTE,
                )
            )
    return out


def _duplicate_policies(specs: list[Mapping[str, Any]]) -> list[CheckMessage]:

    seen: dict[tuple[str, frozenset[str]], int] = {}
    out: list[CheckMessage] = []
    for index, spec in enumerate(specs):
        try:
            key = (str(spec["path"]), normalize_methods(spec.get("methods") or ()))
        except (KeyError, PatternError, TypeError, AttributeError):
            continue
        if key in seen:
            out.append(
                Warning(
                    _("Two policies for %(path)s (%(methods)s): only one is enforced.")
                    % {"path": key[0], "methods": " ".join(sorted(key[1])) or _("all methods")},
                    hint=_(
                        "The higher priority wins, then the pattern text: merge them, or give "
                        "one a different pattern or methods. (A database row with the same "
                        "pattern and methods overrides a settings policy by design.)"
                    ),
                    id=Codes.DUPLICATE_POLICIES,
                )
            )
        else:
            seen[key] = index
    return out


def _unfiltered_lists(matcher: Matcher[Policy]) -> list[CheckMessage]:

    filters = {name: paths[1] for name, paths in declared().items()}
    out: list[CheckMessage] = []
    for endpoint in route_map().endpoints:
        if not _is_list_route(endpoint) or endpoint.exempt:
            continue
        resolved = endpoint_policy(endpoint, "GET", matcher)
        names = dict.fromkeys(resolved.policy.requirements if resolved is not None else ())
        names.update(dict.fromkeys(detail_requirements(endpoint, matcher)))
        if not names:
            continue
        backends = getattr(endpoint.view_class, "filter_backends", ()) or ()
        problems = []
        if not any(isinstance(b, type) and issubclass(b, PolicyFilterBackend) for b in backends):
            problems.append(_("its view's filter_backends leave PolicyFilterBackend out"))
        unfiltered = [n for n in names if filters.get(n) is None]
        if unfiltered:
            problems.append(
                _("requirement(s) %(names)s declare no filter") % {"names": ", ".join(unfiltered)}
            )
        if problems:
            out.append(
                Warning(
                    _("The list route %(route)s has requirements (%(names)s) but %(problems)s.")
                    % {
                        "route": endpoint.written,
                        "names": ", ".join(names),
                        "problems": _(" and ").join(problems),
                    },
                    hint=_(
                        "A list would show objects its detail route refuses or conceals. Add "
                        "authstatus.contrib.rest_framework.PolicyFilterBackend to "
                        "DEFAULT_FILTER_BACKENDS and declare each requirement with a filter: "
                        "{'check': ..., 'filter': ...}. (A requirement without a filter "
                        "empties the list: it fails closed.)"
                    ),
                    id=Codes.LIST_WITHOUT_FILTER,
                )
            )
    return out


def _is_list_route(endpoint: Endpoint) -> bool:
    """A DRF route serving many objects: a viewset's ``list`` action, or a generic view with
    ``list()`` whose URL carries no lookup parameter."""
    if endpoint.is_viewset:
        return endpoint.actions.get("GET") == "list"
    view_class = endpoint.view_class
    if not endpoint.is_drf or not hasattr(view_class, "list"):
        return False
    lookup = getattr(view_class, "lookup_url_kwarg", None) or getattr(
        view_class, "lookup_field", "pk"
    )
    return f"<{lookup}>" not in endpoint.written and f":{lookup}>" not in endpoint.written


def _concealed_with_debug(specs: list[Mapping[str, Any]]) -> list[CheckMessage]:
    if not getattr(settings, "DEBUG", False) or not _concealment_configured():
        return []
    return [
        Warning(
            _("Resources are concealed while DEBUG is True."),
            hint=_(
                "With DEBUG, Django answers a URL that does not exist with its technical 404 "
                "page, listing the URL patterns, while a concealed resource gets authstatus's "
                "404: the two can be told apart. Concealment holds only with DEBUG off."
            ),
            id=Codes.CONCEALED_WITH_DEBUG,
        )
    ]


@register(Tags.database)
def check_policy_names(
    app_configs: Sequence[Any] | None = None, **kwargs: Any
) -> list[CheckMessage]:
    """Groups and permissions named by settings policies exist (a database check: it runs
    with ``migrate`` and ``manage.py check --database default``)."""
    if not kwargs.get("databases"):
        return []

    raw = getattr(settings, SETTING_NAME, {})
    if not isinstance(raw, Mapping):
        return []
    errors: list[CheckMessage] = []
    for index, spec in enumerate(raw.get("POLICIES", [])):
        if not isinstance(spec, Mapping):
            continue
        try:
            rule = rule_from_spec(spec, source="settings", rank=0)
        except PolicyError:
            continue  # authstatus.E004
        if rule is None:
            continue
        policy = rule.value
        try:
            groups = set(
                Group.objects.filter(name__in=policy.required_groups).values_list("name", flat=True)
            )
            permissions = {
                f"{app_label}.{codename}"
                for app_label, codename in Permission.objects.filter(
                    codename__in={p.partition(".")[2] for p in policy.required_permissions}
                ).values_list("content_type__app_label", "codename")
            }
        except Exception:  # tables not created yet: migrate runs this check again later
            return []
        missing = sorted(policy.required_groups - groups) + sorted(
            policy.required_permissions - permissions
        )
        if missing:
            errors.append(
                Error(
                    _("POLICIES[%(index)s] (%(path)s) names what does not exist: %(missing)s.")
                    % {"index": index, "path": spec.get("path"), "missing": ", ".join(missing)},
                    hint=_(
                        "Nobody satisfies a policy naming a missing group or permission: it "
                        "fails closed. Create it, or correct the name."
                    ),
                    id=Codes.UNKNOWN_GROUP_OR_PERMISSION,
                )
            )
    return errors


@register(Tags.database)
def check_database_policies(
    app_configs: Sequence[Any] | None = None, databases: Sequence[str] | None = None, **kwargs: Any
) -> list[CheckMessage]:
    """Every enabled ``ResourcePolicy`` row validates (rows written around ``save()`` may
    not). Runs where database checks run: ``migrate``, ``check --database default``."""

    if not databases or router.db_for_read(ResourcePolicy) not in databases:
        return []
    try:
        rows = list(ResourcePolicy.objects.filter(enabled=True).order_by("pk"))
    except DatabaseError:
        return []  # not migrated yet, or unreachable: nothing to report on
    warnings: list[CheckMessage] = []
    for row in rows:
        problem = row.problem(translated=True)
        if problem is not None:
            warnings.append(
                Warning(
                    _("Resource policy #%(pk)s (%(path)s) does not validate: %(problem)s")
                    % {"pk": row.pk, "path": repr(row.path), "problem": problem},
                    hint=_(
                        "It was written around the model's validation (raw SQL, a migration, "
                        "a restore). Until it is fixed in the admin, it is enforced as its last "
                        "valid version or closed to everyone, never more open; see "
                        "docs/howto/policies-in-admin.md."
                    ),
                    obj=row,
                    id=Codes.INVALID_DATABASE_POLICY,
                )
            )
    return warnings
