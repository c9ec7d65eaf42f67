"""Every API error has one shape: {"error": {"code", "message", "details"}}.

`code` is stable and meant for programs; `message` is for people and follows
the request's Accept-Language; `details` says where (field errors, limits) or
is null. This module turns DRF's exceptions, Django's Http404/PermissionDenied
and unhandled exceptions into that shape, and answers URLs under /v1/ that
match no endpoint.
"""

from __future__ import annotations

import logging
import math

from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.utils.translation import gettext as _
from django.views import defaults
from django.views.decorators.csrf import csrf_exempt
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler
from rest_framework.views import set_rollback

logger = logging.getLogger("console.api")


class ApiError(exceptions.APIException):
    """Raise with a stable code, a human message and optional details."""

    def __init__(
        self,
        code: str,
        message: str,
        details: object = None,
        status_code: int = status.HTTP_400_BAD_REQUEST,
    ) -> None:
        super().__init__(message, code)
        self.error_code = code
        self.message = message
        self.details = details
        self.status_code = status_code


# Our names for DRF's built-in error codes; any other code an exception
# carries (e.g. AuthenticationFailed(code="token_revoked")) is used as is.
_DRF_CODES = {
    "not_authenticated": "unauthenticated",
    "authentication_failed": "invalid_token",
    "permission_denied": "forbidden",
    "not_found": "not_found",
    "method_not_allowed": "method_not_allowed",
    "not_acceptable": "not_acceptable",
    "unsupported_media_type": "unsupported_media_type",
    "throttled": "rate_limited",
    "parse_error": "malformed_body",
    "error": "error",
}

_STATUS_CODES = {
    400: "invalid_request",
    401: "unauthenticated",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    409: "conflict",
    413: "too_large",
    415: "unsupported_media_type",
    422: "unprocessable",
    429: "rate_limited",
}


def error_body(code: str, message: str, details: object = None) -> dict:
    return {"error": {"code": code, "message": str(message), "details": details}}


def _code_for(exc: exceptions.APIException, status_code: int) -> str:
    detail_code = getattr(exc.detail, "code", None)
    if isinstance(detail_code, str):
        return _DRF_CODES.get(detail_code, detail_code)
    return _STATUS_CODES.get(status_code, "error")


def exception_handler(exc: Exception, context: dict) -> Response:
    if isinstance(exc, Http404):
        exc = exceptions.NotFound(_("No such resource in this project."))
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied(str(exc) or None)
    response = drf_exception_handler(exc, context)
    if response is None:
        # An unhandled exception: still JSON, never Django's HTML page. The
        # traceback goes to the log, not to the client.
        logger.exception("Unhandled error in API view %s", context.get("view"), exc_info=exc)
        set_rollback()
        return Response(
            error_body("internal_error", _("Something went wrong on our side; try again.")),
            status=status.HTTP_500_INTERNAL_SERVER_ERROR,
        )
    if isinstance(exc, ApiError):
        response.data = error_body(exc.error_code, exc.message, exc.details)
    elif isinstance(exc, exceptions.ValidationError):
        # details maps each field to its problems: the "where" of the error.
        response.data = error_body(
            "validation_failed", _("Some fields are invalid."), _plain(exc.detail)
        )
    elif isinstance(exc, exceptions.Throttled):
        wait = max(1, math.ceil(exc.wait or 1))
        response.data = error_body(
            "rate_limited",
            _("Too many requests for this project; retry in %(wait)d s.") % {"wait": wait},
            {"retryAfter": wait},
        )
        response["Retry-After"] = str(wait)
    else:
        detail = exc.detail
        if isinstance(detail, (dict, list)):
            response.data = error_body(
                _code_for(exc, response.status_code), _("Request failed."), _plain(detail)
            )
        else:
            response.data = error_body(_code_for(exc, response.status_code), str(detail))
    return response


def _plain(detail: object) -> object:
    """ErrorDetail → str, recursively, so details render as plain JSON."""
    if isinstance(detail, dict):
        return {key: _plain(value) for key, value in detail.items()}
    if isinstance(detail, list):
        return [_plain(value) for value in detail]
    return str(detail)


# Exempt from CSRF like the API views themselves (token auth, no cookies):
# otherwise a POST/PUT/PATCH/DELETE to an unknown URL answers Django's HTML
# CSRF page (403) instead of the JSON 404 a GET gets.
@csrf_exempt
def not_found(request: HttpRequest, path: str = "") -> JsonResponse:
    """Any URL under /v1/ that matches no endpoint: a JSON 404, not an HTML page."""
    message = _("There is no API endpoint at %(path)s.") % {"path": request.path}
    return JsonResponse(error_body("not_found", message), status=404)


# Django's own error views, for errors raised outside any API view (a bad Host
# header, a crash in middleware): JSON under /v1/, the usual pages elsewhere.
def _is_api(request: HttpRequest) -> bool:
    return request.path.startswith("/v1/")


def handler400(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    if _is_api(request):
        return JsonResponse(error_body("invalid_request", _("Bad request.")), status=400)
    return defaults.bad_request(request, exception)


def handler403(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    if _is_api(request):
        return JsonResponse(error_body("forbidden", _("Forbidden.")), status=403)
    return defaults.permission_denied(request, exception)


def handler404(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    if _is_api(request):
        return not_found(request)
    return defaults.page_not_found(request, exception)


def handler500(request: HttpRequest) -> HttpResponse:
    if _is_api(request):
        message = _("Something went wrong on our side; try again.")
        return JsonResponse(error_body("internal_error", message), status=500)
    return defaults.server_error(request)
