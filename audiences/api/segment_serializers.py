"""camelCase JSON for segments."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from audiences.models import Segment


def _condition_schemas() -> list[dict[str, Any]]:
    """One schema per condition kind, from the validator's own tables."""
    from audiences import segments as s

    def kind(name: str, properties: dict[str, Any], required: list[str]) -> dict[str, Any]:
        return {
            "type": "object",
            "properties": {"kind": {"type": "string", "enum": [name]}, **properties},
            "required": ["kind", *required],
            "additionalProperties": False,
        }

    ops = sorted({op for group in s.ATTRIBUTE_OPS.values() for op in group})
    return [
        kind(
            "attribute",
            {
                "field": {"type": "string", "enum": list(s.ATTRIBUTE_FIELDS)},
                "op": {"type": "string", "enum": ops},
                "value": {"description": "Text, ISO date or date-time, or days by op."},
            },
            ["field", "op"],
        ),
        kind(
            "tag",
            {
                "key": {"type": "string", "minLength": 1, "pattern": r"\S"},
                "op": {"type": "string", "enum": list(s.TAG_OPS)},
                "value": {"type": "string"},
            },
            ["key", "op"],
        ),
        kind(
            "event",
            {
                "type": {"type": "string", "minLength": 1, "pattern": r"\S"},
                "performed": {"type": "boolean"},
                "min_count": {"type": "integer", "minimum": 1, "maximum": 1_000_000},
                "within_days": {"type": "integer", "minimum": 1, "maximum": s.MAX_DAYS},
                "where": {
                    "type": "object",
                    "nullable": True,
                    "properties": {
                        "field": {"type": "string", "minLength": 1},
                        "op": {"type": "string", "enum": list(s.EVENT_DATA_OPS)},
                        "value": {},
                    },
                    "required": ["field", "op"],
                    "additionalProperties": False,
                },
            },
            ["type"],
        ),
        kind("phone", {"present": {"type": "boolean"}}, ["present"]),
        kind("optout", {"opted_out": {"type": "boolean"}}, ["opted_out"]),
        kind(
            "consent",
            {
                "type": {"type": "string", "enum": list(s.CONSENT_TYPES)},
                "given": {"type": "boolean"},
            },
            ["type", "given"],
        ),
    ]


def definition_schema() -> dict[str, Any]:
    """The root group. Nested groups are described one level deep (their own
    conditions as objects); the full rules are in the segments guide and the
    answer to a wrong definition names the path of each problem."""
    from audiences import segments as s

    nested = {
        "type": "object",
        "properties": {
            "kind": {"type": "string", "enum": ["group"]},
            "match": {"type": "string", "enum": list(s.MATCHES)},
            "conditions": {
                "type": "array",
                "minItems": 1,
                "maxItems": s.MAX_CONDITIONS,
                "items": {"type": "object"},
            },
        },
        "required": ["match", "conditions"],
        "additionalProperties": False,
    }
    return {
        "type": "object",
        "description": "A group: {match: all|any, conditions: [condition or group, ...]}; "
        f"groups nest at most {s.MAX_DEPTH} levels, at most {s.MAX_CONDITIONS} conditions "
        "in all. An empty root group matches every user.",
        "properties": {
            "kind": {"type": "string", "enum": ["group"]},
            "match": {"type": "string", "enum": list(s.MATCHES)},
            "conditions": {
                "type": "array",
                "maxItems": s.MAX_CONDITIONS,
                "items": {"anyOf": [*_condition_schemas(), nested]},
            },
        },
        "required": ["match", "conditions"],
        "additionalProperties": False,
    }


@extend_schema_field(definition_schema())
class DefinitionField(serializers.JSONField):
    """A segment definition; the schema says its shape, the validator its rules."""


@extend_schema_field({"type": "string", "minLength": 1, "maxLength": 200, "pattern": r"\S"})
class SegmentNameField(serializers.CharField):
    """Blank and over-long names are refused by the action, in its words
    (so a blank one passes here, while the schema says what is accepted)."""

    def run_validation(self, data: object = serializers.empty) -> object:
        if isinstance(data, str) and not data.strip():
            return data
        return super().run_validation(data)


class SegmentSerializer(serializers.ModelSerializer):
    definition = DefinitionField()
    createdAt = serializers.DateTimeField(source="created_at", read_only=True)
    updatedAt = serializers.DateTimeField(source="updated_at", read_only=True)

    class Meta:
        model = Segment
        fields = ["id", "name", "definition", "createdAt", "updatedAt"]
        read_only_fields = ["id", "createdAt", "updatedAt"]


class SegmentCreateSerializer(serializers.Serializer):
    """Only the shape is parsed here; the rules are the action's, so console
    and API refuse the same things with the same words."""

    name = SegmentNameField(trim_whitespace=False)
    definition = DefinitionField()


class SegmentDefinitionSerializer(serializers.Serializer):
    definition = DefinitionField()


class SegmentCountSerializer(serializers.Serializer):
    count = serializers.IntegerField()
    segmentId = serializers.IntegerField(allow_null=True)
