"""Writes of file audiences: upload and validation (the only code that changes
AudienceFile and its rows)."""

from __future__ import annotations

import logging
import os
import tempfile
from pathlib import Path

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.db.models import ProtectedError
from django.template.defaultfilters import filesizeformat
from django.utils import timezone
from django.utils.translation import gettext as _

from audiences.files.reading import FileRefused, detect_format
from audiences.files.storage import store_rows
from audiences.files.validation import validate_file
from audiences.models import AudienceFile
from projects.actions import record_audit
from projects.models import Project

logger = logging.getLogger(__name__)

TASK = "audiences.file_tasks.validate_audience_file"
# Progress shown while validating; the store step takes the rest.
VALIDATE_SHARE = 90


class UploadRefused(ValueError):
    """The upload is refused before it is stored (too large, wrong type)."""

    def __init__(self, code: str, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status


def check_upload_size(size: int | None) -> None:
    limit = settings.AUDIENCE_FILE_MAX_BYTES
    if size is not None and size > limit:
        raise UploadRefused(
            "file_too_large",
            _("The file is %(size)s; the limit is %(limit)s. Split it into smaller files.")
            % {"size": filesizeformat(size), "limit": filesizeformat(limit)},
            status=413,
        )


def do_upload_audience_file(project: Project, actor: object, upload: UploadedFile) -> AudienceFile:
    """Store the upload and validate it: at once when it is small, else in the
    background (the returned file is then still `validating`)."""
    check_upload_size(upload.size)
    upload.seek(0)
    head = upload.read(8)
    upload.seek(0)
    name = os.path.basename(upload.name or "audience.csv")[:255]
    try:
        fmt = detect_format(name, head)
    except FileRefused as exc:
        raise UploadRefused(exc.code, exc.message) from None
    audience_file = AudienceFile(
        project=project,
        name=name,
        format=fmt,
        size=upload.size or 0,
        uploaded_by=actor if getattr(actor, "is_authenticated", False) else None,
    )
    audience_file.file.save(name, upload, save=False)
    audience_file.save()
    record_audit(project, actor, "audience_file.uploaded", name, id=str(audience_file.id))
    if audience_file.size <= settings.AUDIENCE_FILE_INLINE_MAX_BYTES:
        do_validate_audience_file(audience_file.id)
        audience_file.refresh_from_db()
    else:
        enqueue_validation(audience_file)
    return audience_file


def enqueue_validation(audience_file: AudienceFile) -> None:
    """Hand validation to the queue once the upload is committed."""
    from django_q.tasks import async_task

    AudienceFile.objects.filter(pk=audience_file.pk).update(enqueued_at=timezone.now())
    file_id = str(audience_file.id)
    transaction.on_commit(lambda: async_task(TASK, file_id))


def do_validate_audience_file(file_id: object) -> str:
    """Validate a `validating` file and store its rows when it is valid.

    Safe to run twice: a finished file is left alone, and storing replaces
    the rows of an earlier, interrupted run in one transaction.
    """
    audience_file = AudienceFile.objects.filter(
        pk=file_id, status=AudienceFile.Status.VALIDATING
    ).first()
    if audience_file is None:
        return "not validating"

    def report(fraction: float) -> None:
        progress = max(1, min(VALIDATE_SHARE, int(fraction * VALIDATE_SHARE)))
        AudienceFile.objects.filter(pk=file_id).update(progress=progress)

    fd, spool_name = tempfile.mkstemp(prefix="audience-", suffix=".spool")
    os.close(fd)
    spool = Path(spool_name)
    try:
        outcome = validate_file(
            Path(audience_file.file.path),
            audience_file.format,
            max_rows=settings.AUDIENCE_FILE_MAX_ROWS,
            spool=spool,
            on_progress=report,
        )
        fields = {
            "rows": outcome.rows,
            "columns": outcome.columns,
            "errors": outcome.errors,
            "error_count": outcome.error_count,
            "correctable": outcome.correctable,
            "sheet": outcome.sheet,
            "sheet_count": outcome.sheet_count,
            "validated_at": timezone.now(),
            "progress": 100,
        }
        if outcome.valid:
            AudienceFile.objects.filter(pk=file_id).update(progress=VALIDATE_SHARE + 5)
            with transaction.atomic():
                stored, matched = store_rows(audience_file, spool)
                AudienceFile.objects.filter(pk=file_id).update(
                    status=AudienceFile.Status.VALID, matched_customers=matched, **fields
                )
            return f"valid: {stored} rows, {matched} matched"
        AudienceFile.objects.filter(pk=file_id).update(status=AudienceFile.Status.INVALID, **fields)
        return f"invalid: {outcome.error_count} errors"
    finally:
        spool.unlink(missing_ok=True)


class AudienceFileInUse(ValueError):
    """The file is (or was) the audience of a campaign, which must keep it."""


def do_delete_audience_file(audience_file: AudienceFile, actor: object) -> None:
    """Delete an audience file nobody uses: its rows, then its stored copy
    once the deletion has committed. Refuses a file still validating, and a
    file a campaign names as its audience (AudienceFileInUse, naming them):
    the campaign's page and statistics need it."""
    if audience_file.status == AudienceFile.Status.VALIDATING:
        raise AudienceFileInUse(
            _("%(name)s is still being validated; delete it once it is done.")
            % {"name": audience_file.name}
        )
    stored = audience_file.file.name
    storage = audience_file.file.storage
    try:
        with transaction.atomic():
            audience_file.delete()
            record_audit(audience_file.project, actor, "audience_file.delete", audience_file.name)
    except ProtectedError as exc:
        names = sorted({f"“{user}”" for user in exc.protected_objects})
        raise AudienceFileInUse(
            _("%(name)s is the audience of %(campaigns)s; it cannot be deleted.")
            % {"name": audience_file.name, "campaigns": ", ".join(names)}
        ) from exc
    if stored:
        transaction.on_commit(lambda: storage.delete(stored))
