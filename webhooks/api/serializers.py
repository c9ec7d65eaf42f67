"""camelCase JSON for the project's webhook endpoint."""

from __future__ import annotations

from rest_framework import serializers


class WebhookRegistrationSerializer(serializers.Serializer):
    url = serializers.CharField(
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
