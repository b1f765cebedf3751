"""A root URLconf with every way Django and DRF reach one view by several URLs: DRF's
DefaultRouter (format suffixes), a SimpleRouter with an optional trailing slash,
``format_suffix_patterns`` on a plain DRF view, ``re_path``, nested ``include()`` with
namespaces and ``i18n_patterns``. Used by tests/test_resources.py."""

from django.conf.urls.i18n import i18n_patterns
from django.urls import include, path, re_path
from rest_framework.routers import DefaultRouter, SimpleRouter
from rest_framework.urlpatterns import format_suffix_patterns

from demo_project.api.views import OrderViewSet, VaultDetail
from tests.testapp.resource_views import DeclaredViewSet, ItemViewSet, UnfilteredVaultList

handler404 = "authstatus.views.page_not_found"

router = DefaultRouter()
router.register("orders", OrderViewSet)


class OptionalSlashRouter(SimpleRouter):
    """Routes that match with and without the trailing slash. DRF >= 3.15 reads
    ``SimpleRouter(trailing_slash="/?")`` as ``True`` (a plain ``/``); this is the recipe
    that keeps ``/?`` in the patterns."""

    def __init__(self) -> None:
        super().__init__()
        self.trailing_slash = "/?"


slash_router = OptionalSlashRouter()
slash_router.register("items", ItemViewSet, basename="item")

declared_router = SimpleRouter()
declared_router.register("declared", DeclaredViewSet, basename="declared")

intl_router = SimpleRouter()
intl_router.register("orders", OrderViewSet, basename="intl-order")

inner = [path("vault/<int:pk>/", VaultDetail.as_view(), name="vault")]

urlpatterns = [
    path("api/", include(router.urls)),
    path("v2/", include((slash_router.urls, "v2"), namespace="v2")),
    path("code/", include(declared_router.urls)),
    path(
        "outer/",
        include(
            ([path("inner/", include((inner, "inner"), namespace="inner"))], "outer"),
            namespace="outer",
        ),
    ),
    path("unfiltered/vault/", UnfilteredVaultList.as_view(), name="unfiltered-vault"),
    re_path(r"^legacy/vault/(?P<pk>[0-9]+)/$", VaultDetail.as_view(), name="legacy-vault"),
    *format_suffix_patterns(
        [path("plain/vault/<int:pk>/", VaultDetail.as_view(), name="plain-vault")]
    ),
    *i18n_patterns(path("intl/", include((intl_router.urls, "intl"), namespace="intl"))),
]
