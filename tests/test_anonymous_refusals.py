"""Concealed refusals of requests without credentials, answered before DRF dispatches
(:mod:`authstatus.contrib.rest_framework.anonymous`).

The answer must be the one DRF's path gives — status, headers and body byte for byte, the one
``access_denied`` signal — and the shortcut must stand aside whenever DRF could answer
differently: credentials of any kind, another method, a view customising DRF's steps, an
authentication or permission class that is not authstatus's.
"""

from __future__ import annotations

from types import ModuleType

import pytest
from django.test import override_settings
from django.urls import URLPattern
from django.urls.resolvers import RoutePattern
from rest_framework.authentication import TokenAuthentication
from rest_framework.generics import ListAPIView
from rest_framework.permissions import AllowAny
from rest_framework.views import APIView

from authstatus.contrib.rest_framework import PolicyPermission
from authstatus.contrib.rest_framework.anonymous import plan
from demo_project.api.views import VaultDetail, VaultList
from tests.factories import AccessTokenFactory, VaultItemFactory
from tests.http import bearer_auth, headers_without_date

pytestmark = pytest.mark.django_db


@pytest.fixture
def dispatched(monkeypatch):
    """How many times DRF's ``APIView.initial`` ran (the steps the shortcut skips)."""
    calls: list[str] = []
    original = APIView.initial

    def initial(self, request, *args, **kwargs):
        calls.append(type(self).__name__)
        return original(self, request, *args, **kwargs)

    monkeypatch.setattr(APIView, "initial", initial)
    return calls


@pytest.fixture
def drf_only(monkeypatch):
    """Switch the shortcut off: every request goes through DRF, as before it existed."""
    from authstatus.contrib.rest_framework import anonymous

    monkeypatch.setattr(anonymous, "plan", lambda view_func, uniform=False: None)


def _answer(client, path, **extra):
    response = client.get(path, **extra)
    return response.status_code, headers_without_date(response), response.content


@pytest.mark.parametrize("path", ["/api/vault/", "/api/vault/1/", "/api/vault/999/"])
def test_a_concealed_drf_route_refuses_a_request_without_credentials_before_drf(
    client, path, alice, dispatched, denials, django_assert_num_queries
):
    VaultItemFactory(owner=alice)
    with django_assert_num_queries(0):
        status, headers, body = _answer(client, path)
    assert status == 404
    assert dispatched == []
    assert len(denials) == 1
    assert denials[0]["sender"] in (VaultList, VaultDetail)
    assert denials[0]["decision"].status == 404
    assert denials[0]["credentials"].state.value == "absent"
    # The missing URL's answer, byte for byte.
    assert (status, headers, body) == _answer(client, "/api/vaulx/")


@pytest.mark.parametrize("path", ["/api/vault/", "/api/vault/1/", "/api/vault/999/"])
@pytest.mark.parametrize("method", ["get", "head"])
def test_the_shortcut_answers_what_drf_answers(client, path, method, alice, monkeypatch):
    from authstatus.contrib.rest_framework import anonymous

    VaultItemFactory(owner=alice)
    signals = []
    for shortcut in (True, False):
        if not shortcut:
            monkeypatch.setattr(anonymous, "plan", lambda view_func, uniform=False: None)
        from authstatus.signals import access_denied

        def receiver(sender, **kwargs):
            signals.append((sender, kwargs["decision"], kwargs["credentials"], kwargs["user"]))

        access_denied.connect(receiver, weak=False, dispatch_uid="shortcut-vs-drf")
        try:
            response = getattr(client, method)(path)
        finally:
            access_denied.disconnect(dispatch_uid="shortcut-vs-drf")
        signals.append((response.status_code, headers_without_date(response), response.content))
    assert signals[:2] == signals[2:]


def test_credentials_of_any_kind_go_through_drf(client, alice, dispatched, denials):
    token = AccessTokenFactory(user=alice, scope="read")
    sent = [
        {"HTTP_AUTHORIZATION": bearer_auth(token.token)},
        {"HTTP_AUTHORIZATION": bearer_auth("no-such-token")},
        {"HTTP_AUTHORIZATION": "Basic Ym9iOndyb25n"},
        {"HTTP_AUTHORIZATION": "Bearer"},  # malformed
    ]
    for extra in sent:
        client.get("/api/vault/", **extra)
    assert dispatched == ["VaultList"] * len(sent)
    client.force_login(alice)
    assert client.get("/api/vault/").status_code == 200
    assert dispatched[-1] == "VaultList"


