"""The demo's API policies. ``seed_demo`` stores them as ResourcePolicy rows, editable in the
admin; the test settings load them from settings instead, so tests need no seeding."""

from typing import Any

DEMO_POLICIES: list[dict[str, Any]] = [
    {"path": "/api/public/", "access": "anonymous", "description": "Public API"},
    {"path": "/api/profile/", "access": "authenticated", "description": "Profile"},
    {
        "path": "/api/notes/",
        "methods": "GET",
        "required_scopes": "read",
        "description": "Reading notes needs scope read",
    },
    {
        "path": "/api/notes/",
        "methods": "POST",
        "required_scopes": "write",
        "description": "Writing notes needs scope write",
    },
    {"path": "/api/staff/", "required_groups": ["staff-api"], "description": "Staff only"},
    {"path": "/api/closed/", "access": "nobody", "description": "Closed to everyone"},
    {
        "path": "/api/vault/**",
        "access": "authenticated",
        "conceal": True,
        "requirements": ["owner"],
        "description": "Vault: only the owner sees an item; for others it does not exist",
    },
]

BASELINE_POLICIES: list[dict[str, Any]] = [
    {"path": "/", "methods": "GET", "access": "anonymous", "description": "Home page"},
    {"path": "/accounts/**", "access": "anonymous", "description": "Login and logout"},
    {"path": "/members/", "access": "authenticated", "description": "Members page"},
    {"path": "/api/schema/", "methods": "GET", "access": "anonymous", "description": "OpenAPI"},
]
