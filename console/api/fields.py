"""Serializer fields every app's API shares."""

from __future__ import annotations

from django.utils.translation import gettext_lazy
from rest_framework import serializers


class StrictStringField(serializers.CharField):
    """A string and nothing else: 123 is not silently "123" (the schema says string)."""

    default_error_messages = {"invalid": gettext_lazy("Must be a string.")}

    def to_internal_value(self, data: object) -> str:
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)
