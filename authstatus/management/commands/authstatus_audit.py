"""``manage.py authstatus_audit``: send every route the requests that have broken guarantees
before, through the real stack, and report each answer the decision table does not allow.

Exit status: ``0`` when every route was checked and nothing was found; ``1`` on any finding;
``2`` when the time bound stopped the audit before every route was checked (and nothing was
found). Output is English only: it is meant for CI logs.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from authstatus.audit import AuditReport, audit, parse_objects, to_json

FINDINGS_EXIT = 1
INCOMPLETE_EXIT = 2


class Command(BaseCommand):
    help = (
        "Audit every route authstatus enforces: send anonymous, invalid, expired, "
        "insufficient and sufficient credentials, CORS preflights, browser and format "
        "variants through the real stack (inside a transaction that is rolled back) and "
        "report every answer the decision table does not allow. Exit status 1 on findings, "
        "2 when the time bound stopped it."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument(
            "--format",
            choices=("text", "json"),
            default="text",
            help="Output format (default: text, one line per finding and a summary).",
        )
        parser.add_argument(
            "--max-seconds",
            type=float,
            default=300.0,
            help="Stop sending requests after this many seconds and report what was not "
            "checked (default: 300).",
        )
        parser.add_argument(
            "--urlconf",
            help="Audit this URLconf (a dotted module path) instead of ROOT_URLCONF.",
        )
        parser.add_argument(
            "--object",
            action="append",
            default=[],
            metavar="ROUTE=ID",
            help="An existing object of a concealed object route, e.g. "
            "'/api/vault/<int:pk>/=12' (the route as authstatus_routes writes it). "
            "Repeatable. Default: the first row of the view's model.",
        )
        parser.add_argument(
            "--route",
            action="append",
            default=[],
            metavar="PREFIX",
            help="Audit only the routes whose written form (as authstatus_routes writes it) "
            "starts with PREFIX, e.g. /api/. Repeatable. Default: every route.",
        )
        parser.add_argument(
            "--host",
            help="Host of the requests (default: the first literal entry of ALLOWED_HOSTS, "
            "else localhost).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            objects = parse_objects(options["object"])
        except ValueError as exc:
            raise CommandError(str(exc), returncode=INCOMPLETE_EXIT) from exc
        if options["max_seconds"] <= 0:
            raise CommandError("--max-seconds must be positive.", returncode=INCOMPLETE_EXIT)
        try:
            with _quiet(options["verbosity"]):
                report = audit(
                    urlconf=options["urlconf"],
                    objects=objects,
                    max_seconds=options["max_seconds"],
                    host=options["host"],
                    routes=options["route"],
                    progress=self._progress if self.stderr.isatty() else None,
                )
        except ValueError as exc:
            raise CommandError(f"--object: {exc}", returncode=INCOMPLETE_EXIT) from exc
        if self.stderr.isatty():
            self.stderr.write("\r\033[K", style_func=_plain, ending="")
        if options["format"] == "json":
            self.stdout.write(to_json(report))
        else:
            self._text(report)
        if report.findings:
            raise CommandError(
                f"{len(report.findings)} finding(s): authstatus does not fail closed everywhere.",
                returncode=FINDINGS_EXIT,
            )
        if not report.complete:
            raise CommandError(
                "The time bound stopped the audit: raise --max-seconds to check every route.",
                returncode=INCOMPLETE_EXIT,
            )

    def _text(self, report: AuditReport) -> None:
        for finding in report.findings:
            self.stdout.write(finding.line())
        for unchecked in report.unchecked:
            self.stdout.write(unchecked.line())
        reasons: dict[str, int] = {}
        for skipped in report.skipped:
            reasons[skipped.reason] = reasons.get(skipped.reason, 0) + 1
        for reason, count in sorted(reasons.items()):
            self.stdout.write(f"SKIPPED {count:,} route(s): {reason}")
        self.stdout.write(report.summary())

    def _progress(self, done: int, total: int, route: str) -> None:
        self.stderr.write(f"\r\033[K[{done}/{total}] {route}"[:200], style_func=_plain, ending="")
        self.stderr.flush()


def _plain(text: str) -> str:
    return text


@contextmanager
def _quiet(verbosity: int) -> Iterator[None]:
    """Below ``--verbosity 2``, log records up to ``ERROR`` are dropped while the audit
    runs: Django logs every ``4xx`` it sends, and findings say what matters."""
    if verbosity >= 2:
        yield
        return
    previous = logging.root.manager.disable
    logging.disable(logging.ERROR)
    try:
        yield
    finally:
        logging.disable(previous)
