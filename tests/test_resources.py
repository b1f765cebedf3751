"""Policies protect resources, not URL strings (issue 9).

* The four bypasses found on the demo's ``/api/orders/`` viewset (DRF ``DefaultRouter``):
  format-suffix URLs, an extra action and the list route, each regression-tested.
* Concealment hides existence only from those who may not know it: the owner of an order is
  told ``403 insufficient_scope``; everyone else gets the 404 of a missing order.
* A property test over ``tests/urls_resources.py`` (``DefaultRouter``, ``SimpleRouter`` with an
  optional slash, ``format_suffix_patterns``, ``@action`` on detail and list, nested
  ``include()`` with namespaces, ``re_path``, ``i18n_patterns``, a script prefix): every URL the
  resolver routes to a view — built by Django's own ``reverse()`` — gets the policy, and the
  answer, of that view's canonical URL.
* Inheritance: routes no policy names are never weaker than their siblings.
* ``@access`` per method and per action.
"""

from __future__ import annotations

import pytest
from django.conf import settings
from django.test import override_settings
from django.urls import resolve, reverse, set_script_prefix
from django.utils import translation
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from rest_framework.test import APIClient

from authstatus.core.decision import Access
from authstatus.policies import resolution as resources
from authstatus.policies.routes import route_map
from demo_project.api.models import Order
from tests.factories import AccessTokenFactory, OrderFactory
from tests.http import challenges, headers_without_date, problem

pytestmark = pytest.mark.django_db


def bearer(token) -> dict[str, str]:
    return {"HTTP_AUTHORIZATION": f"Bearer {token.token}"}


@pytest.fixture
def orders(alice, bob):
    """Alice's and Bob's orders, and tokens of theirs."""
    return {
        "alice": OrderFactory(owner=alice, title="teapot"),
        "bob": OrderFactory(owner=bob, title="lamp"),
        "alice_read": AccessTokenFactory(user=alice, scope="read"),
        "alice_rw": AccessTokenFactory(user=alice, scope="read write"),
        "bob_read": AccessTokenFactory(user=bob, scope="read"),
        "bob_rw": AccessTokenFactory(user=bob, scope="read write"),
    }


def missing_id() -> int:
    return (Order.objects.order_by("-pk").values_list("pk", flat=True).first() or 0) + 1000


# --- the four bypasses (demo URLconf) ------------------------------------------------------


def test_format_suffix_detail_is_governed_by_the_detail_policy(client, orders):
    """Was: ``GET /api/orders/4.json`` returned another user's order and ``DELETE`` deleted it."""
    theirs = orders["alice"].pk
    for url in (f"/api/orders/{theirs}.json", f"/api/orders/{theirs}.json/"):
        response = client.get(url, **bearer(orders["bob_rw"]))
        assert response.status_code == 404, url
        assert problem(response)["type"].endswith("#not-found")
    response = client.delete(f"/api/orders/{theirs}.json", **bearer(orders["bob_rw"]))
    assert response.status_code == 404
    assert Order.objects.filter(pk=theirs).exists()
    # the owner, through the same suffixed URL
    response = client.get(f"/api/orders/{theirs}.json", **bearer(orders["alice_read"]))
    assert response.status_code == 200
    assert response.json()["title"] == "teapot"


def test_format_suffix_list_needs_the_list_policy_scope(client, orders):
    """Was: ``POST /api/orders.json`` with a read-only token created an order."""
    before = Order.objects.count()
    response = client.post(
        "/api/orders.json", {"title": "x"}, format="json", **bearer(orders["alice_read"])
    )
    assert response.status_code == 403
    (challenge,) = challenges(response)
    assert (challenge.scheme, challenge.param("error"), challenge.param("scope")) == (
        "Bearer",
        "insufficient_scope",
        "write",
    )
    assert Order.objects.count() == before
    response = client.post(
        "/api/orders.json", {"title": "x"}, format="json", **bearer(orders["alice_rw"])
    )
    assert response.status_code == 201
    assert Order.objects.get(pk=response.json()["id"]).owner == orders["alice"].owner


