"""The ResourcePolicy admin, driven through the Django test client as a logged-in user:
changelist (columns, filters, search), the read-only "matches these routes" field, saving
(history + enforcement), the "try a request" page, and who may use any of it."""

from __future__ import annotations

from html.parser import HTMLParser

import pytest
from django.contrib.admin.models import ADDITION, CHANGE, DELETION, LogEntry
from django.contrib.auth.models import Permission
from django.core.exceptions import ValidationError
from django.test import override_settings
from django.urls import reverse
from rest_framework.test import APIClient

from authstatus.core.challenges import parse_challenges
from authstatus.models import ResourcePolicy
from tests.factories import (
    AccessTokenFactory,
    OrderFactory,
    ResourcePolicyFactory,
    UserFactory,
    corrupted_policy,
)
from tests.http import BASIC, BEARER, COOKIE, policy_form_data

pytestmark = pytest.mark.django_db


CHANGELIST = "admin:authstatus_resourcepolicy_changelist"
ADD = "admin:authstatus_resourcepolicy_add"
TRY = "admin:authstatus_resourcepolicy_try"


@pytest.fixture
def superuser(db):
    return UserFactory(username="root", is_staff=True, is_superuser=True)


@pytest.fixture
def admin_client(superuser):
    client = APIClient()
    client.force_login(superuser)
    return client


@pytest.fixture
def rows(db):
    return {
        "public": ResourcePolicyFactory(path="/api/public/", access="anonymous"),
        "vault": ResourcePolicyFactory(
            path="/api/vault/**", conceal=True, requirements=["owner"], description="Vault"
        ),
        "closed": ResourcePolicyFactory(path="/api/closed/", access="nobody", enabled=False),
        "notes": ResourcePolicyFactory(
            path="/api/notes/", methods="GET", required_scopes="read", description="Reading"
        ),
    }


# --- HTML, parsed --------------------------------------------------------------------------


def _column(attrs, prefix, checkbox_class):
    classes = (attrs.get("class") or "").split()
    if checkbox_class in classes:
        return "action_checkbox"
    return next(c.removeprefix(prefix) for c in classes if c.startswith(prefix))


class _ResultTable(HTMLParser):
    """Rows of the changelist's ``#result_list``: [{column class: cell text}]."""

    def __init__(self) -> None:
        super().__init__()
        self.in_table = False
        self.in_body = False
        self.rows: list[dict[str, str]] = []
        self.headers: list[str] = []
        self.cell: str | None = None
        self.in_header = False

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "table" and attrs.get("id") == "result_list":
            self.in_table = True
        elif self.in_table and tag == "tbody":
            self.in_body = True
        elif self.in_table and tag == "thead":
            self.in_header = True
        elif self.in_body and tag == "tr":
            self.rows.append({})
        elif self.in_body and tag in ("td", "th"):
            self.cell = _column(attrs, "field-", "action-checkbox")
            self.rows[-1][self.cell] = ""
        elif self.in_body and tag == "img" and self.cell is not None:
            self.rows[-1][self.cell] += attrs.get("alt") or ""  # boolean icons
        elif self.in_header and tag == "th":
            self.headers.append(_column(attrs, "column-", "action-checkbox-column"))

    def handle_endtag(self, tag):
        if tag == "table":
            self.in_table = self.in_body = False
        elif tag == "thead":
            self.in_header = False
        elif tag in ("td", "th"):
            self.cell = None

    def handle_data(self, data):
        if self.cell is not None:
            self.rows[-1][self.cell] += data.strip()


def result_table(response):
    parser = _ResultTable()
    parser.feed(response.content.decode())
    return parser.headers, parser.rows


class _FieldBox(HTMLParser):
    """The texts of ``<code>`` elements inside the form row of one field (``field-NAME``)."""

    def __init__(self, name: str) -> None:
        super().__init__()
        self.cls = f"field-{name}"
        self.depth = 0  # <div> nesting inside the field's row; 0 = outside
        self.codes: list[str] = []
        self.text = ""
        self.in_code = False

    def handle_starttag(self, tag, attrs):
        if tag == "div":
            if self.depth:
                self.depth += 1
            elif self.cls in (dict(attrs).get("class") or "").split():
                self.depth = 1
        elif tag == "code" and self.depth:
            self.in_code = True
            self.codes.append("")

    def handle_endtag(self, tag):
        if tag == "div" and self.depth:
            self.depth -= 1
        elif tag == "code":
            self.in_code = False

    def handle_data(self, data):
        if self.depth:
            self.text += data
            if self.in_code:
                self.codes[-1] += data


