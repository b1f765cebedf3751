"""Async plain views (``async def``) for the ASGI tests (tests/test_asgi.py), under /t/async/.

Each answers with who it sees, read with ``await request.auser()`` as an async view must
(``request.user`` would query the database on the event loop).
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.urls import path

from authstatus.decorators import access


async def _who(request: HttpRequest, what: str) -> HttpResponse:
    # request.user may be AuthenticationMiddleware's lazy object, which must not be evaluated
    # on the event loop; AuthStatusMiddleware makes auser() the user it authenticated.
    auser = getattr(request, "auser", None)  # none without AuthenticationMiddleware
    user = await auser() if auser is not None else None
    name = user.get_username() if user is not None and user.is_authenticated else "anonymous"
    return HttpResponse(f"{what} {name}")


@access("anonymous")
async def open_view(request: HttpRequest) -> HttpResponse:
    return await _who(request, "open")


async def private(request: HttpRequest) -> HttpResponse:
    return await _who(request, "private")


@access("authenticated", scopes="write")
async def scoped(request: HttpRequest) -> HttpResponse:
    return await _who(request, "scoped")


@access("nobody")
async def closed(request: HttpRequest) -> HttpResponse:
    return HttpResponse("unreachable")


@access("authenticated", conceal=True)
async def concealed(request: HttpRequest) -> HttpResponse:
    return await _who(request, "concealed")


@access("authenticated", groups="staff-api")
async def staff(request: HttpRequest) -> HttpResponse:
    return await _who(request, "staff")


urlpatterns = [
    path("open/", open_view),
    path("private/", private),
    path("scoped/", scoped),
    path("closed/", closed),
    path("concealed/", concealed),
    path("staff/", staff),
]
