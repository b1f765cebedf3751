"""System checks: one id per misconfiguration (authstatus.checks.Codes), none for the demo."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings
from django.core import checks as django_checks
from django.test import override_settings

from authstatus.checks.codes import Codes
from authstatus.checks.concealment import check_concealment
from authstatus.checks.drf import check_drf
from authstatus.checks.middleware import check_middleware
from authstatus.checks.oauth import (
    check_cors,
    check_discovery,
    check_oauth2_challenge,
    check_registration,
)
from authstatus.checks.routes import check_database_policies
from authstatus.checks.settings import check_bearer_cache, check_settings

ROOT = Path(__file__).resolve().parent.parent
MIDDLEWARE_PATH = "authstatus.middleware.AuthStatusMiddleware"
AUTH_MIDDLEWARE = "django.contrib.auth.middleware.AuthenticationMiddleware"


def _ids(messages) -> list[str]:
    return [m.id for m in messages]


def _authstatus_messages():
    return [m for m in django_checks.run_checks() if (m.id or "").startswith("authstatus.")]


def _with(**changes) -> override_settings:
    return override_settings(AUTHSTATUS={**settings.AUTHSTATUS, **changes})


def _with_policy(spec: dict) -> override_settings:
    return _with(POLICIES=[*settings.AUTHSTATUS["POLICIES"], spec])


def test_every_code_is_distinct_and_well_formed():
    codes = {name: value for name, value in vars(Codes).items() if name.isupper()}
    assert len(set(codes.values())) == len(codes)
    for value in codes.values():
        prefix, _, number = value.partition(".")
        assert prefix == "authstatus"
        assert number[0] in "EW"
        assert number[1:].isdigit()


def test_demo_settings_produce_no_authstatus_messages():
    assert _authstatus_messages() == []


# --- propagation settings ---------------------------------------------------------------


def test_process_local_cache_warns():
    with override_settings(
        CACHES={"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    ):
        messages = check_settings()
    assert _ids(messages) == [Codes.PROCESS_LOCAL_CACHE]
    assert messages[0].level == django_checks.WARNING


def test_unknown_cache_alias():
    with _with(CACHE_ALIAS="policies"):
        assert _ids(check_settings()) == [Codes.BAD_CACHE]


@pytest.mark.parametrize("value", [-1, "1", None, True])
def test_bad_poll_interval(value):
    with _with(POLL_INTERVAL=value):
        assert _ids(check_settings()) == [Codes.BAD_POLL_INTERVAL]


@pytest.mark.parametrize("value", [0, -1, "10", None, True])
def test_bad_resync_interval(value):
    with _with(RESYNC_INTERVAL=value):
        messages = check_settings()
    assert _ids(messages) == [Codes.BAD_RESYNC_INTERVAL]
    assert messages[0].level == django_checks.ERROR


def test_good_resync_interval():
    with _with(RESYNC_INTERVAL=0.5):
        assert check_settings() == []


_BOOLEANS = [
    ("RELOAD_IN_BACKGROUND", Codes.BAD_RELOAD_IN_BACKGROUND),
    ("ASYNC_TOKEN_THREAD", Codes.BAD_ASYNC_TOKEN_THREAD),
]


@pytest.mark.parametrize("value", [1, "yes", None])
@pytest.mark.parametrize(("key", "code"), _BOOLEANS)
def test_bad_boolean_setting(key, code, value):
    with _with(**{key: value}):
        messages = check_settings()
    assert _ids(messages) == [code]
    assert messages[0].level == django_checks.ERROR


@pytest.mark.parametrize("value", [True, False])
@pytest.mark.parametrize(("key", "code"), _BOOLEANS)
def test_good_boolean_setting(key, code, value):
    with _with(**{key: value}):
        assert check_settings() == []


@pytest.mark.parametrize("value", [-1, "300", True, float("nan")])
def test_bad_async_token_connection_max_age(value):
    with _with(ASYNC_TOKEN_CONNECTION_MAX_AGE=value):
        messages = check_settings()
    assert _ids(messages) == [Codes.BAD_ASYNC_TOKEN_CONNECTION_MAX_AGE]
    assert messages[0].level == django_checks.ERROR


@pytest.mark.parametrize("value", [0, 0.5, 300, None])
def test_good_async_token_connection_max_age(value):
    with _with(ASYNC_TOKEN_CONNECTION_MAX_AGE=value, ASYNC_TOKEN_THREAD=False):
        assert check_settings() == []


REDIS = "django.core.cache.backends.redis.RedisCache"
PYMEMCACHE = "django.core.cache.backends.memcached.PyMemcacheCache"


@pytest.mark.parametrize(
    "cache",
    [
        {"BACKEND": REDIS, "LOCATION": "redis://127.0.0.1:1/0"},
        {"BACKEND": REDIS, "LOCATION": "redis://127.0.0.1:1/0", "OPTIONS": {"db": 1}},
        {"BACKEND": REDIS, "OPTIONS": {"socket_connect_timeout": 1}},
        {"BACKEND": "django_redis.cache.RedisCache", "OPTIONS": {"socket_timeout": 1}},
        {"BACKEND": PYMEMCACHE, "LOCATION": "127.0.0.1:1"},
    ],
    ids=repr,
)
def test_network_cache_without_socket_timeout_warns(cache):
    with override_settings(CACHES={"default": cache}):
        messages = check_settings()
    assert _ids(messages) == [Codes.CACHE_WITHOUT_TIMEOUT]
    assert messages[0].level == django_checks.WARNING
    assert "'OPTIONS'" in messages[0].hint


@pytest.mark.parametrize(
    "cache",
    [
        {"BACKEND": REDIS, "OPTIONS": {"socket_timeout": 1, "socket_connect_timeout": 1}},
        {"BACKEND": "django_redis.cache.RedisCache", "OPTIONS": {"SOCKET_TIMEOUT": 1}},
        {"BACKEND": PYMEMCACHE, "OPTIONS": {"timeout": 0.5}},
        {"BACKEND": "django.core.cache.backends.filebased.FileBasedCache", "LOCATION": "/tmp"},
    ],
    ids=repr,
)
def test_cache_with_socket_timeout_or_without_network_is_fine(cache):
    with override_settings(CACHES={"default": cache}):
        assert check_settings() == []


def test_timeout_check_looks_at_the_cache_alias_only():
    caches = {
        "default": {"BACKEND": REDIS},
        "policies": {"BACKEND": REDIS, "OPTIONS": {"socket_timeout": 1}},
    }
    with override_settings(CACHES=caches), _with(CACHE_ALIAS="policies"):
        assert check_settings() == []


@pytest.mark.django_db
def test_invalid_database_policy_is_reported_by_the_database_check():
    from tests.factories import ResourcePolicyFactory, corrupted_policy

    ResourcePolicyFactory(path="/api/public/", access="anonymous")
    broken = corrupted_policy(path="/api/x*/")
    corrupted_policy(access="everyone", enabled=False)  # disabled: enforces nothing
    assert check_database_policies(databases=None) == []  # `check` without --database
    messages = check_database_policies(databases=["default"])
    assert _ids(messages) == [Codes.INVALID_DATABASE_POLICY]
    assert messages[0].level == django_checks.WARNING
    assert messages[0].obj == broken
    assert f"#{broken.pk}" in messages[0].msg
    assert "'/api/x*/'" in messages[0].msg
    ids = [m.id for m in django_checks.run_checks(databases=["default"])]
    assert ids.count(Codes.INVALID_DATABASE_POLICY) == 1


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("EXEMPT_NAMESPACES", "admin"),
        ("EXEMPT_NAMESPACES", [1]),
        ("MIDDLEWARE_AUTHENTICATORS", "authstatus.enforcement.authenticators.SessionAuthenticator"),
        (
            "MIDDLEWARE_AUTHENTICATORS",
            ["authstatus.enforcement.authenticators.NoSuchAuthenticator"],
        ),
    ],
)
def test_bad_name_lists(key, value):
    with _with(**{key: value}):
        assert _ids(check_settings()) == [Codes.BAD_NAME_LIST]


def test_checks_are_registered_and_run_by_run_checks():
    with _with(DEFAULT_ACCESS="everyone"):
        assert _ids(_authstatus_messages()) == [Codes.BAD_DEFAULT_ACCESS]


# --- errors ---------------------------------------------------------------------------------


@pytest.mark.parametrize("value", [["REALM", "api"], "api", None, 42])
def test_authstatus_not_a_dict(value):
    with override_settings(AUTHSTATUS=value):
        messages = check_settings()
    assert _ids(messages) == [Codes.NOT_A_DICT]
    assert all(m.level == django_checks.ERROR for m in messages)


def test_unknown_key():
    with _with(REALMS="api", DEFAULT_ACESS="anonymous"):
        messages = check_settings()
    assert _ids(messages) == [Codes.UNKNOWN_KEY, Codes.UNKNOWN_KEY]
    assert "DEFAULT_ACESS" in messages[0].msg
    assert "REALMS" in messages[1].msg


@pytest.mark.parametrize("value", ["everyone", "Authenticated", "", "public"])
def test_bad_default_access(value):
    with _with(DEFAULT_ACCESS=value):
        assert _ids(check_settings()) == [Codes.BAD_DEFAULT_ACCESS]


@pytest.mark.parametrize("value", ["anonymous", "authenticated", "nobody"])
def test_good_default_access(value):
    with _with(DEFAULT_ACCESS=value):
        assert check_settings() == []


@pytest.mark.parametrize(
    "spec",
    [
        {"path": "/api/x*"},
        {"path": "api/x/"},
        {"path": "/api/x/?q=1"},
        {"path": "/api/x/", "required_scopes": 'a"b'},
        {"path": "/api/x/", "required_scopes": "a\\b"},
        {"path": "/api/x/", "access": "nobody", "required_scopes": "read"},
        {"path": "/api/x/", "access": "anonymous", "required_groups": ["staff-api"]},
        {"path": "/api/x/", "access": "everyone"},
        {"path": "/api/x/", "required_permissions": "no_dot"},
        {"path": "/api/x/", "requirements": "undeclared"},
        {"path": "/api/x/", "methods": "GET P(ST"},
        {"path": "/api/x/", "priority": "high"},
        {"path": "/api/x/", "acess": "anonymous"},
        {"access": "anonymous"},
        "/api/x/",
        # values of the wrong type: never an AttributeError, never made up by str()
        {"path": "/api/x/", "methods": [1]},
        {"path": "/api/x/", "methods": 5},
        {"path": "/api/x/", "required_groups": [1]},
        {"path": "/api/x/", "required_groups": {"staff": True}},
        {"path": "/api/x/", "required_scopes": [None]},
        {"path": "/api/x/", "required_scopes": 42},
        {"path": "/api/x/", "required_permissions": [["auth.view_user"]]},
        {"path": "/api/x/", "requirements": [None]},
    ],
)
def test_bad_policy(spec):
    with _with_policy(spec):
        messages = check_settings()
    assert _ids(messages) == [Codes.BAD_POLICY]
    assert messages[0].msg.startswith(f"POLICIES[{len(settings.AUTHSTATUS['POLICIES'])}]")


@pytest.mark.parametrize(
    ("spec", "field"),
    [
        ({"methods": [1]}, "methods"),
        ({"required_groups": [1]}, "required_groups"),
        ({"required_scopes": [None]}, "required_scopes"),
        ({"required_permissions": 7}, "required_permissions"),
    ],
)
def test_a_value_of_the_wrong_type_is_a_policy_error_naming_its_field(spec, field):
    from authstatus.policies.propagation import PolicyError, rule_from_spec

    with pytest.raises(PolicyError, match=field) as raised:
        rule_from_spec({"path": "/api/x/", **spec}, source="settings", rank=0)
    assert raised.value.field == field


def test_manage_py_check_reports_a_value_of_the_wrong_type():
    """It crashed `manage.py check` with an AttributeError."""
    from django.core.management import call_command
    from django.core.management.base import SystemCheckError

    with (
        _with_policy({"path": "/api/x/", "methods": [1], "required_groups": [1]}),
        pytest.raises(SystemCheckError, match=r"authstatus\.E004"),
    ):
        call_command("check")


def test_policies_not_a_list():
    with _with(POLICIES="/api/"):
        assert _ids(check_settings()) == [Codes.BAD_POLICY]


def test_disabled_policy_is_still_validated_for_its_path():
    with _with_policy({"enabled": False}):
        assert _ids(check_settings()) == [Codes.BAD_POLICY]


@pytest.mark.parametrize("realm", ["api\r\nSet-Cookie: x=1", "api\n", "api\r", "caf\u00e9"])
def test_bad_realm(realm):
    with _with(REALM=realm):
        assert _ids(check_settings()) == [Codes.BAD_REALM]


def test_realm_with_quotes_is_fine():
    with _with(REALM='my "api"'):
        assert check_settings() == []


@pytest.mark.parametrize("methods", [[], ["cookie"], ["header", "fragment"], "header"])
def test_bad_bearer_methods(methods):
    with _with(BEARER_METHODS=methods):
        assert _ids(check_settings()) == [Codes.BAD_BEARER_METHODS]


@pytest.mark.parametrize("scheme", ["Cookie Auth", "", "Cookie,", 'Co"okie'])
def test_bad_session_scheme(scheme):
    with _with(SESSION_SCHEME=scheme):
        assert _ids(check_settings()) == [Codes.BAD_SESSION_SCHEME]


@pytest.mark.parametrize("name", ["sessi\u00f3n", "session id", "sid;", 'a"b', "", "x\r\ny"])
def test_bad_session_cookie_name(name):
    with override_settings(SESSION_COOKIE_NAME=name):
        messages = check_settings()
    assert _ids(messages) == [Codes.BAD_SESSION_COOKIE_NAME]
    assert messages[0].level == django_checks.ERROR


# Values no WWW-Authenticate challenge can carry: each is refused when Django starts (a server
# such as gunicorn runs no checks), in a process of its own with its own settings module.
UNRENDERABLE = [
    ("AUTHSTATUS = {**AUTHSTATUS, 'REALM': 'caf\\u00e9'}", Codes.BAD_REALM),
    ("AUTHSTATUS = {**AUTHSTATUS, 'REALM': 'api\\r\\nX: 1'}", Codes.BAD_REALM),
    ("AUTHSTATUS = {**AUTHSTATUS, 'SESSION_SCHEME': 'Cookie Auth'}", Codes.BAD_SESSION_SCHEME),
    ("SESSION_COOKIE_NAME = 'sessi\\u00f3n'", Codes.BAD_SESSION_COOKIE_NAME),
]


def _start_django(tmp_path, line: str) -> subprocess.CompletedProcess[str]:
    (tmp_path / "startup_settings.py").write_text(f"from tests.settings import *\n{line}\n")
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "startup_settings",
        "PYTHONPATH": os.pathsep.join([str(tmp_path), str(ROOT)]),
    }
    return subprocess.run(
        [sys.executable, "-c", "import django; django.setup(); print('started')"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.mark.parametrize(("line", "code"), UNRENDERABLE)
def test_settings_no_challenge_can_carry_stop_django_at_startup(tmp_path, line, code):
    started = _start_django(tmp_path, line)
    assert started.returncode != 0
    assert "started" not in started.stdout
    assert "django.core.exceptions.ImproperlyConfigured: authstatus cannot start" in (
        started.stderr
    )
    assert code in started.stderr


def test_settings_that_render_start(tmp_path):
    started = _start_django(tmp_path, "AUTHSTATUS = {**AUTHSTATUS, 'REALM': 'my \"api\"'}")
    assert (started.returncode, started.stdout.strip()) == (0, "started"), started.stderr


@pytest.mark.parametrize("login_url", ["/app/accounts/login/", "/no/such/login/"])
def test_a_login_url_that_names_no_view_warns(login_url):
    with override_settings(LOGIN_URL=login_url):
        messages = check_middleware()
    assert _ids(messages) == [Codes.LOGIN_URL_NOT_A_VIEW]
    assert messages[0].level == django_checks.WARNING


@pytest.mark.parametrize(
    "login_url", ["login", "/accounts/login/", "https://sso.example.com/login/"]
)
def test_a_login_url_that_names_a_view_or_is_external_is_fine(login_url):
    with override_settings(LOGIN_URL=login_url):
        assert check_middleware() == []


OWNER = "demo_project.api.rules.is_owner"


@pytest.mark.parametrize(
    "requirements",
    [
        ["owner"],
        "owner",
        {"owner": OWNER, "other": 42},
        {"owner": OWNER, 1: "tests.x.y"},
    ],
)
def test_bad_requirements(requirements):
    # Only the malformed setting is reported: policies that name no requirement are fine
    # and must not drown E008 in follow-on E004s.
    policies = [p for p in settings.AUTHSTATUS["POLICIES"] if not p.get("requirements")]
    with _with(REQUIREMENTS=requirements, POLICIES=policies):
        assert _ids(check_settings()) == [Codes.BAD_REQUIREMENTS]


def test_policy_naming_an_undeclared_requirement():
    naming_owner = [p for p in settings.AUTHSTATUS["POLICIES"] if p.get("requirements")]
    assert len(naming_owner) == 4  # the vault, an order (read, change), shipping
    with _with(REQUIREMENTS={}):
        messages = check_settings()
    assert _ids(messages) == [Codes.BAD_POLICY] * len(naming_owner)
    assert all("'owner'" in m.msg for m in messages)


def test_declared_requirement_may_be_named_by_a_policy():
    with _with(
        REQUIREMENTS={"owner": OWNER, "is_staff": "django.contrib.auth.models.User.is_staff"},
        POLICIES=[{"path": "/api/x/", "requirements": "is_staff owner"}],
    ):
        assert check_settings() == []


# --- warnings -------------------------------------------------------------------------------


def test_middleware_missing():
    middleware = [m for m in settings.MIDDLEWARE if m != MIDDLEWARE_PATH]
    with override_settings(MIDDLEWARE=middleware):
        messages = check_middleware()
    assert _ids(messages) == [Codes.MIDDLEWARE_MISSING]
    assert messages[0].level == django_checks.WARNING


def test_middleware_before_authentication_middleware():
    middleware = [m for m in settings.MIDDLEWARE if m != MIDDLEWARE_PATH]
    middleware.insert(middleware.index(AUTH_MIDDLEWARE), MIDDLEWARE_PATH)
    with override_settings(MIDDLEWARE=middleware):
        assert _ids(check_middleware()) == [Codes.MIDDLEWARE_ORDER]


def test_middleware_in_place():
    assert check_middleware() == []


def _drf(**changes) -> override_settings:
    return override_settings(REST_FRAMEWORK={**settings.REST_FRAMEWORK, **changes})


def test_drf_exception_handler_missing():
    config = {k: v for k, v in settings.REST_FRAMEWORK.items() if k != "EXCEPTION_HANDLER"}
    with override_settings(REST_FRAMEWORK=config):
        assert _ids(check_drf()) == [Codes.HANDLER_MISSING]
    with _drf(EXCEPTION_HANDLER="rest_framework.views.exception_handler"):
        assert _ids(check_drf()) == [Codes.HANDLER_MISSING]


def test_drf_permission_missing():
    with _drf(DEFAULT_PERMISSION_CLASSES=["rest_framework.permissions.IsAuthenticated"]):
        assert _ids(check_drf()) == [Codes.PERMISSION_MISSING]


def test_drf_foreign_authentication_class():
    classes = [
        *settings.REST_FRAMEWORK["DEFAULT_AUTHENTICATION_CLASSES"],
        "rest_framework.authentication.TokenAuthentication",
    ]
    with _drf(DEFAULT_AUTHENTICATION_CLASSES=classes):
        messages = check_drf()
    # DRF's tokens carry no scopes and are not first-party: W041 names the class too
    assert _ids(messages) == [Codes.SCOPELESS_AUTHENTICATION, Codes.FOREIGN_AUTHENTICATION]
    assert all("rest_framework.authentication.TokenAuthentication" in m.msg for m in messages)


def _scopeless_warnings(classes: list[str], **authstatus) -> list:
    """authstatus.W041 with these DRF authentication classes."""
    rest = {
        "DEFAULT_AUTHENTICATION_CLASSES": classes,
        "DEFAULT_PERMISSION_CLASSES": ["authstatus.contrib.rest_framework.PolicyPermission"],
        "EXCEPTION_HANDLER": "authstatus.contrib.rest_framework.exception_handler",
    }
    with override_settings(REST_FRAMEWORK=rest), _with(**authstatus):
        return [m for m in django_checks.run_checks() if m.id == Codes.SCOPELESS_AUTHENTICATION]


JWT = "rest_framework_simplejwt.authentication.JWTAuthentication"
FIRST_PARTY = [
    "authstatus.enforcement.authenticators.SessionAuthenticator",
    "authstatus.enforcement.authenticators.BasicAuthenticator",
    "rest_framework.authentication.SessionAuthentication",
    "rest_framework.authentication.BasicAuthentication",
]


def test_a_check_names_the_class_that_cannot_carry_scopes_and_the_setting():
    (warning,) = _scopeless_warnings(
        [JWT, "authstatus.contrib.rest_framework.BearerAuthentication"]
    )
    assert JWT in warning.msg
    assert "FIRST_PARTY_AUTHENTICATION" in warning.hint
    first_party = [*settings.AUTHSTATUS.get("FIRST_PARTY_AUTHENTICATION", FIRST_PARTY), JWT]
    assert _scopeless_warnings([JWT], FIRST_PARTY_AUTHENTICATION=first_party) == []


def test_a_third_party_class_authstatus_does_not_know_is_named_too():
    (warning,) = _scopeless_warnings(["rest_framework.authentication.TokenAuthentication"])
    assert "rest_framework.authentication.TokenAuthentication" in warning.msg


@pytest.mark.parametrize(
    "value", ["not-a-list", ["no.such.Class"], [42], ["authstatus.conf.SETTING_NAME"]]
)
def test_first_party_authentication_must_list_importable_classes(value):
    with _with(FIRST_PARTY_AUTHENTICATION=value):
        assert _ids(check_settings()) == [Codes.BAD_FIRST_PARTY_AUTHENTICATION]


def test_a_middleware_authenticator_that_cannot_carry_scopes_is_named():
    with _with(
        MIDDLEWARE_AUTHENTICATORS=["authstatus.enforcement.authenticators.BasicAuthenticator"]
    ):
        assert check_settings() == []
    with _with(
        MIDDLEWARE_AUTHENTICATORS=["authstatus.enforcement.authenticators.BasicAuthenticator"],
        FIRST_PARTY_AUTHENTICATION=["authstatus.enforcement.authenticators.SessionAuthenticator"],
    ):
        (warning,) = check_settings()
    assert warning.id == Codes.SCOPELESS_AUTHENTICATION
    assert "authstatus.enforcement.authenticators.BasicAuthenticator" in warning.msg


def test_drf_without_rest_framework_settings():
    with override_settings(REST_FRAMEWORK={}):
        assert _ids(check_drf()) == [
            Codes.HANDLER_MISSING,
            Codes.PERMISSION_MISSING,
            Codes.SCHEMA_CLASS_MISSING,  # drf-spectacular is installed
        ]


def test_drf_demo_configuration_is_clean():
    assert check_drf() == []


@pytest.mark.parametrize("methods", [["header", "query"], ["query"], ["body", "query"]])
def test_query_tokens_warn(methods):
    with _with(BEARER_METHODS=methods):
        messages = check_settings()
    assert _ids(messages) == [Codes.QUERY_TOKENS]
    assert messages[0].level == django_checks.WARNING


@pytest.mark.parametrize("methods", [["header"], ["body"], ["header", "body"]])
def test_good_bearer_methods(methods):
    with _with(BEARER_METHODS=methods):
        assert check_settings() == []


# --- discovery and CORS --------------------------------------------------------------------


def test_demo_serves_its_authorization_server_metadata_where_clients_look():
    assert check_discovery() == []


@override_settings(ROOT_URLCONF="tests.urls_no_metadata")
def test_dot_under_a_prefix_without_authstatus_urls_warns():
    """DOT's own RFC 9728 document names the issuer http://host/o, whose RFC 8414 metadata
    RFC 8414 §3.1 clients fetch from /.well-known/oauth-authorization-server/o."""
    messages = check_discovery()
    assert _ids(messages) == [Codes.SERVER_METADATA_UNREACHABLE]
    assert "/.well-known/oauth-authorization-server/o " in messages[0].msg
    assert Codes.SERVER_METADATA_UNREACHABLE in _ids(_authstatus_messages())


@pytest.mark.parametrize(
    "urlconf", ["tests.urls_dot_at_root", "tests.urls_bare", "tests.urls_no_oauth"]
)
def test_no_discovery_warning_where_nothing_is_missing(urlconf):
    with override_settings(ROOT_URLCONF=urlconf):
        assert check_discovery() == []


@pytest.mark.parametrize(
    "setting",
    [
        {"OAUTH2_PROTECTED_RESOURCE_AUTHORIZATION_SERVERS": ["https://as.example"]},
        {"OIDC_ISS_ENDPOINT": "https://as.example"},
    ],
)
def test_another_authorization_server_is_not_checked(setting):
    with override_settings(
        ROOT_URLCONF="tests.urls_no_metadata",
        OAUTH2_PROVIDER={**settings.OAUTH2_PROVIDER, **setting},
    ):
        assert check_discovery() == []


def test_demo_registration_views_are_authstatus_views():
    assert check_registration() == []


@override_settings(ROOT_URLCONF="tests.urls_no_metadata")
def test_loopback_permission_with_dot_own_registration_views_warns():
    messages = check_registration()
    assert _ids(messages) == [Codes.REGISTRATION_VIEWS_UNGUARDED]
    assert "oauth2_provider:dcr-register, oauth2_provider:dcr-register-management" in (
        messages[0].msg
    )


@pytest.mark.parametrize(
    "changes",
    [
        {"DCR_ENABLED": False},
        {
            "DCR_REGISTRATION_PERMISSION_CLASSES": (
                "oauth2_provider.dcr.IsAuthenticatedDCRPermission",
            )
        },
    ],
)
def test_no_registration_warning_without_the_loopback_permission_in_force(changes):
    with override_settings(
        ROOT_URLCONF="tests.urls_no_metadata",
        OAUTH2_PROVIDER={**settings.OAUTH2_PROVIDER, **changes},
    ):
        assert check_registration() == []


def test_demo_exposes_www_authenticate():
    assert check_cors() == []


@pytest.mark.parametrize("exposed", [[], ["X-Request-Id"], "Retry-After"])
def test_cors_without_www_authenticate_exposed_warns(exposed):
    with override_settings(CORS_EXPOSE_HEADERS=exposed):
        messages = check_cors()
    assert _ids(messages) == [Codes.WWW_AUTHENTICATE_NOT_EXPOSED]
    assert messages[0].level == django_checks.WARNING


@pytest.mark.parametrize("exposed", [["www-authenticate"], ("Retry-After", "WWW-Authenticate")])
def test_exposed_in_any_case(exposed):
    with override_settings(CORS_EXPOSE_HEADERS=exposed):
        assert check_cors() == []


def test_no_cors_warning_without_django_cors_headers():
    apps_without = [a for a in settings.INSTALLED_APPS if a != "corsheaders"]
    middleware_without = [m for m in settings.MIDDLEWARE if not m.startswith("corsheaders.")]
    with override_settings(
        INSTALLED_APPS=apps_without, MIDDLEWARE=middleware_without, CORS_EXPOSE_HEADERS=[]
    ):
        assert check_cors() == []


# --- the OAuth2 flow challenge ---------------------------------------------------------------


def test_oauth2_challenge_without_dot_urls_warns():
    with _with(OAUTH2_CHALLENGE=True), override_settings(ROOT_URLCONF="tests.urls_no_oauth"):
        messages = check_oauth2_challenge()
        assert _ids(messages) == [Codes.OAUTH2_ENDPOINTS_MISSING]
        assert "oauth2_provider:authorize, oauth2_provider:token" in messages[0].msg
        assert Codes.OAUTH2_ENDPOINTS_MISSING in _ids(_authstatus_messages())


def test_oauth2_challenge_with_dot_urls_is_fine():
    with _with(OAUTH2_CHALLENGE=True):
        assert check_oauth2_challenge() == []


def test_oauth2_challenge_off_needs_no_dot_urls():
    with override_settings(ROOT_URLCONF="tests.urls_no_oauth"):
        assert check_oauth2_challenge() == []


# --- bearer token cache ---------------------------------------------------------------


def test_bearer_cache_off_by_default_is_clean():
    assert check_bearer_cache() == []


@pytest.mark.parametrize("seconds", [-1, "30", True, None])
def test_bad_bearer_cache_seconds(seconds):
    with _with(BEARER_CACHE_SECONDS=seconds):
        assert _ids(check_bearer_cache()) == [Codes.BAD_BEARER_CACHE_SECONDS]


@pytest.mark.parametrize("seconds", [0, 1, 30, 2.5, 300])
def test_good_bearer_cache_seconds(seconds):
    with _with(BEARER_CACHE_SECONDS=seconds):
        assert check_bearer_cache() == []


def test_unknown_bearer_cache_alias():
    with _with(BEARER_CACHE_SECONDS=30, BEARER_CACHE_ALIAS="tokens"):
        assert _ids(check_bearer_cache()) == [Codes.BAD_BEARER_CACHE_ALIAS]


def test_bearer_cache_alias_is_not_checked_while_the_cache_is_off():
    with _with(BEARER_CACHE_ALIAS="tokens"):
        assert check_bearer_cache() == []


def test_long_bearer_cache_warns_about_revocation_latency():
    with _with(BEARER_CACHE_SECONDS=301):
        messages = check_bearer_cache()
    assert _ids(messages) == [Codes.LONG_BEARER_CACHE]
    assert messages[0].level == django_checks.WARNING
    assert "301 seconds" in messages[0].msg


def test_bearer_cache_check_is_registered():
    with _with(BEARER_CACHE_SECONDS=-5):
        assert Codes.BAD_BEARER_CACHE_SECONDS in _ids(_authstatus_messages())


# --- concealment: nothing outside authstatus may tell concealed from missing -----------------

STOCK_COMMON = "django.middleware.common.CommonMiddleware"
AUTHSTATUS_COMMON = "authstatus.middleware.CommonMiddleware"
CSRF_MIDDLEWARE = "django.middleware.csrf.CsrfViewMiddleware"
NOT_CONCEALED = [p for p in settings.AUTHSTATUS["POLICIES"] if not p.get("conceal")]


def _middleware(*, common: str | None = AUTHSTATUS_COMMON, csrf: bool = True) -> list[str]:
    out = []
    for entry in settings.MIDDLEWARE:
        if entry == AUTHSTATUS_COMMON:
            if common is not None:
                out.append(common)
        elif entry != CSRF_MIDDLEWARE or csrf:
            out.append(entry)
    return out


def test_the_test_and_demo_urlconfs_pass_the_concealment_checks():
    assert check_concealment() == []
    with override_settings(ROOT_URLCONF="demo_project.urls"):
        assert check_concealment() == []


def test_stock_handler404_with_concealed_settings_policies_warns():
    with override_settings(ROOT_URLCONF="tests.urls_stock_404"):
        messages = check_concealment()
        assert _ids(messages) == [Codes.HANDLER404_MISSING]
        assert "authstatus.views.page_not_found" in messages[0].hint
        assert messages[0].level == django_checks.WARNING
        assert Codes.HANDLER404_MISSING in _ids(_authstatus_messages())


def test_stock_handler404_with_views_declaring_concealment_warns():
    with (
        _with(POLICIES=NOT_CONCEALED),
        override_settings(ROOT_URLCONF="tests.urls_stock_404_views"),
    ):
        assert _ids(check_concealment()) == [Codes.HANDLER404_MISSING]


def test_concealed_challenge_paths_count_as_concealment():
    with (
        _with(POLICIES=NOT_CONCEALED, CONCEALED_CHALLENGE_PATHS=["/api/**"]),
        override_settings(ROOT_URLCONF="tests.urls_stock_404"),
    ):
        assert _ids(check_concealment()) == [Codes.HANDLER404_MISSING]


def test_nothing_concealed_needs_none_of_it():
    with (
        _with(POLICIES=NOT_CONCEALED),
        override_settings(
            ROOT_URLCONF="tests.urls_stock_404",
            MIDDLEWARE=_middleware(common=STOCK_COMMON),
            CSRF_FAILURE_VIEW="django.views.csrf.csrf_failure",
        ),
    ):
        assert check_concealment() == []


def test_a_disabled_concealed_policy_is_no_concealment():
    policies = [*NOT_CONCEALED, {"path": "/api/vault/**", "conceal": True, "enabled": False}]
    with _with(POLICIES=policies), override_settings(ROOT_URLCONF="tests.urls_stock_404"):
        assert check_concealment() == []


def test_stock_common_middleware_with_append_slash_warns():
    with override_settings(MIDDLEWARE=_middleware(common=STOCK_COMMON)):
        messages = check_concealment()
        assert _ids(messages) == [Codes.SLASH_REDIRECT_REVEALS]
        assert AUTHSTATUS_COMMON in messages[0].hint
    with override_settings(MIDDLEWARE=_middleware(common=STOCK_COMMON), APPEND_SLASH=False):
        assert check_concealment() == []
    with override_settings(
        MIDDLEWARE=_middleware(common=STOCK_COMMON), APPEND_SLASH=False, PREPEND_WWW=True
    ):
        assert _ids(check_concealment()) == [Codes.SLASH_REDIRECT_REVEALS]
    with override_settings(MIDDLEWARE=_middleware(common=None)):
        assert check_concealment() == []


def test_stock_csrf_failure_view_warns():
    with override_settings(CSRF_FAILURE_VIEW="django.views.csrf.csrf_failure"):
        messages = check_concealment()
        assert _ids(messages) == [Codes.CSRF_FAILURE_VIEW_MISSING]
        assert "authstatus.views.csrf_failure" in messages[0].hint
    with override_settings(
        CSRF_FAILURE_VIEW="django.views.csrf.csrf_failure", MIDDLEWARE=_middleware(csrf=False)
    ):
        assert check_concealment() == []


@pytest.mark.parametrize(
    "value",
    ["/api/**", ["api/**"], ["/api/x*/"], ["/api/?q"], [1], [" /api/"]],
)
def test_bad_concealed_challenge_paths(value):
    with _with(CONCEALED_CHALLENGE_PATHS=value):
        messages = check_settings()
    assert _ids(messages) == [Codes.BAD_CONCEALED_CHALLENGE_PATHS]
    assert messages[0].level == django_checks.ERROR


@pytest.mark.parametrize("value", ["/api/**", ["api/**"], ["/api/x*/"], [None]])
def test_bad_uniform_concealment_paths(value):
    with _with(UNIFORM_CONCEALMENT_PATHS=value):
        messages = check_settings()
    assert _ids(messages) == [Codes.BAD_UNIFORM_CONCEALMENT_PATHS]
    assert messages[0].level == django_checks.ERROR


def test_good_uniform_concealment_paths():
    with _with(UNIFORM_CONCEALMENT_PATHS=["/api/**", "/t/*/"]):
        assert check_settings() == []


def test_uniform_concealment_needs_authstatus_handler404():
    with (
        _with(POLICIES=[], UNIFORM_CONCEALMENT_PATHS=["/api/**"]),
        override_settings(ROOT_URLCONF="tests.urls_stock_404"),
    ):
        assert Codes.HANDLER404_MISSING in _ids(check_concealment())


def test_good_concealed_challenge_paths():
    with _with(CONCEALED_CHALLENGE_PATHS=["/api/vault/**", "/t/*/"]):
        assert check_settings() == []


def test_every_code_is_exercised():
    """Guard: a new id in Codes needs a test in this module."""
    tested = {
        Codes.NOT_A_DICT,
        Codes.UNKNOWN_KEY,
        Codes.BAD_DEFAULT_ACCESS,
        Codes.BAD_POLICY,
        Codes.BAD_REALM,
        Codes.BAD_BEARER_METHODS,
        Codes.BAD_SESSION_SCHEME,
        Codes.BAD_REQUIREMENTS,
        Codes.MIDDLEWARE_MISSING,
        Codes.MIDDLEWARE_ORDER,
        Codes.HANDLER_MISSING,
        Codes.PERMISSION_MISSING,
        Codes.FOREIGN_AUTHENTICATION,
        Codes.SCOPELESS_AUTHENTICATION,
        Codes.BAD_FIRST_PARTY_AUTHENTICATION,
        Codes.QUERY_TOKENS,
        Codes.BAD_CACHE,
        Codes.BAD_POLL_INTERVAL,
        Codes.BAD_RELOAD_IN_BACKGROUND,
        Codes.BAD_ASYNC_TOKEN_THREAD,
        Codes.BAD_ASYNC_TOKEN_CONNECTION_MAX_AGE,
        Codes.BAD_NAME_LIST,
        Codes.PROCESS_LOCAL_CACHE,
        Codes.OAUTH2_ENDPOINTS_MISSING,
        Codes.BAD_BEARER_CACHE_SECONDS,
        Codes.BAD_BEARER_CACHE_ALIAS,
        Codes.LONG_BEARER_CACHE,
        Codes.HANDLER404_MISSING,
        # tests/test_route_checks.py
        Codes.ROUTE_INHERITS,
        Codes.POLICY_MATCHES_NO_ROUTE,
        Codes.DUPLICATE_POLICIES,
        Codes.LIST_WITHOUT_FILTER,
        Codes.CONCEALED_WITH_DEBUG,
        Codes.UNKNOWN_GROUP_OR_PERMISSION,
        Codes.BAD_REQUIREMENT_IMPORT,
        Codes.SLASH_REDIRECT_REVEALS,
        Codes.CSRF_FAILURE_VIEW_MISSING,
        Codes.BAD_CONCEALED_CHALLENGE_PATHS,
        # tests/test_token_backend_checks.py
        Codes.BAD_TOKEN_BACKEND,
        Codes.JWKS_MISSING,
        Codes.BAD_ALGORITHMS,
        Codes.AUDIENCE_NOT_RESOURCE,
        Codes.BAD_INTROSPECTION,
        Codes.JWKS_UNUSABLE,
        Codes.SERVER_METADATA_UNREACHABLE,
        Codes.WWW_AUTHENTICATE_NOT_EXPOSED,
        Codes.REGISTRATION_VIEWS_UNGUARDED,
        Codes.BAD_PROBLEM_DETAILS_FOR_ALL_ERRORS,
        Codes.BAD_BROWSER_HIDDEN_SCHEMES,
        Codes.SCHEMA_CLASS_MISSING,
        Codes.BAD_SESSION_COOKIE_NAME,
        Codes.LOGIN_URL_NOT_A_VIEW,
        Codes.BAD_UNIFORM_CONCEALMENT_PATHS,
        Codes.BAD_RESYNC_INTERVAL,
        Codes.INVALID_DATABASE_POLICY,
        Codes.CACHE_WITHOUT_TIMEOUT,
    }
    assert {v for k, v in vars(Codes).items() if k.isupper()} == tested


# --- DRF ecosystem (issue 12) ------------------------------------------------------------


@pytest.mark.parametrize("value", ["yes", 1, None])
def test_bad_problem_details_for_all_errors(value):
    with _with(PROBLEM_DETAILS_FOR_ALL_ERRORS=value):
        assert Codes.BAD_PROBLEM_DETAILS_FOR_ALL_ERRORS in _ids(check_settings())


@pytest.mark.parametrize("value", ["Basic", ["Basic realm"], [""], [1], None])
def test_bad_browser_hidden_schemes(value):
    with _with(BROWSER_HIDDEN_SCHEMES=value):
        assert Codes.BAD_BROWSER_HIDDEN_SCHEMES in _ids(check_settings())


@pytest.mark.parametrize("value", [[], ["Basic"], ["basic", "Digest"]])
def test_good_browser_hidden_schemes(value):
    with _with(BROWSER_HIDDEN_SCHEMES=value, PROBLEM_DETAILS_FOR_ALL_ERRORS=False):
        assert _ids(check_settings()) == []


@pytest.mark.parametrize(
    "schema_class", [None, "drf_spectacular.openapi.AutoSchema", "no.such.Schema"]
)
def test_spectacular_without_authstatus_schema_class_warns(schema_class):
    rest = {k: v for k, v in settings.REST_FRAMEWORK.items() if k != "DEFAULT_SCHEMA_CLASS"}
    if schema_class:
        rest["DEFAULT_SCHEMA_CLASS"] = schema_class
    with override_settings(REST_FRAMEWORK=rest):
        assert _ids(check_drf()) == [Codes.SCHEMA_CLASS_MISSING]


def test_spectacular_with_a_subclass_of_authstatus_schema_is_fine():
    rest = {**settings.REST_FRAMEWORK, "DEFAULT_SCHEMA_CLASS": "tests.test_checks.MySchema"}
    with override_settings(REST_FRAMEWORK=rest):
        assert _ids(check_drf()) == []


def test_no_schema_warning_without_drf_spectacular():
    apps = [a for a in settings.INSTALLED_APPS if a != "drf_spectacular"]
    rest = {k: v for k, v in settings.REST_FRAMEWORK.items() if k != "DEFAULT_SCHEMA_CLASS"}
    with override_settings(INSTALLED_APPS=apps, REST_FRAMEWORK=rest):
        assert _ids(check_drf()) == []


from authstatus.contrib.drf_spectacular import AutoSchema  # noqa: E402


class MySchema(AutoSchema):
    """A project's own schema class built on authstatus's."""
