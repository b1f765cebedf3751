"""The stock handler's URLconf (:mod:`benchmarks.wsgi`): no authstatus anywhere."""

from __future__ import annotations

from django.urls import include, path

from benchmarks import views

stock = [
    path("allow-any/", views.StockAllowAny.as_view()),
    path("plain/", views.plain),
    path("oauth2/", views.StockOAuth2.as_view()),
    path("oauth2-scope/", views.StockOAuth2Scope.as_view()),
    path("async/plain/", views.plain_async),
]

urlpatterns = [path("stock/", include(stock))]