@pytest.fixture
def resolutions(monkeypatch):
    """The (method, path) of every policy resolution (``resources.policy_for``)."""
    from authstatus.policies import resolution as resources

    calls: list[tuple[str, str]] = []
    original = resources.policy_for

    def policy_for(method, path_info, *args, **kwargs):
        calls.append((method, path_info))
        return original(method, path_info, *args, **kwargs)

    monkeypatch.setattr(resources, "policy_for", policy_for)
    return calls


@pytest.mark.parametrize(
    ("path", "status"), [("/api/vault/", 200), ("/api/staff/", 403), ("/api/vault/1/", 200)]
)
def test_a_request_drf_takes_over_is_resolved_once(client, alice, resolutions, path, status):
    """The policy the shortcut resolved before DRF dispatched is the one PolicyPermission
    decides with, and the list filter too: a request with credentials costs one resolution."""
    VaultItemFactory(owner=alice, pk=1)
    token = AccessTokenFactory(user=alice, scope="read")
    response = client.get(path, HTTP_AUTHORIZATION=bearer_auth(token.token))
    assert response.status_code == status
    assert resolutions == [("GET", path)]


def test_a_remembered_policy_counts_for_its_method_only(db, resolutions):
    """DRF's OPTIONS metadata asks PolicyPermission about POST through ``clone_request``: that
    is resolved for POST, never answered with the policy of the request's own method."""
    from django.urls import resolve
    from rest_framework.request import Request
    from rest_framework.test import APIRequestFactory

    from authstatus.contrib.rest_framework.decisions import remember_policy, view_policy_in_force
    from authstatus.policies.resolution import request_policy

    django_request = APIRequestFactory().get("/api/vault/")
    django_request.resolver_match = resolve("/api/vault/")
    sentinel = request_policy(django_request, VaultList)
    remember_policy(django_request, "GET", sentinel)
    drf_request = Request(django_request)
    del resolutions[:]
    assert view_policy_in_force(drf_request, VaultList()) is sentinel
    assert resolutions == []
    drf_request._request.method = "POST"
    view_policy_in_force(drf_request, VaultList())
    assert resolutions == [("POST", "/api/vault/")]


def test_unsafe_methods_go_through_drf(client, dispatched):
    assert client.post("/api/vault/", {}).status_code == 404
    assert client.options("/api/vault/").status_code == 404
    assert dispatched == ["VaultList", "VaultList"]


def test_a_route_that_is_not_concealed_goes_through_drf(client, dispatched):
    response = client.get("/api/profile/")
    assert response.status_code == 401
    assert dispatched == ["ProfileView"]


class _CustomInitial(ListAPIView):
    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)


class _ForeignAuthentication(ListAPIView):
    authentication_classes = [TokenAuthentication]


class _OtherPermissionFirst(ListAPIView):
    permission_classes = [AllowAny, PolicyPermission]


class _OverriddenPolicyPermission(PolicyPermission):
    def has_permission(self, request, view):
        return True


class _OverridingPermission(ListAPIView):
    permission_classes = [_OverriddenPolicyPermission]


@pytest.mark.parametrize(
    "view",
    [_CustomInitial, _ForeignAuthentication, _OtherPermissionFirst, _OverridingPermission],
)
def test_views_that_customise_drf_steps_get_no_plan(view):
    assert plan(view.as_view()) is None


def test_a_view_configured_by_as_view_is_read_as_configured():
    assert plan(ListAPIView.as_view(authentication_classes=[TokenAuthentication])) is None
    assert plan(ListAPIView.as_view(permission_classes=[AllowAny])) is None
    assert plan(VaultList.as_view()) is not None


