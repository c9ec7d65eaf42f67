"""/v1/projects/{projectId}/consent/notices: the consent notices' settings,
counts by kind and state, and the send core's counters over them — what the
consent page shows, for the API."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from consent.models import Notice
from consent.queries import notice_config, notice_counts, notice_statistics, sending_blocked
from consent.texts import REMINDER, RESULT
from console.api.views import ProjectAPIView

TAGS = ["consent"]

StateCountsSerializer = type(
    "NoticeStateCountsSerializer",
    (serializers.Serializer,),
    {state: serializers.IntegerField() for state in Notice.State.values},
)


class NoticeKindSerializer(serializers.Serializer):
    enabled = serializers.BooleanField()
    text = serializers.CharField(
        help_text="the Liquid text in use (the Korean default if not edited)"
    )
    customised = serializers.BooleanField(help_text="false: the Korean default")
    counts = StateCountsSerializer(
        help_text="notices that count (not superseded) by state; `queued`: handed to the send core"
    )


class NoticeStatisticsSerializer(serializers.Serializer):
    recipients = serializers.IntegerField(help_text="messages handed to the send core")
    queued = serializers.IntegerField(help_text="still to go, including held at night")
    sent = serializers.IntegerField()
    delivered = serializers.IntegerField()
    failed = serializers.IntegerField()
    skipped = serializers.IntegerField()
    heldNightTime = serializers.IntegerField()
    sentLms = serializers.IntegerField()


class ConsentNoticesSerializer(serializers.Serializer):
    result = NoticeKindSerializer(help_text="result of a consent change (Art. 50 ⑦)")
    reminder = NoticeKindSerializer(help_text="two-year reminder (Art. 50 ⑧)")
    statistics = NoticeStatisticsSerializer()
    sendingBlocked = serializers.BooleanField(
        help_text="true: no approved sender number, due notices wait"
    )


class ConsentNoticesView(ProjectAPIView):
    serializer_class = ConsentNoticesSerializer

    @extend_schema(
        operation_id="getConsentNotices",
        summary="The consent notices: settings, counts and statistics",
        description=(
            "Both notice kinds with their switch, text and counts by state, and the send "
            "core's counters over every consent notice sent so far."
        ),
        responses={200: ConsentNoticesSerializer},
        tags=TAGS,
    )
    def get(self, request: Request, project_id: str) -> Response:
        project = request.project
        config = notice_config(project)
        counts = notice_counts(project)
        stats = notice_statistics(project)
        kinds = {
            kind: {
                "enabled": kind in config.enabled_kinds(),
                "text": config.text(kind),
                "customised": config.customised.get(kind, False),
                "counts": counts[kind],
            }
            for kind in (RESULT, REMINDER)
        }
        data = {
            **kinds,
            "statistics": {
                "recipients": stats["recipients"],
                "queued": stats["queued"],
                "sent": stats["sent"],
                "delivered": stats["delivered"],
                "failed": stats["failed"],
                "skipped": stats["skipped"],
                "heldNightTime": stats["held_night_time"],
                "sentLms": stats["sent_lms"],
            },
            "sendingBlocked": sending_blocked(project),
        }
        return Response(ConsentNoticesSerializer(data).data)
