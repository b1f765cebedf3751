"""Viewsets for the resource tests (tests/urls_resources.py): a router with an optional
trailing slash, detail and list extra actions, and a viewset that declares its policies in
code, per method and per action."""

from rest_framework import generics
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from authstatus.decorators import access
from demo_project.api.models import VaultItem
from demo_project.api.serializers import VaultItemSerializer
from demo_project.api.views import OrderViewSet


class ItemViewSet(OrderViewSet):
    """Orders again, with a list-level extra action no policy names."""

    @action(detail=False, methods=["get"])
    def summary(self, request: Request) -> Response:
        return Response({"count": self.filter_queryset(self.get_queryset()).count()})


@access("authenticated", scopes="read", methods="GET")
@access("authenticated", scopes="write", methods="POST PUT PATCH DELETE")
@access("authenticated", conceal=True, scopes="read", requirements="owner", actions="retrieve")
@access(
    "authenticated",
    conceal=True,
    scopes="write",
    requirements="owner",
    actions="update partial_update destroy ship",
)
class DeclaredViewSet(OrderViewSet):
    """Every route's policy declared in code, none in settings."""


class UnfilteredVaultList(generics.ListAPIView):
    """A list view whose filter_backends leave PolicyFilterBackend out (check W016)."""

    serializer_class = VaultItemSerializer
    queryset = VaultItem.objects.all()
    filter_backends = ()
