"""``manage.py authstatus_routes``: every URL route, the policy in force, and its source."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from authstatus.core.decision import Policy
from authstatus.routes import iter_routes, methods_of


def _describe(policy: Policy | None) -> str:
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
    return " ".join(parts)


class Command(BaseCommand):
    help = "List every URL route with the policy in force per method and where it comes from."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--all", action="store_true", help="Include exempt routes.")

    def handle(self, *args: Any, **options: Any) -> None:
        rows = [("ROUTE", "METHODS", "POLICY", "SOURCE")]
        for route in iter_routes():
            for group in methods_of(route):
                if group.source == "exempt" and not options["all"]:
                    continue
                rows.append(
                    (route.written, " ".join(group.methods), _describe(group.policy), group.source)
                )
        widths = [max(len(row[i]) for row in rows) for i in range(3)]
        for row in rows:
            self.stdout.write(
                "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=False))
                + "  "
                + row[3]
            )