def field_box(response, name):
    parser = _FieldBox(name)
    parser.feed(response.content.decode())
    return parser


class _Pre(HTMLParser):
    def __init__(self, element_id: str) -> None:
        super().__init__()
        self.element_id = element_id
        self.inside = False
        self.found = False
        self.text = ""

    def handle_starttag(self, tag, attrs):
        if tag == "pre" and dict(attrs).get("id") == self.element_id:
            self.inside = self.found = True

    def handle_endtag(self, tag):
        if tag == "pre":
            self.inside = False

    def handle_data(self, data):
        if self.inside:
            self.text += data


def explanation_fields(response):
    """The "try a request" answer (``<pre id="explanation">``) as {label: value}; None if the
    page shows no answer."""
    parser = _Pre("explanation")
    parser.feed(response.content.decode())
    if not parser.found:
        return None
    lines = [line for line in parser.text.splitlines() if line.strip()]
    fields = {"request": lines[0]}
    for line in lines[1:]:
        label, _, value = line.partition(":")
        fields[label] = value.strip()
    return fields


# --- changelist --------------------------------------------------------------------------


def test_changelist_shows_the_list_display_columns(admin_client, rows):
    response = admin_client.get(reverse(CHANGELIST))
    assert response.status_code == 200
    headers, table = result_table(response)
    assert headers == [
        "action_checkbox",
        "path",
        "methods_display",
        "access",
        "conceal",
        "required_scopes",
        "enabled",
        "problem",
    ]
    by_path = {row["path"]: row for row in table}
    assert set(by_path) == {"/api/public/", "/api/vault/**", "/api/closed/", "/api/notes/"}
    assert by_path["/api/public/"]["methods_display"] == "all"
    assert by_path["/api/notes/"]["methods_display"] == "GET"
    assert by_path["/api/notes/"]["required_scopes"] == "read"
    assert by_path["/api/public/"]["access"] == "anonymous-allowed"
    assert by_path["/api/closed/"]["access"] == "closed to everyone"
    assert (by_path["/api/vault/**"]["conceal"], by_path["/api/vault/**"]["enabled"]) == (
        "True",
        "True",
    )
    assert by_path["/api/closed/"]["enabled"] == "False"
    assert {row["problem"] for row in table} == {"-"}  # the empty value
    assert b"errornote" not in response.content  # no message about invalid rows
    # the "try a request" page is linked from the changelist
    assert reverse(TRY).encode() in response.content


def test_changelist_marks_rows_written_around_validation(admin_client, rows):
    broken = corrupted_policy(rows["public"], access="everyone")
    response = admin_client.get(reverse(CHANGELIST))
    assert response.status_code == 200
    _, table = result_table(response)
    by_path = {row["path"]: row for row in table}
    assert "'everyone' is not an access level" in by_path["/api/public/"]["problem"]
    assert {by_path[p]["problem"] for p in by_path if p != "/api/public/"} == {"-"}
    (message,) = [str(m) for m in response.context["messages"]]
    assert message.startswith("1 resource policy does not validate")
    assert f"#{broken.pk} /api/public/" in message


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"access__exact": "nobody"}, {"/api/closed/"}),
        ({"access__exact": "anonymous"}, {"/api/public/"}),
        ({"access__exact": "authenticated"}, {"/api/vault/**", "/api/notes/"}),
        ({"conceal__exact": "1"}, {"/api/vault/**"}),
        ({"enabled__exact": "0"}, {"/api/closed/"}),
        ({"enabled__exact": "1", "access__exact": "anonymous"}, {"/api/public/"}),
        ({"q": "vault"}, {"/api/vault/**"}),  # path (and description)
        ({"q": "Reading"}, {"/api/notes/"}),  # description
        ({"q": "read"}, {"/api/notes/"}),  # required_scopes (and description)
        ({"q": "nothing-like-this"}, set()),
    ],
    ids=repr,
)
def test_changelist_filters_and_search(admin_client, rows, query, expected):
    response = admin_client.get(reverse(CHANGELIST), query)
    assert response.status_code == 200
    assert {p.path for p in response.context["cl"].result_list} == expected
    _, table = result_table(response)
    assert {row["path"] for row in table} == expected


