"""The test views — some declare ``@access(conceal=True)`` — with Django's own ``handler404``
(tests/test_checks: authstatus.W009 sees concealment declared in code)."""

from django.urls import include, path

from tests.testapp import views

urlpatterns = [path("t/", include(views.urlpatterns))]
