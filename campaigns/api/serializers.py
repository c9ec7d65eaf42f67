"""camelCase JSON for the Send API, messages and campaigns.

Request serializers check shapes only; the rules (sender, template, byte
limits, audience) belong to the actions, so the console and the API refuse
the same things with the same words.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from campaigns.models import Campaign
from campaigns.rules import Action, allowed_actions
from campaigns.sends import (
    MAX_TARGETS,
    QUEUED,
    REFUSED,
    SKIPPED,
    TARGET_TYPES,
)
from dispatch.checks import characters_problem, title_problem
from dispatch.models import Message

# The Liquid source of a body (what renders is limited to 2,000 bytes).
MAX_BODY_CHARACTERS = 20_000


class StrictStringField(serializers.CharField):
    """A string and nothing else: 123 is not silently "123"."""

    default_error_messages = {"invalid": gettext_lazy("Must be a string.")}

    def to_internal_value(self, data: object) -> str:
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


def _check_body(body: str) -> str:
    problem = characters_problem(body)
    if problem:
        raise serializers.ValidationError(problem)
    return body


def _check_title(title: str) -> str:
    problem = title_problem(title)
    if problem:
        raise serializers.ValidationError(problem)
    return title


# --- the Send API ------------------------------------------------------------------


class SendSmsSerializer(serializers.Serializer):
    targetType = serializers.ChoiceField(
        choices=list(TARGET_TYPES),
        help_text="userId: the project's users (their phone and variables); "
        "phoneNumber: E.164 numbers.",
    )
    targetIds = serializers.ListField(
        child=StrictStringField(max_length=255),
        min_length=1,
        max_length=MAX_TARGETS,
        help_text="1 to 100 userIds or E.164 numbers; each gets one answer in `results`.",
        error_messages={
            "min_length": gettext_lazy("targetIds is empty; send 1 to 100 targets."),
            "max_length": gettext_lazy("targetIds has too many targets; send at most 100."),
            "empty": gettext_lazy("targetIds is empty; send 1 to 100 targets."),
        },
    )
    isAdvertisement = serializers.BooleanField(
        default=False,
        help_text="A promotional message: (광고) and the company name first, the free 080 "
        "opt-out line last, no sending at night without night-time consent.",
    )
    body = StrictStringField(
        max_length=MAX_BODY_CHARACTERS,
        trim_whitespace=False,
        help_text="Liquid. Rendered (with the advertisement additions) it must fit 2,000 "
        "EUC-KR bytes: up to 90 bytes goes as SMS, beyond as LMS.",
    )
    title = StrictStringField(
        required=False,
        allow_blank=True,
        default="",
        trim_whitespace=False,
        help_text="The LMS title, at most 40 EUC-KR bytes (an SMS has none).",
    )
    senderNumber = StrictStringField(
        required=False,
        allow_null=True,
        help_text="An approved sender number of the project in E.164; "
        "default: the project's default sender.",
    )
    campaignName = StrictStringField(required=False, allow_blank=True, default="", max_length=200)
    data = serializers.DictField(
        required=False,
        default=dict,
        help_text="Extra variables for the body, as data.* (e.g. {{ data.coupon }}).",
    )

    def validate_title(self, title: str) -> str:
        return _check_title(title)


class TargetResultSerializer(serializers.Serializer):
    targetId = serializers.CharField(source="target_id")
    messageId = serializers.IntegerField(source="message_id", allow_null=True)
    phoneNumber = serializers.CharField(source="phone_number", allow_null=True)
    status = serializers.ChoiceField(choices=[QUEUED, SKIPPED, REFUSED])
    reason = serializers.CharField(
        allow_null=True,
        help_text="Why a target is skipped or refused: unknown_user, no_phone_number, "
        "invalid_number, duplicate_target, duplicate_phone_number, no_consent, render_error.",
    )
    message = serializers.CharField(allow_null=True, help_text="The reason, for people.")


class SendResultSerializer(serializers.Serializer):
    campaignId = serializers.IntegerField(
        allow_null=True, help_text="null when every target was refused (nothing was written)."
    )
    queued = serializers.IntegerField()
    skipped = serializers.IntegerField()
    refused = serializers.IntegerField()
    results = TargetResultSerializer(many=True)


def send_result(outcome: Any) -> dict[str, Any]:
    return {
        "campaignId": outcome.campaign.pk if outcome.campaign else None,
        "queued": outcome.count(QUEUED),
        "skipped": outcome.count(SKIPPED),
        "refused": outcome.count(REFUSED),
        "results": TargetResultSerializer(outcome.results, many=True).data,
    }


# --- messages ----------------------------------------------------------------------


class HistoryEntrySerializer(serializers.Serializer):
    # A message's statuses plus the two steps that are not statuses of their own.
    status = serializers.ChoiceField(choices=[*Message.Status.values, "held", "retrying"])
    at = serializers.DateTimeField(
        allow_null=True, help_text="null where Munja does not record the moment."
    )
    detail = serializers.CharField(allow_null=True)


def _local(moment: datetime) -> str:
    """A moment as the API writes date-times (ISO 8601 in the server's zone)."""
    return serializers.DateTimeField().to_representation(moment)


def _entry(status: str, at: datetime | None, detail: str | None = None) -> dict[str, Any]:
    return {"status": status, "at": at, "detail": detail}


def message_history(message: Message) -> list[dict[str, Any]]:
    """The message's story, derived from its own timestamps (Message keeps no
    history table: the dispatch hot path writes nothing extra for it)."""
    campaign = message.campaign
    S = Message.Status
    queued_at = (campaign.started_at or campaign.created_at) if campaign else None
    if message.status == S.SKIPPED and message.skip_reason in (
        Message.SkipReason.NO_CONSENT,
        Message.SkipReason.RENDER_ERROR,
        Message.SkipReason.INVALID_NUMBER,
    ):
        # Decided when the message was written: it never was queued.
        reason = Message.SkipReason(message.skip_reason).label
        return [_entry(S.SKIPPED, queued_at, message.error_message or str(reason))]
    history = [_entry(S.QUEUED, queued_at)]
    if message.held_until:
        history.append(
            _entry(
                "held",
                None,
                _("Night-time rule: held until %(at)s in the recipient's time zone.")
                % {"at": _local(message.held_until)},
            )
        )
    if message.status == S.QUEUED and message.attempts and message.error_message:
        history.append(
            _entry(
                "retrying",
                None,
                _("%(error)s; next attempt at %(at)s.")
                % {
                    "error": message.error_message,
                    "at": _local(message.next_attempt_at) if message.next_attempt_at else "-",
                },
            )
        )
    if message.status == S.SENDING:
        history.append(_entry(S.SENDING, message.claimed_at))
    if message.sent_at:
        detail = message.provider_message_id or None
        history.append(_entry(S.SENT, message.sent_at, detail))
    if message.status == S.DELIVERED:
        history.append(_entry(S.DELIVERED, message.delivered_at))
    elif message.status == S.FAILED:
        error = f"{message.error_code}: {message.error_message}".strip(": ")
        history.append(_entry(S.FAILED, None, error or None))
    elif message.status == S.SKIPPED:
        at = None
        if message.skip_reason in (
            Message.SkipReason.CANCELLED,
            Message.SkipReason.UNAPPROVED_SENDER,
        ):
            at = campaign.finished_at if campaign else None
        history.append(_entry(S.SKIPPED, at, str(Message.SkipReason(message.skip_reason).label)))
    return history


class MessageErrorSerializer(serializers.Serializer):
    code = serializers.CharField()
    message = serializers.CharField()


class MessageSerializer(serializers.ModelSerializer):
    campaignId = serializers.IntegerField(source="campaign_id", allow_null=True)
    userId = serializers.SerializerMethodField()
    phoneNumber = serializers.CharField(source="phone_number")
    isAdvertisement = serializers.SerializerMethodField()
    skipReason = serializers.SerializerMethodField()
    error = serializers.SerializerMethodField()
    heldUntil = serializers.DateTimeField(source="held_until", allow_null=True)
    nextAttemptAt = serializers.DateTimeField(source="next_attempt_at", allow_null=True)
    providerMessageId = serializers.SerializerMethodField()
    queuedAt = serializers.SerializerMethodField()
    sentAt = serializers.DateTimeField(source="sent_at", allow_null=True)
    deliveredAt = serializers.DateTimeField(source="delivered_at", allow_null=True)
    history = serializers.SerializerMethodField()

    class Meta:
        model = Message
        fields = [
            "id",
            "campaignId",
            "userId",
            "phoneNumber",
            "isAdvertisement",
            "body",
            "title",
            "kind",
            "bytes",
            "status",
            "skipReason",
            "error",
            "attempts",
            "heldUntil",
            "nextAttemptAt",
            "providerMessageId",
            "queuedAt",
            "sentAt",
            "deliveredAt",
            "history",
        ]
        read_only_fields = fields

    def get_userId(self, message: Message) -> str | None:
        return self.context.get("user_id")

    def get_isAdvertisement(self, message: Message) -> bool:
        return bool(message.campaign and message.campaign.is_promotional)

    def get_skipReason(self, message: Message) -> str | None:
        return message.skip_reason or None

    @extend_schema_field(MessageErrorSerializer(allow_null=True))
    def get_error(self, message: Message) -> dict[str, str] | None:
        if not (message.error_code or message.error_message):
            return None
        return {"code": message.error_code, "message": message.error_message}

    def get_providerMessageId(self, message: Message) -> str | None:
        return message.provider_message_id or None

    @extend_schema_field(OpenApiTypes.DATETIME)
    def get_queuedAt(self, message: Message) -> str | None:
        campaign = message.campaign
        return _local(campaign.started_at or campaign.created_at) if campaign else None

    @extend_schema_field(HistoryEntrySerializer(many=True))
    def get_history(self, message: Message) -> list[dict[str, Any]]:
        return HistoryEntrySerializer(message_history(message), many=True).data


# --- campaigns ---------------------------------------------------------------------


@extend_schema_field(
    {
        "description": "Exactly one of segmentId and audienceFileId (the other absent or null).",
        "oneOf": [
            {
                "type": "object",
                "title": "Segment",
                "properties": {
                    "segmentId": {"type": "integer"},
                    "audienceFileId": {"type": "string", "format": "uuid", "nullable": True},
                },
                "required": ["segmentId"],
            },
            {
                "type": "object",
                "title": "AudienceFile",
                "properties": {
                    "segmentId": {"type": "integer", "nullable": True},
                    "audienceFileId": {"type": "string", "format": "uuid"},
                },
                "required": ["audienceFileId"],
            },
        ],
    }
)
class CampaignAudienceSerializer(serializers.Serializer):
    segmentId = serializers.IntegerField(required=False, allow_null=True)
    audienceFileId = serializers.UUIDField(required=False, allow_null=True)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        given = [name for name in ("segmentId", "audienceFileId") if attrs.get(name) is not None]
        if len(given) != 1:
            raise serializers.ValidationError(
                _("Give exactly one of segmentId and audienceFileId.")
            )
        return attrs


class CampaignWriteSerializer(serializers.Serializer):
    """POST /campaigns (audience required) and PATCH /campaigns/{id} (any subset)."""

    name = StrictStringField(max_length=200)
    audience = CampaignAudienceSerializer()
    body = StrictStringField(
        required=False, allow_blank=True, trim_whitespace=False, max_length=MAX_BODY_CHARACTERS
    )
    title = StrictStringField(required=False, allow_blank=True, trim_whitespace=False)
    isAdvertisement = serializers.BooleanField(required=False)
    senderNumber = StrictStringField(
        required=False,
        help_text="An approved sender number in E.164; default (on create): the project's "
        "default sender.",
    )
    frequencyCap = serializers.IntegerField(
        required=False,
        allow_null=True,
        min_value=0,
        help_text="Messages per person per window for this campaign; null: the project's "
        "policy, 0: no cap.",
    )
    fileConsentConfirmed = serializers.BooleanField(
        required=False,
        help_text="For an advertisement to a file audience: every number in the file "
        "consented to promotional messages.",
    )

    def validate_body(self, body: str) -> str:
        return _check_body(body)

    def validate_title(self, title: str) -> str:
        return _check_title(title)


class ScheduleSerializer(serializers.Serializer):
    at = StrictStringField(
        help_text="ISO 8601 with an offset (2026-03-02T09:30:00+09:00), or a local time "
        "without one together with timeZone."
    )
    timeZone = StrictStringField(
        required=False,
        help_text="IANA zone (Asia/Seoul) the time is given in; kept for display.",
    )


class CampaignAudienceOutSerializer(serializers.Serializer):
    type = serializers.ChoiceField(choices=["segment", "audienceFile"])
    segmentId = serializers.IntegerField(allow_null=True)
    audienceFileId = serializers.UUIDField(allow_null=True)


# The table's actions as this API names them (its endpoints); the table's
# others (unschedule, and the system's) have no endpoint here.
API_VERBS = {
    Action.EDIT: "update",
    Action.SCHEDULE: "schedule",
    Action.START: "send",
    Action.PAUSE: "pause",
    Action.RESUME: "resume",
    Action.CANCEL: "cancel",
}


def api_actions(status: str) -> list[str]:
    """What the API may do to a campaign in `status`, by the transition table."""
    return [API_VERBS[action] for action in allowed_actions(status) if action in API_VERBS]


class CampaignSerializer(serializers.ModelSerializer):
    statusReason = serializers.CharField(source="status_reason")
    audience = serializers.SerializerMethodField()
    isAdvertisement = serializers.BooleanField(source="is_promotional")
    senderNumber = serializers.SerializerMethodField()
    frequencyCap = serializers.IntegerField(source="frequency_cap", allow_null=True)
    fileConsentConfirmed = serializers.BooleanField(source="file_consent_confirmed")
    scheduledAt = serializers.DateTimeField(source="scheduled_at", allow_null=True)
    timeZone = serializers.CharField(source="time_zone")
    missing = serializers.SerializerMethodField()
    allowedActions = serializers.SerializerMethodField(
        help_text="What may be done to the campaign now: update, schedule, send, pause, "
        "resume, cancel (by the campaign's transition table)."
    )
    createdAt = serializers.DateTimeField(source="created_at")
    startedAt = serializers.DateTimeField(source="started_at", allow_null=True)
    finishedAt = serializers.DateTimeField(source="finished_at", allow_null=True)

    class Meta:
        model = Campaign
        fields = [
            "id",
            "name",
            "status",
            "statusReason",
            "source",
            "audience",
            "body",
            "title",
            "isAdvertisement",
            "senderNumber",
            "frequencyCap",
            "fileConsentConfirmed",
            "data",
            "scheduledAt",
            "timeZone",
            "missing",
            "allowedActions",
            "createdAt",
            "startedAt",
            "finishedAt",
        ]
        read_only_fields = fields

    @extend_schema_field(CampaignAudienceOutSerializer(allow_null=True))
    def get_audience(self, campaign: Campaign) -> dict[str, Any] | None:
        if campaign.segment_id:
            return {"type": "segment", "segmentId": campaign.segment_id, "audienceFileId": None}
        if campaign.audience_file_id:
            return {
                "type": "audienceFile",
                "segmentId": None,
                "audienceFileId": str(campaign.audience_file_id),
            }
        return None

    def get_senderNumber(self, campaign: Campaign) -> str | None:
        return campaign.sender_number.number if campaign.sender_number_id else None

    def get_allowedActions(self, campaign: Campaign) -> list[str]:
        return api_actions(campaign.status)

    def get_missing(self, campaign: Campaign) -> list[str]:
        from campaigns.actions import missing_parts

        if campaign.status not in (Campaign.Status.DRAFT, Campaign.Status.SCHEDULED):
            return []
        return missing_parts(campaign)


class CampaignStatisticsSerializer(serializers.Serializer):
    """campaigns.queries.campaign_progress, as returned."""

    status = serializers.ChoiceField(choices=Campaign.Status.choices)
    recipients = serializers.IntegerField()
    queued = serializers.IntegerField()
    sent = serializers.IntegerField()
    delivered = serializers.IntegerField()
    failed = serializers.IntegerField()
    heldNightTime = serializers.IntegerField()
    skipped = serializers.DictField(child=serializers.IntegerField(), help_text="By reason.")
    percent = serializers.IntegerField()
    materialised = serializers.BooleanField()


class CampaignDetailSerializer(CampaignSerializer):
    """For the schema: a campaign with its statistics."""

    statistics = CampaignStatisticsSerializer()

    class Meta(CampaignSerializer.Meta):
        fields = [*CampaignSerializer.Meta.fields, "statistics"]
        read_only_fields = fields