def test_another_exception_handler_goes_through_drf(client, dispatched):
    from rest_framework.settings import api_settings

    with override_settings(
        REST_FRAMEWORK={"EXCEPTION_HANDLER": "rest_framework.views.exception_handler"}
    ):
        assert api_settings.EXCEPTION_HANDLER.__module__ == "rest_framework.views"
        client.get("/api/vault/")
    assert dispatched == ["VaultList"]


def test_the_uniform_mode_refuses_a_missing_url_the_same_way(client, dispatched, denials):
    """``UNIFORM_CONCEALMENT_PATHS``: a missing URL pays what a concealed route pays. Without
    credentials that is now the shortcut on both sides, not DRF's dispatch on one of them."""
    from django.conf import settings

    from authstatus.contrib.rest_framework.uniform import UniformNotFound

    with override_settings(
        AUTHSTATUS={**settings.AUTHSTATUS, "UNIFORM_CONCEALMENT_PATHS": ["/api/**"]}
    ):
        concealed = _answer(client, "/api/vault/")
        missing = _answer(client, "/api/vaulx/")
        assert dispatched == []
        client.get("/api/vaulx/", HTTP_AUTHORIZATION=bearer_auth("no-such-token"))
        assert dispatched == ["UniformNotFound"]
    assert concealed == missing
    assert concealed[0] == 404
    assert [d["sender"] for d in denials] == [VaultList, UniformNotFound, UniformNotFound]
    assert denials[1]["decision"].policy.source == "uniform-concealment"


class _Recording(URLPattern):
    """A route that records the paths Django's resolver tries against it."""

    def __init__(self, route: str, seen: list[str]) -> None:
        super().__init__(RoutePattern(route, is_endpoint=True), lambda request: None)
        self.seen = seen

    def resolve(self, path):
        self.seen.append(path)
        return super().resolve(path)


def test_under_the_uniform_mode_a_refusal_before_drf_walks_the_later_patterns(rf):
    """Django's resolver stops at the matching pattern; the missing neighbour of a concealed
    route goes on through every later pattern. Refused before DRF dispatches, the concealed
    route walks those later patterns too (only those), with a path none of them matches."""
    from django.conf import settings
    from django.urls import get_resolver, include, path
    from django.urls.resolvers import URLResolver

    from authstatus.concealment.uniform import walk_later_patterns

    before, after, nested_after = [], [], []
    inner = [path("staff/", lambda request: None), _Recording("zzz/", nested_after)]
    urlconf = ModuleType("uniform_walk_urls")
    urlconf.urlpatterns = [  # type: ignore[attr-defined]
        _Recording("first/", before),
        path("api/", include(inner)),
        _Recording("last/", after),
    ]
    request = rf.get("/api/staff/")
    request.urlconf = urlconf
    request.resolver_match = get_resolver(urlconf).resolve("/api/staff/")
    assert isinstance(request.resolver_match.tried[-1][0], URLResolver)
    before.clear()
    uniform = {**settings.AUTHSTATUS, "UNIFORM_CONCEALMENT_PATHS": ["/api/**"]}
    with override_settings(AUTHSTATUS=uniform):
        walk_later_patterns(request)
    assert (before, nested_after, after) == ([], ["staff/\x00"], ["api/staff/\x00"])
    after.clear()
    walk_later_patterns(request)  # the mode off: nothing walked
    with override_settings(AUTHSTATUS={**uniform, "UNIFORM_CONCEALMENT_PATHS": ["/t/**"]}):
        walk_later_patterns(request)  # another namespace: nothing walked
    assert after == []


def test_under_the_uniform_mode_a_missing_url_gets_the_match_of_a_route(client):
    """The other side: a missing URL refused before DRF dispatches gets the ``ResolverMatch``
    Django builds for a route that matched, naming the uniform view that answered."""
    from django.conf import settings

    from authstatus.contrib.rest_framework.uniform import UniformNotFound

    with override_settings(
        AUTHSTATUS={**settings.AUTHSTATUS, "UNIFORM_CONCEALMENT_PATHS": ["/api/**"]}
    ):
        response = client.get("/api/vaulx/")
    assert response.status_code == 404
    match = response.wsgi_request.resolver_match
    assert match.func.cls is UniformNotFound
    assert match.tried is None
    assert client.get("/api/vaulx/").wsgi_request.resolver_match is None  # the mode off


