"""The tests' URLconf plus a protected plain view at ``/login/``: its path is a suffix of
``LOGIN_URL`` (``/accounts/login/``), so ``SCRIPT_NAME: /accounts`` makes ``request.path``
equal ``LOGIN_URL``."""

from django.urls import path

from tests.testapp import views
from tests.urls import handler404
from tests.urls import urlpatterns as base

__all__ = ["handler404", "urlpatterns"]

urlpatterns = [path("login/", views.plain), *base]
