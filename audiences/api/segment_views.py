"""/v1/projects/{projectId}/segments: create, list, get and count."""

from __future__ import annotations

from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response

from audiences import segments
from audiences.api.segment_serializers import (
    SegmentCountSerializer,
    SegmentCreateSerializer,
    SegmentDefinitionSerializer,
    SegmentSerializer,
)
from audiences.models import Segment
from audiences.segment_actions import do_create_segment
from console.api.pagination import CursorPagination
from console.api.views import ProjectAPIView

_INVALID = OpenApiResponse(
    description="validation_failed; details.definition lists each problem as "
    "'<path>: <message>', e.g. 'conditions[1].conditions[0].op: …'"
)


class SegmentListView(ProjectAPIView):
    queryset = Segment.objects.all()

    @extend_schema(
        operation_id="listSegments",
        summary="List the project's segments",
        responses=SegmentSerializer(many=True),
        tags=["segments"],
    )
    def get(self, request: Request, project_id: str) -> Response:
        paginator = CursorPagination()
        page = paginator.paginate_queryset(self.get_queryset(), request, view=self)
        return paginator.get_paginated_response(SegmentSerializer(page, many=True).data)

    @extend_schema(
        operation_id="createSegment",
        summary="Create a segment",
        request=SegmentCreateSerializer,
        responses={201: SegmentSerializer, 400: _INVALID},
        tags=["segments"],
    )
    def post(self, request: Request, project_id: str) -> Response:
        incoming = SegmentCreateSerializer(data=request.data)
        incoming.is_valid(raise_exception=True)
        try:
            segment = do_create_segment(
                request.project,
                request.auth,
                incoming.validated_data["name"],
                incoming.validated_data["definition"],
            )
        except DjangoValidationError as exc:
            raise ValidationError(exc.message_dict) from None
        return Response(SegmentSerializer(segment).data, status=status.HTTP_201_CREATED)


class SegmentDetailView(ProjectAPIView):
    queryset = Segment.objects.all()
    lookup_url_kwarg = "segment_id"

    @extend_schema(
        operation_id="getSegment",
        summary="One segment with its definition",
        responses=SegmentSerializer,
        tags=["segments"],
    )
    def get(self, request: Request, project_id: str, segment_id: int) -> Response:
        return Response(SegmentSerializer(self.get_object()).data)


class SegmentCountView(ProjectAPIView):
    queryset = Segment.objects.all()
    lookup_url_kwarg = "segment_id"

    @extend_schema(
        operation_id="countSegment",
        summary="How many users the saved segment matches now",
        responses=SegmentCountSerializer,
        tags=["segments"],
    )
    def get(self, request: Request, project_id: str, segment_id: int) -> Response:
        segment = self.get_object()
        return Response({"count": _count(request, segment.definition), "segmentId": segment.pk})


class SegmentDefinitionCountView(ProjectAPIView):
    @extend_schema(
        operation_id="countSegmentDefinition",
        summary="How many users an unsaved definition matches",
        request=SegmentDefinitionSerializer,
        responses={200: SegmentCountSerializer, 400: _INVALID},
        tags=["segments"],
    )
    def post(self, request: Request, project_id: str) -> Response:
        incoming = SegmentDefinitionSerializer(data=request.data)
        incoming.is_valid(raise_exception=True)
        return Response(
            {"count": _count(request, incoming.validated_data["definition"]), "segmentId": None}
        )


def _count(request: Request, definition: object) -> int:
    try:
        return segments.count(request.project, definition)
    except segments.InvalidDefinition as exc:
        # A saved definition can only be invalid if the format grew stricter
        # since it was saved; say so the same way as for a new one.
        raise ValidationError({"definition": [str(e) for e in exc.errors]}) from None
