from django.urls import include, path

from tests.testapp import async_views, views

# The root URLconf of the tests: handler404 is only read from the root.
handler404 = "authstatus.views.page_not_found"

urlpatterns = [
    path("t/async/", include(async_views.urlpatterns)),
    path("t/", include(views.urlpatterns)),
    path("", include("demo_project.urls")),
]
