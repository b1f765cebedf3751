from django.contrib import admin
from django.urls import include, path

from demo_project.api import views

urlpatterns = [
    path("", views.home, name="home"),
    path("members/", views.members, name="members"),
    path("accounts/", include("django.contrib.auth.urls")),
    path("admin/", admin.site.urls),
    path("o/", include("oauth2_provider.urls", namespace="oauth2_provider")),
    path("api/public/", views.PublicView.as_view()),
    path("api/profile/", views.ProfileView.as_view()),
    path("api/notes/", views.NotesView.as_view()),
    path("api/staff/", views.StaffView.as_view()),
    path("api/closed/", views.ClosedView.as_view()),
    path("api/vault/", views.VaultList.as_view()),
    path("api/vault/<int:pk>/", views.VaultDetail.as_view()),
    path("", include("authstatus.urls")),
]
