"""``ResourcePolicy`` validation (model ``clean()``, the admin form, the admin add view) and
what a saved policy does to enforcement in the same process.

The test settings load the demo's API policies from settings (``/api/public/`` anonymous,
``/api/profile/`` authenticated, ...), so a database row at the same pattern overrides one.
"""

from __future__ import annotations

import logging
import time

import pytest
from django.conf import settings
from django.contrib.admin.models import LogEntry
from django.core.exceptions import ValidationError
from django.test import override_settings
from django.urls import reverse
from hypothesis import given
from hypothesis import strategies as st
from rest_framework.test import APIClient

from authstatus.admin import ResourcePolicyForm
from authstatus.core.challenges import parse_challenges
from authstatus.core.decision import Access
from authstatus.models import ResourcePolicy
from authstatus.policies.propagation import database_rules, policies_changed, registry
from tests.factories import GroupFactory, UserFactory, corrupted_policy
from tests.http import DRF_CHALLENGES, policy_form_data

pytestmark = pytest.mark.django_db

# The challenges of the demo's DRF routes (Bearer, Session, Basic), parsed.

# (field values, field the error belongs on). Groups/permissions that exist are created by
# the ``names`` fixture: "staff-api" and auth.view_user (a default permission).
INVALID = {
    "pattern without leading slash": ({"path": "api/"}, "path"),
    "wildcard inside a segment": ({"path": "/api/x*/"}, "path"),
    "whitespace in pattern": ({"path": "/api/ x/"}, "path"),
    "tab in pattern": ({"path": "/api/\tx/"}, "path"),
    "query in pattern": ({"path": "/api/?q"}, "path"),
    "fragment in pattern": ({"path": "/api/#top"}, "path"),
    "comma-separated methods": ({"methods": "GET,POST"}, "methods"),
    "method with slash": ({"methods": "GET/POST"}, "methods"),
    "scope with a quote": ({"required_scopes": 'a"b'}, "required_scopes"),
    "scope with a backslash": ({"required_scopes": "a\\b"}, "required_scopes"),
    "non-ASCII scope": ({"required_scopes": "ü"}, "required_scopes"),
    "nonexistent group": ({"required_groups": ["no-such-group"]}, "required_groups"),
    "nonexistent permission": (
        {"required_permissions": ["auth.fly_to_the_moon"]},
        "required_permissions",
    ),
    "undeclared requirement": ({"requirements": ["is_wizard"]}, "requirements"),
    "anonymous with scopes": ({"access": "anonymous", "required_scopes": "read"}, "access"),
    "anonymous with groups": ({"access": "anonymous", "required_groups": ["staff-api"]}, "access"),
    "anonymous with permissions": (
        {"access": "anonymous", "required_permissions": ["auth.view_user"]},
        "access",
    ),
    "anonymous with requirements": ({"access": "anonymous", "requirements": ["owner"]}, "access"),
    "nobody with scopes": ({"access": "nobody", "required_scopes": "read"}, "access"),
    "nobody with groups": ({"access": "nobody", "required_groups": ["staff-api"]}, "access"),
    "nobody with permissions": (
        {"access": "nobody", "required_permissions": ["auth.view_user"]},
        "access",
    ),
    "nobody with requirements": ({"access": "nobody", "requirements": ["owner"]}, "access"),
    "non-integer priority": ({"priority": "high"}, "priority"),
    "fractional priority": ({"priority": "1.5"}, "priority"),
}
# The model has no list-typed form fields for groups etc. and an IntegerField for priority;
# these cases only make sense through the form.
FORM_ONLY = {"fractional priority"}


@pytest.fixture
def names(db):
    """A group and a permission that exist, for the contradiction cases."""
    return GroupFactory(name="staff-api")


def model_values(**overrides):
    values = {"path": "/api/new/", "methods": "", "access": "authenticated"}
    values.update(overrides)
    return values


def form_data(**overrides):
    """POST data of the policy form: a valid authenticated-only policy on /api/new/."""
    return policy_form_data(**overrides)


def anonymous_get(path):
    return APIClient().get(path)


# --- model clean() ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("values", "field"),
    [v for k, v in INVALID.items() if k not in FORM_ONLY],
    ids=[k for k in INVALID if k not in FORM_ONLY],
)
def test_model_full_clean_rejects_on_the_right_field(names, values, field):
    policy = ResourcePolicy(**model_values(**values))
    with pytest.raises(ValidationError) as info:
        policy.full_clean()
    assert field in info.value.message_dict, info.value.message_dict
    assert all(message.strip() for message in info.value.message_dict[field])


