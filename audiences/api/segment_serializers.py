"""camelCase JSON for segments."""

from __future__ import annotations

from rest_framework import serializers

from audiences.models import Segment


class SegmentSerializer(serializers.ModelSerializer):
    definition = serializers.JSONField(
        help_text="A group: {match: all|any, conditions: [...]}; see the segments guide."
    )
    createdAt = serializers.DateTimeField(source="created_at", read_only=True)
    updatedAt = serializers.DateTimeField(source="updated_at", read_only=True)

    class Meta:
        model = Segment
        fields = ["id", "name", "definition", "createdAt", "updatedAt"]
        read_only_fields = ["id", "createdAt", "updatedAt"]


class SegmentCreateSerializer(serializers.Serializer):
    """Only the shape is parsed here; the rules are the action's, so console
    and API refuse the same things with the same words."""

    name = serializers.CharField(allow_blank=True, trim_whitespace=False)
    definition = serializers.JSONField()


class SegmentDefinitionSerializer(serializers.Serializer):
    definition = serializers.JSONField()


class SegmentCountSerializer(serializers.Serializer):
    count = serializers.IntegerField()
    segmentId = serializers.IntegerField(allow_null=True)
