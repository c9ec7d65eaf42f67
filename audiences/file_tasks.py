"""Background validation of large audience files (django-q2).

The task takes the file's id and is safe to run twice (see
`do_validate_audience_file`): the database says what is done, the task is
only the trigger.
"""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from audiences.files.actions import do_validate_audience_file, enqueue_validation
from audiences.models import AudienceFile


def validate_audience_file(file_id: str) -> str:
    return do_validate_audience_file(file_id)


def reconcile_audience_files() -> int:
    """Re-enqueue files still validating long after their task was handed out.

    The Redis broker forgets a task whose worker died, and the ORM broker's
    re-delivery can be off; validating twice is safe, so when in doubt, again.
    """
    patience = timedelta(seconds=settings.Q_CLUSTER["retry"] + settings.Q_CLUSTER["timeout"])
    stale = AudienceFile.objects.filter(
        status=AudienceFile.Status.VALIDATING, enqueued_at__lt=timezone.now() - patience
    )
    count = 0
    for audience_file in stale.only("pk"):
        enqueue_validation(audience_file)
        count += 1
    return count