def test_model_clean_accepts_a_full_valid_policy(names):
    policy = ResourcePolicy(
        **model_values(
            path="/api/notes/*/**",
            methods="get post",
            required_scopes="read write",
            required_groups=["staff-api"],
            required_permissions=["auth.view_user"],
            requirements=["owner"],
            priority=-3,
        )
    )
    policy.full_clean()
    rule = policy.rule()
    assert rule is not None
    assert rule.methods == frozenset({"GET", "HEAD", "POST"})
    assert rule.value.required_scopes == frozenset({"read", "write"})
    assert rule.value.required_groups == frozenset({"staff-api"})
    assert rule.value.requirements == ("owner",)


def test_model_clean_validates_disabled_policies_too():
    """Enabling a disabled policy later must not be able to break enforcement."""
    policy = ResourcePolicy(**model_values(path="/api/x*/", enabled=False))
    with pytest.raises(ValidationError) as info:
        policy.full_clean()
    assert "path" in info.value.message_dict


# --- the admin form ----------------------------------------------------------------------


@pytest.mark.parametrize(("values", "field"), list(INVALID.values()), ids=list(INVALID))
def test_form_rejects_on_the_right_field_and_saves_nothing(names, values, field):
    form = ResourcePolicyForm(data=form_data(**values))
    assert not form.is_valid()
    assert field in form.errors, form.errors.as_data()
    assert all(str(message).strip() for message in form.errors[field])
    assert ResourcePolicy.objects.count() == 0


def test_form_saves_a_valid_policy_that_is_enforced_at_once():
    client = APIClient()
    assert client.get("/api/public/").status_code == 200  # the settings policy: anonymous

    form = ResourcePolicyForm(data=form_data(path="/api/public/", description="now private"))
    assert form.is_valid(), form.errors.as_data()
    row = form.save()

    response = client.get("/api/public/")
    assert response.status_code == 401
    assert parse_challenges(response["WWW-Authenticate"]) == DRF_CHALLENGES
    assert row.access == Access.AUTHENTICATED


# --- the admin add view, end to end ------------------------------------------------------


@pytest.fixture
def admin_client(db):
    admin = UserFactory(username="root", is_staff=True, is_superuser=True)
    client = APIClient()
    client.force_login(admin)
    return client


@pytest.mark.parametrize(("values", "field"), list(INVALID.values()), ids=list(INVALID))
def test_admin_add_view_rejects_on_the_right_field_and_saves_nothing(
    names, admin_client, values, field
):
    response = admin_client.post(
        reverse("admin:authstatus_resourcepolicy_add"), form_data(**values, _save="Save")
    )
    assert response.status_code == 200  # the form again, with errors
    form = response.context["adminform"].form
    assert field in form.errors, form.errors.as_data()
    assert ResourcePolicy.objects.count() == 0
    assert LogEntry.objects.count() == 0


def test_admin_add_view_saves_a_valid_policy_enforced_at_once(admin_client):
    assert anonymous_get("/api/public/").status_code == 200
    response = admin_client.post(
        reverse("admin:authstatus_resourcepolicy_add"),
        form_data(path="/api/public/", description="members only now", _save="Save"),
    )
    assert response.status_code == 302, (
        response.context and response.context["adminform"].form.errors.as_data()
    )
    assert response["Location"] == reverse("admin:authstatus_resourcepolicy_changelist")
    assert ResourcePolicy.objects.get().path == "/api/public/"

    response = anonymous_get("/api/public/")
    assert response.status_code == 401
    assert parse_challenges(response["WWW-Authenticate"]) == DRF_CHALLENGES


# --- precedence of database rows ---------------------------------------------------------


def test_database_row_beats_the_settings_policy_of_equal_specificity():
    # settings: /api/profile/ authenticated-only (anonymous -> 401)
    assert anonymous_get("/api/profile/").status_code == 401
    ResourcePolicy.objects.create(path="/api/profile/", access="anonymous")
    assert anonymous_get("/api/profile/").status_code == 200
    # and the other way round: settings anonymous, database closed to everyone
    ResourcePolicy.objects.create(path="/api/public/", access="nobody")
    response = anonymous_get("/api/public/")
    assert response.status_code == 403
    assert not response.has_header("WWW-Authenticate")


