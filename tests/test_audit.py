"""``manage.py authstatus_audit`` (issue 25): it passes on every test URLconf and the demo,
finds each defect it exists for on a copy that has it, and leaves nothing behind."""

from __future__ import annotations

import json
from dataclasses import replace
from io import StringIO

import pytest
from django.contrib.auth.models import Group, User
from django.contrib.sessions.models import Session
from django.core import mail
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import translation
from oauth2_provider.models import AccessToken, Application
from rest_framework.views import APIView

from authstatus import middleware
from authstatus.audit import AuditReport, audit
from authstatus.contrib.rest_framework import decisions, permissions
from authstatus.core.decision import Access, Policy
from authstatus.enforcement import is_preflight
from authstatus.models import ResourcePolicy
from authstatus.signals import access_denied
from demo_project.api.models import Order, VaultItem
from tests.factories import OrderFactory, UserFactory, VaultItemFactory

pytestmark = pytest.mark.django_db

URLCONFS = [
    "tests.urls",
    "tests.urls_audit",
    "tests.urls_resources",
    "tests.urls_bare",
    "tests.urls_dot_at_root",
    "tests.urls_login_suffix",
    "tests.urls_no_metadata",
    "tests.urls_no_oauth",
    "tests.urls_stock_404",
    "tests.urls_stock_404_views",
    "demo_project.urls",
]

# The plain object routes whose model the audit cannot know: named on the command line.
PLAIN_OBJECTS = ("/t/conceal/plain-vault/<int:pk>/", "/audit/items/<pk>/")


@pytest.fixture
def objects() -> str:
    """One vault item and one order of alice's: the existing objects the audit compares
    with missing ids. The vault item's id."""
    alice = UserFactory(username="alice")
    item = VaultItemFactory(owner=alice)
    OrderFactory(owner=alice)
    return str(item.pk)


def written(urlconf: str) -> list[str]:
    """The routes of ``urlconf``, as ``authstatus_routes`` writes them."""
    from django.test.utils import override_settings

    from authstatus.policies.routes import route_map

    with override_settings(ROOT_URLCONF=urlconf):
        return [endpoint.written for endpoint in route_map().endpoints]


def plain_objects(urlconf: str, pk: str) -> dict[str, str]:
    """``--object`` for the plain object routes ``urlconf`` has."""
    return {route: pk for route in PLAIN_OBJECTS if route in written(urlconf)}


def run(*args: str) -> tuple[str, int]:
    """``authstatus_audit`` with ``args``: its output and exit status."""
    out = StringIO()
    try:
        call_command("authstatus_audit", *args, stdout=out, stderr=StringIO())
    except CommandError as exc:
        return out.getvalue(), exc.returncode
    return out.getvalue(), 0


def table_rows() -> dict[str, int]:
    return {
        "users": User.objects.count(),
        "groups": Group.objects.count(),
        "applications": Application.objects.count(),
        "tokens": AccessToken.objects.count(),
        "sessions": Session.objects.count(),
        "vault items": VaultItem.objects.count(),
        "orders": Order.objects.count(),
        "policies": ResourcePolicy.objects.count(),
    }


@pytest.mark.parametrize("urlconf", URLCONFS)
def test_every_test_urlconf_and_the_demo_pass_the_audit(urlconf, objects):
    report = audit(urlconf=urlconf, objects=plain_objects(urlconf, objects))

    assert [f.line() for f in report.findings] == []
    assert report.complete
    assert report.audited >= 1
    assert report.requests >= 20 * report.audited
    # Nothing left unchecked but routes no sample can reach.
    assert [u for u in report.unchecked if u.what != "route"] == []


def test_the_demo_passes_from_the_command_line_and_says_how_many_routes_it_checked(objects):
    output, status = run("--urlconf", "demo_project.urls")

    assert status == 0, output
    summary = output.strip().splitlines()[-1]
    assert summary.startswith(f"{audit_demo_routes()} routes (")
    assert " audited, " in summary
    assert ", 0 findings in " in summary
    assert "SKIPPED" in output  # the admin, DOT's endpoints, the login page
    assert "FINDING" not in output


def audit_demo_routes() -> int:
    return len(written("demo_project.urls"))


