"""Test settings: the demo project plus test-only views (tests/urls.py)."""

from demo_project.settings import *  # noqa: F403
from demo_project.settings import INSTALLED_APPS

ROOT_URLCONF = "tests.urls"
INSTALLED_APPS = [*INSTALLED_APPS, "tests.testapp"]
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # fast, tests only
DEBUG = False
