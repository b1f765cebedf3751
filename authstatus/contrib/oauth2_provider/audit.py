"""django-oauth-toolkit's side of ``manage.py authstatus_audit``: the application and access
tokens the audit presents, created as DOT's own views create them, inside the audit's
transaction (which is rolled back). The only DOT models :mod:`authstatus.audit` touches."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.utils import timezone
from oauth2_provider.models import get_access_token_model, get_application_model

__all__ = ["create_application", "create_token"]


def create_application(name: str) -> Any:
    """A confidential client of the password grant, named ``name``."""
    model = get_application_model()
    return model.objects.create(
        name=name,
        client_type=model.CLIENT_CONFIDENTIAL,
        authorization_grant_type=model.GRANT_PASSWORD,
    )


def create_token(
    user: Any, application: Any, token: str, scopes: frozenset[str], lifetime: timedelta
) -> None:
    """An access token ``token`` of ``user`` with ``scopes``, expiring after ``lifetime``
    (a negative one: already expired)."""
    get_access_token_model().objects.create(
        user=user,
        application=application,
        token=token,
        scope=" ".join(sorted(scopes)),
        expires=timezone.now() + lifetime,
    )