def test_extra_action_of_another_users_object_is_concealed(client, orders):
    """Was: ``POST /api/orders/8/ship/`` with a read-only token shipped another user's order."""
    theirs = orders["alice"]
    for token in ("bob_read", "bob_rw"):
        for url in (f"/api/orders/{theirs.pk}/ship/", f"/api/orders/{theirs.pk}/ship.json"):
            response = client.post(url, **bearer(orders[token]))
            assert response.status_code == 404, (token, url)
    theirs.refresh_from_db()
    assert theirs.shipped is False
    response = client.post(f"/api/orders/{theirs.pk}/ship/", **bearer(orders["alice_rw"]))
    assert response.status_code == 200
    theirs.refresh_from_db()
    assert theirs.shipped is True


def test_the_list_shows_only_the_requesters_orders(client, orders):
    """Was: ``GET /api/orders/`` listed every user's orders although each detail is
    concealed and owner-only. No filtering in the demo's view: the requirement's filter."""
    OrderFactory(owner=orders["alice"].owner, title="umbrella")
    for url in ("/api/orders/", "/api/orders.json"):
        response = client.get(url, **bearer(orders["alice_read"]))
        assert response.status_code == 200
        assert sorted(o["title"] for o in response.json()) == ["teapot", "umbrella"], url
        response = client.get(url, **bearer(orders["bob_read"]))
        assert [o["title"] for o in response.json()] == ["lamp"], url


def test_a_client_credentials_token_lists_nothing(client, orders):
    token = AccessTokenFactory(user=None, scope="read")
    response = client.get("/api/orders/", **bearer(token))
    assert response.status_code == 200
    assert response.json() == []


# --- concealment and its audience --------------------------------------------------------


def test_the_owner_is_told_which_scope_would_help(client, orders, denials):
    """The owner of an existing order, with a read-only token: 403 insufficient_scope, so an
    OAuth client can step up; not the 404 that everyone else gets."""
    mine = orders["alice"].pk
    for method, url in (
        ("post", f"/api/orders/{mine}/ship/"),
        ("delete", f"/api/orders/{mine}/"),
        ("patch", f"/api/orders/{mine}.json"),
    ):
        denials.clear()
        response = getattr(client, method)(url, **bearer(orders["alice_read"]))
        assert response.status_code == 403, url
        (challenge,) = challenges(response)
        assert challenge.param("error") == "insufficient_scope"
        assert challenge.param("scope") == "write"
        assert problem(response)["resolution"] == "request_scope"
        assert [d["decision"].status for d in denials] == [403]
    assert Order.objects.filter(pk=mine, shipped=False).exists()


def test_everyone_else_gets_the_404_of_a_missing_order(client, orders, denials):
    theirs, missing = orders["alice"].pk, missing_id()
    responses = {
        "bob, alice's order": client.post(
            f"/api/orders/{theirs}/ship/", **bearer(orders["bob_read"])
        ),
        "bob, missing order": client.post(
            f"/api/orders/{missing}/ship/", **bearer(orders["bob_read"])
        ),
        "alice, missing order": client.post(
            f"/api/orders/{missing}/ship/", **bearer(orders["alice_read"])
        ),
        "anonymous, alice's order": client.post(f"/api/orders/{theirs}/ship/"),
        "no route at all": client.post(f"/api/orderz/{theirs}/ship/"),
    }
    reference = responses["no route at all"]
    for label, response in responses.items():
        assert response.status_code == 404, label
        assert response.content == reference.content, label
        assert headers_without_date(response) == headers_without_date(reference), label
    # every refusal is announced once, as the 404 it was answered with
    assert [d["decision"].status for d in denials] == [404, 404, 404, 404]


def test_audience_needs_the_object_requirement_not_just_a_token(client, orders):
    """An invalid token on an owned order is still the concealed 404."""
    response = client.post(
        f"/api/orders/{orders['alice'].pk}/ship/", HTTP_AUTHORIZATION="Bearer nope"
    )
    assert response.status_code == 404


# --- the URLconf of every routing style --------------------------------------------------

