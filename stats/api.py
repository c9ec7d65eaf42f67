"""/v1/projects/{projectId}/campaigns/{id}/stats (JSON) and .../stats.csv:
the numbers and series of the statistics page, from the same query."""

from __future__ import annotations

from django.http import HttpResponse
from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response

from campaigns.models import Campaign
from console.api.views import ProjectAPIView
from dispatch.models import SKIP_REASONS
from stats import exports
from stats.queries import campaign_statistics
from stats.views import csv_response

TAGS = ["statistics"]


# One integer field per skip reason.
SkippedSerializer = type(
    "SkippedSerializer",
    (serializers.Serializer,),
    {reason: serializers.IntegerField() for reason in SKIP_REASONS},
)


class BasisSerializer(serializers.Serializer):
    conversions = serializers.IntegerField()
    revenue = serializers.DecimalField(max_digits=18, decimal_places=2)
    conversionRate = serializers.FloatField(
        allow_null=True, help_text="conversions / delivered; null before any delivery"
    )


class GoalSerializer(serializers.Serializer):
    position = serializers.IntegerField()
    eventName = serializers.CharField()
    windowSeconds = serializers.IntegerField()
    send = BasisSerializer(help_text="counted from the moment the message was sent")
    click = BasisSerializer(help_text="counted from the recipient's first click on a tracked link")


class CostSerializer(serializers.Serializer):
    amount = serializers.DecimalField(
        max_digits=18,
        decimal_places=2,
        allow_null=True,
        help_text="SMS × the SMS price + LMS × the LMS price; null when a needed price is not set",
    )
    currency = serializers.CharField()
    sms = serializers.IntegerField()
    lms = serializers.IntegerField()
    pricesSet = serializers.BooleanField()


class SendPointSerializer(serializers.Serializer):
    at = serializers.DateTimeField(
        help_text="start of the step (UTC; steps start at round times of the project's time zone)"
    )
    sent = serializers.IntegerField()
    delivered = serializers.IntegerField()
    failed = serializers.IntegerField()


class SendSeriesSerializer(serializers.Serializer):
    stepSeconds = serializers.IntegerField(
        help_text=(
            "1 for a send of up to two minutes, wider for a longer one (at most 120 points): "
            "1, 2, 5, 10, 15 or 30 seconds, 1, 2, 5, 10, 15 or 30 minutes, 1, 2, 3, 6 or 12 "
            "hours, or whole days; never under 60 for a send counted per minute before "
            "buckets were per second"
        )
    )
    points = SendPointSerializer(many=True)


class ConversionPointSerializer(serializers.Serializer):
    at = serializers.DateTimeField(
        help_text="start of the hour, or of the day in the project's zone"
    )
    conversions = serializers.IntegerField()
    revenue = serializers.DecimalField(max_digits=18, decimal_places=2)
    clickConversions = serializers.IntegerField()
    clickRevenue = serializers.DecimalField(max_digits=18, decimal_places=2)


class ConversionSeriesSerializer(serializers.Serializer):
    step = serializers.ChoiceField(choices=["hour", "day"], help_text="day when the span is > 72 h")
    points = ConversionPointSerializer(many=True)


class CampaignStatsSerializer(serializers.Serializer):
    campaignId = serializers.IntegerField()
    name = serializers.CharField()
    status = serializers.ChoiceField(choices=Campaign.Status.choices)
    startedAt = serializers.DateTimeField(allow_null=True)
    finishedAt = serializers.DateTimeField(allow_null=True)
    recipients = serializers.IntegerField()
    queued = serializers.IntegerField(help_text="still to go, including held and retrying")
    sent = serializers.IntegerField(help_text="accepted by the gateway")
    sentSms = serializers.IntegerField()
    sentLms = serializers.IntegerField()
    delivered = serializers.IntegerField()
    failed = serializers.IntegerField()
    skipped = SkippedSerializer(help_text="skipped messages by reason")
    skippedTotal = serializers.IntegerField()
    heldNightTime = serializers.IntegerField(help_text="times a message was held until 08:00")
    optoutsAfterSend = serializers.IntegerField(
        help_text="recipients who opted out within 7 days after their message was sent"
    )
    clicks = serializers.IntegerField()
    clickedRecipients = serializers.IntegerField()
    conversions = serializers.IntegerField(help_text="send-based, all goals")
    revenue = serializers.DecimalField(max_digits=18, decimal_places=2)
    clickConversions = serializers.IntegerField(help_text="click-based, all goals")
    clickRevenue = serializers.DecimalField(max_digits=18, decimal_places=2)
    conversionRate = serializers.FloatField(
        allow_null=True, help_text="send-based conversions / delivered; null before any delivery"
    )
    goals = GoalSerializer(many=True)
    cost = CostSerializer()
    sendSeries = SendSeriesSerializer()
    conversionSeries = ConversionSeriesSerializer()


class CampaignStatsView(ProjectAPIView):
    @extend_schema(
        operation_id="getCampaignStats",
        summary="A campaign's statistics: totals, goals, cost and series",
        description=(
            "From counters kept as the work happens (never a scan of the messages). "
            "Conversion rates are conversions / delivered. `sendSeries` has one point "
            "per step (`stepSeconds`: a second for a short send, minutes, hours or days "
            "for a longer one) from the first to the last second anything was sent, "
            "delivered or failed; "
            "`conversionSeries` one per hour from the start of the send to the last "
            "conversion, or per day in the project's time zone when that is over 72 hours."
        ),
        responses={200: CampaignStatsSerializer},
        tags=TAGS,
    )
    def get(self, request: Request, project_id: str, campaign_id: int) -> Response:
        campaign = get_object_or_404(
            Campaign.objects.select_related("project"), project=request.project, pk=campaign_id
        )
        return Response(CampaignStatsSerializer(campaign_statistics(campaign)).data)


class CampaignStatsCsvView(ProjectAPIView):
    def perform_content_negotiation(self, request: Request, force: bool = False) -> tuple:
        # Errors stay JSON whatever `?format=` or Accept say.
        return JSONRenderer(), JSONRenderer.media_type

    @extend_schema(
        operation_id="getCampaignStatsCsv",
        summary="A campaign's statistics as CSV (totals, goals, both series)",
        description="Cells a spreadsheet would run as a formula are written with a leading '.",
        responses={(200, "text/csv"): OpenApiTypes.STR},
        tags=TAGS,
    )
    def get(self, request: Request, project_id: str, campaign_id: int) -> HttpResponse:
        campaign = get_object_or_404(
            Campaign.objects.select_related("project"), project=request.project, pk=campaign_id
        )
        stats = campaign_statistics(campaign)
        return csv_response(exports.csv_text(stats), exports.filename(stats))
