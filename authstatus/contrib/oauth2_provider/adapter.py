"""What the django-oauth-toolkit adapter contributes to enforcement, registered when this module
is imported (``AppConfig.ready`` imports it when ``oauth2_provider`` is installed):

* the ``Bearer`` challenge a concealed ``404`` may carry as a hint
  (``CONCEALED_CHALLENGE_PATHS``): the bearer authenticator's;
* DOT's authorization endpoint, which the middleware marks so that the grant records when the
  session's user authenticated (RFC 9470 step-up: :mod:`.authtime`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from authstatus.contrib.oauth2_provider.authentication import BearerAuthenticator
from authstatus.contrib.oauth2_provider.authtime import authorization_view, max_age_login
from authstatus.enforcement import adapters
from authstatus.enforcement.stepup import authorizing

if TYPE_CHECKING:
    from django.http import HttpRequest, HttpResponse

__all__ = ["mark_authorization"]


def mark_authorization(request: HttpRequest, view_func: Any) -> HttpResponse | None:
    """Keep a request to DOT's authorization view in :data:`authstatus.enforcement.stepup.
    authorizing`, so the grant it creates records the session's authentication time; send the
    user to the login form first when the request's ``max_age`` asks for a newer login."""
    authorizing.set(request)
    response: HttpResponse | None = max_age_login(request)
    return response


adapters.register(
    bearer_challenge=lambda request: BearerAuthenticator().challenge(request),
    authorization_view=adapters.AuthorizationView(
        matches=authorization_view, mark=mark_authorization
    ),
)
