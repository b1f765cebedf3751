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
from rest_framework.test import APIClient

from authstatus.core.challenges import parse_challenges
from authstatus.models import ResourcePolicy
from tests.factories import AccessTokenFactory, UserFactory
from tests.http import BASIC, BEARER, COOKIE

pytestmark = pytest.mark.django_db

ALL = "GET POST PUT PATCH DELETE"


def routes(*args):
    """The table ``authstatus_routes`` prints, as (route, methods, policy, source) rows."""
    out = io.StringIO()
    call_command("authstatus_routes", *args, stdout=out)
    lines = out.getvalue().splitlines()
    rows = [tuple(re.split(r" {2,}", line.strip())) for line in lines]
    assert rows[0] == ("ROUTE", "METHODS", "POLICY", "SOURCE")
    assert all(len(row) == 4 for row in rows), [row for row in rows if len(row) != 4]
    return rows[1:]


def rows_for(rows, route):
    return [row[1:] for row in rows if row[0] == route]


def explain(*args):
    """``authstatus_explain`` output: (all lines, {label: value} of the "label: value" lines)."""
    out = io.StringIO()
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
    assert rows_for(rows, "/api/public/") == [(ALL, "anonymous", "settings: Public API")]
    assert rows_for(rows, "/api/profile/") == [(ALL, "authenticated", "settings: Profile")]
    assert rows_for(rows, "/api/notes/") == [
        ("GET", "authenticated scopes=read", "settings: Reading notes needs scope read"),
        ("POST", "authenticated scopes=write", "settings: Writing notes needs scope write"),
        ("PUT PATCH DELETE", "authenticated", "default: DEFAULT_ACCESS"),
    ]
    assert rows_for(rows, "/api/staff/") == [
        (ALL, "authenticated groups=staff-api", "settings: Staff only")
    ]
    assert rows_for(rows, "/api/closed/") == [(ALL, "nobody", "settings: Closed to everyone")]
    vault = (
        ALL,
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
    assert rows_for(rows, "/api/public/") == [
        ("GET", "authenticated", "database: Members read"),
        ("POST PUT PATCH DELETE", "anonymous", "settings: Public API"),
    ]
    # without a description, the row is named by its id
    assert rows_for(rows, "/api/closed/") == [(ALL, "anonymous", f"database: policy #{row.pk}")]


def test_routes_follows_a_deleted_or_disabled_row_back_to_the_settings():
    row = ResourcePolicy.objects.create(path="/api/public/", access="nobody", description="x")
    assert rows_for(routes(), "/api/public/") == [(ALL, "nobody", "database: x")]
    row.enabled = False
    row.save()
    assert rows_for(routes(), "/api/public/") == [(ALL, "anonymous", "settings: Public API")]


def test_routes_shows_view_declared_and_default_access():
    rows = routes()
    assert rows_for(rows, "/t/plain/") == [(ALL, "authenticated", "default: DEFAULT_ACCESS")]
    assert rows_for(rows, "/t/plain/anonymous/") == [(ALL, "anonymous", "view: plain_anonymous")]
    assert rows_for(rows, "/t/plain/nobody/") == [(ALL, "nobody", "view: plain_nobody")]
    assert rows_for(rows, "/t/plain/concealed/") == [
        (ALL, "authenticated concealed", "view: plain_concealed")
    ]
    assert rows_for(rows, "/t/plain/class-anonymous/") == [
        (ALL, "anonymous", "view: PlainAnonymousClassView")
    ]
    assert rows_for(rows, "/t/drf/declared-anonymous/") == [
        (ALL, "anonymous", "view: DeclaredAnonymous")
    ]
    assert rows_for(rows, "/t/drf/echo/") == [(ALL, "authenticated", "default: DEFAULT_ACCESS")]


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
    assert rows_for(rows, "/accounts/login/") == [(ALL, "-", "exempt")]  # the LOGIN_URL view
    # DRF views are never exempt: PolicyPermission enforces them
    assert rows_for(rows, "/api/public/") == [(ALL, "anonymous", "settings: Public API")]


# --- authstatus_explain ------------------------------------------------------------------


def test_explain_anonymous_profile_prints_the_exact_401():
    lines, fields = explain("GET", "/api/profile/")
    assert lines[0] == "GET /api/profile/"
    assert fields["route"] == "api/profile/"
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
