"""camelCase JSON for sender-number profiles."""

from __future__ import annotations

from rest_framework import serializers

from channels.models import SenderNumber, SenderNumberDocument


class SenderNumberDocumentSerializer(serializers.ModelSerializer):
    originalName = serializers.CharField(source="original_name")
    contentType = serializers.CharField(source="content_type")
    uploadedAt = serializers.DateTimeField(source="uploaded_at")

    class Meta:
        model = SenderNumberDocument
        fields = ["id", "kind", "originalName", "contentType", "size", "uploadedAt"]


class SenderNumberSerializer(serializers.ModelSerializer):
    displayNumber = serializers.CharField(source="display_number")
    ownerType = serializers.CharField(source="owner_type")
    ownerName = serializers.CharField(source="owner_name")
    isCompanyNumber = serializers.BooleanField(source="is_company_number")
    statusReason = serializers.CharField(source="status_reason")
    isDefault = serializers.BooleanField(source="is_default")
    createdAt = serializers.DateTimeField(source="created_at")
    reviewedAt = serializers.DateTimeField(source="reviewed_at", allow_null=True)
    documents = SenderNumberDocumentSerializer(many=True)

    class Meta:
        model = SenderNumber
        fields = [
            "id",
            "number",
            "displayNumber",
            "ownerType",
            "ownerName",
            "isCompanyNumber",
            "label",
            "status",
            "statusReason",
            "isDefault",
            "createdAt",
            "reviewedAt",
            "documents",
        ]
        read_only_fields = fields


class SenderNumberRegistrationSerializer(serializers.Serializer):
    """The multipart request. Only types are parsed here; the rules (E.164,
    documents, duplicates) are the action's, so console and API say the same."""

    number = serializers.CharField(required=False, allow_blank=True, default="")
    ownerType = serializers.CharField(required=False, allow_blank=True, default="")
    ownerName = serializers.CharField(required=False, allow_blank=True, default="")
    isCompanyNumber = serializers.BooleanField(required=False, default=True)
    label = serializers.CharField(required=False, allow_blank=True, default="")
    telecomCertificate = serializers.FileField(required=False)
    businessRegistration = serializers.FileField(required=False)
    employmentCertificate = serializers.FileField(required=False)
    powerOfAttorney = serializers.FileField(required=False)