def test_a_less_specific_database_row_does_not_beat_a_more_specific_settings_policy():
    ResourcePolicy.objects.create(path="/api/**", access="anonymous")
    assert anonymous_get("/api/profile/").status_code == 401  # settings /api/profile/ wins
    assert anonymous_get("/api/closed/").status_code == 403  # settings /api/closed/ wins


def test_disabled_row_is_not_enforced_and_deleting_a_row_reverts_at_once():
    row = ResourcePolicy.objects.create(path="/api/public/", access="nobody", enabled=False)
    assert anonymous_get("/api/public/").status_code == 200
    row.enabled = True
    row.save()
    assert anonymous_get("/api/public/").status_code == 403
    row.delete()
    assert anonymous_get("/api/public/").status_code == 200


# --- rows saved around clean() -----------------------------------------------------------


def _invalid_row_lines(caplog):
    """The log lines that report rows which do not validate."""
    return [
        r
        for r in caplog.records
        if r.name == "authstatus"
        and r.levelno >= logging.ERROR
        and "not validate" in r.getMessage()
    ]


def test_saving_an_invalid_row_through_the_model_is_refused():
    """``save()`` validates, not only the form: ``objects.create`` cannot write a row the
    registry could not compile."""
    with pytest.raises(ValidationError) as raised:
        ResourcePolicy.objects.create(path="bad*")
    assert set(raised.value.message_dict) == {"path"}
    with pytest.raises(ValidationError) as raised:
        ResourcePolicy.objects.create(path="/api/public/", access="nobody", required_scopes="x")
    assert set(raised.value.message_dict) == {"access"}
    assert not ResourcePolicy.objects.exists()
    assert anonymous_get("/api/public/").status_code == 200


def test_saving_validates_with_the_other_rows_and_ignores_their_problems():
    """The new row is compiled before the write; a broken row elsewhere (reported on its
    own) does not block saving valid ones."""
    corrupted_policy(path="/api/x*/")
    row = ResourcePolicy.objects.create(path="/api/public/", access="authenticated")
    assert ResourcePolicy.objects.filter(pk=row.pk).exists()
    assert anonymous_get("/api/public/").status_code == 401


BROKEN = [
    {"path": "/api/x*/"},
    {"path": "api/public/"},
    {"methods": "GET,POST"},
    {"access": "everyone"},
    {"required_scopes": 'a"b'},
    {"requirements": ["is_wizard"]},
    {"access": "nobody", "required_scopes": "read"},
    # JSON fields hold anything when written around the form:
    {"required_groups": 5},
    {"required_groups": [1, 2]},
    {"required_permissions": {"auth": "view_user"}},
    {"requirements": "owner"},
]


@pytest.mark.parametrize("broken", BROKEN, ids=repr)
def test_row_broken_around_save_keeps_its_last_valid_version_and_the_rest_loads(caplog, broken):
    row = ResourcePolicy.objects.create(path="/api/public/", access="authenticated")
    assert anonymous_get("/api/public/").status_code == 401

    caplog.set_level(logging.ERROR, logger="authstatus")
    corrupted_policy(row, **broken)
    policies_changed()  # announced (as any later change by any process would)

    response = anonymous_get("/api/public/")  # the row's last valid version
    assert response.status_code == 401
    assert parse_challenges(response["WWW-Authenticate"]) == DRF_CHALLENGES
    assert anonymous_get("/api/closed/").status_code == 403
    # A valid change saved afterwards takes effect, a tightening and a loosening alike:
    ResourcePolicy.objects.create(path="/api/profile/", access="nobody")
    assert anonymous_get("/api/profile/").status_code == 403
    ResourcePolicy.objects.create(path="/api/closed/", access="anonymous")
    assert anonymous_get("/api/closed/").status_code == 200
    assert anonymous_get("/api/public/").status_code == 401
    # One log line names the broken row, however many loads and requests followed.
    (line,) = _invalid_row_lines(caplog)
    assert f"resource policy #{row.pk}" in line.getMessage()
    assert "last valid version" in line.getMessage()
    assert [i.pk for i in registry.invalid] == [row.pk]


