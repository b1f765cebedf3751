"""Fail closed on every path a request can take (issue 25).

Each test here failed on the code before the fix:

* a CORS-preflight-shaped ``OPTIONS`` (anyone can send ``Origin`` and
  ``Access-Control-Request-Method``) had its policy relaxed to anonymous-allowed and ran the
  view — a plain view whose ``GET`` is ``401``, one closed to everyone, one as the session's
  user; now it is answered with an empty ``200`` and no view runs;
* a valid djangorestframework-simplejwt token (a class that carries no OAuth scopes) passed a
  policy requiring scope ``write``: ``201``; now ``403`` unless the project declares the class
  first-party;
* ``authstatus_explain`` and the admin's "try a request" sent ``access_denied`` for the
  simulated user, and the admin page took its inputs from a ``GET``.
"""

from __future__ import annotations

import json

import pytest
from asgiref.sync import async_to_sync
from django.conf import settings
from django.core.management import call_command
from django.test import AsyncClient, Client, override_settings
from django.urls import reverse
from rest_framework.test import APIClient
from rest_framework_simplejwt.authentication import JWTAuthentication
from rest_framework_simplejwt.tokens import AccessToken

from authstatus.conf import DEFAULTS
from authstatus.contrib import rest_framework as authstatus_drf
from authstatus.core.challenges import parse_challenges
from authstatus.explain import explain
from authstatus.signals import access_denied
from demo_project.api.models import Note
from demo_project.api.views import NotesView, StaffView
from tests.factories import AccessTokenFactory, UserFactory

# Outside CORS_URLS_REGEX: django-cors-headers does not answer, authstatus sees the preflight.
NO_CORS = override_settings(CORS_URLS_REGEX=r"^/no-cors-here/")
PREFLIGHT = {"HTTP_ORIGIN": "x", "HTTP_ACCESS_CONTROL_REQUEST_METHOD": "x"}
PREFLIGHT_HEADERS = {"origin": "x", "access-control-request-method": "x"}
JWT = "rest_framework_simplejwt.authentication.JWTAuthentication"
SCOPES_NOT_CARRIED = "These credentials cannot carry the OAuth scopes this request needs."


@pytest.fixture
def announced():
    """Every ``access_denied`` sent while the test runs."""
    sent: list[dict] = []

    def receiver(sender, **kwargs):
        sent.append(kwargs)

    access_denied.connect(receiver, weak=False)
    yield sent
    access_denied.disconnect(receiver)


def assert_answered_without_the_view(response) -> None:
    assert response.status_code == 200
    assert response.content == b""
    assert response["Content-Length"] == "0"
    assert "WWW-Authenticate" not in response
    assert "Allow" not in response  # DRF's headers come from the view


# --- preflights -----------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_preflight_shaped_options_does_not_run_a_plain_view_whose_get_is_refused(
    client, announced
):
    """``curl -X OPTIONS -H 'Origin: x' -H 'Access-Control-Request-Method: x' /members/``
    returned the members page with 200."""
    assert client.get("/members/").status_code == 401
    announced.clear()
    response = client.options("/members/", **PREFLIGHT)
    assert_answered_without_the_view(response)
    assert announced == []  # answered in the view's place, not a refusal


@pytest.mark.django_db
def test_a_preflight_does_not_run_a_view_closed_to_everyone(client):
    with NO_CORS:
        assert client.get("/t/plain/nobody/").status_code == 403
        response = client.options("/t/plain/nobody/", **PREFLIGHT)
    assert_answered_without_the_view(response)


@pytest.mark.django_db
def test_a_preflight_with_a_session_cookie_does_not_run_the_view_as_that_user(client):
    client.force_login(UserFactory(username="alice"))
    with NO_CORS:
        assert client.get("/t/plain/nobody/").status_code == 403
        plain = client.options("/t/plain/nobody/", **PREFLIGHT)
        assert client.get("/api/staff/").status_code == 403
        drf = client.options("/api/staff/", **PREFLIGHT)
    assert_answered_without_the_view(plain)
    assert_answered_without_the_view(drf)


