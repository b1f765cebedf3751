"""django-oauth-toolkit's URLs with authstatus's registration view, as one include::

    path("o/", include("authstatus.contrib.oauth2_provider.provider_urls")),

Every route of ``oauth2_provider.urls``, under the same names and the ``oauth2_provider``
namespace, except the registration views: ``dcr-register`` (RFC 7591 ``POST register/``) is
:class:`~authstatus.contrib.oauth2_provider.registration.RegistrationView` — DOT's view, with
RFC 7591 §3.2.2 errors for metadata the registration permission refuses and the response
members DOT leaves out — and ``dcr-register-management`` (RFC 7592) is
:class:`~authstatus.contrib.oauth2_provider.registration.RegistrationManagementView`, which
holds an anonymously registered client to the same rules on update. Everything else — DOT's
settings, ``DCR_ENABLED`` — is unchanged.
"""

from __future__ import annotations

from typing import Any

from django.urls import URLPattern, URLResolver, path
from oauth2_provider import urls as dot_urls

from authstatus.contrib.oauth2_provider.registration import (
    RegistrationManagementView,
    RegistrationView,
)

app_name = dot_urls.app_name

VIEWS: dict[str, Any] = {
    "dcr-register": RegistrationView,
    "dcr-register-management": RegistrationManagementView,
}


def _replaced(pattern: URLPattern | URLResolver) -> URLPattern | URLResolver:
    if isinstance(pattern, URLPattern) and pattern.name in VIEWS:
        view = VIEWS[pattern.name].as_view()
        replaced: URLPattern = path(str(pattern.pattern), view, name=pattern.name)
        return replaced
    return pattern


urlpatterns = [_replaced(p) for p in dot_urls.urlpatterns]
