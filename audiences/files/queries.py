"""Read-only queries and the API/console representation of audience files."""

from __future__ import annotations

from django.db.models import QuerySet

from audiences.files.messages import with_messages
from audiences.models import AudienceFile
from projects.models import Project


def audience_files(project: Project) -> QuerySet[AudienceFile]:
    return AudienceFile.objects.filter(project=project).defer("errors")


def file_payload(audience_file: AudienceFile) -> dict:
    """The API's view of a file (camelCase)."""
    payload = {
        "id": str(audience_file.id),
        "name": audience_file.name,
        "format": audience_file.format,
        "status": audience_file.status,
        "rows": audience_file.rows,
        "progress": audience_file.progress,
        "columns": audience_file.columns,
        "errors": with_messages(audience_file.errors),
        "errorCount": audience_file.error_count,
        "correctable": audience_file.correctable,
        "matchedUsers": audience_file.matched_customers,
        "createdAt": audience_file.created_at.isoformat(),
        "validatedAt": audience_file.validated_at.isoformat()
        if audience_file.validated_at
        else None,
    }
    if audience_file.format == AudienceFile.Format.XLSX:
        payload["sheet"] = audience_file.sheet
        payload["sheetCount"] = audience_file.sheet_count
    return payload