@pytest.mark.django_db
def test_a_preflight_does_not_run_a_drf_handler_its_policy_refuses(client, monkeypatch):
    ran: list[str] = []
    original = StaffView.options

    def recording(self, request, *args, **kwargs):
        ran.append(request.method)
        return original(self, request, *args, **kwargs)

    monkeypatch.setattr(StaffView, "options", recording)
    with NO_CORS:
        response = client.options("/api/staff/", **PREFLIGHT)
    assert_answered_without_the_view(response)
    assert ran == []


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/t/async/private/", "/t/async/closed/", "/t/async/scoped/"])
def test_a_preflight_runs_no_async_view_on_the_event_loop_path(path):
    """The middleware's async path (an async view under ASGI) decides a preflight alike."""
    client = AsyncClient()
    with NO_CORS:
        assert async_to_sync(client.get)(path).status_code in (401, 403)
        response = async_to_sync(client.options)(path, headers=PREFLIGHT_HEADERS)
    assert_answered_without_the_view(response)


@pytest.mark.django_db
def test_a_preflight_with_an_invalid_token_runs_no_view(client):
    with NO_CORS:
        response = client.options(
            "/api/profile/", HTTP_AUTHORIZATION="Bearer not-a-token", **PREFLIGHT
        )
    assert_answered_without_the_view(response)


@pytest.mark.django_db
def test_a_preflight_the_policy_allows_still_reaches_the_view(client):
    """Anonymous-allowed: the OPTIONS request is allowed, and DRF's metadata answers it."""
    with NO_CORS:
        response = client.options("/api/public/", **PREFLIGHT)
    assert response.status_code == 200
    assert json.loads(response.content)["name"]


@pytest.mark.django_db
def test_a_plain_options_request_is_still_refused(client):
    assert client.options("/members/").status_code == 401
    assert client.options("/members/", HTTP_ORIGIN="x").status_code == 401


@pytest.mark.django_db
def test_django_cors_headers_still_answers_the_preflights_it_handles(client):
    response = client.options("/api/profile/", **PREFLIGHT)
    assert response.status_code == 200
    assert response["Access-Control-Allow-Origin"] == "*"


# --- scopes bind every authentication class ------------------------------------------------


@pytest.fixture
def notes_with_simplejwt(monkeypatch):
    """The demo's notes route authenticated by simplejwt and the session, as a project that
    issues its own JWTs lists them."""
    monkeypatch.setattr(
        NotesView,
        "authentication_classes",
        [JWTAuthentication, authstatus_drf.SessionAuthentication],
    )


@pytest.mark.django_db
def test_a_simplejwt_token_does_not_pass_a_scope_policy(notes_with_simplejwt):
    alice = UserFactory(username="alice")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {AccessToken.for_user(alice)}")
    response = client.post("/api/notes/", {"text": "x"}, format="json")
    assert response.status_code == 403
    assert "WWW-Authenticate" not in response  # no scope hint it could act on
    body = json.loads(response.content)
    assert body["type"].endswith("#forbidden")
    assert body["detail"] == SCOPES_NOT_CARRIED
    assert not Note.objects.exists()
    assert client.get("/api/notes/").status_code == 403  # GET needs scope read


@pytest.mark.django_db
def test_a_dot_token_still_gets_the_scope_hint():
    token = AccessTokenFactory(user=UserFactory(username="alice"), scope="read")
    response = APIClient().post(
        "/api/notes/", {"text": "x"}, format="json", HTTP_AUTHORIZATION=f"Bearer {token.token}"
    )
    assert response.status_code == 403
    (challenge,) = parse_challenges(response["WWW-Authenticate"])
    assert (challenge.param("error"), challenge.param("scope")) == ("insufficient_scope", "write")


