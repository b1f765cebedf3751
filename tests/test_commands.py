"""``manage.py authstatus_routes`` and ``manage.py authstatus_explain``.

The test settings load the demo's API policies from settings, so their source is
``settings: <description>``; a database row shows ``database: …``; the test-only routes under
/t/ (tests/testapp/views.py) show the view's declared default or ``DEFAULT_ACCESS``.
"""

from __future__ import annotations

import io
import re

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import override_settings
from rest_framework.test import APIClient

from authstatus.core.challenges import parse_challenges
from authstatus.models import ResourcePolicy
from tests.factories import AccessTokenFactory, OrderFactory, UserFactory
from tests.http import BASIC, BEARER, COOKIE

pytestmark = pytest.mark.django_db

ALL = "GET POST PUT PATCH DELETE"


def routes(*args, variants=None):
    """The table ``authstatus_routes`` prints, as (route, methods, policy, source) rows; a
    route's further method groups repeat its route. ``variants`` (a dict), if given, gets
    each route's "also …" lines."""
    out = io.StringIO()
    call_command("authstatus_routes", *args, stdout=out)
    header, *lines = out.getvalue().splitlines()
    assert re.split(r" {2,}", header.strip()) == ["ROUTE", "METHODS", "POLICY", "SOURCE"]
    rows = []
    route = None
    for line in lines:
        if not line.strip():
            break  # the footnote follows a blank line
        cells = re.split(r" {2,}", line.rstrip())
        if cells[0] == "" and cells[1].startswith("also "):
            if variants is not None:
                variants.setdefault(route, []).append(cells[1].removeprefix("also "))
            continue
        route = cells[0] or route
        assert len(cells) == 4, cells
        rows.append((route, *cells[1:]))
    return rows


def rows_for(rows, route):
    return [row[1:] for row in rows if row[0] == route]


def explain(*args):
    """``authstatus_explain`` output: (all lines, {label: value} of the "label: value" lines).
    The request is for the test client's host unless ``--host`` says otherwise."""
    out = io.StringIO()
    if "--host" not in args:
        args = (*args, "--host", "testserver")
    call_command("authstatus_explain", *args, stdout=out)
    lines = out.getvalue().splitlines()
    fields = {}
    for line in lines[1:]:
        label, sep, value = line.partition(":")
        assert sep, line
        fields[label] = value.strip()
    return lines, fields


# --- authstatus_routes -------------------------------------------------------------------


def test_routes_lists_settings_policies_with_their_source():
    rows = routes()
    # only the methods each view serves: APIViews with get() serve GET
    assert rows_for(rows, "/api/public/") == [("GET", "anonymous", "settings: Public API")]
    assert rows_for(rows, "/api/profile/") == [("GET", "authenticated", "settings: Profile")]
    assert rows_for(rows, "/api/notes/") == [
        ("GET", "authenticated scopes=read", "settings: Reading notes needs scope read"),
        ("POST", "authenticated scopes=write", "settings: Writing notes needs scope write"),
    ]
    assert rows_for(rows, "/api/staff/") == [
        ("GET", "authenticated groups=staff-api", "settings: Staff only")
    ]
    assert rows_for(rows, "/api/closed/") == [("GET", "nobody", "settings: Closed to everyone")]
    vault = (
        "GET",
        "authenticated concealed requirements=owner",
        "settings: Vault: only the owner sees an item; for others it does not exist",
    )
    assert rows_for(rows, "/api/vault/<int:pk>/") == [vault]
    assert rows_for(rows, "/members/") == [(ALL, "authenticated", "settings: Members page")]
    assert rows_for(rows, "/") == [
        ("GET", "anonymous", "settings: Home page"),
        ("POST PUT PATCH DELETE", "authenticated", "default: DEFAULT_ACCESS"),
    ]


def test_routes_shows_a_database_row_overriding_the_settings_policy():
    ResourcePolicy.objects.create(
        path="/api/public/", methods="GET", access="authenticated", description="Members read"
    )
    row = ResourcePolicy.objects.create(path="/api/closed/", access="anonymous")
    rows = routes()
    assert rows_for(rows, "/api/public/") == [("GET", "authenticated", "database: Members read")]
    assert rows_for(rows, "/members/") == [(ALL, "authenticated", "settings: Members page")]
    # without a description, the row is named by its id
    assert rows_for(rows, "/api/closed/") == [("GET", "anonymous", f"database: policy #{row.pk}")]


def test_routes_follows_a_deleted_or_disabled_row_back_to_the_settings():
    row = ResourcePolicy.objects.create(path="/api/public/", access="nobody", description="x")
    assert rows_for(routes(), "/api/public/") == [("GET", "nobody", "database: x")]
    row.enabled = False
    row.save()
    assert rows_for(routes(), "/api/public/") == [("GET", "anonymous", "settings: Public API")]


