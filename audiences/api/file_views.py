"""/v1/projects/{projectId}/audience-files: upload, status, downloads, sample."""

from __future__ import annotations

from django.http import HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.parsers import MultiPartParser
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response

from audiences.files import exports
from audiences.files.actions import UploadRefused, check_upload_size, do_upload_audience_file
from audiences.files.queries import audience_files, file_payload
from audiences.models import AudienceFile
from console.api.errors import ApiError
from console.api.pagination import CursorPagination
from console.api.views import ProjectAPIView
from console.lib.liquid import LiquidError

TAGS = ["audience files"]
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


class AudienceFileErrorSerializer(serializers.Serializer):
    row = serializers.IntegerField(help_text="1-based; row 1 is the header")
    column = serializers.IntegerField(help_text="1-based; column 1 is phoneNumber")
    code = serializers.CharField()
    message = serializers.CharField()


class AudienceFileSerializer(serializers.Serializer):
    """Documentation of `file_payload` (the view builds the dict itself)."""

    id = serializers.UUIDField()
    name = serializers.CharField()
    format = serializers.ChoiceField(choices=AudienceFile.Format.values)
    status = serializers.ChoiceField(choices=AudienceFile.Status.values)
    rows = serializers.IntegerField()
    progress = serializers.IntegerField(help_text="0–100")
    columns = serializers.ListField(child=serializers.CharField())
    sheet = serializers.CharField(required=False, help_text="xlsx: the sheet read (the first)")
    sheetCount = serializers.IntegerField(required=False)
    errors = AudienceFileErrorSerializer(many=True, help_text="the first 1,000 errors")
    errorCount = serializers.IntegerField()
    correctable = serializers.IntegerField(
        help_text="national-format numbers that corrected.csv rewrites to E.164"
    )
    matchedUsers = serializers.IntegerField()
    createdAt = serializers.DateTimeField()
    validatedAt = serializers.DateTimeField(allow_null=True)


class AudienceFileUploadSerializer(serializers.Serializer):
    file = serializers.FileField(help_text="csv (UTF-8) or xlsx")


class _Download(ProjectAPIView):
    """Views answering with a file. Errors stay JSON whatever `?format=` or
    Accept say (DRF would otherwise pick a renderer by `format`)."""

    def perform_content_negotiation(self, request: Request, force: bool = False) -> tuple:
        return JSONRenderer(), JSONRenderer.media_type


