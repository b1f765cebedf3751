"""django-oauth-toolkit at the root: its own RFC 8414 route is the one clients look up."""

from django.urls import include, path

from demo_project.api import views

urlpatterns = [
    path("", include("oauth2_provider.urls", namespace="oauth2_provider")),
    path("api/profile/", views.ProfileView.as_view()),
]