@pytest.mark.django_db
def test_a_class_declared_first_party_meets_scope_requirements(notes_with_simplejwt):
    alice = UserFactory(username="alice")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {AccessToken.for_user(alice)}")
    first_party = [*DEFAULTS["FIRST_PARTY_AUTHENTICATION"], JWT]
    with override_settings(
        AUTHSTATUS={**settings.AUTHSTATUS, "FIRST_PARTY_AUTHENTICATION": first_party}
    ):
        response = client.post("/api/notes/", {"text": "x"}, format="json")
    assert response.status_code == 201
    assert Note.objects.get().owner == alice


@pytest.mark.django_db
def test_sessions_stay_first_party_by_default(client):
    client.force_login(UserFactory(username="alice"))
    response = client.post("/api/notes/", {"text": "x"}, format="json")
    assert response.status_code == 201


@pytest.mark.django_db
def test_an_unimportable_first_party_entry_makes_nothing_first_party(client):
    """Fail closed: the session is first-party only because a listed class says so."""
    client.force_login(UserFactory(username="alice"))
    unimportable = {**settings.AUTHSTATUS, "FIRST_PARTY_AUTHENTICATION": ["no.such.Class"]}
    with override_settings(AUTHSTATUS=unimportable):
        response = client.post("/api/notes/", {"text": "x"}, format="json")
    assert response.status_code == 403
    assert json.loads(response.content)["detail"] == SCOPES_NOT_CARRIED


def test_authstatus_bearer_classes_carry_scopes():
    assert authstatus_drf.BearerAuthentication.authenticator_class.carries_scopes
    assert not authstatus_drf.SessionAuthentication.authenticator_class.carries_scopes


# --- explain and "try a request" have no side effects --------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("path", "method", "user", "scopes"),
    [
        ("/api/notes/", "POST", "alice", ["read"]),  # DRF: PolicyPermission refuses
        ("/api/staff/", "GET", "alice", None),  # DRF, a session user not in the group
        ("/members/", "GET", None, None),  # a plain view, anonymous
        ("/t/plain/nobody/", "GET", "alice", None),
    ],
)
def test_explain_announces_nothing(announced, path, method, user, scopes):
    alice = UserFactory(username="alice")
    explanation = explain(method, path, user=alice if user else None, scopes=scopes)
    assert explanation.status in (401, 403)
    assert announced == []


@pytest.mark.django_db
def test_the_explain_command_announces_nothing(announced, capsys):
    UserFactory(username="alice")
    call_command("authstatus_explain", "POST", "/api/notes/", "--user", "alice", "--scopes", "read")
    assert "403" in capsys.readouterr().out
    assert announced == []


TRY = "admin:authstatus_resourcepolicy_try"
QUERY = {"method": "GET", "path": "/api/staff/", "username": "alice"}


@pytest.fixture
def admin_with_csrf(db):
    UserFactory(username="alice")
    client = Client(enforce_csrf_checks=True)
    client.force_login(UserFactory(username="root", is_staff=True, is_superuser=True))
    return client


def test_try_a_request_by_get_explains_nothing(admin_with_csrf, announced):
    """A cross-site navigation (a link, an image) by a logged-in admin does nothing."""
    response = admin_with_csrf.get(reverse(TRY), QUERY)
    assert response.status_code == 200
    assert response.context["explanation"] is None
    assert response.context["form"]["path"].value() == "/api/staff/"  # filled in, not sent
    assert announced == []


def test_try_a_request_by_post_needs_the_csrf_token(admin_with_csrf, announced):
    assert admin_with_csrf.post(reverse(TRY), QUERY).status_code == 403
    form = admin_with_csrf.get(reverse(TRY))
    token = form.cookies["csrftoken"].value
    response = admin_with_csrf.post(reverse(TRY), {**QUERY, "csrfmiddlewaretoken": token})
    assert response.status_code == 200
    assert response.context["explanation"].status == 403
    assert announced == []
