"""When, and how, the user authenticated for the grant a django-oauth-toolkit token belongs to.

RFC 9470 step-up needs each access token's ``auth_time`` and ``acr``. DOT does not keep them
(its OpenID Connect ``auth_time`` is the user's ``last_login`` at the token request, not the
authentication the grant was made with), and authstatus does not swap DOT's models. So
:class:`TokenAuthentication` is a side table, keyed to DOT's (possibly swapped) access and
refresh token models, filled by signals:

* **Authorization code** (and implicit): :class:`~authstatus.middleware.AuthStatusMiddleware` marks
  the user's request to DOT's authorization view
  (:data:`authstatus.enforcement.stepup.authorizing`); when DOT saves the grant there, its row
  records the *session's* login time and class (:mod:`authstatus.enforcement.stepup`) — not the
  consent time: consenting is not authenticating. When the code is exchanged (DOT's
  ``app_authorized`` signal, token endpoint), the row moves to the access token and its refresh
  token.
* **Password grant** (RFC 6749 §4.3): the user's password was checked by that token request:
  its time is the authentication time.
* **Refresh** (RFC 6749 §6): the new access token inherits its refresh token's row; a refresh
  does not make the authentication fresh.
* ``max_age`` on an authorization request sends a user whose session logged in longer ago
  to the login form first (:func:`max_age_login`; DOT 3.4 itself only honours
  ``prompt=login``).
* Client credentials, device codes and tokens made any other way (the admin, scripts) have no
  row: their authentication time is unknown, and they fail ``max_age`` policies.

Tokens issued before this table existed have no row either, so the migration adds no data:
guessing (the token's ``created``, the user's ``last_login``) could only make an old
authentication look newer. Policies without ``max_age``/``acr_values`` never look at it.

The bearer authenticator reads the access token's row in the same query as the token
(:mod:`.tokenloader` joins it), so step-up costs no extra query.
"""

from __future__ import annotations

import hashlib
import logging
from datetime import UTC, datetime, timedelta
from typing import Any

from django.db import models
from django.db.models.signals import post_save
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from oauth2_provider.settings import oauth2_settings

from authstatus.enforcement.stepup import authorizing, session_authentication

__all__ = ["RELATED_NAME", "TokenAuthentication", "connect", "token_authentication"]

logger = logging.getLogger("authstatus")

RELATED_NAME = "authstatus_authentication"


class TokenAuthentication(models.Model):
    """The user authentication behind one access token, refresh token, or pending code.

    Exactly one of ``access_token``, ``refresh_token`` and ``code_checksum`` is set; deleting
    the token deletes the row.
    """

    access_token = models.OneToOneField(
        oauth2_settings.ACCESS_TOKEN_MODEL,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name=RELATED_NAME,
    )
    refresh_token = models.OneToOneField(
        oauth2_settings.REFRESH_TOKEN_MODEL,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name=RELATED_NAME,
    )
    code_checksum = models.CharField(max_length=64, null=True, blank=True, unique=True)
    auth_time = models.DateTimeField(_("authentication time"))
    acr = models.CharField(_("authentication context class"), max_length=200, blank=True)
    created = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        app_label = "authstatus"
        verbose_name = _("token authentication")
        verbose_name_plural = _("token authentications")

    def __str__(self) -> str:
        return f"authentication at {self.auth_time.isoformat()}"


# The reverse one-to-one relation of each access token model to this table.
_relations: dict[type, Any] = {}


def token_authentication(access_token: Any) -> tuple[float | None, str | None]:
    """``(auth_time, acr)`` of a DOT access token, ``None`` for what is unknown. Reads the
    row the token query joined (no query of its own when it was loaded that way)."""
    relation = _relations.get(type(access_token))
    if relation is None:
        relation = _relations[type(access_token)] = type(access_token)._meta.get_field(RELATED_NAME)
    if relation.is_cached(access_token):
        # The join found no row: None is cached, and the descriptor would raise for it.
        row = relation.get_cached_value(access_token)
    else:
        try:
            row = getattr(access_token, RELATED_NAME)
        except TokenAuthentication.DoesNotExist:
            return None, None
    if row is None:
        return None, None
    return row.auth_time.timestamp(), row.acr or None


def _checksum(code: str) -> str:
    return hashlib.sha256(code.encode("utf-8")).hexdigest()


def _copy_to(row: TokenAuthentication | None, access_token: Any) -> None:
    """Give ``access_token`` and its refresh token ``row``'s authentication."""
    if row is None:
        return
    fields = {"auth_time": row.auth_time, "acr": row.acr}
    TokenAuthentication.objects.update_or_create(access_token=access_token, defaults=fields)
    refresh = _refresh_token_of(access_token)
    if refresh is not None:
        TokenAuthentication.objects.update_or_create(refresh_token=refresh, defaults=fields)