def test_changelist_offers_the_filters(admin_client, rows):
    response = admin_client.get(reverse(CHANGELIST))
    specs = response.context["cl"].filter_specs
    assert [spec.field.name for spec in specs] == ["access", "conceal", "enabled"]


# --- change form: matched routes -----------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "methods", "expected"),
    [
        ("/api/vault/**", "", ["/api/vault/", "/api/vault/<int:pk>/"]),
        ("/api/vault/*/", "", ["/api/vault/<int:pk>/"]),
        ("/api/notes/", "POST", ["/api/notes/"]),
        ("/api/notes/", "DELETE", []),  # NotesView serves GET and POST only
        # router routes, written readably; '*' also matches a literal segment
        ("/api/orders/", "", ["/api/orders/"]),
        ("/api/orders/*/", "", ["/api/orders/<pk>/"]),
        ("/api/orders/*/ship/", "POST", ["/api/orders/<pk>/ship/"]),
        ("/api/orders/**", "", ["/api/orders/", "/api/orders/<pk>/", "/api/orders/<pk>/ship/"]),
        ("/api/orders.json", "", []),  # policies name the canonical path
        (
            "/t/plain/*/",
            "",
            [
                "/t/plain/anonymous/",
                "/t/plain/nobody/",
                "/t/plain/concealed/",
                "/t/plain/exempt/",
                "/t/plain/class/",
                "/t/plain/class-anonymous/",
            ],
        ),
    ],
)
def test_change_form_shows_the_routes_a_pattern_matches(admin_client, path, methods, expected):
    row = ResourcePolicyFactory(path=path, methods=methods)
    response = admin_client.get(reverse("admin:authstatus_resourcepolicy_change", args=[row.pk]))
    assert response.status_code == 200
    box = field_box(response, "matched_routes")
    assert "matches these routes" in box.text.lower()  # the label
    assert sorted(box.codes) == sorted(expected)


def test_change_form_says_when_no_route_matches(admin_client):
    row = ResourcePolicyFactory(path="/nothing/here/")
    response = admin_client.get(reverse("admin:authstatus_resourcepolicy_change", args=[row.pk]))
    box = field_box(response, "matched_routes")
    assert box.codes == []
    assert "No URL route of this project." in box.text


def test_change_form_shows_the_broken_pattern_of_a_row_saved_around_clean(admin_client):
    row = corrupted_policy(path="/api/x*/")
    response = admin_client.get(reverse("admin:authstatus_resourcepolicy_change", args=[row.pk]))
    assert response.status_code == 200
    assert field_box(response, "matched_routes").codes == []


# --- saving: history and enforcement -----------------------------------------------------


def form_data(**overrides):
    return policy_form_data(**{"path": "/api/public/", "_save": "Save", **overrides})


def test_saving_through_the_admin_is_logged_and_enforced(admin_client, superuser):
    anonymous = APIClient()
    assert anonymous.get("/api/public/").status_code == 200

    response = admin_client.post(reverse(ADD), form_data(description="Members only"))
    assert response.status_code == 302
    row = ResourcePolicy.objects.get()
    response = anonymous.get("/api/public/")
    assert response.status_code == 401
    assert parse_challenges(response["WWW-Authenticate"]) == (BEARER, COOKIE, BASIC)

    change_url = reverse("admin:authstatus_resourcepolicy_change", args=[row.pk])
    response = admin_client.post(change_url, form_data(access="nobody"))
    assert response.status_code == 302
    response = anonymous.get("/api/public/")
    assert response.status_code == 403
    assert not response.has_header("WWW-Authenticate")

    delete_url = reverse("admin:authstatus_resourcepolicy_delete", args=[row.pk])
    assert admin_client.post(delete_url, {"post": "yes"}).status_code == 302
    assert anonymous.get("/api/public/").status_code == 200

    entries = LogEntry.objects.filter(object_id=str(row.pk)).order_by("action_time", "pk")
    assert [e.action_flag for e in entries] == [ADDITION, CHANGE, DELETION]
    assert {e.user_id for e in entries} == {superuser.pk}
    assert "access" in entries[1].get_change_message().lower()


