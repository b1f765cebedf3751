"""Django settings of the benchmark project (``DJANGO_SETTINGS_MODULE=benchmarks.settings``).

Everything the benchmark needs and nothing else: DRF, django-oauth-toolkit and authstatus, a
SQLite file database and a file-based cache (shared by gunicorn's workers and the process that
edits a policy) in ``AUTHSTATUS_BENCH_DIR``, which :mod:`benchmarks.__main__` creates in a
temporary directory. The routes are in :mod:`benchmarks.urls`; which middleware runs is chosen
per route prefix by :mod:`benchmarks.wsgi` (``/stock/`` without authstatus).
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

BENCH_DIR = Path(
    os.environ.get("AUTHSTATUS_BENCH_DIR", Path(tempfile.gettempdir()) / "authstatus-bench")
)

SECRET_KEY = "benchmark-only-not-secret"
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost", "testserver"]
USE_TZ = True
TIME_ZONE = "UTC"
USE_I18N = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
ROOT_URLCONF = "benchmarks.urls"

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "rest_framework",
    "oauth2_provider",
    "authstatus",
]

# The authstatus stack. benchmarks.wsgi builds a second handler without AuthStatusMiddleware
# for the stock routes (/stock/...), so stock requests pay nothing for authstatus.
MIDDLEWARE = ["authstatus.middleware.AuthStatusMiddleware"]
STOCK_MIDDLEWARE: list[str] = []

DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": str(BENCH_DIR / "db.sqlite3"),
        # Persistent connections, as a production deployment would configure: the benchmark
        # measures the token query, not opening a database connection per request.
        "CONN_MAX_AGE": None,
    }
}

CACHES = {
    # Carries policy changes between gunicorn's workers and the editing process.
    "default": {
        "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
        "LOCATION": str(BENCH_DIR / "cache"),
    },
    # Process-local cache for the optional cache of valid bearer tokens.
    "tokens": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "tokens"},
}

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "authstatus.contrib.rest_framework.BearerAuthentication",
        "authstatus.contrib.rest_framework.SessionAuthentication",
        "authstatus.contrib.rest_framework.BasicAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["authstatus.contrib.rest_framework.PolicyPermission"],
    "EXCEPTION_HANDLER": "authstatus.contrib.rest_framework.exception_handler",
    # JSON only: content negotiation then costs the same on every route.
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
}

OAUTH2_PROVIDER = {
    "SCOPES": {"read": "Read", "write": "Write", "admin": "Administer"},
    "DEFAULT_SCOPES": ["read"],
}

# The policies of the benchmark's authstatus routes (benchmarks.urls).
BENCH_POLICIES = [
    {"path": "/plain/", "access": "anonymous"},
    {"path": "/drf/policy/", "access": "anonymous"},
    {"path": "/drf/policy-defaults/", "access": "anonymous"},
    {"path": "/api/bearer/", "access": "authenticated"},
    {"path": "/api/bearer-defaults/", "access": "authenticated"},
    {"path": "/api/scoped/", "access": "authenticated", "required_scopes": "admin"},
    {"path": "/api/closed/", "access": "nobody"},
    {"path": "/api/concealed/", "access": "authenticated", "conceal": True},
    {"path": "/async/plain/", "access": "anonymous"},
    {"path": "/async/bearer/", "access": "authenticated"},
]

AUTHSTATUS = {
    "DEFAULT_ACCESS": "authenticated",
    "POLICIES": BENCH_POLICIES,
    "CACHE_ALIAS": "default",
    "POLL_INTERVAL": float(os.environ.get("AUTHSTATUS_BENCH_POLL_INTERVAL", "1.0")),
    "BEARER_CACHE_ALIAS": "tokens",
    "BEARER_CACHE_SECONDS": 0,
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "loggers": {"django.request": {"handlers": ["console"], "level": "ERROR"}},
}
