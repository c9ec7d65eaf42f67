"""Queue tasks of consent; plain functions, safe to run twice."""

from __future__ import annotations

import time
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from channels.gateways import NoGatewayConfigured, default_gateway_for
from consent.actions import do_schedule_reminders
from consent.queries import notice_config
from consent.sending import PRODUCER, hand_over, projects_with_due_notices, sync_outcomes
from consent.texts import REMINDER
from dispatch.actions import do_open_outbox
from dispatch.models import Outbox
from projects.models import Project

# Run daily; two days ahead so a late or skipped run still finds every
# reminder before its 10:00 (the 30 days' lead absorbs longer outages).
REMINDER_HORIZON = timedelta(days=2)
SEND_TASK = "consent.tasks.send_notices"


def schedule_reminders() -> dict[str, int]:
    """Create the two-year reminders due soon in every project that has them
    switched on; {project id: reminders created}. `send_notices` sends them."""
    now = timezone.now()
    created = {}
    for project in Project.objects.all().iterator():
        if REMINDER in notice_config(project).enabled_kinds():
            created[str(project.pk)] = do_schedule_reminders(project, now + REMINDER_HORIZON, now)
    return created


def time_budget() -> float:
    """Seconds a run may hand over before it hands on to a successor."""
    timeout = settings.Q_CLUSTER["timeout"]
    return max(timeout / 2, timeout - 30)


def send_notices() -> dict[str, int]:
    """Every minute (and when a worker starts): the outcome of notices sent
    so far back to them, then every project's due notices to the send core
    (consent/sending.py), a batch per transaction. When its time budget is
    spent with notices left, it enqueues its successor. Safe to run twice,
    concurrently, and after a crash."""
    from django_q.tasks import async_task

    now = timezone.now()
    result = {f"synced_{state}": n for state, n in sync_outcomes(now).items()}
    # An outbox the core paused (no gateway then) goes on once there is one.
    for outbox in Outbox.objects.filter(
        producer_kind=PRODUCER, status=Outbox.Status.PAUSED
    ).select_related("project"):
        try:
            default_gateway_for(outbox.project)
        except NoGatewayConfigured:
            continue
        with transaction.atomic():
            do_open_outbox(outbox.pk)
    deadline = time.monotonic() + time_budget()
    handed = 0
    more = False
    for project in projects_with_due_notices(now):
        while True:
            if time.monotonic() > deadline:
                more = True
                break
            taken = hand_over(project, now, limit=settings.CONSENT_NOTICE_BATCH_SIZE)
            handed += taken
            if not taken:
                break
        if more:
            break
    if more:
        async_task(SEND_TASK)
    result["handed_over"] = handed
    return result
