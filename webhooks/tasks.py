"""Queue tasks of the webhooks app. Plain functions taking ids, safe to run
twice or at once on several workers: every event is claimed before it is sent
(see webhooks.delivery).

Triggers: `publish()` enqueues `deliver_webhook_events` when its transaction
commits; a failed attempt leaves a one-off django-q2 Schedule at the earliest
retry time; the every-minute reconciler (a Schedule made by a data migration)
catches anything those triggers missed (a lost task, a killed worker).
"""

from __future__ import annotations

import logging
import time
from datetime import datetime

from django.conf import settings
from django.utils import timezone
from django_q.models import Schedule
from django_q.tasks import async_task

from webhooks import delivery

logger = logging.getLogger(__name__)

TASK = "webhooks.tasks.deliver_webhook_events"
RETRY_SCHEDULE = "webhooks.retry"
# Leave room for the last batch (about one HTTP timeout) before django-q2's
# own task timeout would kill the run.
_MARGIN_SECONDS = 5.0


def enqueue_delivery(project_id: object = None) -> None:
    args = (str(project_id),) if project_id is not None else ()
    async_task(TASK, *args, q_options={"group": "webhooks"})


def deliver_webhook_events(project_id: str | None = None) -> dict[str, int]:
    """Deliver due events (of one project, or all) batch after batch until
    none is due, then leave a trigger for the earliest retry."""
    started = time.monotonic()
    # Events that fail in this run wait for their backoff, not for the loop.
    due_by = timezone.now()
    budget = settings.Q_CLUSTER["timeout"] - settings.WEBHOOK_TIMEOUT_SECONDS - _MARGIN_SECONDS
    totals = {"claimed": 0, "delivered": 0, "retry": 0, "failed": 0}
    while True:
        counts = delivery.deliver_batch(project_id, due_by=due_by)
        for key, value in counts.items():
            totals[key] += value
        if not counts["claimed"]:
            break
        if time.monotonic() - started > budget:
            # More may be due: hand over to a fresh task rather than be killed.
            enqueue_delivery(project_id)
            break
    schedule_retry(delivery.next_retry_at(project_id))
    return totals


def schedule_retry(when: datetime | None) -> None:
    """Make sure a delivery run starts by `when`: one shared one-off Schedule,
    moved earlier when needed (django-q2's scheduler looks every 30 s)."""
    if when is None:
        return
    if Schedule.objects.filter(name=RETRY_SCHEDULE, next_run__lte=when).exists():
        return
    updated = Schedule.objects.filter(name=RETRY_SCHEDULE).update(next_run=when)
    if not updated:
        Schedule.objects.create(
            name=RETRY_SCHEDULE,
            func=TASK,
            schedule_type=Schedule.ONCE,
            repeats=-1,
            next_run=when,
        )


def reconcile_webhook_events() -> dict[str, int]:
    """Every minute: give up on events that never had an endpoint, and start a
    delivery run for each project with due events no run is working on."""
    now = timezone.now()
    failed = delivery.fail_events_without_endpoint(now)
    project_ids = set(
        delivery.due_events(now).values_list("project_id", flat=True).distinct().order_by()
    )
    for project_id in project_ids:
        enqueue_delivery(project_id)
    return {"failed_without_endpoint": failed, "projects": len(project_ids)}