def test_the_old_preflight_relaxation_is_a_finding_naming_the_route(monkeypatch):
    """A refused CORS preflight decided as anonymous-allowed (authstatus before issue 25):
    the plain view runs for it."""
    original = middleware.evaluate

    def relaxed(request, *, policy, **kwargs):
        if is_preflight(request) and not policy.conceal:
            policy = Policy(Access.ANONYMOUS, source=policy.source, name=policy.name)
        return original(request, policy=policy, **kwargs)

    monkeypatch.setattr(middleware, "evaluate", relaxed)

    output, status = run("--urlconf", "demo_project.urls", "--route", "/members/")

    assert status == 1
    assert (
        "FINDING /members/: OPTIONS /members/ (CORS preflight for GET): the view ran on a "
        "preflight the policy refuses (401 authentication-required for OPTIONS; "
        "policy: authenticated)"
    ) in output.splitlines()
    assert ", 5 findings in " in output  # one per method the view serves


def test_the_relaxed_preflight_of_a_drf_view_is_a_finding_too(monkeypatch):
    original = decisions.evaluate

    def relaxed(request, *, policy, **kwargs):
        if is_preflight(request) and not policy.conceal:
            policy = Policy(Access.ANONYMOUS, source=policy.source, name=policy.name)
        return original(request, policy=policy, **kwargs)

    monkeypatch.setattr(decisions, "evaluate", relaxed)
    # Outside CORS_URLS_REGEX, so django-cors-headers does not answer the preflight itself.
    monkeypatch.setattr("django.conf.settings.CORS_URLS_REGEX", r"^/nothing/")

    output, status = run("--urlconf", "demo_project.urls", "--route", "/api/profile/")

    assert status == 1
    assert any(
        line.startswith("FINDING /api/profile/: OPTIONS /api/profile/ (CORS preflight for GET)")
        and "the view ran on a preflight the policy refuses" in line
        for line in output.splitlines()
    ), output


def test_a_function_view_let_through_while_the_table_refuses_is_a_finding(monkeypatch):
    """The middleware lets a refused request reach a function view that serves every method
    alike (its policy asks for scope, group and permission)."""
    monkeypatch.setattr(middleware, "_respond", lambda request, decision, result: None)

    output, status = run("--urlconf", "tests.urls_audit", "--route", "/audit/every-method/")

    assert status == 1
    lines = output.splitlines()
    assert (
        "FINDING /audit/every-method/: DELETE /audit/every-method/ as anonymous: the view ran "
        "on a request the table refuses with 401 (answered 200)"
    ) in lines
    assert (
        "FINDING /audit/every-method/: PATCH /audit/every-method/ as invalid token: answered "
        "200, the table demands 401 with Cookie (authentication-required; policy: "
        "authenticated scopes=write groups=staff-api permissions=demo_api.view_vaultitem)"
    ) in lines
    assert any(
        line.startswith("FINDING /audit/every-method/: GET /audit/every-method/ as valid, lacking")
        and "the view ran on a request the table refuses with 403" in line
        for line in lines
    ), output


def test_a_concealed_object_answered_403_for_another_user_is_a_finding(monkeypatch, objects):
    """Object-level refusals on a concealed route rendered as a plain 403: another user's
    object no longer looks like a missing id."""
    original = permissions.refuse_view

    def leaky(request, view, policy, description=""):
        return original(request, view, replace(policy, conceal=False), description)

    monkeypatch.setattr(permissions, "refuse_view", leaky)

    output, status = run("--urlconf", "demo_project.urls", "--route", "/api/vault/<int:pk>/")

    assert status == 1
    item = VaultItem.objects.get()
    missing = item.pk + 1_000_000
    assert (
        f"FINDING /api/vault/<int:pk>/: GET /api/vault/{item.pk}/ as another user (existing "
        f"object): answered unlike the missing id (GET /api/vault/{missing}/): status 403 vs 404"
    ) in output.splitlines()
    # Anonymous requests are refused before the object is looked up: still alike.
    assert "as anonymous" not in output


def test_json_output_is_one_document_with_the_counts(objects):
    output, status = run("--format", "json", "--urlconf", "demo_project.urls", "--route", "/api/")

    assert status == 0
    document = json.loads(output)
    assert document["complete"] is True
    assert document["findings"] == []
    counts = document["counts"]
    assert counts["findings"] == 0
    assert counts["routes"] == audit_demo_routes()
    assert counts["audited"] == 13  # /api/public/ ... /api/orders/<pk>/ship/, /api/
    assert counts["skipped"] == counts["routes"] - 13
    assert counts["requests"] > 13 * 20
    assert {"route": "/admin/", "reason": "not selected (--route)"} in document["skipped"]


def test_json_output_lists_findings_and_exits_1(monkeypatch):
    monkeypatch.setattr(middleware, "_respond", lambda request, decision, result: None)

    output, status = run(
        "--format", "json", "--urlconf", "tests.urls_audit", "--route", "/audit/every-method/"
    )

    assert status == 1
    document = json.loads(output)
    assert document["counts"]["findings"] == len(document["findings"]) > 0
    assert {f["route"] for f in document["findings"]} == {"/audit/every-method/"}
    assert all(f["request"] and f["problem"] for f in document["findings"])


