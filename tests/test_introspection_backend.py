"""Introspection (RFC 7662) against a second Django process running django-oauth-toolkit.

The authorization server is the demo project under ``runserver`` on a free loopback port,
with its own SQLite database, migrated and seeded by the test (demo-client/demo-secret is the
confidential client this resource server introspects as). This process is the resource
server: it has none of the authorization server's tokens in its database.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator

import pytest
from django.conf import settings
from django.core.cache import caches
from django.db import connection
from django.test import override_settings
from django.test.utils import CaptureQueriesContext

from authstatus import tokens
from demo_project.api.tour import EXPIRED_TOKEN, READ_TOKEN, READ_WRITE_TOKEN
from tests.factories import UserFactory
from tests.http import assert_refusal, bearer, challenges, problem
from tests.test_propagation import Server, demo_env, manage, start_server, stop

ECHO = "/t/drf/semantics/authstatus/"
SCOPED = "/t/drf/semantics/authstatus-scoped/"  # needs scope "write"
CONCEALED = "/api/vault/"
NOT_ACTIVE = "The access token is not active."


@pytest.fixture(scope="module")
def authorization_server(tmp_path_factory) -> Iterator[tuple[dict[str, str], Server]]:
    directory = tmp_path_factory.mktemp("introspection")
    env = demo_env(directory)
    manage(env, "migrate", "--noinput", "-v", "0")
    manage(env, "seed_demo")
    started: list[subprocess.Popen[bytes]] = []
    try:
        yield env, start_server(env, directory, "authorization-server", started)
    finally:
        for process in started:
            stop(process)


def introspection(server: Server, **options: object) -> dict[str, object]:
    entry = {
        "BACKEND": "authstatus.tokens.introspection.IntrospectionBackend",
        "ISSUER": server.base + "/o",
        "INTROSPECTION_ENDPOINT": server.base + "/o/introspect/",
        "CLIENT_ID": "demo-client",
        "CLIENT_SECRET": "demo-secret",
        **options,
    }
    return {**settings.AUTHSTATUS, "TOKEN_BACKENDS": [entry]}


@pytest.fixture
def server(authorization_server) -> Server:
    caches["default"].clear()
    return authorization_server[1]


def get(client, path: str, token: str):
    return client.get(path, HTTP_AUTHORIZATION=f"Bearer {token}", HTTP_ACCEPT="application/json")


def backend():
    (configured,) = tokens.backends()
    return configured


@pytest.mark.django_db
def test_active_token_is_accepted_then_answered_from_the_cache(client, server):
    with override_settings(AUTHSTATUS=introspection(server)):
        assert get(client, ECHO, READ_TOKEN).status_code == 200
        assert backend().calls == 1
        with CaptureQueriesContext(connection) as queries:
            again = get(client, ECHO, READ_TOKEN)
        assert again.status_code == 200
        assert again.json() == {"user": ""}  # no USER_FIELD: authenticated as the client
        assert backend().calls == 1  # cache hit
        assert len(queries) == 0


@pytest.mark.django_db
def test_username_maps_to_a_local_user(client, server):
    UserFactory(username="alice")
    options = {"USER_FIELD": "username", "USER_CLAIM": "username"}
    with override_settings(AUTHSTATUS=introspection(server, **options)):
        response = get(client, ECHO, READ_TOKEN)
    assert response.json() == {"user": "alice"}


@pytest.mark.django_db
@pytest.mark.parametrize("token", ["never-issued-token", EXPIRED_TOKEN])
def test_inactive_token_is_invalid_and_cached_briefly(client, server, token):
    with override_settings(AUTHSTATUS=introspection(server, INACTIVE_CACHE_SECONDS=30)):
        first = get(client, ECHO, token)
        second = get(client, ECHO, token)
        assert backend().calls == 1
    for response in (first, second):
        assert_refusal(
            response,
            401,
            "invalid-credentials",
            "reauthenticate",
            challenge=(bearer(("error", "invalid_token"), ("error_description", NOT_ACTIVE)),),
            detail=NOT_ACTIVE,
        )


@pytest.mark.django_db
def test_scopes_come_from_the_introspection_answer(client, server):
    with override_settings(AUTHSTATUS=introspection(server)):
        lacking = get(client, SCOPED, READ_TOKEN)
        enough = get(client, SCOPED, READ_WRITE_TOKEN)
    assert challenges(lacking) == (bearer(("scope", "write"), ("error", "insufficient_scope")),)
    assert enough.status_code == 200


@pytest.mark.django_db
def test_revocation_is_seen_once_the_cache_bound_passes(client, authorization_server):
    env, server = authorization_server
    caches["default"].clear()
    manage(
        env,
        "shell",
        "-c",
        "from datetime import timedelta; from django.utils import timezone;"
        "from oauth2_provider.models import AccessToken, Application;"
        "from django.contrib.auth.models import User;"
        "AccessToken.objects.create(token='revoke-me', scope='read',"
        " user=User.objects.get(username='alice'),"
        " application=Application.objects.get(client_id='demo-client'),"
        " expires=timezone.now() + timedelta(hours=1))",
    )
    with override_settings(AUTHSTATUS=introspection(server, CACHE_SECONDS=0)):
        assert get(client, ECHO, "revoke-me").status_code == 200
        manage(
            env,
            "shell",
            "-c",
            "from oauth2_provider.models import AccessToken;"
            "AccessToken.objects.get(token='revoke-me').revoke()",
        )
        assert get(client, ECHO, "revoke-me").status_code == 401


@pytest.mark.django_db
@pytest.mark.parametrize(
    "options",
    [
        {"INTROSPECTION_ENDPOINT": "http://127.0.0.1:9/o/introspect/", "TIMEOUT": 1},
        {"CLIENT_SECRET": "wrong-secret"},  # the endpoint refuses us: not an answer either
    ],
    ids=["unreachable", "refused"],
)
def test_unreachable_introspection_fails_closed(client, server, options):
    with override_settings(AUTHSTATUS=introspection(server, RETRY_AFTER=7, **options)):
        response = get(client, ECHO, READ_TOKEN)
        again = get(client, ECHO, READ_TOKEN)  # failures are not cached
        concealed = get(client, CONCEALED, READ_TOKEN)
        assert backend().calls == 3
    for refused in (response, again):
        assert refused.status_code == 503
        assert refused["Retry-After"] == "7"
        assert "WWW-Authenticate" not in refused
        assert problem(refused) == {
            "type": settings.AUTHSTATUS.get(
                "PROBLEM_TYPE_BASE",
                "https://django-authstatus.readthedocs.io/en/latest/reference/problems/#",
            )
            + "verification-unavailable",
            "title": "Service unavailable",
            "status": 503,
            "detail": "The access token cannot be checked now. Try again later.",
            "resolution": "retry_later",
        }
    # A concealed resource stays indistinguishable from a missing one.
    assert concealed.status_code == 404
    assert concealed.content == client.get("/api/no-such-thing/").content


@pytest.mark.django_db
def test_introspection_endpoint_from_the_issuer_metadata(client, server):
    with override_settings(AUTHSTATUS=introspection(server, INTROSPECTION_ENDPOINT=None)):
        assert get(client, ECHO, READ_TOKEN).status_code == 200
        assert backend().endpoint == server.base + "/o/introspect/"


@pytest.mark.django_db
def test_metadata_naming_another_issuer_is_not_used(client, server):
    # RFC 8414 §3.3: the document's issuer must be the one configured, exactly.
    options = {"INTROSPECTION_ENDPOINT": None, "ISSUER": server.base + "/o/"}
    with override_settings(AUTHSTATUS=introspection(server, **options)):
        response = get(client, ECHO, READ_TOKEN)
        again = get(client, ECHO, READ_TOKEN)
    assert response.status_code == again.status_code == 503
