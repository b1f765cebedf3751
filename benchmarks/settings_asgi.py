"""Settings of the ASGI section's uvicorn process (:mod:`benchmarks.bench_asgi`): the
benchmark's, with the bearer authenticator in ``MIDDLEWARE_AUTHENTICATORS`` so the async
plain view can be reached with a token (the in-process rows keep the session alone)."""

from __future__ import annotations

from benchmarks.settings import *  # noqa: F403
from benchmarks.settings import AUTHSTATUS

AUTHSTATUS = {
    **AUTHSTATUS,
    "MIDDLEWARE_AUTHENTICATORS": [
        "authstatus.contrib.oauth2_provider.BearerAuthenticator",
        "authstatus.enforcement.authenticators.SessionAuthenticator",
    ],
}
