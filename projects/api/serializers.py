"""Project info in the API's camelCase."""

from __future__ import annotations

from django.conf import settings
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from projects.models import Project


class ProjectSerializer(serializers.ModelSerializer):
    projectId = serializers.UUIDField(source="id", read_only=True)
    companyName = serializers.CharField(source="company_name", read_only=True)
    timeZone = serializers.CharField(source="time_zone", read_only=True)
    name = serializers.CharField(read_only=True)
    optOutNumber = serializers.SerializerMethodField(
        help_text=_("The project's 080 opt-out number in E.164, or null until one is assigned.")
    )
    apiRatePerMinute = serializers.SerializerMethodField(
        help_text=_("API requests per minute this project may make before getting 429.")
    )

    class Meta:
        model = Project
        fields = [
            "projectId",
            "name",
            "companyName",
            "timeZone",
            "optOutNumber",
            "apiRatePerMinute",
        ]
        read_only_fields = fields

    @extend_schema_field({"type": "string", "nullable": True, "example": "+82801234567"})
    def get_optOutNumber(self, project: Project) -> str | None:
        # The 080 number lives in channels; the reverse OneToOne raises
        # (an AttributeError) while none is assigned.
        optout = getattr(project, "optout_number", None)
        return getattr(optout, "number", None)

    def get_apiRatePerMinute(self, project: Project) -> int:
        return project.api_rate_per_minute or settings.API_RATE_PER_MINUTE
