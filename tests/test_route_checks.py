"""System checks over routes and policies (issue 9 §3): W013-W017, E015, E016.

Each is triggered by the smallest configuration that shows it, and silent on the demo."""

from __future__ import annotations

import logging

import pytest
from django.conf import settings
from django.contrib.auth.models import Group
from django.test import override_settings
from rest_framework.test import APIClient

from authstatus.checks.codes import Codes
from authstatus.checks.routes import check_policy_names, check_routes
from authstatus.checks.settings import check_requirements
from tests.factories import AccessTokenFactory, OrderFactory, VaultItemFactory
from tests.test_resources import RESOURCE_POLICIES


def _ids(messages) -> list[str]:
    return [m.id for m in messages]


def _with(**changes) -> override_settings:
    return override_settings(AUTHSTATUS={**settings.AUTHSTATUS, **changes})


def _resources(*extra, **changes) -> override_settings:
    return override_settings(
        ROOT_URLCONF="tests.urls_resources",
        AUTHSTATUS={
            **settings.AUTHSTATUS,
            "POLICIES": [*settings.AUTHSTATUS["POLICIES"], *RESOURCE_POLICIES, *extra],
            **changes,
        },
    )


def test_the_demo_has_no_route_messages():
    assert check_routes() == []
    assert check_requirements() == []


def test_w013_routes_that_inherit_are_named():
    with _resources(
        {"path": "/unfiltered/vault/", "access": "anonymous"},  # not W016 here
    ):
        messages = [m for m in check_routes() if m.id == Codes.ROUTE_INHERITS]
    texts = sorted(m.msg.split(": no policy")[0] for m in messages)
    assert texts == [
        # /intl/orders/ has a GET policy and /intl/orders/*/ one for all methods
        "/<language>/intl/orders/ POST",
        "/<language>/intl/orders/<pk>/ship/ POST",
        "/v2/items/<pk>/ship/ POST",
        # not /v2/items/summary/: the pattern /v2/items/*/ matches it (a literal segment)
    ]
    ship = next(m for m in messages if "ship" in m.msg)
    assert "/v2/items/<pk>/ PUT" in ship.msg


@pytest.mark.parametrize(
    ("path", "warned"),
    [
        ("/api/orderz/", True),
        ("/api/orders.json", True),  # a format variant: policies name the canonical path
        ("/en/api/orders/", True),
        ("/api/orders/", False),
        ("/api/orders/*/", False),
        ("/api/vault/1/", False),  # one object of a route
        ("/**", False),
    ],
)
def test_w014_a_policy_that_matches_no_route(path, warned):
    with _with(POLICIES=[*settings.AUTHSTATUS["POLICIES"], {"path": path, "methods": "GET"}]):
        ids = _ids(check_routes())
    assert (Codes.POLICY_MATCHES_NO_ROUTE in ids) is warned


def test_w014_methods_count():
    """/api/public/ serves GET only: a DELETE policy for it governs nothing."""
    spec = {"path": "/api/public/", "methods": "DELETE", "access": "nobody"}
    with _with(POLICIES=[*settings.AUTHSTATUS["POLICIES"], spec]):
        assert Codes.POLICY_MATCHES_NO_ROUTE in _ids(check_routes())


def test_w015_two_policies_with_the_same_pattern_and_methods():
    specs = [
        {"path": "/api/public/", "methods": "GET", "access": "anonymous"},
        {"path": "/api/public/", "methods": "head get", "access": "nobody"},
    ]
    with _with(POLICIES=[*settings.AUTHSTATUS["POLICIES"], *specs]):
        messages = [m for m in check_routes() if m.id == Codes.DUPLICATE_POLICIES]
    # the demo's own /api/public/ policy (all methods) is another key: two of three collide
    assert len(messages) == 1
    assert "/api/public/ (GET HEAD)" in messages[0].msg


def test_w016_a_list_route_without_the_filter_backend():
    with _resources({"path": "/unfiltered/vault/", "requirements": ["owner"]}):
        messages = [m for m in check_routes() if m.id == Codes.LIST_WITHOUT_FILTER]
    assert [m.msg.split(" has ")[0] for m in messages] == ["The list route /unfiltered/vault/"]
    assert "PolicyFilterBackend" in messages[0].msg


