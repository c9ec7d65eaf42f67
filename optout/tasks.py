"""Background opt-out imports (django-q2).

The task takes the import's id and is safe to run twice, or at once on two
workers (see `do_apply_optout_import`): the import's cursor in the database
says what is done, the task is only the trigger.
"""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from optout.actions import do_apply_optout_import, enqueue_optout_import
from optout.models import OptOutImport

# A run hands over to a fresh task after about this long: the queue's other
# tasks (another project's campaign, webhook deliveries) get a worker in
# between, and no run comes near django-q2's timeout.
RUN_SECONDS = 20.0


def run_optout_import(import_id: str) -> str:
    return do_apply_optout_import(import_id, budget_seconds=RUN_SECONDS)


def reconcile_optout_imports() -> int:
    """Re-enqueue imports still importing long after their task was handed out
    (the Redis broker forgets a task whose worker died); applying twice is safe."""
    patience = timedelta(seconds=settings.Q_CLUSTER["retry"] + settings.Q_CLUSTER["timeout"])
    stale = OptOutImport.objects.filter(
        status=OptOutImport.Status.IMPORTING, enqueued_at__lt=timezone.now() - patience
    )
    count = 0
    for optout_import in stale.only("pk"):
        enqueue_optout_import(optout_import)
        count += 1
    return count