def test_routes_shows_view_declared_and_default_access():
    rows = routes()
    assert rows_for(rows, "/t/plain/") == [(ALL, "authenticated", "default: DEFAULT_ACCESS")]
    assert rows_for(rows, "/t/plain/anonymous/") == [(ALL, "anonymous", "view: plain_anonymous")]
    assert rows_for(rows, "/t/plain/nobody/") == [(ALL, "nobody", "view: plain_nobody")]
    assert rows_for(rows, "/t/plain/concealed/") == [
        (ALL, "authenticated concealed", "view: plain_concealed")
    ]
    assert rows_for(rows, "/t/plain/class-anonymous/") == [
        ("GET", "anonymous", "view: PlainAnonymousClassView")
    ]
    assert rows_for(rows, "/t/drf/declared-anonymous/") == [
        ("GET POST", "anonymous", "view: DeclaredAnonymous")
    ]
    assert rows_for(rows, "/t/drf/echo/") == [
        ("GET POST", "authenticated", "default: DEFAULT_ACCESS")
    ]


def test_a_policy_beats_the_view_declared_default():
    ResourcePolicy.objects.create(path="/t/plain/anonymous/", access="nobody", description="off")
    assert rows_for(routes(), "/t/plain/anonymous/") == [(ALL, "nobody", "database: off")]


def test_routes_hides_exempt_routes_unless_all():
    rows = routes()
    assert not [row for row in rows if row[0].startswith("/admin/")]
    assert rows_for(rows, "/t/plain/exempt/") == []
    assert rows_for(rows, "/accounts/login/") == []
    assert all(row[3] != "exempt" for row in rows)

    rows = routes("--all")
    assert rows_for(rows, "/admin/") == [(ALL, "-", "exempt")]
    assert rows_for(rows, "/admin/authstatus/resourcepolicy/try/") == [(ALL, "-", "exempt")]
    assert rows_for(rows, "/t/plain/exempt/") == [(ALL, "-", "exempt")]
    # the LOGIN_URL view (a FormView: GET, POST and PUT)
    assert rows_for(rows, "/accounts/login/") == [("GET POST PUT", "-", "exempt")]
    # DRF views are never exempt: PolicyPermission enforces them
    assert rows_for(rows, "/api/public/") == [("GET", "anonymous", "settings: Public API")]


# --- authstatus_explain ------------------------------------------------------------------


def test_explain_anonymous_profile_prints_the_exact_401():
    lines, fields = explain("GET", "/api/profile/")
    assert lines[0] == "GET /api/profile/"
    assert fields["route"] == "/api/profile/"
    assert fields["enforced by"] == "drf"
    assert fields["policy"] == "settings: Profile"
    assert fields["decision"] == "authentication-required (resolution: authenticate)"
    assert fields["status"] == "401"
    assert parse_challenges(fields["WWW-Authenticate"]) == (BEARER, COOKIE, BASIC)
    assert fields["Cache-Control"] == "no-store"
    assert fields["Content-Type"] == "application/problem+json"

    # exactly what a real request is answered
    response = APIClient().get("/api/profile/")
    assert response.status_code == 401
    assert fields["WWW-Authenticate"] == response["WWW-Authenticate"]


def test_explain_insufficient_scope_for_a_token_of_a_user():
    alice = UserFactory(username="alice")
    _, fields = explain("POST", "/api/notes/", "--user", "alice", "--scopes", "read")
    assert fields["policy"] == "settings: Writing notes needs scope write"
    assert fields["decision"] == "insufficient-scope (resolution: request_scope)"
    assert fields["status"] == "403"
    (challenge,) = parse_challenges(fields["WWW-Authenticate"])
    assert challenge.scheme == "Bearer"
    assert challenge.param("error") == "insufficient_scope"
    assert challenge.param("scope") == "write"
    assert challenge.param("realm") == "api"

    token = AccessTokenFactory(user=alice, scope="read")
    response = APIClient().post(
        "/api/notes/", {"text": "x"}, format="json", HTTP_AUTHORIZATION=f"Bearer {token.token}"
    )
    assert response.status_code == 403
    assert fields["WWW-Authenticate"] == response["WWW-Authenticate"]


def test_explain_allowed_and_forbidden_without_challenge():
    UserFactory(username="alice")
    _, fields = explain("GET", "/api/public/")
    assert fields["status"] == "200"
    assert fields["decision"].startswith("allowed")
    assert "WWW-Authenticate" not in fields

    _, fields = explain("GET", "/api/staff/", "--user", "alice")
    assert fields["status"] == "403"
    assert fields["decision"] == "forbidden (resolution: not_permitted)"
    assert "WWW-Authenticate" not in fields

    _, fields = explain("GET", "/api/closed/")
    assert fields["status"] == "403"
    assert "WWW-Authenticate" not in fields


