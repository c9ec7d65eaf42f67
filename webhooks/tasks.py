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
from django.core.cache import cache
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
# How long one run delivers before it queues its continuation: other tasks
# (another project's campaign, its deliveries) get a worker in between.
RUN_SLICE_SECONDS = 10.0


def enqueue_delivery(project_id: object = None, *, again: bool = False) -> None:
    """Start a delivery run for one project (or, without one, for all).

    At most one run per project waits in the queue: a bulk change commits
    chunk after chunk, and a trigger per commit would fill the queue with
    copies of the same run ahead of every other project's work. The marker
    is cleared when the run starts, so an event published during a run still
    gets a run of its own. `again` (a run handing over, the reconciler) skips
    the check: those must never be lost to a stale marker.
    """
    args = (str(project_id),) if project_id is not None else ()
    queued = project_id is not None and not again
    if queued and not cache.add(_queued_key(project_id), 1, timeout=settings.Q_CLUSTER["retry"]):
        return
    async_task(TASK, *args, q_options={"group": "webhooks"})


def _queued_key(project_id: object) -> str:
    return f"webhooks:run-queued:{project_id}"


def deliver_webhook_events(project_id: str | None = None) -> dict[str, int]:
    """Deliver due events (of one project, or of every project) for one time
    slice, then hand over to a fresh task if more are due, and leave a
    trigger for the earliest retry.

    Fair by construction: a run over several projects takes one batch from
    each in turn, and a run stops after `RUN_SLICE_SECONDS` and queues its
    continuation behind whatever else is waiting. So a project that publishes
    a million events delays another project's one event by at most one batch
    per pass (a run of its own) and one slice (a queued task), not by the
    million.
    """
    if project_id is not None:
        cache.delete(_queued_key(project_id))
    started = time.monotonic()
    # Events that fail in this run wait for their backoff, not for the loop.
    due_by = timezone.now()
    budget = min(
        RUN_SLICE_SECONDS,
        settings.Q_CLUSTER["timeout"] - settings.WEBHOOK_TIMEOUT_SECONDS - _MARGIN_SECONDS,
    )
    totals = {"claimed": 0, "delivered": 0, "retry": 0, "failed": 0}
    projects = [project_id] if project_id is not None else delivery.projects_with_due_events(due_by)
    while projects:
        for pid in list(projects):
            counts = delivery.deliver_batch(pid, due_by=due_by)
            for key, value in counts.items():
                totals[key] += value
            if not counts["claimed"]:
                projects.remove(pid)
        if projects and time.monotonic() - started > budget:
            # More is due: queue the rest behind the other work waiting.
            for pid in projects:
                enqueue_delivery(pid, again=True)
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
    project_ids = delivery.projects_with_due_events(now)
    for project_id in project_ids:
        enqueue_delivery(project_id, again=True)
    return {"failed_without_endpoint": failed, "projects": len(project_ids)}