def test_w016_a_requirement_without_a_filter():
    with _with(REQUIREMENTS={"owner": "demo_project.api.rules.is_owner"}):
        messages = [m for m in check_routes() if m.id == Codes.LIST_WITHOUT_FILTER]
    routes = sorted(m.msg.split(" has ")[0].removeprefix("The list route ") for m in messages)
    # the vaults' lists (their own policies) and the orders' list (its detail routes')
    assert routes == ["/api/orders/", "/api/vault/", "/t/conceal/throttled-vault/"]
    assert all("declare no filter" in m.msg for m in messages)


@pytest.mark.django_db
def test_w016_a_requirement_without_a_filter_empties_the_list(alice):
    """What W016 warns about fails closed: the list is empty, never complete."""
    VaultItemFactory(owner=alice)
    token = AccessTokenFactory(user=alice, scope="read")
    with _with(REQUIREMENTS={"owner": "demo_project.api.rules.is_owner"}):
        response = APIClient().get("/api/vault/", HTTP_AUTHORIZATION=f"Bearer {token.token}")
    assert response.status_code == 200
    assert response.json() == []


@pytest.mark.parametrize(("debug", "warned"), [(True, True), (False, False)])
def test_w017_concealment_with_debug(debug, warned):
    with override_settings(DEBUG=debug):
        assert (Codes.CONCEALED_WITH_DEBUG in _ids(check_routes())) is warned


def test_w017_not_without_concealment():
    unconcealed = [p for p in settings.AUTHSTATUS["POLICIES"] if not p.get("conceal")]
    # tests/urls_bare.py: no view declares concealment in code either
    with override_settings(DEBUG=True, ROOT_URLCONF="tests.urls_bare"), _with(POLICIES=unconcealed):
        assert Codes.CONCEALED_WITH_DEBUG not in _ids(check_routes())


@pytest.mark.django_db
def test_e015_a_settings_policy_naming_a_missing_group_or_permission():
    Group.objects.create(name="staff-api")  # the demo's /api/staff/ policy names it
    specs = [
        {"path": "/api/staff/", "required_groups": ["no-such-group"]},
        {"path": "/api/profile/", "required_permissions": ["auth.no_such_codename"]},
    ]
    with _with(POLICIES=[*settings.AUTHSTATUS["POLICIES"], *specs]):
        messages = check_policy_names(databases=["default"])
        assert check_policy_names() == []  # only as a database check
    assert _ids(messages) == [Codes.UNKNOWN_GROUP_OR_PERMISSION] * 2
    assert "no-such-group" in messages[0].msg
    assert "auth.no_such_codename" in messages[1].msg


@pytest.mark.django_db
def test_e015_silent_when_they_exist():
    Group.objects.create(name="staff-api")
    assert check_policy_names(databases=["default"]) == []


@pytest.mark.parametrize(
    "declaration",
    [
        "no.such.module.predicate",
        {"check": "demo_project.api.rules.is_owner", "filter": "demo_project.api.rules.nope"},
        "demo_project.api.policies.DEMO_POLICIES",  # not callable
    ],
)
def test_e016_a_requirement_that_cannot_be_imported(declaration):
    with _with(REQUIREMENTS={"owner": declaration}):
        assert _ids(check_requirements()) == [Codes.BAD_REQUIREMENT_IMPORT]


@pytest.mark.django_db
def test_a_requirement_that_cannot_be_imported_fails_closed(alice, caplog):
    """Was: a 500 on the first object request. Now refused as the policy says (concealed:
    404), logged once."""
    order = OrderFactory(owner=alice)
    token = AccessTokenFactory(user=alice, scope="read write")
    client = APIClient()
    with _with(REQUIREMENTS={"owner": "no.such.module.predicate"}):
        with caplog.at_level(logging.ERROR, logger="authstatus"):
            for _ in range(3):
                response = client.get(
                    f"/api/orders/{order.pk}/", HTTP_AUTHORIZATION=f"Bearer {token.token}"
                )
                assert response.status_code == 404
        logged = [r for r in caplog.records if "cannot be used" in r.getMessage()]
    assert len(logged) == 1
