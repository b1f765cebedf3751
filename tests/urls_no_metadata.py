"""A URLconf with django-oauth-toolkit at /o/ but without authstatus.urls (tests/test_discovery)."""

from django.urls import include, path

from demo_project.api import views

urlpatterns = [
    path("o/", include("oauth2_provider.urls", namespace="oauth2_provider")),
    path("api/profile/", views.ProfileView.as_view()),
]
