"""``PolicyFilterBackend``: lists never show what details conceal.

Add it to ``REST_FRAMEWORK["DEFAULT_FILTER_BACKENDS"]`` (or a view's ``filter_backends``). On a list
request — a view serving no single object: its lookup parameter is not in the URL — it applies the
filter of every requirement the route's resource demands
(:func:`authstatus.policies.resolution.list_requirements`): the requirements of the policy in force
and, on a viewset's list route, those its detail routes demand for reading. A requirement declared
without a filter narrows the list to nothing (it fails closed; check ``authstatus.W016`` reports
it). On object routes it does nothing: ``PolicyPermission.has_object_permission`` decides the
object, so another user's object is refused as the policy says (``403``, or the concealed ``404``)
rather than filtered away.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rest_framework.filters import BaseFilterBackend

from authstatus.contrib.rest_framework.decisions import is_object_route, view_policy_in_force
from authstatus.policies.requirements import requirement
from authstatus.policies.resolution import list_requirements

if TYPE_CHECKING:
    from rest_framework.request import Request

__all__ = ["PolicyFilterBackend"]


class PolicyFilterBackend(BaseFilterBackend):
    def filter_queryset(self, request: Request, queryset: Any, view: Any) -> Any:
        if is_object_route(view):
            return queryset
        django_request = request._request
        names = list_requirements(
            request.method or "GET",
            django_request.path_info,
            getattr(django_request, "resolver_match", None),
            view,
            urlconf=getattr(django_request, "urlconf", None),
            policy=view_policy_in_force(request, view),
        )
        for name in names:
            narrow = requirement(name).filter
            queryset = queryset.none() if narrow is None else narrow(request.user, queryset)
        return queryset
