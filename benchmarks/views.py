"""The benchmark's views: the same trivial resource behind each access-control stack.

Stock views (``/stock/...``) name DRF's and django-oauth-toolkit's classes explicitly and use
DRF's own exception handler, as a project without authstatus would. The authstatus views use
the classes of the public contract; their policies are in ``settings.BENCH_POLICIES`` (and, for
``/api/flip/``, a ``ResourcePolicy`` row the throughput run edits).
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from oauth2_provider.contrib.rest_framework import OAuth2Authentication, TokenHasScope
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView
from rest_framework.views import exception_handler as drf_exception_handler

from authstatus.contrib import rest_framework as authstatus_drf


def plain(request: HttpRequest) -> HttpResponse:
    return HttpResponse(b'{"ok": true}', content_type="application/json")


async def plain_async(request: HttpRequest) -> HttpResponse:
    """The ASGI section's view (:mod:`benchmarks.bench_asgi`): an async plain view."""
    return HttpResponse(b'{"ok": true}', content_type="application/json")


class Resource(APIView):
    def get(self, request: Request) -> Response:
        return Response({"ok": True})


# --- stock DRF / django-oauth-toolkit -------------------------------------------------------


class StockView(Resource):
    def get_exception_handler(self) -> Any:
        return drf_exception_handler


class StockAllowAny(StockView):
    authentication_classes: list[type] = []
    permission_classes = [AllowAny]


class StockOAuth2(StockView):
    """DOT's documented setup: OAuth2Authentication + IsAuthenticated."""

    authentication_classes = [OAuth2Authentication]
    permission_classes = [IsAuthenticated]


class StockOAuth2Scope(StockView):
    authentication_classes = [OAuth2Authentication]
    permission_classes = [TokenHasScope]
    required_scopes = ["admin"]


# --- authstatus ----------------------------------------------------------------------------


class PolicyOnly(Resource):
    """PolicyPermission and no authentication class: the cost of enforcement alone."""

    authentication_classes: list[type] = []
    permission_classes = [authstatus_drf.PolicyPermission]


class PolicyDefaults(Resource):
    """The contract's default classes (Bearer, Session, Basic) + PolicyPermission."""


class AllowAnyUnderMiddleware(Resource):
    """DRF AllowAny served by the authstatus stack: what the middleware alone costs."""

    authentication_classes: list[type] = []
    permission_classes = [AllowAny]


class Bearer(Resource):
    authentication_classes = [authstatus_drf.BearerAuthentication]
    permission_classes = [authstatus_drf.PolicyPermission]
