"""camelCase JSON for the opt-out list API."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from console.api.fields import StrictStringField
from optout.models import OptOut

MAX_NUMBERS = 1000


class PhoneNumbersSerializer(serializers.Serializer):
    """`{"phoneNumbers": [...]}`: only the shape is checked here; each number's
    format is judged one by one and reported under `invalid`."""

    phoneNumbers = serializers.ListField(
        child=StrictStringField(allow_blank=True, trim_whitespace=False),
        min_length=1,
        max_length=MAX_NUMBERS,
        error_messages={
            "not_a_list": _("phoneNumbers must be a list of E.164 strings."),
            "empty": _("phoneNumbers is empty; send 1 to 1,000 numbers."),
            "min_length": _("phoneNumbers is empty; send 1 to 1,000 numbers."),
            "max_length": _("phoneNumbers has too many numbers; send at most 1,000 per call."),
        },
    )


class InvalidNumberSerializer(serializers.Serializer):
    phoneNumber = serializers.CharField(source="phone_number")
    index = serializers.IntegerField()
    code = serializers.CharField()
    message = serializers.CharField()


class ListChangeSerializer(serializers.Serializer):
    changed = serializers.ListField(child=serializers.CharField())
    unchanged = serializers.ListField(child=serializers.CharField())
    invalid = InvalidNumberSerializer(many=True)


class OptOutSerializer(serializers.ModelSerializer):
    phoneNumber = serializers.CharField(source="phone_number")
    createdAt = serializers.DateTimeField(source="created_at")

    class Meta:
        model = OptOut
        fields = ["phoneNumber", "source", "createdAt"]
        read_only_fields = fields
