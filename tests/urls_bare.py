"""A URLconf with the API only: no authstatus.urls, no django-oauth-toolkit (test_discovery)."""

from django.urls import path

from demo_project.api import views

urlpatterns = [path("api/profile/", views.ProfileView.as_view())]
