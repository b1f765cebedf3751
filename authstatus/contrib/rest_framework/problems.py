"""Every DRF error as RFC 9457 problem details (``PROBLEM_DETAILS_FOR_ALL_ERRORS``).

authstatus's own refusals (``400`` ``invalid-request``, ``401``, ``403``, ``404``) are always
problem details. With ``PROBLEM_DETAILS_FOR_ALL_ERRORS`` the exception handler renders the
errors DRF raises itself the same way, each with a stable ``type`` (RFC 9457 §3.1.1):

============================  ======  ==================  ===============================
exception                     status  ``type`` slug        extra members
============================  ======  ==================  ===============================
``ValidationError``           400     validation-error    ``errors``: field → messages
``ParseError``                400     parse-error
``MethodNotAllowed``          405     method-not-allowed  (``Allow`` header kept)
``NotAcceptable``             406     not-acceptable
``UnsupportedMediaType``      415     unsupported-media-type
``Throttled``                 429     throttled           (``Retry-After`` header kept)
any other ``APIException``    any     ``about:blank``     (RFC 9457 §4.2.1)
============================  ======  ==================  ===============================

Bodies are rendered by the view's negotiated renderer, so the browsable API still shows them
in its page; a JSON renderer answers ``application/problem+json`` (RFC 9457 §3).
"""

from __future__ import annotations

from collections.abc import Mapping
from http import HTTPStatus
from typing import Any

from django.utils.translation import gettext as _
from rest_framework import exceptions
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.settings import api_settings

from authstatus.conf import app_settings
from authstatus.core.decision import Resolution
from authstatus.enforcement.responses import PROBLEM_JSON

__all__ = ["PROBLEM_TYPES", "ProblemResponse", "api_problem", "problem_response"]

PROBLEM_TYPES: tuple[tuple[type[exceptions.APIException], str, Resolution], ...] = (
    (exceptions.ValidationError, "validation-error", Resolution.FIX_REQUEST),
    (exceptions.ParseError, "parse-error", Resolution.FIX_REQUEST),
    (exceptions.MethodNotAllowed, "method-not-allowed", Resolution.FIX_REQUEST),
    (exceptions.NotAcceptable, "not-acceptable", Resolution.FIX_REQUEST),
    (exceptions.UnsupportedMediaType, "unsupported-media-type", Resolution.FIX_REQUEST),
    (exceptions.Throttled, "throttled", Resolution.RETRY_LATER),
)
"""Exception class → ``type`` slug and ``resolution``; the first ``isinstance`` match wins."""


def _titles() -> dict[str, str]:
    return {
        "validation-error": _("Invalid input"),
        "parse-error": _("Malformed request body"),
        "method-not-allowed": _("Method not allowed"),
        "not-acceptable": _("Not acceptable"),
        "unsupported-media-type": _("Unsupported media type"),
        "throttled": _("Too many requests"),
    }


def _plain(detail: Any) -> Any:
    """DRF's ``ErrorDetail`` tree as plain JSON values (strings, lists, dicts)."""
    if isinstance(detail, Mapping):
        return {str(key): _plain(value) for key, value in detail.items()}
    if isinstance(detail, list | tuple):
        return [_plain(value) for value in detail]
    return str(detail)


def api_problem(exc: exceptions.APIException, status: int) -> dict[str, object]:
    """The problem details object for a DRF exception answered with ``status``."""
    slug, resolution = next(
        ((slug, resolution) for cls, slug, resolution in PROBLEM_TYPES if isinstance(exc, cls)),
        ("", Resolution.NONE),
    )
    if not slug:
        # RFC 9457 §4.2.1: no further semantics than the status code; title is its phrase.
        try:
            phrase = HTTPStatus(status).phrase
        except ValueError:
            phrase = ""
        return {"type": "about:blank", "title": phrase, "status": status, "detail": str(exc.detail)}
    body: dict[str, object] = {
        "type": app_settings.PROBLEM_TYPE_BASE + slug,
        "title": _titles()[slug],
        "status": status,
    }
    if isinstance(exc, exceptions.ValidationError):
        errors = _plain(exc.detail)
        if not isinstance(errors, dict):
            # raise ValidationError("…") or a list: errors not bound to a field.
            errors = {api_settings.NON_FIELD_ERRORS_KEY: errors}
        body["detail"] = _("The request has invalid fields; see errors.")
        body["errors"] = errors
    else:
        body["detail"] = str(exc.detail)
    body["resolution"] = resolution.value
    return body


class ProblemResponse(Response):
    """A DRF ``Response`` whose JSON rendering is ``application/problem+json``.

    The media type is chosen when the response is rendered, after DRF's content negotiation
    (which, for a ``406``, only happens in ``finalize_response``): any other renderer — the
    browsable API's HTML, a project's XML — keeps its own.
    """

    @property
    def rendered_content(self) -> Any:
        renderer = getattr(self, "accepted_renderer", None)
        if self.content_type is None and isinstance(renderer, JSONRenderer):
            self.content_type = PROBLEM_JSON
        return super().rendered_content


def problem_response(exc: exceptions.APIException, response: Response) -> ProblemResponse:
    """``response`` (from DRF's default handler) with a problem details body, its headers
    (``Retry-After``, ``WWW-Authenticate``) kept."""
    problem = ProblemResponse(api_problem(exc, response.status_code), status=response.status_code)
    for name, value in response.items():
        if name.lower() != "content-type":
            problem[name] = value
    return problem
