from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView
from rest_framework.routers import DefaultRouter

from demo_project.api import views

# DefaultRouter: /api/ (its root), /api/orders/, /api/orders/<pk>/, /api/orders/<pk>/ship/,
# each with its format-suffix variant (/api/orders.json, /api/orders/<pk>.json, ...).
router = DefaultRouter()
router.register("orders", views.OrderViewSet)

# One 404 for every URL: a concealed resource answers exactly like one that does not exist.
handler404 = "authstatus.views.page_not_found"

urlpatterns = [
    path("", views.home, name="home"),
    path("members/", views.members, name="members"),
    path("accounts/", include("django.contrib.auth.urls")),
    path("admin/", admin.site.urls),
    # django-oauth-toolkit, with authstatus's RFC 7591 registration view at /o/register/.
    path("o/", include("authstatus.contrib.oauth2_provider.provider_urls")),
    path("api/public/", views.PublicView.as_view()),
    path("api/profile/", views.ProfileView.as_view()),
    path("api/account/", views.AccountView.as_view()),
    path("api/notes/", views.NotesView.as_view()),
    path("api/staff/", views.StaffView.as_view()),
    path("api/closed/", views.ClosedView.as_view()),
    path("api/vault/", views.VaultList.as_view()),
    path("api/vault/<int:pk>/", views.VaultDetail.as_view()),
    # OpenAPI 3 of the API, from the policies in force when it is requested.
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/", include(router.urls)),
    path("", include("authstatus.urls")),
]
