"""camelCase JSON for customers ("users") and the Track API's documented shapes.

The Track call itself is read by `audiences.track` (per-item errors by group
and index, which a serializer cannot give cheaply); the serializers for it
here describe the shapes in the OpenAPI schema.
"""

from __future__ import annotations

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from audiences.models import Customer


class CustomerSerializer(serializers.ModelSerializer):
    userId = serializers.CharField(source="user_id")
    phoneNumber = serializers.CharField(source="phone_number")
    # null, not "", for a user without one: "" is not an email address.
    email = serializers.SerializerMethodField()
    timeZone = serializers.CharField(source="time_zone")
    promotionalConsent = serializers.BooleanField(source="promotional_consent")
    promotionalConsentAt = serializers.DateTimeField(
        source="promotional_consent_at", allow_null=True
    )
    nightConsent = serializers.BooleanField(source="night_consent")
    nightConsentAt = serializers.DateTimeField(source="night_consent_at", allow_null=True)
    tags = serializers.SerializerMethodField()
    createdAt = serializers.DateTimeField(source="created_at")
    lastSeenAt = serializers.DateTimeField(source="last_seen_at", allow_null=True)

    class Meta:
        model = Customer
        fields = [
            "userId",
            "phoneNumber",
            "email",
            "name",
            "dob",
            "timeZone",
            "country",
            "language",
            "promotionalConsent",
            "promotionalConsentAt",
            "nightConsent",
            "nightConsentAt",
            "tags",
            "createdAt",
            "lastSeenAt",
        ]
        read_only_fields = fields

    @extend_schema_field({"type": "string", "format": "email", "nullable": True})
    def get_email(self, customer: Customer) -> str | None:
        return customer.email or None

    def get_tags(self, customer: Customer) -> dict[str, str]:
        return {tag.key: tag.value for tag in customer.tags.all()}


class TrackEventSerializer(serializers.Serializer):
    subjectType = serializers.ChoiceField(choices=["user"])
    subjectId = serializers.CharField(max_length=255)
    type = serializers.CharField(max_length=255)
    data = serializers.DictField(required=False)
    createdAt = serializers.DateTimeField(required=False, help_text="ISO 8601 with offset")


@extend_schema_field(
    {
        "oneOf": [{"type": "string"}, {"type": "number"}, {"type": "boolean"}],
        "nullable": True,
        "description": "Stored as text (true/false for booleans); null deletes the tag.",
    }
)
class TagValueField(serializers.JSONField):
    """What audiences.track reads as a tag's value."""


class TrackTagSerializer(serializers.Serializer):
    subjectType = serializers.ChoiceField(choices=["user"])
    subjectId = serializers.CharField(max_length=255)
    tags = serializers.DictField(
        child=TagValueField(allow_null=True), help_text="null deletes the tag"
    )


class TrackUserAttributesSerializer(serializers.Serializer):
    userId = serializers.CharField(max_length=255)
    phoneNumber = serializers.CharField(required=False, allow_null=True, help_text="E.164")
    email = serializers.EmailField(required=False, allow_null=True)
    dob = serializers.DateField(required=False, allow_null=True)
    timeZone = serializers.CharField(required=False, allow_null=True, help_text="IANA name")
    name = serializers.CharField(required=False, allow_null=True)
    country = serializers.CharField(required=False, allow_null=True, help_text="ISO 3166-1")
    language = serializers.CharField(required=False, allow_null=True)
    promotionalConsent = serializers.BooleanField(required=False)
    promotionalConsentAt = serializers.DateTimeField(required=False, allow_null=True)
    nightConsent = serializers.BooleanField(required=False)
    nightConsentAt = serializers.DateTimeField(required=False, allow_null=True)


class TrackRequestSerializer(serializers.Serializer):
    events = TrackEventSerializer(many=True, required=False, max_length=100)
    tags = TrackTagSerializer(many=True, required=False, max_length=100)
    userAttributes = TrackUserAttributesSerializer(many=True, required=False, max_length=100)


class TrackCountsSerializer(serializers.Serializer):
    userAttributes = serializers.IntegerField()
    tags = serializers.IntegerField()
    events = serializers.IntegerField()


class TrackItemErrorSerializer(serializers.Serializer):
    group = serializers.ChoiceField(choices=["userAttributes", "tags", "events"])
    index = serializers.IntegerField()
    field = serializers.CharField(allow_null=True)
    code = serializers.CharField()
    message = serializers.CharField()


class TrackResponseSerializer(serializers.Serializer):
    accepted = TrackCountsSerializer()
    rejected = TrackCountsSerializer()
    createdUsers = serializers.IntegerField()
    errors = TrackItemErrorSerializer(many=True)
