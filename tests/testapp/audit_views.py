"""Views for the route audit's tests (tests/urls_audit.py): the URL shapes the audit must
handle beyond those of tests/urls.py — a function view that serves every method alike under
a policy with scopes, groups and permissions, a plain object route reached by ``re_path``,
``i18n_patterns``, and a router with format suffixes under a language prefix."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404

from authstatus.decorators import access
from demo_project.api.models import VaultItem


@access("authenticated", scopes="write", groups="staff-api", permissions="demo_api.view_vaultitem")
def every_method(request: HttpRequest) -> HttpResponse:
    """Answers every method the same way: the policy alone decides who gets here."""
    return HttpResponse(f"{request.method} {request.user.get_username()}")


@access("authenticated", conceal=True)
def owned_item(request: HttpRequest, pk: str) -> HttpResponse:
    """A concealed plain object route: another user's item is looked up like a missing one."""
    item = get_object_or_404(VaultItem, pk=pk, owner_id=request.user.pk)
    return HttpResponse(item.name)


@access("anonymous")
def localized(request: HttpRequest) -> HttpResponse:
    return HttpResponse("localized")
