"""Settings of the uvicorn process of tests/test_asgi.py: the test settings, with the bearer
authenticator in front of the session for plain views (the async bearer path), and
``ASYNC_TOKEN_THREAD`` from the environment (``AUTHSTATUS_TEST_ASYNC_TOKEN_THREAD``: the
fixture runs the table with the token-lookup thread on and off)."""

import os

from tests.settings import *  # noqa: F403
from tests.settings import AUTHSTATUS, MIDDLEWARE

# WhiteNoise's middleware is sync-only: Django would run every middleware after it under a
# parent sync thread, where the token-lookup thread is (rightly) not used. No static files
# are served here.
MIDDLEWARE = [m for m in MIDDLEWARE if not m.startswith("whitenoise.")]

AUTHSTATUS = {
    **AUTHSTATUS,
    "MIDDLEWARE_AUTHENTICATORS": [
        "authstatus.contrib.oauth2_provider.BearerAuthenticator",
        "authstatus.enforcement.authenticators.SessionAuthenticator",
    ],
    "ASYNC_TOKEN_THREAD": os.environ.get("AUTHSTATUS_TEST_ASYNC_TOKEN_THREAD", "1") == "1",
}
