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
    {"path": "/api/", "methods": "GET", "access": "anonymous", "description": "API root"},
    {"path": "/api/account/", "methods": "GET", "description": "Your account"},
    # RFC 9470 step-up, GitHub's "sudo mode": deleting the account needs a recent login.
    {
        "path": "/api/account/",
        "methods": "DELETE",
        "max_age": 300,
        "description": "Deleting the account needs an authentication at most 300 s old",
    },
    # One row governs /api/orders/ and /api/orders.json; the list shows the requester's
    # orders only, through the detail routes' "owner" requirement and its filter.
    {
        "path": "/api/orders/",
        "methods": "GET",
        "required_scopes": "read",
        "description": "Listing orders needs scope read",
    },
    {
        "path": "/api/orders/",
        "methods": "POST",
        "required_scopes": "write",
        "description": "Placing an order needs scope write",
    },
    {
        "path": "/api/orders/*/",
        "methods": "GET",
        "conceal": True,
        "required_scopes": "read",
        "requirements": ["owner"],
        "description": "An order: only its owner reads it; for others it does not exist",
    },
    {
        "path": "/api/orders/*/",
        "methods": "PUT PATCH DELETE",
        "conceal": True,
        "required_scopes": "write",
        "requirements": ["owner"],
        "description": "An order: only its owner changes it; for others it does not exist",
    },
    {
        "path": "/api/orders/*/ship/",
        "methods": "POST",
        "conceal": True,
        "required_scopes": "write",
        "requirements": ["owner"],
        "description": "Shipping an order: its owner, with scope write",
    },
]

BASELINE_POLICIES: list[dict[str, Any]] = [
    {"path": "/", "methods": "GET", "access": "anonymous", "description": "Home page"},
    {"path": "/accounts/**", "access": "anonymous", "description": "Login and logout"},
    {"path": "/members/", "access": "authenticated", "description": "Members page"},
    {"path": "/api/schema/", "methods": "GET", "access": "anonymous", "description": "OpenAPI"},
]