# (corruption, how a process that never saw the row valid answers anonymous GET /api/public/):
# closed to everyone where the path is still a pattern; where it is not, the row matches no
# request as written, and the settings policy (anonymous) applies.
FRESH = [
    ({"access": "everyone"}, 403),
    ({"methods": "GET,POST"}, 403),  # unreadable methods: every method closed
    ({"required_groups": 5}, 403),
    ({"access": "anonymous", "required_scopes": "read"}, 403),
    ({"access": "everyone", "conceal": True}, 404),
    ({"path": "/api/x*/"}, 200),
]


@pytest.mark.parametrize(("broken", "status"), FRESH, ids=repr)
def test_fresh_process_with_a_broken_row_closes_it_and_serves_every_other_route(
    caplog, broken, status
):
    row = corrupted_policy(**{"path": "/api/public/", "access": "authenticated", **broken})
    caplog.set_level(logging.DEBUG, logger="authstatus")
    registry.reset()  # a process started after the row broke
    for _ in range(20):
        assert anonymous_get("/api/public/").status_code == status
        assert anonymous_get("/api/profile/").status_code == 401
        assert anonymous_get("/api/closed/").status_code == 403
        assert anonymous_get("/api/notes/").status_code == 401
    # No 503, no retry per request: one line, no traceback.
    (line,) = [r for r in caplog.records if r.name == "authstatus"]
    assert line.levelno == logging.ERROR
    assert line.exc_info is None
    assert f"resource policy #{row.pk}" in line.getMessage()


@pytest.mark.usefixtures("reload_on_requests")
def test_broken_row_is_logged_once_per_resync_interval_not_per_request(caplog):
    row = corrupted_policy(path="/api/public/", access="everyone")
    caplog.set_level(logging.ERROR, logger="authstatus")
    interval = 0.5
    with override_settings(AUTHSTATUS={**settings.AUTHSTATUS, "RESYNC_INTERVAL": interval}):
        started = time.monotonic()
        for _ in range(30):
            assert anonymous_get("/api/public/").status_code == 403
        first = len(_invalid_row_lines(caplog))
        # One line when it loaded, then one per RESYNC_INTERVAL however many requests.
        assert 1 <= first <= 1 + (time.monotonic() - started) / interval
        time.sleep(interval + 0.05)
        for _ in range(30):
            assert anonymous_get("/api/public/").status_code == 403
        total = len(_invalid_row_lines(caplog))
        assert first < total <= 1 + (time.monotonic() - started) / interval
    assert all(f"resource policy #{row.pk}" in r.getMessage() for r in _invalid_row_lines(caplog))


def test_fixing_the_broken_row_loads_again(caplog):
    row = ResourcePolicy.objects.create(path="/api/public/", access="authenticated")
    assert anonymous_get("/api/public/").status_code == 401
    corrupted_policy(row, path="/api/x*/")
    policies_changed()
    assert anonymous_get("/api/public/").status_code == 401  # last good

    row.refresh_from_db()
    row.path = "/api/public/"
    row.access = "anonymous"
    row.full_clean()
    row.save()
    assert anonymous_get("/api/public/").status_code == 200


# --- open-ended input through the form ---------------------------------------------------

PATTERN_PIECES = st.sampled_from(["/", "*", "**", "api", "x", "?", "#", " ", "\t", "ü", "."])


@given(
    path=st.one_of(st.text(max_size=40), st.lists(PATTERN_PIECES, max_size=10).map("".join)),
    methods=st.one_of(
        st.text(max_size=30),
        st.lists(st.sampled_from(["GET", "post", "PUT", ",", " ", "\n", "X-Y", "é"])).map("".join),
    ),
    scopes=st.one_of(
        st.text(max_size=30),
        st.lists(st.sampled_from(["read", "write", " ", '"', "\\", "!", "~", "ü"])).map("".join),
    ),
    access=st.sampled_from([a.value for a in Access]),
)
def test_form_random_input_is_rejected_with_field_errors_or_compiles(path, methods, scopes, access):
    form = ResourcePolicyForm(
        data=form_data(path=path, methods=methods, required_scopes=scopes, access=access)
    )
    if not form.is_valid():
        assert form.errors
        assert set(form.errors) <= {"path", "methods", "required_scopes", "access"}, form.errors
        assert ResourcePolicy.objects.count() == 0
        return
    row = form.save()
    try:
        rule = row.rule()
        assert rule is not None
        assert rule.pattern == row.path
        assert [r.pattern for r in database_rules()] == [row.path]  # the registry's load path
        registry.matcher()  # compiles with the settings policies
    finally:
        row.delete()
