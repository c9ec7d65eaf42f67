"""/v1/projects/{projectId}/sms/unsubscribe, /subscribe and /unsubscribes."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response

from console.api.pagination import CursorPagination
from console.api.views import ProjectAPIView
from optout.actions import do_opt_in, do_opt_out
from optout.api.serializers import ListChangeSerializer, OptOutSerializer, PhoneNumbersSerializer
from optout.models import Source
from optout.queries import optouts

_CHANGE_DESCRIPTION = (
    "Send 1 to 1,000 numbers in E.164. Each number is judged on its own: the answer "
    "lists the numbers this call changed, those already in that state (a repeat call "
    "changes nothing), and the invalid ones with their index and reason. Every change "
    "is kept in the number's history and reported by the ReportSMSUnsubscribed webhook."
)


class _ChangeView(ProjectAPIView):
    serializer_class = PhoneNumbersSerializer
    change = staticmethod(do_opt_out)

    def post(self, request: Request, project_id: str) -> Response:
        incoming = PhoneNumbersSerializer(data=request.data)
        incoming.is_valid(raise_exception=True)
        result = type(self).change(
            request.project, incoming.validated_data["phoneNumbers"], Source.API, request.auth
        )
        return Response(ListChangeSerializer(result).data)


class UnsubscribeView(_ChangeView):
    change = staticmethod(do_opt_out)

    @extend_schema(
        operation_id="unsubscribeSms",
        summary="Add numbers to the opt-out list",
        description=_CHANGE_DESCRIPTION,
        request=PhoneNumbersSerializer,
        responses={
            200: ListChangeSerializer,
            400: OpenApiResponse(description="validation_failed or malformed_body"),
        },
        tags=["opt-out list"],
    )
    def post(self, request: Request, project_id: str) -> Response:
        return super().post(request, project_id)


class SubscribeView(_ChangeView):
    change = staticmethod(do_opt_in)

    @extend_schema(
        operation_id="subscribeSms",
        summary="Remove numbers from the opt-out list",
        description=_CHANGE_DESCRIPTION,
        request=PhoneNumbersSerializer,
        responses={
            200: ListChangeSerializer,
            400: OpenApiResponse(description="validation_failed or malformed_body"),
        },
        tags=["opt-out list"],
    )
    def post(self, request: Request, project_id: str) -> Response:
        return super().post(request, project_id)


def _moment(request: Request, name: str, *, end: bool) -> datetime | None:
    """A query parameter as an aware datetime; a bare date means the start of
    that day (or of the next, for an upper bound) in the project's zone."""
    if name not in request.query_params:
        return None
    raw = request.query_params[name].strip()
    # A date first: Python's fromisoformat also reads "2026-01-31" as midnight.
    try:
        day = parse_date(raw)
    except ValueError:
        day = None
    try:
        value = None if day else parse_datetime(raw)
    except ValueError:
        value = None
    if day is not None:
        value = datetime.combine(day, time.min)
        if end:
            value += timedelta(days=1)
    if value is None:
        raise ValidationError(
            {name: [_("'%(value)s' is not an ISO 8601 date or date-time.") % {"value": raw}]}
        )
    try:
        if timezone.is_naive(value):
            value = timezone.make_aware(value, timezone.get_current_timezone())
        # In UTC: PostgreSQL refuses offsets beyond ±15:59 that ISO 8601 allows
        # (a 500 before), and a moment outside years 1-9999 is a 400 here.
        return value.astimezone(UTC)
    except (OverflowError, ValueError):
        raise ValidationError(
            {name: [_("'%(value)s' is not an ISO 8601 date or date-time.") % {"value": raw}]}
        ) from None


# What _moment reads: an ISO date or date-time (an empty value is a 400).
_DATE_OR_DATETIME = {
    "anyOf": [{"type": "string", "format": "date"}, {"type": "string", "format": "date-time"}]
}


class UnsubscribeListView(ProjectAPIView):
    @extend_schema(
        operation_id="listSmsUnsubscribes",
        summary="The numbers on the opt-out list",
        description=(
            "Newest first, cursor-paginated (`limit` up to 1,000). createdAfter is "
            "inclusive, createdBefore exclusive; a bare date covers that whole day."
        ),
        parameters=[
            OpenApiParameter("phoneNumber", OpenApiTypes.STR, description="Digits to look for"),
            OpenApiParameter("createdAfter", _DATE_OR_DATETIME),
            OpenApiParameter("createdBefore", _DATE_OR_DATETIME),
        ],
        responses=OptOutSerializer(many=True),
        tags=["opt-out list"],
    )
    def get(self, request: Request, project_id: str) -> Response:
        entries = optouts(
            request.project,
            query=request.query_params.get("phoneNumber", ""),
            since=_moment(request, "createdAfter", end=False),
            until=_moment(request, "createdBefore", end=True),
        )
        paginator = CursorPagination()
        page = paginator.paginate_queryset(entries, request, view=self)
        return paginator.get_paginated_response(OptOutSerializer(page, many=True).data)
