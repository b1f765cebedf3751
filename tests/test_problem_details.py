"""PROBLEM_DETAILS_FOR_ALL_ERRORS: DRF's own errors as RFC 9457 problem details.

The demo (and so the test settings) turns it on; ``_off`` restores the default, which keeps
DRF's bodies.
"""

from __future__ import annotations

import contextlib
import json

import pytest
from django.conf import settings
from django.core.cache import cache
from django.test import override_settings

from tests.http import PROBLEM_JSON, media_type, problem, problem_type


@contextlib.contextmanager
def _problems(on: bool):
    with override_settings(
        AUTHSTATUS={**settings.AUTHSTATUS, "PROBLEM_DETAILS_FOR_ALL_ERRORS": on}
    ):
        yield


@pytest.fixture
def writer(client, token):
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token.token}")
    return client


def test_validation_error_is_a_problem_with_errors_per_field(writer):
    response = writer.post("/api/notes/", {"text": ""}, format="json")
    assert response.status_code == 400
    assert problem(response) == {
        "type": problem_type("validation-error"),
        "title": "Invalid input",
        "status": 400,
        "detail": "The request has invalid fields; see errors.",
        "errors": {"text": ["This field may not be blank."]},
        "resolution": "fix_request",
    }


def test_validation_error_default_keeps_drf_body(writer):
    with _problems(False):
        response = writer.post("/api/notes/", {"text": ""}, format="json")
    assert response.status_code == 400
    assert media_type(response) == "application/json"
    assert json.loads(response.content) == {"text": ["This field may not be blank."]}


def test_parse_error(writer):
    response = writer.post("/api/notes/", b"{not json", content_type="application/json")
    assert response.status_code == 400
    body = problem(response)
    assert body["type"] == problem_type("parse-error")
    assert body["resolution"] == "fix_request"
    assert body["detail"].startswith("JSON parse error")
    assert "errors" not in body


def test_method_not_allowed_keeps_allow(writer):
    response = writer.delete("/api/notes/")
    assert response.status_code == 405
    assert {m.strip() for m in response["Allow"].split(",")} == {"GET", "POST", "HEAD", "OPTIONS"}
    body = problem(response)
    assert body["type"] == problem_type("method-not-allowed")
    assert body["detail"] == 'Method "DELETE" not allowed.'


def test_not_acceptable(client, db):
    response = client.get("/api/public/", HTTP_ACCEPT="application/xml")
    assert response.status_code == 406
    body = problem(response)
    assert (body["type"], body["status"]) == (problem_type("not-acceptable"), 406)


def test_unsupported_media_type(writer):
    response = writer.post("/api/notes/", b"text", content_type="text/plain")
    assert response.status_code == 415
    body = problem(response)
    assert (body["type"], body["status"]) == (problem_type("unsupported-media-type"), 415)
    assert body["detail"] == 'Unsupported media type "text/plain" in request.'


@pytest.mark.parametrize("on", [True, False])
def test_throttled_keeps_retry_after(client, db, on):
    cache.clear()
    with _problems(on):
        assert client.get("/t/drf/throttled/").status_code == 200
        response = client.get("/t/drf/throttled/")
    assert response.status_code == 429
    assert 0 < int(response["Retry-After"]) <= 60
    if on:
        body = problem(response)
        assert body["type"] == problem_type("throttled")
        assert body["resolution"] == "retry_later"
        assert body["title"] == "Too many requests"
    else:
        assert media_type(response) == "application/json"
        assert set(json.loads(response.content)) == {"detail"}
    cache.clear()


def test_browsable_api_keeps_rendering_errors_as_html(client, alice):
    client.force_login(alice)
    response = client.post("/api/notes/", {"text": ""}, HTTP_ACCEPT="text/html", format="multipart")
    # The browsable API's renderer was negotiated: the problem is shown inside its page.
    assert response.status_code == 400
    assert media_type(response) == "text/html"
    page = response.content.decode()
    assert "Django REST framework" in page
    assert "validation-error" in page


def test_refusals_are_unchanged_by_the_setting(client, db):
    for on in (True, False):
        with _problems(on):
            response = client.get("/api/profile/")
        assert response.status_code == 401
        assert media_type(response) == PROBLEM_JSON
        assert problem(response)["type"] == problem_type("authentication-required")
