"""What the DRF adapter contributes to the route map and to enforcement, registered when this
module is imported (``AppConfig.ready`` imports it when ``rest_framework`` is installed):

* DRF's views as a kind of view (:class:`DRFViews`): the middleware leaves them to
  ``PolicyPermission``, and ``authstatus_routes`` names who enforces each;
* the refusal before DRF dispatches (:mod:`~authstatus.contrib.rest_framework.anonymous`);
* the uniform ``404`` of a missing URL through DRF
  (:mod:`~authstatus.contrib.rest_framework.uniform`).
"""

from __future__ import annotations

from typing import Any

from rest_framework.views import APIView

from authstatus.contrib.rest_framework import anonymous, uniform
from authstatus.contrib.rest_framework.permissions import PolicyPermission
from authstatus.enforcement import adapters
from authstatus.policies.routes import DRF_KIND, register_view_kind

__all__ = ["DRFViews"]


class DRFViews:
    """DRF's ``APIView`` subclasses (viewsets included): ``PolicyPermission`` enforces them."""

    name = DRF_KIND

    def matches(self, callback: Any) -> bool:
        cls = getattr(callback, "cls", None)
        return isinstance(cls, type) and issubclass(cls, APIView)

    def enforced_by(self, callback: Any) -> str:
        classes = list(getattr(callback.cls, "permission_classes", ()) or ())
        if any(isinstance(c, type) and issubclass(c, PolicyPermission) for c in classes):
            return "PolicyPermission"
        names = ", ".join(getattr(c, "__name__", str(c)) for c in classes) or "none"
        return f"permission_classes: {names} (PolicyPermission not used)"


register_view_kind(DRFViews())
adapters.register(
    pre_dispatch=(
        DRF_KIND,
        adapters.PreDispatch(
            applies=lambda view: anonymous.plan(view) is not None,
            refuse=anonymous.refuse_anonymous,
        ),
    ),
    uniform_not_found=uniform.uniform_not_found,
)