def test_bulk_delete_action_is_enforced_at_once(admin_client, rows):
    """The changelist's "delete selected" action deletes through a queryset: the
    post_delete signal still reaches the policies."""
    ResourcePolicyFactory(path="/api/profile/", access="anonymous")
    anonymous = APIClient()
    assert anonymous.get("/api/profile/").status_code == 200
    selected = list(ResourcePolicy.objects.values_list("pk", flat=True))
    response = admin_client.post(
        reverse(CHANGELIST),
        {"action": "delete_selected", "_selected_action": selected, "post": "yes"},
    )
    assert response.status_code == 302
    assert not ResourcePolicy.objects.exists()
    response = anonymous.get("/api/profile/")
    assert response.status_code == 401  # the settings policy again
    assert parse_challenges(response["WWW-Authenticate"]) == (BEARER, COOKIE, BASIC)
    assert LogEntry.objects.filter(action_flag=DELETION).count() == len(selected)


def test_history_page_lists_the_changes(admin_client):
    admin_client.post(reverse(ADD), form_data())
    row = ResourcePolicy.objects.get()
    change_url = reverse("admin:authstatus_resourcepolicy_change", args=[row.pk])
    admin_client.post(change_url, form_data(access="anonymous"))
    response = admin_client.get(reverse("admin:authstatus_resourcepolicy_history", args=[row.pk]))
    assert response.status_code == 200
    actions = response.context["action_list"]
    assert sorted(e.action_flag for e in actions) == [ADDITION, CHANGE]


@pytest.mark.parametrize(
    ("field", "value"),
    [("required_groups", [1]), ("required_permissions", [None]), ("requirements", [1.5])],
)
def test_a_row_with_json_of_the_wrong_type_is_a_form_error_not_a_500(admin_client, field, value):
    """The JSON fields hold any JSON when written around the form (raw SQL, a migration, the
    shell). Its change page opens, and saving it says what is wrong with the field; the
    check of the rule set was an AttributeError (a 500)."""
    row = corrupted_policy(ResourcePolicyFactory(path="/api/public/"), **{field: value})
    change_url = reverse("admin:authstatus_resourcepolicy_change", args=[row.pk])
    assert admin_client.get(change_url).status_code == 200
    with pytest.raises(ValidationError) as raised:
        row.full_clean()
    assert list(raised.value.message_dict) == [field]
    assert "strings" in raised.value.message_dict[field][0]


def test_a_rejected_form_logs_nothing_and_changes_nothing(admin_client):
    response = admin_client.post(reverse(ADD), form_data(path="/api/x*/"))
    assert response.status_code == 200
    assert "path" in response.context["adminform"].form.errors
    assert not ResourcePolicy.objects.exists()
    assert not LogEntry.objects.exists()
    assert APIClient().get("/api/public/").status_code == 200


# --- "try a request" -----------------------------------------------------------------------


def test_try_page_without_a_request_shows_the_form_only(admin_client):
    response = admin_client.get(reverse(TRY))
    assert response.status_code == 200
    assert response.context["explanation"] is None
    assert explanation_fields(response) is None


def test_try_page_explains_an_anonymous_request(admin_client):
    response = admin_client.post(reverse(TRY), {"method": "GET", "path": "/api/profile/"})
    assert response.status_code == 200
    fields = explanation_fields(response)
    assert fields["request"] == "GET /api/profile/"
    assert fields["policy"] == "settings: Profile"
    assert fields["decision"] == "authentication-required (resolution: authenticate)"
    assert fields["status"] == "401"
    assert parse_challenges(fields["WWW-Authenticate"]) == (BEARER, COOKIE, BASIC)
    # the exact header a real request gets
    assert fields["WWW-Authenticate"] == APIClient().get("/api/profile/")["WWW-Authenticate"]


def test_try_page_explains_a_token_lacking_a_scope(admin_client):
    alice = UserFactory(username="alice")
    response = admin_client.post(
        reverse(TRY),
        {"method": "POST", "path": "/api/notes/", "username": "alice", "scopes": "read"},
    )
    fields = explanation_fields(response)
    assert fields["status"] == "403"
    assert fields["decision"] == "insufficient-scope (resolution: request_scope)"
    (challenge,) = parse_challenges(fields["WWW-Authenticate"])
    assert (challenge.scheme, challenge.param("error"), challenge.param("scope")) == (
        "Bearer",
        "insufficient_scope",
        "write",
    )
    token = AccessTokenFactory(user=alice, scope="read")
    real = APIClient().post(
        "/api/notes/", {"text": "x"}, format="json", HTTP_AUTHORIZATION=f"Bearer {token.token}"
    )
    assert fields["WWW-Authenticate"] == real["WWW-Authenticate"]