def test_explain_plain_view_enforced_by_the_middleware():
    _, fields = explain("GET", "/members/")
    assert fields["enforced by"] == "middleware"
    assert fields["policy"] == "settings: Members page"
    assert fields["status"] == "401"
    assert parse_challenges(fields["WWW-Authenticate"]) == (COOKIE,)
    assert fields["WWW-Authenticate"] == APIClient().get("/members/")["WWW-Authenticate"]


def test_explain_follows_a_database_row():
    ResourcePolicy.objects.create(path="/api/public/", access="nobody", description="shut")
    _, fields = explain("GET", "/api/public/")
    assert fields["policy"] == "database: shut"
    assert fields["status"] == "403"


def test_explain_exempt_route():
    _, fields = explain("GET", "/admin/")
    assert fields["enforced by"] == "exempt"
    assert fields["status"] == "decided by the view itself (exempt)"


def test_explain_unknown_user_is_a_command_error():
    with pytest.raises(CommandError, match="nobody-here"):
        explain("GET", "/api/profile/", "--user", "nobody-here")


def test_explain_unknown_path_is_django_404():
    _, fields = explain("GET", "/no/such/path/")
    assert fields["route"] == "(none: Django answers 404)"
    assert fields["enforced by"] == "none"
    assert fields["policy"] == "-"
    assert fields["status"] == "404"
    assert APIClient().get("/no/such/path/").status_code == 404


# --- explain: any ALLOWED_HOSTS, own permission classes, one object (issue 9 §3) ---------


@override_settings(ALLOWED_HOSTS=["example.com"])
def test_explain_works_whatever_allowed_hosts_is():
    """Was: ``DisallowedHost: 'testserver'`` in any project that does not allow it."""
    _, fields = explain("GET", "/api/profile/", "--host", "example.com")
    assert fields["status"] == "401"
    bearer = parse_challenges(fields["WWW-Authenticate"])[0]
    assert bearer.param("resource_metadata") == (
        "http://example.com/.well-known/oauth-protected-resource"
    )
    out = io.StringIO()
    call_command("authstatus_explain", "GET", "/api/profile/", stdout=out)  # default host
    assert "example.com/.well-known" in out.getvalue()


@override_settings(ALLOWED_HOSTS=["example.com"])
def test_explain_decides_one_object_for_bob_on_alices_order():
    alice = UserFactory(username="alice")
    UserFactory(username="bob")
    order = OrderFactory(owner=alice)
    _, fields = explain(
        "GET", f"/api/orders/{order.pk}/", "--user", "bob", "--scopes", "read",
        "--object", str(order.pk), "--host", "example.com",
    )  # fmt: skip
    assert fields["route"] == "/api/orders/<pk>/"
    assert fields["policy"].startswith("settings: An order: only its owner reads it")
    assert fields["status"] == "404"
    assert fields["decision"] == "not-found (resolution: not_found)"
    # without the object, the view-level decision, and a note saying so
    _, fields = explain(
        "GET", f"/api/orders/{order.pk}/", "--user", "bob", "--scopes", "read",
        "--host", "example.com",
    )  # fmt: skip
    assert fields["status"] == "200"
    assert "object-level requirements not decided" in fields["note"]
    # the owner, with a read-only token, shipping: the precise refusal (issue 9 §4)
    _, fields = explain(
        "POST", f"/api/orders/{order.pk}/ship/", "--user", "alice", "--scopes", "read",
        "--object", str(order.pk), "--host", "example.com",
    )  # fmt: skip
    assert fields["status"] == "403"
    assert parse_challenges(fields["WWW-Authenticate"])[0].param("scope") == "write"


def test_explain_decides_views_with_their_own_permission_classes():
    """Was: ``default: DEFAULT_ACCESS`` and "allowed 200" where the real answer is 401/403."""
    _, fields = explain("GET", "/t/drf/stock-is-authenticated/")
    real = APIClient().get("/t/drf/stock-is-authenticated/")
    assert fields["enforced by"].startswith("drf (permission_classes: IsAuthenticated")
    assert fields["status"] == str(real.status_code) == "401"
    assert fields["WWW-Authenticate"] == real["WWW-Authenticate"]


def test_explain_a_format_suffix_url_has_the_policy_of_its_route():
    _, fields = explain("POST", "/api/orders.json")
    assert fields["policy"] == "settings: Placing an order needs scope write"
    assert fields["status"] == "401"
