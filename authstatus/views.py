"""Error views that keep a concealed resource indistinguishable from a missing one.

* ``handler404 = "authstatus.views.page_not_found"`` in the root URLconf. authstatus renders
  concealed refusals with :func:`authstatus.concealment.notfound.not_found_response`; with this
  view as ``handler404`` Django answers every other 404 — a URL no route matches, ``Http404`` raised
  by any view, the middleware's concealed refusals of plain views — with the very same function, so
  status, headers and body agree byte for byte (RFC 9110 §15.5.4, §15.5.5). Check
  ``authstatus.W009``.
* ``CSRF_FAILURE_VIEW = "authstatus.views.csrf_failure"`` in settings. ``CsrfViewMiddleware``
  refuses an unsafe request without a valid CSRF token in its ``process_view``, before
  ``AuthStatusMiddleware`` decides: a ``POST`` to a concealed plain view would get ``403 CSRF
  verification failed`` where a missing URL gets ``404``. This view answers the 404 when
  authstatus would refuse the request as concealed, and Django's own failure page otherwise.
  Check ``authstatus.W011``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.views import csrf

from authstatus.concealment.notfound import not_found_response

if TYPE_CHECKING:
    from django.http import HttpRequest, HttpResponse

__all__ = ["CSRF_FAILURE_VIEW", "HANDLER404", "csrf_failure", "page_not_found"]

HANDLER404 = "authstatus.views.page_not_found"
CSRF_FAILURE_VIEW = "authstatus.views.csrf_failure"


def page_not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    """Django's ``handler404`` signature; the exception's message is never shown (it could
    name what was looked up). A URL no route matches under ``UNIFORM_CONCEALMENT_PATHS`` first pays
    the authentication work of a concealed refusal (:mod:`authstatus.concealment.uniform`)."""
    from authstatus.concealment.uniform import in_uniform_namespace, uniform_not_found

    if in_uniform_namespace(request):
        return uniform_not_found(request)
    return not_found_response(request)


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    """Django's ``CSRF_FAILURE_VIEW`` signature: the 404 for a request authstatus refuses as
    concealed, else ``django.views.csrf.csrf_failure`` (a request authstatus allows, or
    refuses openly, learns nothing new from the CSRF page)."""
    from authstatus.middleware import refused_as_concealed

    if refused_as_concealed(request):
        return not_found_response(request)
    return csrf.csrf_failure(request, reason=reason)