RESOURCE_POLICIES = [
    {"path": "/v2/items/", "methods": "GET", "required_scopes": "read"},
    {"path": "/v2/items/", "methods": "POST", "required_scopes": "write"},
    {
        "path": "/v2/items/*/",
        "methods": "GET",
        "conceal": True,
        "required_scopes": "read",
        "requirements": ["owner"],
    },
    {
        "path": "/v2/items/*/",
        "methods": "PUT PATCH DELETE",
        "conceal": True,
        "required_scopes": "write",
        "requirements": ["owner"],
    },
    # no policy names /v2/items/<pk>/ship/ nor /v2/items/summary/: they inherit
    {"path": "/outer/inner/vault/*/", "conceal": True, "requirements": ["owner"]},
    {"path": "/plain/vault/*/", "conceal": True, "requirements": ["owner"]},
    {"path": "/legacy/vault/*/", "access": "nobody"},
    {"path": "/intl/orders/", "methods": "GET", "required_scopes": "read"},
    {
        "path": "/intl/orders/*/",
        "conceal": True,
        "required_scopes": "read",
        "requirements": ["owner"],
    },
]


def _middleware_with_locale() -> list[str]:
    middleware = list(settings.MIDDLEWARE)
    at = middleware.index("django.contrib.sessions.middleware.SessionMiddleware") + 1
    return [*middleware[:at], "django.middleware.locale.LocaleMiddleware", *middleware[at:]]


@pytest.fixture
def every_routing_style():
    with override_settings(
        ROOT_URLCONF="tests.urls_resources",
        AUTHSTATUS={
            **settings.AUTHSTATUS,
            "POLICIES": [*settings.AUTHSTATUS["POLICIES"], *RESOURCE_POLICIES],
        },
        LANGUAGE_CODE="en",
        LANGUAGES=[("en", "English"), ("ja", "Japanese")],
        MIDDLEWARE=_middleware_with_locale(),
    ):
        yield route_map()


def _named(endpoint) -> str | None:
    if endpoint.name is None:
        return None
    return ":".join([*endpoint.namespaces, endpoint.name])


def test_the_route_map_reads_every_routing_style(every_routing_style):
    by_name = {_named(e): e for e in every_routing_style.endpoints}
    assert by_name["order-detail"].written == "/api/orders/<pk>/"
    assert by_name["order-detail"].pattern == "/api/orders/*/"
    assert by_name["order-detail"].variants == ("/api/orders/<pk>.<format>[/]",)
    assert by_name["order-detail"].methods == ("GET", "PUT", "PATCH", "DELETE")
    assert by_name["order-list"].variants == ("/api/orders.<format>[/]",)
    assert by_name["order-ship"].written == "/api/orders/<pk>/ship/"
    assert by_name["order-ship"].methods == ("POST",)
    assert by_name["v2:item-detail"].written == "/v2/items/<pk>/"
    assert by_name["v2:item-detail"].variants == ("/v2/items/<pk>",)
    assert by_name["v2:item-summary"].written == "/v2/items/summary/"
    assert by_name["outer:inner:vault"].pattern == "/outer/inner/vault/*/"
    assert by_name["legacy-vault"].written == "/legacy/vault/<pk>/"
    assert by_name["plain-vault"].variants == ("/plain/vault/<int:pk>.<format>",)
    assert by_name["intl:intl-order-detail"].written == "/<language>/intl/orders/<pk>/"
    assert by_name["intl:intl-order-detail"].pattern == "/intl/orders/*/"
    # one family per viewset registration
    assert by_name["order-ship"].family == by_name["order-list"].family
    assert by_name["order-ship"].family != by_name["intl:intl-order-list"].family


def _urls(endpoint, kwargs, fmt, language):
    """Every URL Django routes to ``endpoint`` for ``kwargs``, built by ``reverse()``: the
    canonical one, the format-suffix one, without the optional slash, in ``language``."""
    name = _named(endpoint)
    with translation.override(language):
        urls = [reverse(name, kwargs=kwargs)]
        if any(".<format>" in v for v in endpoint.variants):
            urls.append(reverse(name, kwargs={**kwargs, "format": fmt}))
    if any(v == endpoint.written.rstrip("/") for v in endpoint.variants):
        urls.append(urls[0].rstrip("/"))
    return urls