def _csv_response(lines, filename: str) -> StreamingHttpResponse:
    response = StreamingHttpResponse(lines, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["Cache-Control"] = "private, no-store"
    response["X-Content-Type-Options"] = "nosniff"
    return response


class AudienceFileListView(ProjectAPIView):
    parser_classes = [MultiPartParser]

    @extend_schema(
        operation_id="listAudienceFiles",
        summary="List the project's audience files, newest first",
        responses=AudienceFileSerializer(many=True),
        tags=TAGS,
    )
    def get(self, request: Request, project_id: str) -> Response:
        paginator = CursorPagination()
        paginator.ordering = "-created_at"
        page = paginator.paginate_queryset(
            AudienceFile.objects.filter(project=request.project), request, view=self
        )
        return paginator.get_paginated_response([file_payload(f) for f in page])

    @extend_schema(
        operation_id="uploadAudienceFile",
        summary="Upload an audience file (csv or xlsx) for validation",
        description=(
            "Multipart field `file`. Row 1 is the header: `phoneNumber` in column 1, then "
            "variable names. Small files are validated at once (201, final status); larger "
            "ones in the background (202, status `validating`; poll the file for `progress`)."
        ),
        request={"multipart/form-data": AudienceFileUploadSerializer},
        responses={
            201: AudienceFileSerializer,
            202: AudienceFileSerializer,
            400: OpenApiResponse(description="file_missing, file_type"),
            413: OpenApiResponse(description="file_too_large"),
        },
        tags=TAGS,
    )
    def post(self, request: Request, project_id: str) -> Response:
        try:
            # Refuse an oversized upload by its declared length before reading it.
            check_upload_size(int(request.META.get("CONTENT_LENGTH") or 0) - 64 * 1024)
            upload = request.data.get("file")
            if upload is None or isinstance(upload, str):
                raise ApiError(
                    "file_missing",
                    _("Send the file in the multipart field 'file'."),
                    {"field": "file"},
                )
            audience_file = do_upload_audience_file(request.project, request.auth, upload)
        except UploadRefused as exc:
            raise ApiError(exc.code, exc.message, {"field": "file"}, exc.status) from None
        code = (
            status.HTTP_202_ACCEPTED
            if audience_file.status == AudienceFile.Status.VALIDATING
            else status.HTTP_201_CREATED
        )
        return Response(file_payload(audience_file), status=code)


class AudienceFileDetailView(ProjectAPIView):
    @extend_schema(
        operation_id="getAudienceFile",
        summary="An audience file's status, progress and errors by row and column",
        responses=AudienceFileSerializer,
        tags=TAGS,
    )
    def get(self, request: Request, project_id: str, file_id: str) -> Response:
        audience_file = get_object_or_404(AudienceFile, project=request.project, pk=file_id)
        return Response(file_payload(audience_file))


class AudienceFileErrorReportView(_Download):
    @extend_schema(
        operation_id="getAudienceFileErrorReport",
        summary="The error report as CSV (row, column, columnName, code, message)",
        responses={(200, "text/csv"): OpenApiTypes.STR},
        tags=TAGS,
    )
    def get(self, request: Request, project_id: str, file_id: str) -> StreamingHttpResponse:
        audience_file = get_object_or_404(AudienceFile, project=request.project, pk=file_id)
        stem = audience_file.name.rsplit(".", 1)[0]
        return _csv_response(exports.error_report(audience_file), f"{stem}-errors.csv")


class AudienceFileCorrectedView(_Download):
    @extend_schema(
        operation_id="getCorrectedAudienceFile",
        summary="The file with national-format numbers rewritten to E.164, as CSV",
        description="404 `nothing_to_correct` when the file has no such number.",
        responses={(200, "text/csv"): OpenApiTypes.STR},
        tags=TAGS,
    )
    def get(self, request: Request, project_id: str, file_id: str) -> StreamingHttpResponse:
        audience_file = get_object_or_404(
            audience_files(request.project), project=request.project, pk=file_id
        )
        if not audience_file.correctable:
            raise ApiError(
                "nothing_to_correct",
                _("This file has no national-format number to correct."),
                status_code=status.HTTP_404_NOT_FOUND,
            )
        stem = audience_file.name.rsplit(".", 1)[0]
        return _csv_response(exports.corrected_file(audience_file), f"{stem}-corrected.csv")


class AudienceFileSampleView(_Download):
    @extend_schema(
        operation_id="getAudienceFileSample",
        summary="A sample file: phoneNumber plus the Liquid variables of a message body",
        parameters=[
            OpenApiParameter("body", str, description="the message body (Liquid)"),
            OpenApiParameter("format", str, enum=["csv", "xlsx"], default="csv"),
        ],
        responses={(200, "text/csv"): OpenApiTypes.STR, (200, XLSX_TYPE): OpenApiTypes.BINARY},
        tags=TAGS,
    )
    def get(self, request: Request, project_id: str) -> HttpResponse:
        body = request.query_params.get("body", "")
        fmt = request.query_params.get("format", "csv")
        if fmt not in ("csv", "xlsx"):
            raise ApiError(
                "invalid_format", _("format must be csv or xlsx."), {"parameter": "format"}
            )
        try:
            exports.sample_columns(body)
        except LiquidError as exc:
            raise ApiError(
                "invalid_body",
                _("The body is not valid Liquid: %(reason)s") % {"reason": exc},
                {"parameter": "body"},
            ) from None
        if fmt == "csv":
            return _csv_response(exports.sample_csv(body), "audience-sample.csv")
        response = HttpResponse(exports.sample_xlsx(body), content_type=XLSX_TYPE)
        response["Content-Disposition"] = 'attachment; filename="audience-sample.xlsx"'
        return response
