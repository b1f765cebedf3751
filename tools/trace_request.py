"""Which authstatus modules one request executes, and how many times it is decided.

    python tools/trace_request.py

Sends one request through the test settings' stack (Django's test client, a throwaway SQLite
test database): a valid bearer token of one user to another user's order, a concealed DRF
object route (``GET /api/orders/<pk>/``, answered ``404``). It prints the authstatus modules
whose functions ran (``sys.setprofile``), the number of distinct modules, how often a module
was entered from a module of a higher layer (as ``tools/imports.py`` draws them) and how many
decisions were made: calls of ``authstatus.core.decision.decide`` and ``refuse``.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tools"))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")


def main() -> int:
    import django

    django.setup()
    from django.db import connection
    from django.test import Client
    from django.test.utils import setup_test_environment
    from imports import layer  # tools/imports.py

    setup_test_environment()
    connection.creation.create_test_db(verbosity=0)
    from tests.factories import AccessTokenFactory, OrderFactory, UserFactory

    alice, bob = UserFactory(username="alice"), UserFactory(username="bob")
    order = OrderFactory(owner=alice)
    token = AccessTokenFactory(user=bob, scope="read write").token
    client = Client()
    path = f"/api/orders/{order.pk}/"
    client.get(path, HTTP_AUTHORIZATION=f"Bearer {token}")  # warm: compile, prepare, import

    modules: set[str] = set()
    climbs = 0
    decisions: list[str] = []
    stack: list[str] = []

    def profile(frame: Any, event: str, arg: Any) -> None:
        nonlocal climbs
        if event == "call":
            name = frame.f_globals.get("__name__", "")
            if name.startswith("authstatus"):
                modules.add(name)
                caller = stack[-1] if stack else ""
                if caller.startswith("authstatus") and caller != name:
                    climbs += layer(caller) < layer(name)
                if name == "authstatus.core.decision" and frame.f_code.co_name in (
                    "decide",
                    "refuse",
                ):
                    decisions.append(frame.f_code.co_name)
            stack.append(name)
        elif event == "return" and stack:
            stack.pop()

    sys.setprofile(profile)
    try:
        response = client.get(path, HTTP_AUTHORIZATION=f"Bearer {token}")
    finally:
        sys.setprofile(None)
    print(f"GET {path} with another user's bearer token: {response.status_code}")
    print(f"authstatus modules executed: {len(modules)}")
    for name in sorted(modules):
        print(f"  {name}")
    print(f"calls from a lower layer up into a higher one: {climbs}")
    print(f"decisions: {len(decisions)} ({', '.join(decisions)})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
