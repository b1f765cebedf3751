"""Named requirement predicates checked on the object (``has_object_permission``), obeying
``conceal``: the demo's vault (``/api/vault/**``: authenticated, concealed, requirement
``owner`` → ``demo_project.api.rules.is_owner``)."""

from __future__ import annotations

import json

import pytest
from django.conf import settings
from django.test import override_settings
from rest_framework.test import APIClient

from authstatus.core.challenges import parse_challenges
from authstatus.models import ResourcePolicy
from demo_project.api.models import VaultItem
from demo_project.api.policies import BASELINE_POLICIES, DEMO_POLICIES
from tests.factories import AccessTokenFactory, VaultItemFactory
from tests.http import DRF_CHALLENGES

pytestmark = pytest.mark.django_db


@pytest.fixture
def item(alice):
    return VaultItemFactory(owner=alice, name="diary", secret="dear diary")


@pytest.fixture
def missing_pk(item):
    return VaultItem.objects.order_by("-pk").values_list("pk", flat=True).first() + 1000


def as_user(user, how):
    """A client presenting ``user``'s credentials: a bearer token or a session."""
    client = APIClient()
    if how == "bearer":
        token = AccessTokenFactory(user=user, scope="read")
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {token.token}")
    else:
        client.force_login(user)
    return client


def headers_without_date(response):
    return {k.lower(): v for k, v in response.headers.items() if k.lower() != "date"}


def assert_identical(a, b):
    assert a.status_code == b.status_code
    assert a.content == b.content
    assert headers_without_date(a) == headers_without_date(b)


def problem(response):
    assert response["Content-Type"].split(";")[0] == "application/problem+json"
    return json.loads(response.content)


def vault_policies(**changes):
    """The test settings' policies with the vault policy changed."""
    policies = [
        {**spec, **changes} if spec["path"] == "/api/vault/**" else spec
        for spec in (*BASELINE_POLICIES, *DEMO_POLICIES)
    ]
    return override_settings(AUTHSTATUS={**settings.AUTHSTATUS, "POLICIES": policies})


CREDENTIALS = ["bearer", "session"]


# --- concealed (the demo) ------------------------------------------------------------------


@pytest.mark.parametrize("how", CREDENTIALS)
def test_owner_sees_her_item(alice, item, how):
    response = as_user(alice, how).get(f"/api/vault/{item.pk}/")
    assert response.status_code == 200
    assert response.json() == {"id": item.pk, "name": "diary", "secret": "dear diary"}


@pytest.mark.parametrize("how", CREDENTIALS)
def test_someone_elses_item_is_a_404_identical_to_a_missing_one(bob, item, missing_pk, how):
    client = as_user(bob, how)
    refused = client.get(f"/api/vault/{item.pk}/")
    missing = client.get(f"/api/vault/{missing_pk}/")
    assert refused.status_code == 404
    assert not refused.has_header("WWW-Authenticate")
    assert problem(refused)["status"] == 404
    assert_identical(refused, missing)
    assert b"dear diary" not in refused.content


def test_anonymous_on_a_concealed_item_gets_the_same_404(item, missing_pk):
    client = APIClient()
    refused = client.get(f"/api/vault/{item.pk}/")
    assert refused.status_code == 404
    assert_identical(refused, client.get(f"/api/vault/{missing_pk}/"))


@pytest.mark.parametrize("method", ["put", "delete", "patch"])
def test_other_methods_do_not_reveal_existence_either(bob, item, missing_pk, method):
    client = as_user(bob, "bearer")
    refused = getattr(client, method)(f"/api/vault/{item.pk}/")
    missing = getattr(client, method)(f"/api/vault/{missing_pk}/")
    assert refused.status_code in (404, 405)
    assert_identical(refused, missing)


def test_the_list_shows_each_user_only_their_items(alice, bob, item):
    VaultItemFactory(owner=bob, name="recipes")
    response = as_user(bob, "bearer").get("/api/vault/")
    assert response.status_code == 200
    assert [entry["name"] for entry in response.json()] == ["recipes"]


# --- not concealed ---------------------------------------------------------------------------


@pytest.mark.parametrize("how", CREDENTIALS)
def test_not_concealed_someone_elses_item_is_403_without_challenge(alice, bob, item, how):
    with vault_policies(conceal=False):
        response = as_user(bob, how).get(f"/api/vault/{item.pk}/")
        assert response.status_code == 403
        assert not response.has_header("WWW-Authenticate")
        body = problem(response)
        assert body["type"].endswith("forbidden")
        assert body["status"] == 403
        assert body["resolution"] == "not_permitted"
        assert b"dear diary" not in response.content

        assert as_user(alice, how).get(f"/api/vault/{item.pk}/").status_code == 200


def test_not_concealed_missing_is_404_and_anonymous_is_challenged(item, missing_pk, bob):
    with vault_policies(conceal=False):
        assert as_user(bob, "bearer").get(f"/api/vault/{missing_pk}/").status_code == 404
        response = APIClient().get(f"/api/vault/{item.pk}/")
        assert response.status_code == 401
        assert parse_challenges(response["WWW-Authenticate"]) == DRF_CHALLENGES


def test_an_admin_row_picking_the_requirement_is_checked_on_the_object(alice, bob, item):
    """A database row (as saved from the admin form, where admins pick requirements) that is
    more specific than the settings' concealed vault policy, and not concealed."""
    ResourcePolicy.objects.create(
        path="/api/vault/*/", access="authenticated", requirements=["owner"], conceal=False
    )
    response = as_user(bob, "bearer").get(f"/api/vault/{item.pk}/")
    assert response.status_code == 403
    assert not response.has_header("WWW-Authenticate")
    assert as_user(alice, "bearer").get(f"/api/vault/{item.pk}/").status_code == 200


def test_a_row_without_the_requirement_opens_the_vault_to_every_user(bob, item):
    ResourcePolicy.objects.create(path="/api/vault/*/", access="authenticated")
    assert as_user(bob, "bearer").get(f"/api/vault/{item.pk}/").status_code == 200


# --- the predicate's arguments ---------------------------------------------------------------

CALLS: list[tuple[object, object]] = []


def recording_is_owner(user, obj):
    """Declared as the "owner" requirement in a test: records its arguments."""
    CALLS.append((user, obj))
    return obj is None or obj.owner_id == user.pk


@pytest.fixture
def recorded():
    CALLS.clear()
    requirements = {"owner": f"{__name__}.recording_is_owner"}
    with override_settings(AUTHSTATUS={**settings.AUTHSTATUS, "REQUIREMENTS": requirements}):
        yield CALLS
    CALLS.clear()


def test_predicates_receive_the_user_and_then_the_object(recorded, alice, bob, item):
    response = as_user(bob, "bearer").get(f"/api/vault/{item.pk}/")
    assert response.status_code == 404
    assert [(user.pk, obj) for user, obj in recorded if obj is None] == [(bob.pk, None)]
    objects = [(user.pk, obj) for user, obj in recorded if obj is not None]
    assert objects == [(bob.pk, item)]
    assert isinstance(objects[0][1], VaultItem)
    assert recorded[0][1] is None  # view level first, then the object

    recorded.clear()
    assert as_user(alice, "session").get(f"/api/vault/{item.pk}/").status_code == 200
    assert [(user.pk, obj) for user, obj in recorded] == [(alice.pk, None), (alice.pk, item)]


def test_predicates_are_not_called_for_anonymous_requests(recorded, item):
    assert APIClient().get(f"/api/vault/{item.pk}/").status_code == 404
    assert recorded == []