def _refresh_token_of(access_token: Any) -> Any | None:
    try:
        return access_token.refresh_token
    except Exception:  # RelatedObjectDoesNotExist of a (possibly swapped) model
        return None


def grant_saved(sender: Any, instance: Any, created: bool, **kwargs: Any) -> None:
    """A grant (authorization code) saved while its user's authorization request is handled:
    record the session's authentication under the code's checksum."""
    if not created:
        return
    row = _from_authorizing_session(instance.user_id)
    if row is None:
        return
    # Codes live AUTHORIZATION_CODE_EXPIRE_SECONDS; rows of codes never exchanged go then.
    stale = timezone.now() - timedelta(seconds=oauth2_settings.AUTHORIZATION_CODE_EXPIRE_SECONDS)
    TokenAuthentication.objects.filter(code_checksum__isnull=False, created__lt=stale).delete()
    row.code_checksum = _checksum(instance.code)
    row.save()


def access_token_saved(sender: Any, instance: Any, created: bool, **kwargs: Any) -> None:
    """An access token issued by the authorization endpoint itself (implicit grant): it
    carries the session's authentication."""
    if not created or instance.user_id is None:
        return
    row = _from_authorizing_session(instance.user_id)
    if row is not None:
        row.access_token = instance
        row.save()


def _from_authorizing_session(user_id: Any) -> TokenAuthentication | None:
    request = authorizing.get()
    if request is None:
        return None
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated or user.pk != user_id:
        return None
    auth_time, acr = session_authentication(request)
    if auth_time is None:
        return None  # a login from before authstatus recorded it: unknown
    when = datetime.fromtimestamp(auth_time, tz=UTC)
    return TokenAuthentication(auth_time=when, acr=acr or "")


def token_issued(sender: Any, request: Any, token: Any, **kwargs: Any) -> None:
    """DOT's ``app_authorized``: the token endpoint issued ``token``; record its user's
    authentication according to the grant it was issued for."""
    if token is None or token.user_id is None:
        return  # client credentials: no user authenticated
    grant_type = request.POST.get("grant_type")
    if grant_type == "password":
        # RFC 6749 §4.3: the user's password was checked by this very request.
        _copy_to(TokenAuthentication(auth_time=token.created or timezone.now()), token)
    elif grant_type == "authorization_code":
        code = request.POST.get("code") or ""
        pending = TokenAuthentication.objects.filter(code_checksum=_checksum(code)).first()
        _copy_to(pending, token)
        if pending is not None:
            pending.delete()
    elif grant_type == "refresh_token":
        # The new token inherits its source refresh token's authentication (rotation), or
        # kept its own row (DOT updated the same access token in place).
        source = getattr(token, "source_refresh_token_id", None)
        if source is not None:
            _copy_to(TokenAuthentication.objects.filter(refresh_token_id=source).first(), token)


def connect() -> None:
    """Connect the receivers (from :meth:`authstatus.apps.AuthStatusConfig.ready`)."""
    from oauth2_provider.models import get_access_token_model, get_grant_model
    from oauth2_provider.signals import app_authorized

    post_save.connect(grant_saved, sender=get_grant_model(), dispatch_uid="authstatus-grant")
    post_save.connect(
        access_token_saved, sender=get_access_token_model(), dispatch_uid="authstatus-token"
    )
    app_authorized.connect(token_issued, dispatch_uid="authstatus-app-authorized")


def max_age_login(request: Any) -> Any | None:
    """The redirect to the login form when an authorization request's ``max_age`` (OpenID
    Connect Core §3.1.2.1, the step-up request of RFC 9470 §4) is older than the session's
    login, or the login time is unknown; ``None`` otherwise.

    DOT 3.4 ignores ``max_age``: it would authorise with the old session, and the new token
    would be refused as the old one was. After the login the session is fresh, and the
    authorization request (``next``) passes. Anonymous users are left to DOT (it sends them
    to the login form anyway); a ``max_age`` that is not a whole number is ignored, as DOT
    would.
    """
    raw = request.GET.get("max_age")
    user = getattr(request, "user", None)
    if raw is None or user is None or not user.is_authenticated or request.method != "GET":
        return None
    try:
        max_age = int(raw)
    except ValueError:
        return None
    if max_age < 0:
        return None
    auth_time, _ = session_authentication(request)
    if auth_time is not None and timezone.now().timestamp() - auth_time <= max_age:
        return None
    from django.conf import settings
    from django.contrib.auth.views import redirect_to_login

    return redirect_to_login(request.get_full_path(), settings.LOGIN_URL)


def authorization_view(view_func: Any) -> bool:
    """Whether ``view_func`` is one of DOT's authorization endpoints (RFC 6749 §3.1)."""
    from oauth2_provider.views.base import BaseAuthorizationView

    view_class = getattr(view_func, "view_class", None)
    return isinstance(view_class, type) and issubclass(view_class, BaseAuthorizationView)
