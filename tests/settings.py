"""Test settings: the demo project plus test-only views (tests/urls.py)."""

import os
import tempfile

from demo_project.api.policies import BASELINE_POLICIES, DEMO_POLICIES
from demo_project.settings import *  # noqa: F403
from demo_project.settings import AUTHSTATUS, CORS_URLS_REGEX, INSTALLED_APPS

ROOT_URLCONF = "tests.urls"
# rest_framework.authtoken: tests/testapp's WithForeignToken view uses DRF's TokenAuthentication,
# whose Token model only exists (is concrete) when the app is installed.
INSTALLED_APPS = [*INSTALLED_APPS, "rest_framework.authtoken", "tests.testapp"]
# The test views under /t/ stand for more of the API: CORS-enabled like /api/, so that their
# responses (Vary: origin) compare byte for byte with the demo's.
CORS_URLS_REGEX = r"^/t/|" + CORS_URLS_REGEX
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # fast, tests only
DEBUG = False
# WhiteNoise (demo settings) serves straight from the apps' static dirs: the tests need no
# collectstatic run (and an empty STATIC_ROOT, so it warns of no missing directory).
WHITENOISE_USE_FINDERS = True
STATIC_ROOT = tempfile.mkdtemp(prefix="authstatus-test-static-")

# The demo's API policies from settings, so tests need no seeded rows (see
# tests/test_demo_database_policies.py for the seeded-rows variant).
AUTHSTATUS = {**AUTHSTATUS, "POLICIES": [*BASELINE_POLICIES, *DEMO_POLICIES]}
# Shared between processes like the demo's (a process-local cache draws check W007).
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
        "LOCATION": tempfile.mkdtemp(prefix="authstatus-test-cache-"),
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
