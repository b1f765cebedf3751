from django.contrib import admin
from django.urls import include, path
from oauth2_provider.views import OAuthServerMetadataView
from rest_framework.routers import DefaultRouter

from authstatus.decorators import exempt
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
    path("o/", include("oauth2_provider.urls", namespace="oauth2_provider")),
    # DOT at /o/ makes the issuer http://host/o, the demo's RFC 9728 `authorization_servers`.
    # RFC 8414 §3.1 puts that issuer's metadata at the root with the path appended; DOT's view
    # derives the issuer from this path. Exempt: discovery needs no credentials.
    path(
        ".well-known/oauth-authorization-server/o",
        exempt(OAuthServerMetadataView.as_view()),
    ),
    path("api/public/", views.PublicView.as_view()),
    path("api/profile/", views.ProfileView.as_view()),
    path("api/account/", views.AccountView.as_view()),
    path("api/notes/", views.NotesView.as_view()),
    path("api/staff/", views.StaffView.as_view()),
    path("api/closed/", views.ClosedView.as_view()),
    path("api/vault/", views.VaultList.as_view()),
    path("api/vault/<int:pk>/", views.VaultDetail.as_view()),
    path("api/", include(router.urls)),
    path("", include("authstatus.urls")),
]
