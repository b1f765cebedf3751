"""Routes of the benchmark project; see :mod:`benchmarks.views` and ``BENCH_POLICIES``.

Each of the two handlers of :mod:`benchmarks.wsgi` has its own URLconf: this one (authstatus)
and :mod:`benchmarks.urls_stock`. Django tries URL patterns in order, so a route's position
costs time (about 0.3 µs a pattern): routes that are compared sit at the same position of
their URLconf, with the authstatus one never ahead.
"""

from __future__ import annotations

from django.urls import include, path

from benchmarks import views

authstatus = [
    path("drf/allow-any/", views.AllowAnyUnderMiddleware.as_view()),  # vs stock allow-any/
    path("drf/policy/", views.PolicyOnly.as_view()),
    path("api/bearer/", views.Bearer.as_view()),  # vs stock oauth2/
    path("api/scoped/", views.Bearer.as_view()),  # vs stock oauth2-scope/
    path("plain/", views.plain),
    path("drf/policy-defaults/", views.PolicyDefaults.as_view()),
    path("api/bearer-defaults/", views.PolicyDefaults.as_view()),
    path("api/closed/", views.Bearer.as_view()),
    path("api/concealed/", views.Bearer.as_view()),
    path("api/flip/", views.Bearer.as_view()),
    # The ASGI section (benchmarks.bench_asgi), vs stock async/plain/.
    path("async/plain/", views.plain_async),  # anonymous policy
    path("async/bearer/", views.plain_async),  # authenticated policy, a bearer token
]

urlpatterns = [path("", include(authstatus))]