def test_under_the_uniform_mode_a_missing_object_is_refused_as_another_users(
    client, alice, bob, denials
):
    """Object level: a valid login asking for an id that does not exist pays (and announces)
    the requirement refusal it gets for another user's object; without the mode, a missing
    object is only a 404."""
    from django.conf import settings

    item = VaultItemFactory(owner=alice)
    token = AccessTokenFactory(user=bob, scope="read")
    auth = {"HTTP_AUTHORIZATION": bearer_auth(token.token)}
    uniform = {**settings.AUTHSTATUS, "UNIFORM_CONCEALMENT_PATHS": ["/api/**"]}
    with override_settings(AUTHSTATUS=uniform):
        other = _answer(client, f"/api/vault/{item.pk}/", **auth)
        missing = _answer(client, f"/api/vault/{item.pk + 100}/", **auth)
    assert other == missing
    assert other[0] == 404
    assert len(denials) == 2
    assert denials[0]["decision"] == denials[1]["decision"]
    assert denials[1]["user"] == bob
    assert denials[1]["decision"].status == 404
    _answer(client, f"/api/vault/{item.pk + 100}/", **auth)  # the mode off
    assert len(denials) == 2


_checked: list[tuple[object, object]] = []


def _recording_owner(user, obj):
    """The demo's ``owner`` predicate, recording what it was asked."""
    from demo_project.api.rules import is_owner

    _checked.append((user, obj))
    return is_owner(user, obj)


def _raising_owner(user, obj):
    if obj is not None:
        raise AttributeError("this predicate reads a related row the object lacks")
    return True


def test_a_missing_object_runs_the_object_check_on_a_placeholder(client, alice, bob, denials):
    """Under the uniform mode the missing id pays what another user's object pays: the
    object-level requirement check, with an instance of the view's model (never saved), the
    refusal built and announced once, and the same 404."""
    from demo_project.api.models import VaultItem

    item = VaultItemFactory(owner=alice)
    auth = {"HTTP_AUTHORIZATION": bearer_auth(AccessTokenFactory(user=bob, scope="read").token)}
    _checked.clear()
    with override_settings(AUTHSTATUS=_uniform_with_owner("_recording_owner")):
        other = _answer(client, f"/api/vault/{item.pk}/", **auth)
        missing = _answer(client, f"/api/vault/{item.pk + 100}/", **auth)
    assert other == missing
    assert other[0] == 404
    assert [d["decision"].status for d in denials] == [404, 404]
    objects = [obj for _, obj in _checked if obj is not None]
    assert [type(obj) for obj in objects] == [VaultItem, VaultItem]
    assert objects[0].pk == item.pk
    assert objects[1].pk is None
    assert objects[1]._state.adding
    assert VaultItem.objects.count() == 1  # the placeholder is never saved


def test_a_predicate_failing_on_the_placeholder_changes_nothing(client, alice, bob, denials):
    """A predicate that cannot handle an object without a row (it reads a related row)
    raises on the placeholder: the missing id is still the 404 of any missing id, announced
    once."""
    from django.conf import settings

    item = VaultItemFactory(owner=alice)
    auth = {"HTTP_AUTHORIZATION": bearer_auth(AccessTokenFactory(user=bob, scope="read").token)}
    with override_settings(AUTHSTATUS={**settings.AUTHSTATUS, "UNIFORM_CONCEALMENT_PATHS": []}):
        plain = _answer(client, f"/api/vault/{item.pk + 100}/", **auth)
    with override_settings(AUTHSTATUS=_uniform_with_owner("_raising_owner")):
        missing = _answer(client, f"/api/vault/{item.pk + 100}/", **auth)
    assert missing == plain
    assert missing[0] == 404
    assert [d["decision"].status for d in denials] == [404]


def _uniform_with_owner(check: str) -> dict:
    from django.conf import settings

    return {
        **settings.AUTHSTATUS,
        "UNIFORM_CONCEALMENT_PATHS": ["/api/**"],
        "REQUIREMENTS": {
            "owner": {
                "check": f"tests.test_anonymous_refusals.{check}",
                "filter": "demo_project.api.rules.owned_by",
            }
        },
    }
