"""ASGI application of the tests' uvicorn server (tests/test_asgi.py)."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings_asgi")
application = get_asgi_application()
