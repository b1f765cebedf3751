"""A URLconf with authstatus.urls but without django-oauth-toolkit's endpoints
(tests/test_discovery, tests/test_checks)."""

from django.urls import include, path

from demo_project.api import views

urlpatterns = [
    path("api/profile/", views.ProfileView.as_view()),
    path("", include("authstatus.urls")),
]
