"""The tests' root URLconf plus the shapes tests/test_audit.py needs the route audit to
handle (tests/testapp/audit_views.py): a function view serving every method under a policy,
a concealed plain object route by ``re_path``, ``i18n_patterns`` with a plain view and a
``DefaultRouter`` (format suffixes) of a viewset whose concealed detail routes are declared
in code, under the language prefix."""

from django.conf.urls.i18n import i18n_patterns
from django.urls import include, path, re_path
from rest_framework.routers import DefaultRouter

from tests.testapp import audit_views
from tests.testapp.resource_views import DeclaredViewSet
from tests.urls import handler404
from tests.urls import urlpatterns as base

__all__ = ["handler404", "urlpatterns"]

router = DefaultRouter()
router.register("orders", DeclaredViewSet, basename="audit-order")

urlpatterns = [
    path("audit/every-method/", audit_views.every_method),
    re_path(r"^audit/items/(?P<pk>[0-9]+)/$", audit_views.owned_item),
    *base,
    *i18n_patterns(
        path("audit/localized/", audit_views.localized),
        path("audit/intl/", include(router.urls)),
    ),
]
