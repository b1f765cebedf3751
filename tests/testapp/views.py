"""Views that exist only to test adapters: plain Django views, decorated views, and DRF views
with other authentication orders and third-party classes."""

from django.http import HttpRequest, HttpResponse
from django.urls import path
from django.views import View
from rest_framework import authentication as drf_authentication
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from authstatus.contrib import rest_framework as authstatus_drf
from authstatus.decorators import access, exempt


def plain(request: HttpRequest) -> HttpResponse:
    return HttpResponse(f"plain {request.user.get_username()}")


@access("anonymous")
def plain_anonymous(request: HttpRequest) -> HttpResponse:
    return HttpResponse("plain anonymous")


@access("nobody")
def plain_nobody(request: HttpRequest) -> HttpResponse:
    return HttpResponse("unreachable")


@access("authenticated", conceal=True)
def plain_concealed(request: HttpRequest) -> HttpResponse:
    return HttpResponse("concealed")


@exempt
def plain_exempt(request: HttpRequest) -> HttpResponse:
    return HttpResponse("exempt")


class PlainClassView(View):
    def get(self, request: HttpRequest) -> HttpResponse:
        return HttpResponse("class")


@access("anonymous")
class PlainAnonymousClassView(View):
    def get(self, request: HttpRequest) -> HttpResponse:
        return HttpResponse("class anonymous")


class Echo(APIView):
    def get(self, request: Request) -> Response:
        return Response({"user": request.user.get_username()})

    def post(self, request: Request) -> Response:
        return Response({"user": request.user.get_username()})


class SessionFirst(Echo):
    authentication_classes = [
        authstatus_drf.SessionAuthentication,
        authstatus_drf.BasicAuthentication,
        authstatus_drf.BearerAuthentication,
    ]


class BasicFirst(Echo):
    authentication_classes = [
        authstatus_drf.BasicAuthentication,
        authstatus_drf.BearerAuthentication,
        authstatus_drf.SessionAuthentication,
    ]


class SessionOnly(Echo):
    authentication_classes = [authstatus_drf.SessionAuthentication]


@access("anonymous")
class DeclaredAnonymous(Echo):
    pass


class StockIsAuthenticated(Echo):
    """PolicyPermission replaced by DRF's own permission class."""

    permission_classes = [IsAuthenticated]


class StockAllowAny(Echo):
    permission_classes = [AllowAny]


class WithForeignToken(Echo):
    """A third-party authentication class (DRF's TokenAuthentication) next to ours."""

    authentication_classes = [
        drf_authentication.TokenAuthentication,
        authstatus_drf.BearerAuthentication,
    ]


urlpatterns = [
    path("plain/", plain),
    path("plain/anonymous/", plain_anonymous),
    path("plain/nobody/", plain_nobody),
    path("plain/concealed/", plain_concealed),
    path("plain/exempt/", plain_exempt),
    path("plain/class/", PlainClassView.as_view()),
    path("plain/class-anonymous/", PlainAnonymousClassView.as_view()),
    path("drf/echo/", Echo.as_view()),
    path("drf/session-first/", SessionFirst.as_view()),
    path("drf/basic-first/", BasicFirst.as_view()),
    path("drf/session-only/", SessionOnly.as_view()),
    path("drf/declared-anonymous/", DeclaredAnonymous.as_view()),
    path("drf/stock-is-authenticated/", StockIsAuthenticated.as_view()),
    path("drf/stock-allow-any/", StockAllowAny.as_view()),
    path("drf/foreign-token/", WithForeignToken.as_view()),
]