def _canonical_url(endpoint, kwargs):
    with translation.override(settings.LANGUAGE_CODE):
        return reverse(_named(endpoint), kwargs=kwargs)


def _routable(route_map):
    return [e for e in route_map.endpoints if e.name and e.pattern and not e.exempt]


@hypothesis_settings(max_examples=150)
@given(data=st.data())
def test_every_url_of_a_view_gets_the_policy_of_its_resource(every_routing_style, data):
    endpoint = data.draw(st.sampled_from(_routable(every_routing_style)), label="endpoint")
    needs_pk = "<" in endpoint.written.removeprefix("/<language>")
    kwargs = {"pk": data.draw(st.integers(1, 10**6))} if needs_pk else {}
    fmt = data.draw(st.sampled_from(["json", "api"]))
    language = data.draw(st.sampled_from(["en", "ja"]))
    method = data.draw(st.sampled_from(["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"]))
    canonical = _canonical_url(endpoint, kwargs)
    expected = resources.policy_for(method, canonical, resolve(canonical))
    for url in _urls(endpoint, kwargs, fmt, language):
        # as LocaleMiddleware does: the URL's language is active while it is resolved
        with translation.override(language):
            match = resolve(url)
            assert match.func is endpoint.callback, url
            assert resources.policy_for(method, url, match) == expected, url


@pytest.mark.parametrize("script_name", ["", "/mount"])
def test_every_url_of_a_view_gets_the_answer_of_its_resource(
    every_routing_style, orders, script_name
):
    """Per-URL decisions through real requests (the test client, under a script prefix too):
    the same status for every URL of one endpoint, each credential kind, alice's order, bob's
    and a missing one. GET, HEAD and the idempotent ship action: nothing is deleted between."""
    client = APIClient()
    ids = [orders["alice"].pk, orders["bob"].pk, missing_id()]
    kinds = {
        "anonymous": {},
        "alice read": bearer(orders["alice_read"]),
        "alice read write": bearer(orders["alice_rw"]),
        "bob read": bearer(orders["bob_read"]),
    }
    compared = 0
    try:
        set_script_prefix(script_name + "/")
        for endpoint in _routable(every_routing_style):
            methods = [m for m in ("GET", "POST") if m in endpoint.methods]
            if endpoint.name.endswith("-list") and "POST" in methods:
                methods.remove("POST")  # creates: compared elsewhere
            needs_pk = "<" in endpoint.written.removeprefix("/<language>")
            for pk in ids if needs_pk else [None]:
                kwargs = {"pk": pk} if pk is not None else {}
                for kind, headers in kinds.items():
                    for method in methods:
                        answers = {}
                        for url in _urls(endpoint, kwargs, "json", "ja") + _urls(
                            endpoint, kwargs, "json", "en"
                        ):
                            path = url.removeprefix(script_name)
                            response = client.generic(
                                method, path, SCRIPT_NAME=script_name, **headers
                            )
                            answers[url] = response.status_code
                        assert len(set(answers.values())) == 1, (kind, method, answers)
                        compared += len(answers)
    finally:
        set_script_prefix("/")
    assert compared > 200


# --- inheritance -------------------------------------------------------------------------


def test_an_extra_action_no_policy_names_inherits_from_its_siblings(every_routing_style, orders):
    client = APIClient()
    mine, theirs = orders["alice"].pk, orders["bob"].pk
    # the write policies of the detail route: concealed, owner, scope write
    assert client.post(f"/v2/items/{theirs}/ship/", **bearer(orders["alice_rw"])).status_code == (
        404
    )
    response = client.post(f"/v2/items/{mine}/ship/", **bearer(orders["alice_read"]))
    assert response.status_code == 403
    assert challenges(response)[0].param("scope") == "write"
    assert client.post(f"/v2/items/{mine}/ship", **bearer(orders["alice_rw"])).status_code == 200
    resolved = resources.resolve_explained(
        "POST", f"/v2/items/{mine}/ship/", resolve(f"/v2/items/{mine}/ship/")
    )
    assert resolved.source.startswith("inherited: ")
    assert "/v2/items/<pk>/ PUT" in resolved.inherited_from
    assert resolved.policy.conceal
    assert resolved.policy.requirements == ("owner",)
    assert resolved.policy.required_scopes == frozenset({"write"})


