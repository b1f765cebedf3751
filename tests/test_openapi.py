"""The OpenAPI schema (authstatus.contrib.drf_spectacular) says what the policies enforce.

Generated for the demo's URLconf with the test settings' policies; each response the demo
actually sends is checked against what the schema documents for that operation.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from django.conf import settings
from django.core.management import call_command
from django.test import override_settings
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.settings import patched_settings
from hypothesis import given
from hypothesis import strategies as st

from authstatus.contrib.drf_spectacular import operation_policy, sample_path
from authstatus.core.challenges import parse_challenges
from authstatus.core.decision import Access
from authstatus.core.matching import PatternError, validate_pattern
from authstatus.models import ResourcePolicy
from demo_project.api.models import VaultItem
from tests.factories import AccessTokenFactory
from tests.http import PROBLEM_JSON, media_type

DEMO_URLCONF = "demo_project.urls"


def schema(urlconf: str = DEMO_URLCONF) -> dict[str, Any]:
    return SchemaGenerator(urlconf=urlconf).get_schema(request=None, public=True)


@pytest.fixture
def demo_schema(db) -> dict[str, Any]:
    return schema()


def _operations(doc: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, item in doc["paths"].items():
        for method, operation in item.items():
            yield path, method.upper(), operation


# --- security schemes -------------------------------------------------------------------


def test_security_schemes_describe_dot_session_and_basic(demo_schema):
    schemes = demo_schema["components"]["securitySchemes"]
    scopes = {"read": "Read your notes", "write": "Write your notes"}  # OAUTH2_PROVIDER
    assert schemes == {
        "oauth2": {
            "type": "oauth2",
            "flows": {
                "authorizationCode": {
                    "authorizationUrl": "/o/authorize/",
                    "tokenUrl": "/o/token/",
                    "refreshUrl": "/o/token/",
                    "scopes": scopes,
                },
                "clientCredentials": {"tokenUrl": "/o/token/", "scopes": scopes},
            },
        },
        "cookieAuth": {"type": "apiKey", "in": "cookie", "name": "sessionid"},
        "basicAuth": {"type": "http", "scheme": "basic"},
    }


def test_bearer_is_http_bearer_when_dot_is_not_the_issuer(db):
    with override_settings(ROOT_URLCONF="tests.urls_no_oauth"):
        doc = schema("tests.urls_no_oauth")
    assert doc["components"]["securitySchemes"]["bearerAuth"] == {
        "type": "http",
        "scheme": "bearer",
    }
    assert "oauth2" not in doc["components"]["securitySchemes"]
    assert {"bearerAuth": []} in doc["paths"]["/api/profile/"]["get"]["security"]


def test_flows_follow_spectacular_settings(db):
    with patched_settings({"OAUTH2_FLOWS": ["password"]}):
        flows = schema()["components"]["securitySchemes"]["oauth2"]["flows"]
    assert list(flows) == ["password"]
    assert flows["password"]["tokenUrl"] == "/o/token/"


# --- security requirements ----------------------------------------------------------------


def test_security_lists_the_scopes_the_policy_requires(demo_schema):
    paths = demo_schema["paths"]
    assert paths["/api/notes/"]["get"]["security"] == [
        {"oauth2": ["read"]},
        {"cookieAuth": []},
        {"basicAuth": []},
    ]
    assert paths["/api/notes/"]["post"]["security"][0] == {"oauth2": ["write"]}
    assert paths["/api/profile/"]["get"]["security"][0] == {"oauth2": []}


def test_anonymous_operations_have_an_optional_empty_requirement(demo_schema):
    for path, method, operation in _operations(demo_schema):
        anonymous = operation_policy(path, method, None).access is Access.ANONYMOUS
        assert ({} in operation["security"]) is anonymous, (method, path)
    assert {} in demo_schema["paths"]["/api/public/"]["get"]["security"]


def test_database_policies_are_read_when_the_schema_is_generated(db):
    ResourcePolicy.objects.create(
        path="/api/public/", access="authenticated", required_scopes="write"
    )
    operation = schema()["paths"]["/api/public/"]["get"]
    assert operation["security"][0] == {"oauth2": ["write"]}
    assert {} not in operation["security"]
    assert {"401", "403"} <= set(operation["responses"])


def test_stock_autoschema_still_gets_the_schemes_and_scopes(db):
    with override_settings(
        REST_FRAMEWORK={
            **settings.REST_FRAMEWORK,
            "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
        }
    ):
        doc = schema()
    assert set(doc["components"]["securitySchemes"]) == {"oauth2", "cookieAuth", "basicAuth"}
    assert doc["paths"]["/api/notes/"]["get"]["security"][0] == {"oauth2": ["read"]}
    assert "401" not in doc["paths"]["/api/notes/"]["get"]["responses"]


# --- responses ------------------------------------------------------------------------------


def test_concealed_operations_document_only_404(demo_schema):
    for path in ("/api/vault/", "/api/vault/{id}/"):
        responses = demo_schema["paths"][path]["get"]["responses"]
        assert set(responses) == {"200", "404"}, path
        assert "conceal" not in json.dumps(demo_schema["paths"][path]).lower(), path
    assert (
        demo_schema["paths"]["/api/vault/{id}/"]["get"]["responses"]["404"]
        == demo_schema["paths"]["/api/vault/"]["get"]["responses"]["404"]
    )


def test_refusal_responses_per_policy(demo_schema):
    paths = demo_schema["paths"]
    codes = {
        (path, method): set(operation["responses"])
        for path, method, operation in _operations(demo_schema)
    }
    assert codes[("/api/public/", "GET")] == {"200", "400", "401"}
    assert codes[("/api/profile/", "GET")] == {"200", "400", "401"}
    assert codes[("/api/notes/", "GET")] == {"200", "400", "401", "403"}
    assert codes[("/api/notes/", "POST")] == {"201", "400", "401", "403", "415"}
    assert codes[("/api/staff/", "GET")] == {"200", "400", "401", "403"}
    assert codes[("/api/closed/", "GET")] == {"200", "400", "401", "403"}
    unauthorized = paths["/api/profile/"]["get"]["responses"]["401"]
    assert unauthorized["headers"]["WWW-Authenticate"]["required"] is True
    for status in ("400", "401", "403"):
        content = paths["/api/notes/"]["get"]["responses"][status]["content"]
        assert content == {
            PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/ProblemDetails"}}
        }
    assert paths["/api/notes/"]["post"]["responses"]["400"]["content"] == {
        PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/ValidationProblemDetails"}}
    }


def test_problem_schema_has_rfc_9457_members_and_resolution(demo_schema):
    problem = demo_schema["components"]["schemas"]["ProblemDetails"]
    assert {"type", "title", "status", "detail", "instance", "resolution"} <= set(
        problem["properties"]
    )


def test_without_problem_details_for_all_errors_drf_bodies_are_documented(db):
    with override_settings(
        AUTHSTATUS={**settings.AUTHSTATUS, "PROBLEM_DETAILS_FOR_ALL_ERRORS": False}
    ):
        responses = schema()["paths"]["/api/notes/"]["post"]["responses"]
    assert set(responses["400"]["content"]) == {PROBLEM_JSON, "application/json"}
    assert set(responses["415"]["content"]) == {"application/json"}


def test_throttled_views_document_429_with_retry_after(db):
    doc = schema("tests.urls")
    responses = doc["paths"]["/t/drf/throttled/"]["get"]["responses"]
    assert responses["429"]["headers"]["Retry-After"]["required"] is True


# --- the responses the demo sends are the ones documented --------------------------------


def _validator(doc: dict[str, Any], ref: dict[str, str]) -> Any:
    root = {**ref, "components": doc["components"]}
    return jsonschema.Draft7Validator(root)


CREDENTIALS = {
    "none": lambda: {},
    "bad token": lambda: {"HTTP_AUTHORIZATION": "Bearer not-a-token"},
    "bare bearer": lambda: {"HTTP_AUTHORIZATION": "Bearer"},
    "read token": lambda: {
        "HTTP_AUTHORIZATION": f"Bearer {AccessTokenFactory(scope='read').token}"
    },
    "write token": lambda: {
        "HTTP_AUTHORIZATION": f"Bearer {AccessTokenFactory(scope='read write').token}"
    },
    "bad password": lambda: {"HTTP_AUTHORIZATION": "Basic eDp5"},
}


@pytest.mark.parametrize("credentials", list(CREDENTIALS))
def test_every_answer_is_documented(client, demo_schema, credentials):
    item = VaultItem.objects.create(owner=AccessTokenFactory().user, name="someone's", secret="s")
    seen = set()
    for path, method, operation in _operations(demo_schema):
        url = path.replace("{id}", str(item.pk))
        body = {"text": "hello"} if method == "POST" else None
        response = client.generic(
            method,
            url,
            json.dumps(body) if body else "",
            content_type="application/json",
            **CREDENTIALS[credentials](),
        )
        status = str(response.status_code)
        assert status in operation["responses"], (credentials, method, path, status)
        documented = operation["responses"][status]
        content = documented.get("content", {})
        assert media_type(response) in content, (method, path, status)
        schema_ref = content[media_type(response)]["schema"]
        if "$ref" in schema_ref:
            _validator(demo_schema, schema_ref).validate(json.loads(response.content))
        for name, header in documented.get("headers", {}).items():
            if header.get("required"):
                assert response.has_header(name), (method, path, status, name)
        if response.has_header("WWW-Authenticate"):
            parse_challenges(response["WWW-Authenticate"])
        seen.add(status)
    assert seen - {"200", "201"}, "no refusal was exercised"


# --- operation_policy ---------------------------------------------------------------------


def test_sample_path_values_cannot_equal_a_policy_literal():
    sample = sample_path("/api/vault/{id}/notes/{note_pk}/")
    assert sample == "/api/vault/ id /notes/ note_pk /"
    with pytest.raises(PatternError):
        validate_pattern(sample)


@given(st.from_regex(r"\A[a-z_]{1,12}\Z"))
def test_a_parameter_matches_wildcards_only(name):
    segment = sample_path("/{" + name + "}/").strip("/")
    with pytest.raises(PatternError):
        validate_pattern(f"/{segment}/")


def test_operation_policy_resolves_the_policy_in_force(db):
    assert operation_policy("/api/vault/{id}/", "get", None).conceal is True
    assert operation_policy("/api/notes/", "post", None).required_scopes == {"write"}
    assert operation_policy("/api/notes/", "get", None).required_scopes == {"read"}


def test_spectacular_validates_the_demo_schema(db, tmp_path: Path):
    out = io.StringIO()
    target = tmp_path / "schema.yaml"
    call_command(
        "spectacular",
        "--validate",
        "--fail-on-warn",
        "--urlconf",
        DEMO_URLCONF,
        "--file",
        str(target),
        stdout=out,
        stderr=out,
    )
    text = target.read_text()
    assert "/api/vault/{id}/:" in text
    assert "securitySchemes:" in text


def test_the_demo_serves_its_schema(client, db):
    response = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    doc = json.loads(response.content)
    assert doc["paths"]["/api/notes/"]["get"]["security"][0] == {"oauth2": ["read"]}
