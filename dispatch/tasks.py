"""Queue tasks of the send core. They are triggers only (SPEC §10): each takes
ids, works through `dispatch.pipeline`, and is safe to run twice.

- `send_outbox(id, slot)`: batches until nothing is due or its time budget
  is spent, then hands on to a successor; slots cap the parallel chains.
- `reconcile_outboxes()`: every minute and when a worker starts.
"""

from __future__ import annotations

import logging
import time
from datetime import datetime, timedelta

from django.conf import settings
from django.utils import timezone
from django_q.models import Schedule
from django_q.tasks import async_task, schedule

from dispatch import handover, pipeline, reports, signals
from dispatch.actions import SEND_TASK, wake_senders
from dispatch.models import Message, Outbox, RateWindow

logger = logging.getLogger(__name__)


def time_budget() -> float:
    """Seconds a task may work before handing on: well inside the timeout."""
    timeout = settings.Q_CLUSTER["timeout"]
    return max(timeout / 2, timeout - 30)


def send_outbox(outbox_id: int, slot: int = 0) -> str:
    owner = pipeline.process_owner()
    if not pipeline.take_slot(outbox_id, slot, owner, timezone.now(), started=True):
        return "slot taken"
    try:
        result = _send_until_done(outbox_id, slot, owner)
    finally:
        pipeline.free_slot(outbox_id, slot, owner)
    if result == "idle" and pipeline.pending_work(outbox_id)["due_now"]:
        # Enqueued between the last look and the slot's release: the
        # producer's wake-up may have seen this chain still alive.
        result = "continues"
    if result == "continues":
        pipeline.mark_queued(outbox_id, slot, timezone.now(), force=True)
        async_task(SEND_TASK, outbox_id, slot)
    elif result == "idle":
        signals.outbox_idle.send(sender=Outbox, outbox_id=outbox_id)
    return result


def _send_until_done(outbox_id: int, slot: int, owner: str) -> str:
    """Batches until nothing is due ("idle"), the outbox is no longer open,
    its slot was taken over, or the time budget is spent ("continues")."""
    deadline = time.monotonic() + time_budget()
    last_claim = float("-inf")  # no wait for more before the first claim
    hand_on = handover.HandOn()
    while time.monotonic() < deadline:
        if hand_on.due():
            return "continues"  # a journey's runner waits for this worker
        status, sealed_at, linger = Outbox.objects.values_list(
            "status", "sealed_at", "linger_seconds"
        ).get(pk=outbox_id)
        if status != Outbox.Status.OPEN:
            return status
        if not pipeline.renew_slot(outbox_id, slot, owner):
            return "slot lost"
        outcome = pipeline.send_batch(outbox_id, owner=owner)
        if outcome.claimed:
            last_claim = time.monotonic()
            continue
        if outcome.rate_limited:
            time.sleep(0.2)
            continue
        pipeline.release_stale_claims(outbox_id)
        if pipeline.close_if_done(outbox_id):
            return "closed"
        work = pipeline.pending_work(outbox_id)
        if work["due_now"] or work["sending"]:
            # In-flight batches of other slots, or claims that will turn stale.
            time.sleep(0.2)
            continue
        if work["next_due"] is not None:
            wait = (work["next_due"] - timezone.now()).total_seconds()
            if wait < deadline - time.monotonic():
                time.sleep(max(wait, 0.05))
                continue
            _wake_at(outbox_id, slot, work["next_due"])
            return "waiting"
        if sealed_at is None and time.monotonic() - last_claim < linger:
            # A producer filling the outbox in chunks (a campaign's
            # materialiser) adds the next one in a moment: staying beats a
            # new task's start (Outbox.linger_seconds).
            time.sleep(0.2)
            continue
        return "idle"
    return "continues"


def _wake_at(outbox_id: int, slot: int, when: datetime) -> None:
    name = f"outbox-send-{outbox_id}-{slot}-{int(when.timestamp())}"
    if Schedule.objects.filter(name=name).exists():
        return
    schedule(
        SEND_TASK,
        outbox_id,
        slot,
        name=name,
        schedule_type=Schedule.ONCE,
        repeats=-1,
        next_run=when,
    )


def reconcile_outboxes(*, restart: bool = False) -> dict[str, int]:
    """Find outbox work no live task owns and enqueue it again.

    - stale claims back to queued;
    - open outboxes with due work and no send task that renewed its slot
      within the claim timeout — or every open outbox with work when a
      worker has just started (`restart`): its predecessor's tasks died
      with it;
    - sealed outboxes with nothing left are closed;
    - queued messages of a closed outbox (a retry that raced the close);
    - sent messages whose delivery report never came end as failed
      (`reports.expire_missing_reports`).
    """
    now = timezone.now()
    counts = {"enqueued": 0, "released": 0, "closed": 0, "cancelled": 0}
    busy = (
        Outbox.objects.filter(
            status=Outbox.Status.OPEN,
            messages__status__in=[Message.Status.QUEUED, Message.Status.SENDING],
        )
        .values_list("pk", flat=True)
        .distinct()
    )
    for outbox_id in busy:
        counts["released"] += pipeline.release_stale_claims(outbox_id, now)
        work = pipeline.pending_work(outbox_id)
        if (work["due_now"] or work["sending"]) and wake_senders(outbox_id, force=restart):
            counts["enqueued"] += 1
    sealed = Outbox.objects.filter(status=Outbox.Status.OPEN, sealed_at__isnull=False)
    for outbox_id in sealed.values_list("pk", flat=True):
        counts["closed"] += int(pipeline.close_if_done(outbox_id))
    for outbox_id in (
        Message.objects.filter(status=Message.Status.QUEUED, outbox__status=Outbox.Status.CLOSED)
        .values_list("outbox_id", flat=True)
        .distinct()
    ):
        counts["cancelled"] += pipeline.skip_queued(outbox_id, Message.SkipReason.CANCELLED)
    counts["no_report"] = reports.expire_missing_reports(now)
    RateWindow.objects.filter(window_start__lt=now - timedelta(minutes=5)).delete()
    return counts
