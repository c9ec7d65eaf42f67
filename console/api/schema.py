"""The OpenAPI 3 schema at /v1/schema and its offline reference at /v1/docs.

The schema declares the bearer scheme, documents the error shape once as a
component and attaches it to the answers every project endpoint can give
(401, 404, 429, and on POST the Idempotency-Key header with 409/422).
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.renderers import OpenApiJsonRenderer, OpenApiYamlRenderer
from drf_spectacular.views import SpectacularAPIView
from rest_framework.permissions import AllowAny

from console.api.authentication import BEARER_HINT
from console.api.idempotency import KEY_HEADER, MAX_KEY_LENGTH, REPLAYED_HEADER

PROJECT_PATH_PREFIX = "/v1/projects/{projectId}"


def error_schema() -> dict:
    return {
        "type": "object",
        "description": _("Every API error has this shape."),
        "required": ["error"],
        "properties": {
            "error": {
                "type": "object",
                "required": ["code", "message", "details"],
                "properties": {
                    "code": {
                        "type": "string",
                        "description": _(
                            "Stable, for programs: e.g. not_found, validation_failed."
                        ),
                        "example": "validation_failed",
                    },
                    "message": {
                        "type": "string",
                        "description": _("For people; follows Accept-Language."),
                    },
                    "details": {
                        "nullable": True,
                        "description": _("Where it went wrong (field → problems), or null."),
                    },
                },
            }
        },
    }


def _error(description: str, headers: dict | None = None) -> dict:
    response = {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
    }
    if headers:
        response["headers"] = headers
    return response


def common_responses() -> dict:
    """What every project endpoint may answer."""
    return {
        "401": _error(_("Missing, malformed, unknown or revoked token.")),
        "404": _error(
            _("No such resource in the token's project (another project's id included).")
        ),
        "429": _error(
            _("The project's API rate limit is exceeded."),
            {
                "Retry-After": {
                    "schema": {"type": "integer"},
                    "description": _("Seconds to wait before retrying."),
                }
            },
        ),
    }


def bad_request() -> dict:
    return _error(
        _(
            "Invalid request: validation_failed lists each field's or parameter's problems "
            "in details; malformed_body for a body that is not JSON."
        )
    )


def post_responses() -> dict:
    return {
        "409": _error(
            _("idempotency_key_in_progress: the first request with this key still runs.")
        ),
        "422": _error(_("idempotency_key_reused: this key was used with a different request.")),
    }


def postprocess(result: dict, generator: object, request: object, public: bool) -> dict:
    """Add the error component and the answers every project endpoint shares."""
    result.setdefault("components", {}).setdefault("schemas", {})["Error"] = error_schema()
    for path, operations in result.get("paths", {}).items():
        if not path.startswith(PROJECT_PATH_PREFIX):
            continue
        for method, operation in operations.items():
            responses = operation.setdefault("responses", {})
            extra = common_responses()
            checked = "requestBody" in operation or any(
                parameter.get("in") in ("query", "header")
                for parameter in operation.get("parameters", [])
            )
            if checked or method == "post":
                extra["400"] = bad_request()
            if "requestBody" in operation:
                extra["415"] = _error(
                    _("unsupported_media_type: the body is not in a media type listed here.")
                )
            if method == "post":
                extra |= post_responses()
                operation.setdefault("parameters", []).append(
                    {
                        "in": "header",
                        "name": KEY_HEADER,
                        "required": False,
                        # Not blank: a key of only spaces is refused (400).
                        "schema": {
                            "type": "string",
                            "minLength": 1,
                            "maxLength": MAX_KEY_LENGTH,
                            "pattern": r"\S",
                        },
                        "description": _(
                            "Same key and same request within 24 h: the first response is "
                            "replayed with `%(header)s: true` and nothing happens twice."
                        )
                        % {"header": REPLAYED_HEADER},
                    }
                )
            for code, response in extra.items():
                responses.setdefault(code, response)
    return result


class ProjectTokenScheme(OpenApiAuthenticationExtension):
    target_class = "console.api.authentication.ProjectTokenAuthentication"
    name = "bearerAuth"

    def get_security_definition(self, auto_schema: AutoSchema) -> dict:
        return {
            "type": "http",
            "scheme": "bearer",
            "description": _("A project API token, created by a project admin in the console."),
        }


class SchemaView(SpectacularAPIView):
    """JSON by default, `?format=yaml` for YAML; needs no token."""

    renderer_classes = [OpenApiJsonRenderer, OpenApiYamlRenderer]
    authentication_classes = []
    permission_classes = [AllowAny]
    throttle_classes = []
    custom_settings = {
        "DESCRIPTION": gettext_lazy(
            "Send SMS, manage audiences and the 080 opt-out list.\n\n"
            "Authenticate with `Authorization: Bearer <project token>`; a token reaches "
            "only its own project (any other project id answers 404). Every error is "
            '`{"error": {"code", "message", "details"}}`. Beyond the project\'s rate limit '
            "the answer is 429 with `Retry-After`. Any POST may carry an `Idempotency-Key` "
            "(up to 255 characters): the same key and request within 24 hours replays the "
            "first response with `Idempotent-Replayed: true`."
        ),
        # {projectId}, not {project_id}: the path parameters match the API's camelCase.
        "CAMELIZE_NAMES": True,
        "POSTPROCESSING_HOOKS": [
            "drf_spectacular.hooks.postprocess_schema_enums",
            "console.api.schema.postprocess",
        ],
    }


def docs(request: HttpRequest) -> HttpResponse:
    """The browsable reference: Swagger UI from our own static files, no CDN."""
    return render(request, "api/docs.html", {"auth_header": BEARER_HINT})
