"""System checks of TOKEN_BACKENDS: authstatus.E035 to E039, W035."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.test import override_settings

from authstatus.checks.tokens import check_token_backends, check_token_backends_reachable

JWT = "authstatus.tokens.jwt.JWTBackend"
INTROSPECTION = "authstatus.tokens.introspection.IntrospectionBackend"
ISSUER = "https://as.example"


def ids(entries, check=check_token_backends, **dot):
    with override_settings(AUTHSTATUS={**settings.AUTHSTATUS, "TOKEN_BACKENDS": entries}):
        if dot:
            with override_settings(OAUTH2_PROVIDER={**settings.OAUTH2_PROVIDER, **dot}):
                return [m.id for m in check()]
        return [m.id for m in check()]


def test_default_and_good_configurations_pass():
    assert ids([{"BACKEND": "authstatus.contrib.oauth2_provider.backends.DatabaseBackend"}]) == []
    assert ids([{"BACKEND": JWT, "ISSUER": ISSUER, "AUDIENCE": "https://api.example"}]) == []


@pytest.mark.parametrize(
    ("entries", "expected"),
    [
        ([], ["authstatus.E035"]),
        ("nope", ["authstatus.E035"]),
        ([{"BACKEND": "no.such.Backend"}], ["authstatus.E035"]),
        ([{"BACKEND": "authstatus.conf.AppSettings"}], ["authstatus.E035"]),
        ([{"BACKEND": JWT}], ["authstatus.E035"]),
        ([{"BACKEND": JWT, "ISSUER": ISSUER, "DISCOVERY": False}], ["authstatus.E036"]),
        ([{"BACKEND": JWT, "ISSUER": ISSUER, "ALGORITHMS": []}], ["authstatus.E037"]),
        ([{"BACKEND": JWT, "ISSUER": ISSUER, "ALGORITHMS": ["none"]}], ["authstatus.E037"]),
        ([{"BACKEND": JWT, "ISSUER": ISSUER, "ALGORITHMS": ["HS256"]}], ["authstatus.E037"]),
        ([{"BACKEND": JWT, "ISSUER": ISSUER, "USER_FIELD": "nope"}], ["authstatus.E035"]),
        ([{"BACKEND": INTROSPECTION, "ISSUER": ISSUER}], ["authstatus.E039"]),
        (
            [
                {
                    "BACKEND": INTROSPECTION,
                    "ISSUER": ISSUER,
                    "CLIENT_ID": "rs",
                    "CLIENT_SECRET": "s",
                    "CACHE_ALIAS": "nope",
                }
            ],
            ["authstatus.E039"],
        ),
    ],
)
def test_misconfigurations(entries, expected):
    assert ids(entries) == expected


def test_audience_must_name_the_resource():
    entry = {"BACKEND": JWT, "ISSUER": ISSUER, "AUDIENCE": "https://other.example"}
    resource = {"OAUTH2_PROTECTED_RESOURCE_IDENTIFIER": "https://api.example/"}
    assert ids([entry], **resource) == ["authstatus.E038"]
    assert ids([{**entry, "AUDIENCE": ["https://api.example"]}], **resource) == []


def test_deploy_check_warns_when_the_jwks_cannot_be_fetched():
    entry = {"BACKEND": JWT, "ISSUER": ISSUER, "JWKS_URI": "http://127.0.0.1:9/jwks", "TIMEOUT": 1}
    assert ids([entry], check=check_token_backends_reachable) == ["authstatus.W035"]
