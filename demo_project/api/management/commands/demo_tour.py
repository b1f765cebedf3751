"""Print the scenario tour as curl commands; with ``--run URL`` send them and show the answers."""

from __future__ import annotations

import urllib.error
import urllib.request
from typing import Any

from django.core.management.base import BaseCommand

from demo_project.api.tour import STEPS


class Command(BaseCommand):
    help = "Print one curl command per row of the decision table (--run URL sends them)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--base", default="http://127.0.0.1:8000", help="Demo base URL.")
        parser.add_argument("--run", action="store_true", help="Send each request and report.")

    def handle(self, *args: Any, base: str, run: bool, **options: Any) -> None:
        for step in STEPS:
            self.stdout.write(f"[{step.id}] {step.scenario} -> expect {step.expected}")
            self.stdout.write(f"    {step.command(base)}")
            if run:
                status, challenge = self._send(base, step)
                self.stdout.write(f"    => {status}  WWW-Authenticate: {challenge or '-'}")

    @staticmethod
    def _send(base: str, step: Any) -> tuple[int, str | None]:
        request = urllib.request.Request(
            base.rstrip("/") + step.path,
            method=step.method,
            headers=step.request_headers(),
            data=step.data.encode() if step.data is not None else None,
        )
        try:
            with urllib.request.urlopen(request) as response:
                return response.status, response.headers.get("WWW-Authenticate")
        except urllib.error.HTTPError as error:
            return error.code, error.headers.get("WWW-Authenticate")
