"""camelCase JSON for the project's webhook endpoint."""

from __future__ import annotations

from django.utils.translation import gettext_lazy
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

# Printable ASCII that RFC 3986 still does not allow in a URI.
_NOT_IN_URIS = frozenset('"<>\\^`{|}')


@extend_schema_field(
    {"type": "string", "format": "uri", "pattern": "^[Hh][Tt][Tt][Pp][Ss]?://", "maxLength": 2000}
)
class WebhookUrlField(serializers.CharField):
    """The rules (scheme, host) are the action's; here only what makes it a URI
    at all (RFC 3986: printable ASCII, other characters percent-encoded), as
    the schema's `format: uri` says."""

    default_error_messages = {
        "not_a_uri": gettext_lazy(
            "Not a URI: use printable ASCII only and percent-encode other characters."
        )
    }

    def to_internal_value(self, data: object) -> str:
        value = super().to_internal_value(data)
        if any(not (0x21 <= ord(char) <= 0x7E) or char in _NOT_IN_URIS for char in value):
            self.fail("not_a_uri")
        return value


class WebhookRegistrationSerializer(serializers.Serializer):
    url = WebhookUrlField(
        max_length=2000,
        trim_whitespace=True,
        help_text="http:// or https:// URL that receives ReportSMSUnsubscribed events.",
    )


class WebhookSerializer(serializers.Serializer):
    url = serializers.CharField()
    secret = serializers.CharField(
        help_text="Signing secret (whsec_…) for the Standard Webhooks signature."
    )


class WebhookUrlSerializer(serializers.Serializer):
    url = serializers.CharField()
