"""ASGI entry point of the ASGI section (``uvicorn benchmarks.asgi:application``).

As :mod:`benchmarks.wsgi`, two Django handlers in one process: ``/stock/`` goes to one built
with ``settings.STOCK_MIDDLEWARE`` (no authstatus) and :mod:`benchmarks.urls_stock`, every
other request to one with ``settings.MIDDLEWARE`` (``AuthStatusMiddleware``, in async mode)
and :mod:`benchmarks.urls`.
"""

from __future__ import annotations

import os
from collections.abc import Awaitable, Callable
from typing import Any

import django
from django.core.handlers.asgi import ASGIHandler

from benchmarks.wsgi import STOCK_PREFIX


class Handler(ASGIHandler):
    """An ASGI handler with its own URLconf (``request.urlconf``, as Django supports)."""

    def __init__(self, urlconf: str) -> None:
        super().__init__()  # loads the middleware chain of the current settings, async
        self.urlconf = urlconf

    async def get_response_async(self, request: Any) -> Any:
        request.urlconf = self.urlconf
        return await super().get_response_async(request)


def make_application() -> Callable[[Any, Any, Any], Awaitable[None]]:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "benchmarks.settings_asgi")
    django.setup(set_prefix=False)
    from django.conf import settings
    from django.test.utils import override_settings

    with override_settings(MIDDLEWARE=settings.STOCK_MIDDLEWARE):
        stock = Handler("benchmarks.urls_stock")
    authstatus = Handler(settings.ROOT_URLCONF)

    async def application(scope: Any, receive: Any, send: Any) -> None:
        if scope.get("path", "").startswith(STOCK_PREFIX):
            return await stock(scope, receive, send)
        return await authstatus(scope, receive, send)

    return application


application = make_application()
