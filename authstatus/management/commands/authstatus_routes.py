"""``manage.py authstatus_routes``: every URL route, the policy in force, and its source."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from authstatus.core.decision import Policy
from authstatus.policies.resolution import INHERITED, route_entries


def describe(policy: Policy | None) -> str:
    """A policy in one line: ``authenticated concealed scopes=read requirements=owner``."""
    if policy is None:
        return "-"
    parts = [policy.access.value]
    if policy.conceal:
        parts.append("concealed")
    if policy.required_scopes:
        parts.append("scopes=" + ",".join(sorted(policy.required_scopes)))
    if policy.required_groups:
        parts.append("groups=" + ",".join(sorted(policy.required_groups)))
    if policy.required_permissions:
        parts.append("permissions=" + ",".join(sorted(policy.required_permissions)))
    if policy.requirements:
        parts.append("requirements=" + ",".join(policy.requirements))
    if policy.max_age is not None:
        parts.append(f"max_age={policy.max_age}")
    if policy.acr_values:
        parts.append("acr_values=" + ",".join(policy.acr_values))
    return " ".join(parts)


class Command(BaseCommand):
    # Lazy, so --help is in the language active when it is printed (django-stubs types help as
    # str; Django formats it with str()).
    help = gettext_lazy(  # type: ignore[assignment]
        "List every URL route (format-suffix and slash variants grouped with it) with the "
        "methods its view serves, the policy in force per method and where it comes from."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--all", action="store_true", help=_("Include exempt routes."))

    def handle(self, *args: Any, **options: Any) -> None:
        rows: list[tuple[str, str, str, str]] = [
            (_("ROUTE"), _("METHODS"), _("POLICY"), _("SOURCE"))
        ]
        flagged = 0
        entries = route_entries(include_exempt=options["all"])
        for index, entry in enumerate(entries):
            endpoint = entry.endpoint
            first = index == 0 or entries[index - 1].endpoint is not endpoint
            last = index + 1 == len(entries) or entries[index + 1].endpoint is not endpoint
            if entry.resolved is None:
                policy, source = "-", entry.enforced_by
            else:
                policy, source = describe(entry.resolved.policy), entry.resolved.source
                if entry.resolved.policy.source == INHERITED:
                    source = "! " + source
                    flagged += 1
                if entry.enforced_by not in ("PolicyPermission", "middleware"):
                    policy, source = "-", "! " + entry.enforced_by
                    flagged += 1
            rows.append(
                (endpoint.written if first else "", " ".join(entry.methods), policy, source)
            )
            if last:
                rows += [
                    ("  " + _("also %(variant)s") % {"variant": variant}, "", "", "")
                    for variant in endpoint.variants
                ]
        widths = [max(len(row[i]) for row in rows) for i in range(3)]
        for row in rows:
            line = "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=False))
            self.stdout.write((line + "  " + row[3]).rstrip())
        if flagged:
            self.stdout.write(
                "\n"
                + _(
                    "%(count)s row(s) marked '!': no policy names them (they inherit from their "
                    "siblings) or their view leaves PolicyPermission out. See `manage.py check`."
                )
                % {"count": flagged}
            )