def test_try_page_explains_a_session_user_and_follows_database_rows(admin_client):
    UserFactory(username="alice")
    ResourcePolicyFactory(path="/api/profile/", access="nobody", description="shut")
    response = admin_client.post(
        reverse(TRY), {"method": "GET", "path": "/api/profile/", "username": "alice"}
    )
    fields = explanation_fields(response)
    assert fields["policy"] == "database: shut"
    assert fields["status"] == "403"
    assert "WWW-Authenticate" not in fields


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"method": "GET", "path": "/api/profile/", "username": "nobody-here"}, "username"),
        ({"method": "GET", "path": "api/profile/"}, "path"),
        ({"method": "BREW", "path": "/api/profile/"}, "method"),
    ],
)
def test_try_page_rejects_bad_input(admin_client, params, field):
    response = admin_client.post(reverse(TRY), params)
    assert response.status_code == 200
    assert field in response.context["form"].errors
    assert explanation_fields(response) is None


# --- who may use the admin ---------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        reverse(CHANGELIST),
        reverse(ADD),
        reverse(TRY) + "?method=GET&path=/api/profile/",
    ],
)
@pytest.mark.parametrize("who", ["anonymous", "non-staff"])
def test_non_staff_users_are_sent_to_the_admin_login(url, who):
    client = APIClient()
    if who == "non-staff":
        client.force_login(UserFactory(username="plain", is_staff=False))
    response = client.get(url)
    assert response.status_code == 302
    login, _, query = response["Location"].partition("?")
    assert login == reverse("admin:login")
    assert query.startswith("next=")


@pytest.fixture
def staff_client(db):
    """A staff user without any permission on resource policies."""
    client = APIClient()
    client.force_login(UserFactory(username="staffer", is_staff=True))
    return client


def test_staff_without_permission_cannot_see_policies(staff_client):
    assert staff_client.get(reverse(CHANGELIST)).status_code == 403
    assert staff_client.get(reverse(ADD)).status_code == 403
    response = staff_client.get(reverse(TRY), {"method": "GET", "path": "/api/profile/"})
    assert response.status_code == 403


@pytest.mark.parametrize(
    ("codename", "status"), [("view_resourcepolicy", 403), ("change_resourcepolicy", 200)]
)
def test_trying_a_request_takes_the_change_permission(db, codename, status):
    """Explaining decides as any user the form names: more than reading the policies."""
    user = UserFactory(username="staffer", is_staff=True)
    user.user_permissions.add(Permission.objects.get(codename=codename))
    client = APIClient()
    client.force_login(user)
    changelist = client.get(reverse(CHANGELIST))
    assert changelist.status_code == 200
    assert (reverse(TRY).encode() in changelist.content) is (status == 200)
    response = client.post(reverse(TRY), {"method": "GET", "path": "/api/profile/"})
    assert response.status_code == status
    if status == 200:
        assert explanation_fields(response)["status"] == "401"


def test_try_page_decides_one_object(admin_client):
    """The object id field: Bob on Alice's order is the concealed 404; without it, the
    view-level answer and a note."""
    alice = UserFactory(username="alice")
    UserFactory(username="bob")
    order = OrderFactory(owner=alice)
    query = {"method": "GET", "path": f"/api/orders/{order.pk}/", "username": "bob"}
    fields = explanation_fields(
        admin_client.post(reverse(TRY), {**query, "scopes": "read", "obj": str(order.pk)})
    )
    assert fields["status"] == "404"
    assert fields["decision"] == "not-found (resolution: not_found)"
    fields = explanation_fields(admin_client.post(reverse(TRY), {**query, "scopes": "read"}))
    assert fields["status"] == "200"
    assert "object-level requirements not decided" in fields["note"]


def test_try_page_uses_the_admins_host():
    """Whatever ALLOWED_HOSTS lists first, the explanation is for the admin's own host."""
    from django.test import Client

    admin = UserFactory(username="root", is_staff=True, is_superuser=True)
    client = Client()
    client.force_login(admin)
    with override_settings(ALLOWED_HOSTS=["admin.example.com", "testserver"]):
        fields = explanation_fields(
            client.post(reverse(TRY), {"method": "GET", "path": "/api/profile/"})
        )
    metadata = parse_challenges(fields["WWW-Authenticate"])[0].param("resource_metadata")
    assert metadata == "http://testserver/.well-known/oauth-protected-resource"
