"""The demo's endpoints. Access is decided by the policies in settings, not by the views."""

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from drf_spectacular.utils import extend_schema
from rest_framework import generics, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from demo_project.api.models import Note, Order, VaultItem
from demo_project.api.serializers import (
    MessageSerializer,
    NoteSerializer,
    OrderSerializer,
    ProfileSerializer,
    VaultItemSerializer,
)
from demo_project.api.tour import tour_rows


def home(request: HttpRequest) -> HttpResponse:
    return render(request, "demo/home.html", {"rows": tour_rows(request.build_absolute_uri("/"))})


def members(request: HttpRequest) -> HttpResponse:
    return render(request, "demo/members.html")


class PublicView(APIView):
    @extend_schema(responses=MessageSerializer)
    def get(self, request: Request) -> Response:
        return Response({"message": "Anyone can read this."})


class ProfileView(APIView):
    @extend_schema(responses=ProfileSerializer)
    def get(self, request: Request) -> Response:
        user = request.user
        return Response({"username": user.get_username(), "scheme": _scheme(request)})


class NotesView(generics.ListCreateAPIView):
    serializer_class = NoteSerializer

    def get_queryset(self):  # type: ignore[no-untyped-def]
        return Note.objects.filter(owner=_user_or_none(self.request))

    def perform_create(self, serializer):  # type: ignore[no-untyped-def]
        if not self.request.user.is_authenticated:
            raise PermissionDenied("Notes belong to users; a client-credentials token has none.")
        serializer.save(owner=self.request.user)


class AccountView(APIView):
    """The requester's account. ``DELETE`` needs a recent authentication (the policy's
    ``max_age``); the demo answers 204 without deleting anything."""

    @extend_schema(responses=ProfileSerializer)
    def get(self, request: Request) -> Response:
        return Response({"username": request.user.get_username(), "scheme": _scheme(request)})

    @extend_schema(responses={204: None})
    def delete(self, request: Request) -> Response:
        return Response(status=204)


class StaffView(APIView):
    @extend_schema(responses=MessageSerializer)
    def get(self, request: Request) -> Response:
        return Response({"message": "Staff only."})


class ClosedView(APIView):
    @extend_schema(responses=MessageSerializer)
    def get(self, request: Request) -> Response:  # never reached: the policy is "nobody"
        return Response({"message": "unreachable"})


class VaultList(generics.ListAPIView):
    """Lists only the requester's items: the policy's "owner" requirement has a filter, which
    PolicyFilterBackend applies (no filtering here)."""

    serializer_class = VaultItemSerializer
    queryset = VaultItem.objects.all()


class VaultDetail(generics.RetrieveAPIView):
    # Every item is looked up; the policy's "owner" requirement, checked on the object by
    # PolicyPermission, refuses other users' items — as a 404, since the vault is concealed,
    # answered exactly like a missing id. A comment, not a docstring: drf-spectacular
    # publishes docstrings in the OpenAPI schema, which must not say what concealment hides.

    serializer_class = VaultItemSerializer
    queryset = VaultItem.objects.all()


class OrderViewSet(viewsets.ModelViewSet):
    """Orders on DRF's DefaultRouter (/api/orders/, /api/orders/<pk>/, .json variants, and
    the ``ship`` action). No permission class and no owner filtering here: the policies
    (ResourcePolicy rows) decide every route, and PolicyFilterBackend narrows the list."""

    serializer_class = OrderSerializer
    queryset = Order.objects.all()

    def perform_create(self, serializer):  # type: ignore[no-untyped-def]
        if not self.request.user.is_authenticated:
            raise PermissionDenied("Orders belong to users; a client-credentials token has none.")
        serializer.save(owner=self.request.user)

    @action(detail=True, methods=["post"])
    def ship(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        order = self.get_object()
        order.shipped = True
        order.save(update_fields=["shipped"])
        return Response(self.get_serializer(order).data)


def _user_or_none(request: Request):  # type: ignore[no-untyped-def]
    """The user, or None for a client-credentials token (it has no user, so no notes)."""
    return request.user if request.user.is_authenticated else None


def _scheme(request: Request) -> str | None:
    authenticator = request.successful_authenticator
    if authenticator is None:
        return None
    return authenticator.authenticate_header(request).split(" ", 1)[0]