def test_the_summary_counts_routes_requests_and_findings():
    output, status = run("--urlconf", "demo_project.urls", "--route", "/api/public/")

    assert status == 0
    # GET (served), POST (not served), HEAD and OPTIONS, each as anonymous, an invalid and an
    # expired token and valid credentials (nothing to lack: the policy asks for nothing);
    # GET again with Accept: text/html and ?format=api; one preflight.
    routes = audit_demo_routes()
    assert output.splitlines()[-1].startswith(
        f"{routes} routes (1 audited, {routes - 1} skipped), 25 requests, 0 findings in "
    )


def test_the_time_bound_stops_the_audit_and_says_what_was_not_checked():
    output, status = run("--urlconf", "demo_project.urls", "--max-seconds", "0.000001")

    assert status == 2
    assert "UNCHECKED /api/public/: route: time bound reached" in output.splitlines()
    assert "(stopped by the time bound: not every route was checked)" in output


def test_the_database_is_unchanged_and_nothing_is_announced(objects):
    before = table_rows()
    written: list[str] = []

    def receiver(sender, request, **kwargs):
        name = f"denied-{len(written)}"
        Group.objects.create(name=name)
        written.append(name)

    access_denied.connect(receiver, weak=False, dispatch_uid="test-audit-writes")
    try:
        report = audit(urlconf="demo_project.urls")
    finally:
        access_denied.disconnect(dispatch_uid="test-audit-writes")

    assert report.findings == ()
    assert report.requests > 500
    assert written == []  # no refusal announced, so no receiver wrote
    assert not Group.objects.filter(name__startswith="denied-").exists()
    assert table_rows() == before


def test_a_receiver_still_hears_refusals_after_the_audit(objects, client):
    audit(urlconf="demo_project.urls", routes=("/api/closed/",))
    heard = []
    access_denied.connect(lambda **kwargs: heard.append(kwargs), weak=False, dispatch_uid="t")
    try:
        assert client.get("/api/closed/").status_code == 403
    finally:
        access_denied.disconnect(dispatch_uid="t")

    assert len(heard) == 1


def test_the_audit_leaves_no_state_behind(objects):
    initial = APIView.__dict__["initial"]
    translation.activate("en")
    mail.outbox = []

    audit(urlconf="tests.urls_audit", routes=("/<language>/", "/api/vault/"))

    assert APIView.__dict__["initial"] is initial
    assert translation.get_language() == "en"
    assert mail.outbox == []
    from django.conf import settings

    assert settings.ROOT_URLCONF == "tests.urls"


def test_the_time_bound_reports_incomplete_in_the_library():
    report = audit(urlconf="demo_project.urls", max_seconds=0.000001)

    assert isinstance(report, AuditReport)
    assert not report.complete
    assert report.audited == 0
    assert {u.reason for u in report.unchecked} == {"time bound reached"}


def test_an_object_option_without_id_is_a_usage_error():
    with pytest.raises(CommandError, match="expected ROUTE=ID") as raised:
        call_command("authstatus_audit", "--object", "/api/vault/<int:pk>/", stdout=StringIO())

    assert raised.value.returncode == 2


def test_an_object_option_naming_no_route_is_a_usage_error():
    with pytest.raises(CommandError, match="no route is written /api/vault/<pk>/") as raised:
        call_command("authstatus_audit", "--object", "/api/vault/<pk>/=1", stdout=StringIO())

    assert raised.value.returncode == 2


def test_every_option_is_documented_in_the_commands_reference():
    from pathlib import Path

    from authstatus.management.commands.authstatus_audit import Command

    page = (Path(__file__).resolve().parent.parent / "docs/reference/commands.md").read_text()
    section = page.split("### `authstatus_audit`", 1)[1].split("\n## ", 1)[0]
    parser = Command().create_parser("manage.py", "authstatus_audit")
    own = [
        option
        for action in parser._actions
        for option in action.option_strings
        if option.startswith("--") and option not in ("--help",)
    ]
    # Django's common options (--settings, --traceback, ...) are documented by Django.
    common = {
        "--version",
        "--settings",
        "--pythonpath",
        "--traceback",
        "--no-color",
        "--force-color",
        "--skip-checks",
        "--verbosity",
    }
    missing = [o for o in own if o not in common and f"`{o}" not in section]
    assert missing == []
    assert {"--format", "--max-seconds", "--urlconf", "--object", "--route", "--host"} <= set(own)
