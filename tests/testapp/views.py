"""Views that exist only to test adapters: plain Django views, decorated views, and DRF views
with other authentication orders and third-party classes."""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404
from django.urls import path
from django.views import View
from rest_framework import authentication as drf_authentication
from rest_framework import generics, throttling
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from authstatus.contrib import rest_framework as authstatus_drf
from authstatus.decorators import access, exempt
from demo_project.api.models import VaultItem
from demo_project.api.serializers import VaultItemSerializer
from demo_project.api.views import VaultDetail


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


@access("authenticated", conceal=True, groups="staff-api")
def plain_concealed_staff(request: HttpRequest) -> HttpResponse:
    """Concealed from everyone outside the group, valid logins included."""
    return HttpResponse("concealed staff")


@access("authenticated", conceal=True, groups="staff-api")
class PlainConcealedClassView(View):
    """A concealed class-based view that only answers GET (no 405 may leak)."""

    def get(self, request: HttpRequest) -> HttpResponse:
        return HttpResponse("concealed class")


@access("authenticated", conceal=True)
def plain_vault_item(request: HttpRequest, pk: int) -> HttpResponse:
    """Object-level concealment in a plain view: another user's item is looked up exactly
    like a missing one (``Http404``), so ``handler404`` answers both."""
    item = get_object_or_404(VaultItem, pk=pk, owner_id=request.user.pk)
    return HttpResponse(item.secret)


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


@access("authenticated", conceal=True, groups="staff-api")
class ConcealedEcho(Echo):
    """A concealed DRF route no valid non-staff login may see."""


class BrokenAuthentication(drf_authentication.BaseAuthentication):
    """An authentication class that fails with an exception (its backend is down)."""

    def authenticate(self, request: Request) -> None:
        raise RuntimeError("authentication backend down")


@access("authenticated", conceal=True)
class ConcealedBrokenAuthentication(Echo):
    authentication_classes = [BrokenAuthentication, authstatus_drf.BearerAuthentication]


class VaultRateThrottle(throttling.SimpleRateThrottle):
    """Three requests a minute per user (or address), whatever the settings say."""

    scope = "test-vault"
    rate = "3/min"

    def get_cache_key(self, request: Request, view: APIView) -> str:
        ident = request.user.pk if request.user.is_authenticated else self.get_ident(request)
        return self.cache_format % {"scope": self.scope, "ident": ident}


@access("authenticated", conceal=True, requirements="owner")
class ThrottledVaultList(generics.ListAPIView):
    """The demo's concealed vault with a throttle: DRF checks throttles after permissions."""

    serializer_class = VaultItemSerializer
    throttle_classes = [VaultRateThrottle]

    def get_queryset(self):  # type: ignore[no-untyped-def]
        return VaultItem.objects.filter(owner_id=self.request.user.pk)


@access("authenticated", conceal=True, requirements="owner")
class ThrottledVaultDetail(VaultDetail):
    throttle_classes = [VaultRateThrottle]


class OncePerMinute(throttling.AnonRateThrottle):
    """One anonymous request a minute per address, whatever the settings say."""

    scope = "test-once"
    rate = "1/min"


@access("anonymous")
class Throttled(Echo):
    """tests/test_problem_details.py: a 429 with Retry-After."""

    throttle_classes = [OncePerMinute]


urlpatterns = [
    path("plain/", plain),
    path("drf/throttled/", Throttled.as_view()),
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
    # tests/test_concealment.py
    path("conceal/plain-staff/", plain_concealed_staff),
    path("conceal/plain-class/", PlainConcealedClassView.as_view()),
    path("conceal/plain-vault/<int:pk>/", plain_vault_item),
    path("conceal/drf/", ConcealedEcho.as_view()),
    path("conceal/broken-authentication/", ConcealedBrokenAuthentication.as_view()),
    path("conceal/throttled-vault/", ThrottledVaultList.as_view()),
    path("conceal/throttled-vault/<int:pk>/", ThrottledVaultDetail.as_view()),
]


# --- bearer semantics: stock DOT vs authstatus on the same resource ------------------------
# tests/test_bearer_semantics.py runs one suite against both pairs and compares outcomes.

from oauth2_provider.contrib.rest_framework import (  # noqa: E402
    OAuth2Authentication,
    TokenHasScope,
)
from rest_framework.views import exception_handler as drf_exception_handler  # noqa: E402


class StockBearerEcho(Echo):
    """django-oauth-toolkit's documented setup: OAuth2Authentication + IsAuthenticated,
    answered by DRF's own exception handler."""

    authentication_classes = [OAuth2Authentication]
    permission_classes = [IsAuthenticated]

    def get_exception_handler(self):  # type: ignore[no-untyped-def]
        return drf_exception_handler


class StockScopedBearerEcho(StockBearerEcho):
    """DOT's TokenHasScope: the token must carry scope ``write``."""

    permission_classes = [TokenHasScope]
    required_scopes = ["write"]


@access("authenticated")
class BearerEcho(Echo):
    authentication_classes = [authstatus_drf.BearerAuthentication]
    permission_classes = [authstatus_drf.PolicyPermission]


@access("authenticated", scopes="write")
class ScopedBearerEcho(BearerEcho):
    pass


urlpatterns += [
    path("drf/semantics/stock/", StockBearerEcho.as_view()),
    path("drf/semantics/stock-scoped/", StockScopedBearerEcho.as_view()),
    path("drf/semantics/authstatus/", BearerEcho.as_view()),
    path("drf/semantics/authstatus-scoped/", ScopedBearerEcho.as_view()),
]
