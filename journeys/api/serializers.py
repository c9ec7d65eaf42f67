"""camelCase JSON for journeys: the journey, its versions, validation
problems, statistics, dry runs and a user's runs with their steps.

The graph and settings are passed through as docs/journeys.md defines them
(their keys are the contract's, snake_case inside the JSON); request
serializers check shapes only, the rules are journeys.graph.validate's.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from console.api.fields import StrictStringField
from journeys.actions import allowed_actions
from journeys.models import Journey, JourneyVersion, Run, Step

SETTINGS_HELP = (
    "exit_events, reentry, frequency_cap, quiet_hours, late_tolerance_seconds and "
    "conversion_goal ({event, window_seconds (3600 to 2592000), revenue_field, "
    "quantity_field} or null), docs/journeys.md."
)


class JourneyCreateSerializer(serializers.Serializer):
    name = StrictStringField(max_length=200)
    graph = serializers.DictField(
        required=False,
        help_text="The first draft's graph (docs/journeys.md); default: a trigger and an exit.",
    )
    settings = serializers.DictField(
        required=False, help_text="The first draft's settings: " + SETTINGS_HELP
    )


class DraftWriteSerializer(serializers.Serializer):
    graph = serializers.DictField(required=False, help_text="{nodes: [...]}, docs/journeys.md.")
    settings = serializers.DictField(required=False, help_text=SETTINGS_HELP)


class PublishSerializer(serializers.Serializer):
    choices = serializers.DictField(
        child=StrictStringField(),
        required=False,
        help_text="Per removed node key: finish_old, exit or move:<node key>; per changed "
        "delay node key: retime or keep. Defaults: finish_old and retime.",
    )


class ActivateSerializer(serializers.Serializer):
    enterCurrentMembers = serializers.BooleanField(
        required=False,
        default=False,
        help_text="A segment-entry journey: whether the segment's current members enter now "
        "(otherwise only users who join it from now on).",
    )


class DryRunRequestSerializer(serializers.Serializer):
    userId = StrictStringField(max_length=255)
    event = StrictStringField(
        max_length=255,
        required=False,
        default="",
        allow_blank=True,
        help_text="The entry event's type.",
    )
    data = serializers.DictField(required=False, default=dict, help_text="The entry event's data.")
    version = serializers.IntegerField(
        required=False, min_value=1, help_text="Version number; default: the draft, else live."
    )


class ProblemSerializer(serializers.Serializer):
    node = serializers.CharField(help_text="The node key, or '' for the graph or settings.")
    field = serializers.CharField(help_text="The field path inside the node (config.seconds).")
    message = serializers.CharField()


class ValidationResultSerializer(serializers.Serializer):
    valid = serializers.BooleanField()
    problems = ProblemSerializer(many=True)


class VersionSerializer(serializers.ModelSerializer):
    publishedAt = serializers.DateTimeField(source="published_at", allow_null=True)
    createdAt = serializers.DateTimeField(source="created_at")
    graph = serializers.JSONField()
    settings = serializers.JSONField()

    class Meta:
        model = JourneyVersion
        fields = ["number", "state", "graph", "settings", "publishedAt", "createdAt"]


def _draft(journey: Journey) -> JourneyVersion | None:
    """The draft version (prefetched as `drafts` by the API's queryset)."""
    drafts = getattr(journey, "drafts", None)
    if drafts is None:
        drafts = list(journey.versions.filter(state=JourneyVersion.State.DRAFT))
    return drafts[0] if drafts else None


class JourneySerializer(serializers.ModelSerializer):
    liveVersion = serializers.SerializerMethodField()
    draftVersion = serializers.SerializerMethodField()
    trigger = serializers.SerializerMethodField()
    allowedActions = serializers.SerializerMethodField()
    activatedAt = serializers.DateTimeField(source="activated_at", allow_null=True)
    pausedAt = serializers.DateTimeField(source="paused_at", allow_null=True)
    stoppedAt = serializers.DateTimeField(source="stopped_at", allow_null=True)
    createdAt = serializers.DateTimeField(source="created_at")

    class Meta:
        model = Journey
        fields = [
            "id",
            "name",
            "status",
            "liveVersion",
            "draftVersion",
            "trigger",
            "allowedActions",
            "activatedAt",
            "pausedAt",
            "stoppedAt",
            "createdAt",
        ]

    @extend_schema_field(serializers.IntegerField(allow_null=True))
    def get_liveVersion(self, journey: Journey) -> int | None:
        return journey.live_version.number if journey.live_version_id else None

    @extend_schema_field(serializers.IntegerField(allow_null=True))
    def get_draftVersion(self, journey: Journey) -> int | None:
        draft = _draft(journey)
        return draft.number if draft else None

    @extend_schema_field(OpenApiTypes.OBJECT)
    def get_trigger(self, journey: Journey) -> dict[str, Any]:
        """The live version's trigger config (the draft's before the first publish)."""
        version = journey.live_version or _draft(journey)
        for node in ((version.graph if version else None) or {}).get("nodes", []):
            if isinstance(node, dict) and node.get("kind") == "trigger":
                return node.get("config") or {}
        return {}

    @extend_schema_field(serializers.ListField(child=serializers.CharField()))
    def get_allowedActions(self, journey: Journey) -> list[str]:
        return [str(action) for action in allowed_actions(journey.status)]


class NodeStatisticsSerializer(serializers.Serializer):
    node = serializers.CharField()
    kind = serializers.CharField()
    metrics = serializers.DictField(
        child=serializers.IntegerField(),
        help_text="entered, waiting, port:<port>, exited:exit_event, exited:end, "
        "exited:exit_node, timed_out (docs/journeys.md), as counted so far; a send node "
        "also has its messages' sent, delivered, failed, clicks, clicked (recipients), "
        "conversions and revenue_cents.",
    )
    revenue = serializers.DecimalField(
        max_digits=18,
        decimal_places=2,
        required=False,
        help_text="A send node's conversion revenue (the goal's amount field); send nodes only.",
    )


class VersionStatisticsSerializer(serializers.Serializer):
    number = serializers.IntegerField()
    state = serializers.CharField()
    nodes = NodeStatisticsSerializer(many=True)


class StatisticsSerializer(serializers.Serializer):
    journeyId = serializers.IntegerField()
    versions = VersionStatisticsSerializer(many=True)


class DryStepSerializer(serializers.Serializer):
    node = serializers.CharField()
    kind = serializers.CharField()
    label = serializers.CharField()
    port = serializers.CharField()
    note = serializers.CharField()
    waits = serializers.CharField()
    message = serializers.CharField(help_text="A send node's rendered text.")
    messageBytes = serializers.IntegerField(source="message_bytes")
    messageKind = serializers.CharField(source="message_kind")
    compliance = serializers.CharField(help_text="What the rules would do (held until 08:00…).")
    outcome = serializers.CharField(help_text="sent, held, skipped, or empty.")
    at = serializers.DateTimeField(allow_null=True)


class DryPathSerializer(serializers.Serializer):
    title = serializers.CharField()
    steps = DryStepSerializer(many=True)
    end = serializers.CharField()


class DryRunSerializer(serializers.Serializer):
    userId = serializers.CharField(source="customer.user_id")
    event = serializers.CharField()
    data = serializers.DictField()
    enters = serializers.BooleanField()
    entryNote = serializers.CharField(source="entry_note")
    paths = DryPathSerializer(many=True)


class StepSerializer(serializers.ModelSerializer):
    version = serializers.IntegerField(source="version.number")

    class Meta:
        model = Step
        fields = ["number", "node", "kind", "port", "detail", "at", "version"]


class RunSerializer(serializers.ModelSerializer):
    journeyId = serializers.IntegerField(source="journey_id")
    journeyName = serializers.CharField(source="journey.name")
    userId = serializers.CharField(source="customer.user_id")
    version = serializers.IntegerField(source="version.number")
    entryKey = serializers.CharField(source="entry_key")
    entryEventId = serializers.IntegerField(source="entry_event_id", allow_null=True)
    entryData = serializers.JSONField(source="entry_data")
    dueAt = serializers.DateTimeField(source="due_at", allow_null=True)
    waitingFor = serializers.CharField(source="wait_event_type")
    startedAt = serializers.DateTimeField(source="started_at")
    endedAt = serializers.DateTimeField(source="ended_at", allow_null=True)
    endReason = serializers.CharField(source="end_reason")
    steps = StepSerializer(many=True)

    class Meta:
        model = Run
        fields = [
            "id",
            "journeyId",
            "journeyName",
            "userId",
            "version",
            "entryKey",
            "entryEventId",
            "entryData",
            "node",
            "state",
            "dueAt",
            "waitingFor",
            "startedAt",
            "endedAt",
            "endReason",
            "steps",
        ]
