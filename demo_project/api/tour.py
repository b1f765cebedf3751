"""The scenario tour: one request per row of the decision table, as data.

``manage.py demo_tour`` prints them as curl commands (``--run`` sends them to ``--base``,
default http://127.0.0.1:8000); the demo home page lists the same rows.
"""

from __future__ import annotations

import base64
import shlex
from dataclasses import dataclass, field

# Fixed tokens that seed_demo creates for the tour. Demo only: never do this in production.
READ_TOKEN = "demo-alice-read"
READ_WRITE_TOKEN = "demo-alice-read-write"
EXPIRED_TOKEN = "demo-alice-expired"


@dataclass(frozen=True)
class Step:
    id: str
    scenario: str
    expected: str
    method: str
    path: str
    headers: dict[str, str] = field(default_factory=dict)
    data: str | None = None
    user: str | None = None  # Basic credentials "name:password"

    def command(self, base: str) -> str:
        parts = ["curl", "-i"]
        if self.method != "GET" or self.data is not None:
            parts += ["-X", self.method]
        if self.user:
            parts += ["-u", self.user]
        for name, value in self.headers.items():
            parts += ["-H", f"{name}: {value}"]
        if self.data is not None:
            parts += ["-d", self.data]
        parts.append(base.rstrip("/") + self.path)
        return shlex.join(parts)

    def request_headers(self) -> dict[str, str]:
        headers = dict(self.headers)
        if self.user:
            headers["Authorization"] = "Basic " + base64.b64encode(self.user.encode()).decode()
        if self.data is not None:
            headers.setdefault("Content-Type", "application/x-www-form-urlencoded")
        return headers


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


STEPS = [
    Step("1", "no credentials, anonymous-allowed", "200", "GET", "/api/public/"),
    Step(
        "2",
        "no credentials, authenticated-only",
        "401, every scheme challenged, no error",
        "GET",
        "/api/profile/",
    ),
    Step("3", "no credentials, closed to everyone", "403, no challenge", "GET", "/api/closed/"),
    Step(
        "4a",
        "expired token",
        '401 Bearer error="invalid_token" (expired)',
        "GET",
        "/api/profile/",
        bearer(EXPIRED_TOKEN),
    ),
    Step(
        "4b",
        "unknown token on an anonymous-allowed route",
        '401 Bearer error="invalid_token"',
        "GET",
        "/api/public/",
        bearer("no-such-token"),
    ),
    Step(
        "4c",
        "wrong Basic password",
        '401, Basic realm="api", charset="UTF-8" challenged',
        "GET",
        "/api/profile/",
        user="alice:wrong",
    ),
    Step(
        "5a",
        "valid credentials, not in group staff-api",
        "403, no challenge",
        "GET",
        "/api/staff/",
        user="alice:alice",
    ),
    Step(
        "5b",
        "valid token lacking scope write",
        '403 Bearer error="insufficient_scope", scope="write"',
        "POST",
        "/api/notes/",
        bearer(READ_TOKEN),
        data="text=hello",
    ),
    Step("6", "valid token with scope read", "200", "GET", "/api/notes/", bearer(READ_TOKEN)),
    Step(
        "6b",
        "valid token with scope write",
        "201",
        "POST",
        "/api/notes/",
        bearer(READ_WRITE_TOKEN),
        data="text=hello",
    ),
    Step(
        "400",
        "bare 'Authorization: Bearer'",
        '400 Bearer error="invalid_request"',
        "GET",
        "/api/profile/",
        {"Authorization": "Bearer"},
    ),
    Step(
        "404a",
        "bob asks for alice's vault item",
        "404, same as a missing id",
        "GET",
        "/api/vault/1/",
        user="bob:bob",
    ),
    Step(
        "404b",
        "bob asks for a vault item that does not exist",
        "404",
        "GET",
        "/api/vault/999999/",
        user="bob:bob",
    ),
    Step(
        "404c",
        "anonymous client on the concealed vault",
        "404",
        "GET",
        "/api/vault/",
    ),
    Step(
        "404d",
        "bob asks for alice's order, through its format-suffix URL",
        "404, as the detail route: one policy governs every URL of a route",
        "GET",
        "/api/orders/4.json",
        user="bob:bob",
    ),
    Step(
        "5c",
        "alice ships her own order with a read-only token",
        '403 Bearer error="insufficient_scope", scope="write": the owner is told',
        "POST",
        "/api/orders/4/ship/",
        bearer(READ_TOKEN),
    ),
    Step(
        "6c",
        "alice lists her orders (only hers: the owner filter)",
        "200",
        "GET",
        "/api/orders.json",
        bearer(READ_TOKEN),
    ),
    Step(
        "5d",
        "delete the account with a token alice authenticated for a day ago",
        '401 Bearer error="insufficient_user_authentication", max_age="300"',
        "DELETE",
        "/api/account/",
        bearer(READ_WRITE_TOKEN),
    ),
    Step(
        "6d",
        "delete the account with Basic credentials (the password is checked now)",
        "204 (the demo deletes nothing)",
        "DELETE",
        "/api/account/",
        user="alice:alice",
    ),
    Step(
        "html",
        "anonymous browser on the members page",
        "401 HTML page linking to the login form",
        "GET",
        "/members/",
        {"Accept": "text/html"},
    ),
]


def tour_rows(base: str) -> list[dict[str, str]]:
    return [
        {"id": s.id, "scenario": s.scenario, "expected": s.expected, "command": s.command(base)}
        for s in STEPS
    ]
