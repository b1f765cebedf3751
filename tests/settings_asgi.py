"""Settings of the uvicorn process of tests/test_asgi.py: the test settings, with the bearer
authenticator in front of the session for plain views (the async bearer path)."""

from tests.settings import *  # noqa: F403
from tests.settings import AUTHSTATUS

AUTHSTATUS = {
    **AUTHSTATUS,
    "MIDDLEWARE_AUTHENTICATORS": [
        "authstatus.contrib.oauth2_provider.BearerAuthenticator",
        "authstatus.authentication.SessionAuthenticator",
    ],
}
