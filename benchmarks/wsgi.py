"""WSGI entry point of the benchmark project (``gunicorn benchmarks.wsgi:application``).

Two Django handlers share one process and one settings module: requests under ``/stock/`` go
to a handler built with ``settings.STOCK_MIDDLEWARE`` (no authstatus) and the URLconf
:mod:`benchmarks.urls_stock`, every other request to one built with ``settings.MIDDLEWARE``
(with ``AuthStatusMiddleware``) and :mod:`benchmarks.urls`. The in-process
benchmark (:mod:`benchmarks.bench_requests`) calls the same two handlers.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from typing import Any

import django
from django.core.handlers.wsgi import WSGIHandler

STOCK_PREFIX = "/stock/"


class Handler(WSGIHandler):
    """A WSGI handler with its own URLconf (``request.urlconf``, as Django supports)."""

    def __init__(self, urlconf: str) -> None:
        super().__init__()  # loads the middleware chain of the current settings
        self.urlconf = urlconf

    def get_response(self, request: Any) -> Any:
        request.urlconf = self.urlconf
        return super().get_response(request)


def build_handlers() -> tuple[WSGIHandler, WSGIHandler]:
    """``(stock, authstatus)`` handlers; Django must be set up."""
    from django.conf import settings
    from django.test.utils import override_settings

    with override_settings(MIDDLEWARE=settings.STOCK_MIDDLEWARE):
        stock = Handler("benchmarks.urls_stock")
    return stock, Handler(settings.ROOT_URLCONF)


def make_application() -> Callable[[dict[str, Any], Any], Iterable[bytes]]:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "benchmarks.settings")
    django.setup(set_prefix=False)
    stock, authstatus = build_handlers()

    def application(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        if environ.get("PATH_INFO", "").startswith(STOCK_PREFIX):
            return stock(environ, start_response)
        return authstatus(environ, start_response)

    return application


application = make_application()
