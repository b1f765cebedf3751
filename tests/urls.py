from django.urls import include, path

from tests.testapp import views

urlpatterns = [
    path("t/", include(views.urlpatterns)),
    path("", include("demo_project.urls")),
]
