"""Settings of the demo project: authstatus used the way a backend team would use it.

SQLite by default. ``AUTHSTATUS_TEST_DB=postgres`` (with the standard ``PG*`` variables)
switches to PostgreSQL; the CI runs the whole suite that way.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from corsheaders.defaults import default_headers

from demo_project.api.policies import BASELINE_POLICIES

BASE_DIR = Path(__file__).resolve().parent

SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "demo-only-not-secret")
DEBUG = os.environ.get("DJANGO_DEBUG", "0") == "1"
ALLOWED_HOSTS = ["127.0.0.1", "localhost", "testserver"]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "corsheaders",
    "rest_framework",
    "drf_spectacular",
    "oauth2_provider",
    "authstatus",
    "demo_project.api",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # DEBUG is off, so runserver serves no static files; WhiteNoise serves the admin's and
    # the browsable API's from STATIC_ROOT (`make demo` runs collectstatic), before any
    # access control: static files are public.
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # django-cors-headers before the rest: it answers CORS preflights itself (they carry no
    # credentials, so no policy applies) and adds the CORS headers to every response,
    # refusals included.
    "corsheaders.middleware.CorsMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    # The language of problem titles and details, HTML pages and the admin, from
    # Accept-Language (after SessionMiddleware, before CommonMiddleware, as Django's docs
    # place it). WWW-Authenticate stays ASCII English whatever the language (RFC 6750 §3).
    "django.middleware.locale.LocaleMiddleware",
    # Django's CommonMiddleware, except that APPEND_SLASH never redirects to a concealed
    # resource (which would tell it from a missing one).
    "authstatus.middleware.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "authstatus.middleware.AuthStatusMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "demo_project.urls"
# A POST refused by CSRF on a concealed view must look like a POST to a missing URL.
CSRF_FAILURE_VIEW = "authstatus.views.csrf_failure"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

WSGI_APPLICATION = "demo_project.wsgi.application"

if os.environ.get("AUTHSTATUS_TEST_DB") == "postgres":
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.postgresql",
            "NAME": os.environ.get("PGDATABASE", "authstatus"),
            "USER": os.environ.get("PGUSER", "postgres"),
            "PASSWORD": os.environ.get("PGPASSWORD", ""),
            "HOST": os.environ.get("PGHOST", "127.0.0.1"),
            "PORT": os.environ.get("PGPORT", "5432"),
        }
    }
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": os.environ.get("DEMO_SQLITE_PATH", str(BASE_DIR / "db.sqlite3")),
        }
    }

AUTH_PASSWORD_VALIDATORS: list[dict[str, str]] = []  # demo users have demo passwords

LANGUAGE_CODE = "en-us"
# The languages authstatus has catalogs for (authstatus/locale/).
LANGUAGES = [("en", "English"), ("ja", "日本語")]
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True
STATIC_URL = "static/"
STATIC_ROOT = os.environ.get("DEMO_STATIC_ROOT", str(BASE_DIR / "staticfiles"))
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
LOGIN_URL = "/accounts/login/"
LOGIN_REDIRECT_URL = "/members/"

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "authstatus.contrib.rest_framework.BearerAuthentication",
        "authstatus.contrib.rest_framework.SessionAuthentication",
        "authstatus.contrib.rest_framework.BasicAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["authstatus.contrib.rest_framework.PolicyPermission"],
    # Lists show only what the policies' requirements allow (the "owner" filter below).
    "DEFAULT_FILTER_BACKENDS": ["authstatus.contrib.rest_framework.PolicyFilterBackend"],
    "EXCEPTION_HANDLER": "authstatus.contrib.rest_framework.exception_handler",
    # OpenAPI at /api/schema/ with the policies' security and 401/403/404 responses.
    "DEFAULT_SCHEMA_CLASS": "authstatus.contrib.drf_spectacular.AutoSchema",
}

SPECTACULAR_SETTINGS = {
    "TITLE": "authstatus demo API",
    "DESCRIPTION": "Security requirements and 400/401/403/404 responses come from the access "
    "policies in force when the schema was generated.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # The schema view is decided by the policies too (a baseline policy opens it to anyone),
    # not by drf-spectacular's default AllowAny.
    "SERVE_PERMISSIONS": ["authstatus.contrib.rest_framework.PolicyPermission"],
}

OAUTH2_PROVIDER = {
    "SCOPES": {"read": "Read your notes", "write": "Write your notes"},
    "DEFAULT_SCOPES": ["read"],
    "ACCESS_TOKEN_EXPIRE_SECONDS": 3600,
    # RFC 9728 `resource_name` of /.well-known/oauth-protected-resource (authstatus.urls).
    "OAUTH2_PROTECTED_RESOURCE_NAME": "authstatus demo notes API",
    # RFC 7591 registration at /o/register/, advertised as `registration_endpoint`: anyone
    # may register an authorization-code client whose redirect URIs are loopback or https
    # (an MCP client, a native app); anything else needs a logged-in user.
    "DCR_ENABLED": True,
    "DCR_REGISTRATION_PERMISSION_CLASSES": (
        "authstatus.contrib.oauth2_provider.registration.LoopbackRegistrationPermission",
    ),
    # PKCE for every authorization code (OAuth 2.1; RFC 9700 §2.1.1), public clients
    # included, and only with S256.
    "PKCE_REQUIRED": True,
    "COMPLIANT_BCP_RFC9700_PKCE_METHOD": True,
}

# CORS (django-cors-headers) for browser-based clients: any origin may call the API and read
# the discovery documents, the token and the registration endpoint, sending a bearer token
# and MCP's protocol version header, and may read WWW-Authenticate from a refusal. No cookies
# cross origins (CORS_ALLOW_CREDENTIALS stays False), so `Access-Control-Allow-Origin: *`.
CORS_ALLOW_ALL_ORIGINS = True
CORS_URLS_REGEX = (
    r"^/(api/|\.well-known/|o/(token|register|revoke_token|introspect)/|o/\.well-known/)"
)
CORS_ALLOW_HEADERS = (*default_headers, "mcp-protocol-version")
CORS_EXPOSE_HEADERS = ["WWW-Authenticate"]

# Baseline policies are declared in code; the API's policies are database rows that
# seed_demo creates (demo_project/api/policies.py) and admins edit in the admin.
AUTHSTATUS = {
    "REALM": "api",
    "DEFAULT_ACCESS": "authenticated",
    "POLICIES": BASELINE_POLICIES,
    "REQUIREMENTS": {
        "owner": {
            "check": "demo_project.api.rules.is_owner",
            "filter": "demo_project.api.rules.owned_by",
        }
    },
    # One error format: DRF's 400, 405, 406, 415 and 429 as problem details too.
    "PROBLEM_DETAILS_FOR_ALL_ERRORS": True,
}

# A cache every process of the demo shares, so a policy saved in the admin reaches them all.
CACHES: dict[str, dict[str, Any]] = {
    "default": {
        "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
        "LOCATION": os.environ.get("DEMO_CACHE_DIR", str(BASE_DIR / ".cache")),
    }
}
if os.environ.get("AUTHSTATUS_TEST_CACHE") == "redis":
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"),
            # A stalled Redis must not block a process forever (check authstatus.W021).
            "OPTIONS": {"socket_timeout": 1, "socket_connect_timeout": 1},
        }
    }