def test_a_list_action_is_governed_and_filtered(every_routing_style, orders):
    """/v2/items/summary/ is matched by the detail pattern /v2/items/*/ (``*`` matches the
    literal segment): concealed and owner-only, and its list filtered by the owner."""
    client = APIClient()
    OrderFactory(owner=orders["alice"].owner)
    response = client.get("/v2/items/summary/", **bearer(orders["alice_read"]))
    assert response.status_code == 200
    assert response.json() == {"count": 2}  # alice's two orders, not bob's
    assert client.get("/v2/items/summary/").status_code == 404  # concealed


def test_a_method_no_policy_names_inherits_from_the_other_methods(settings):
    """A policy for GET only: the route's other methods are at least as strict."""
    settings.AUTHSTATUS = {
        **settings.AUTHSTATUS,
        "POLICIES": [{"path": "/api/profile/", "methods": "GET", "required_groups": ["staff-api"]}],
    }
    match = resolve("/api/profile/")
    for method in ("OPTIONS", "POST", "DELETE"):
        policy = resources.policy_for(method, "/api/profile/", match)
        assert policy.required_groups == frozenset({"staff-api"}), method
        assert policy.access is Access.AUTHENTICATED


def test_a_sibling_without_effect_is_not_reported_as_inherited():
    """``/``: GET anonymous; POST falls to DEFAULT_ACCESS, which is stricter already."""
    resolved = resources.resolve_explained("POST", "/", resolve("/"))
    assert resolved.source == "default: DEFAULT_ACCESS"


# --- @access per method and per action ---------------------------------------------------


def test_policies_declared_in_code_cover_every_route_of_a_viewset(every_routing_style, orders):
    client = APIClient()
    mine, theirs = orders["alice"].pk, orders["bob"].pk
    assert client.get(f"/code/declared/{mine}/", **bearer(orders["alice_read"])).status_code == (
        200
    )
    assert client.get(f"/code/declared/{theirs}/", **bearer(orders["alice_read"])).status_code == (
        404
    )
    response = client.delete(f"/code/declared/{mine}/", **bearer(orders["alice_read"]))
    assert response.status_code == 403
    assert challenges(response)[0].param("scope") == "write"
    assert client.post(
        f"/code/declared/{theirs}/ship/", **bearer(orders["alice_rw"])
    ).status_code == (404)
    response = client.post("/code/declared/", {"title": "t"}, **bearer(orders["alice_read"]))
    assert response.status_code == 403
    assert client.get("/code/declared/").status_code == 401
    resolved = resources.resolve_explained(
        "POST", f"/code/declared/{mine}/ship/", resolve(f"/code/declared/{mine}/ship/")
    )
    assert resolved.source == "view: DeclaredViewSet"
    assert resolved.policy.conceal


def test_a_policy_beats_a_declaration_in_code(every_routing_style, orders, settings):
    settings.AUTHSTATUS = {
        **settings.AUTHSTATUS,
        "POLICIES": [{"path": "/code/declared/*/", "access": "nobody"}],
    }
    mine = orders["alice"].pk
    response = APIClient().get(f"/code/declared/{mine}/", **bearer(orders["alice_read"]))
    assert response.status_code == 403
    assert problem(response)["type"].endswith("#closed")


def test_a_database_row_governs_every_url_of_its_route(client, orders):
    """One row, changed in the admin's model: /api/orders/ and /api/orders.json alike."""
    from authstatus.models import ResourcePolicy

    ResourcePolicy.objects.create(path="/api/orders/", methods="GET", access="nobody")
    for url in ("/api/orders/", "/api/orders.json", "/api/orders.api"):
        assert client.get(url, **bearer(orders["alice_read"])).status_code == 403, url
