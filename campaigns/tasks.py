"""Queue tasks of the campaigns app. They are triggers only (SPEC §10): each
takes ids, works through `campaigns.dispatch`, and is safe to run twice.

- `start_scheduled_campaign(id, at)`: runs up to ~40 s early and sleeps until
  `at` (django-q2's scheduler only looks every 30 s), in steps shorter than the
  task timeout; then `do_start_scheduled_campaign`, which returns a campaign
  that is no longer ready to draft with the reason instead of starting it (no
  retry, no loop).
- `schedule_start(id, at)` / `forget_scheduled_start(id)`: enqueued by the
  schedule and unschedule actions, by name, after their commit.
- `materialise_campaign(id)`: audience → messages, chunk by chunk.
- `send_campaign(id, slot)`: batches until nothing is due or its time budget is
  spent, then hands on to a successor; slots cap the parallel chains.
- `reconcile_campaigns()`: every minute and when a worker starts.
"""

from __future__ import annotations

import logging
import time
from datetime import datetime, timedelta

from django.conf import settings
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django_q.models import Schedule
from django_q.tasks import async_task, schedule

from campaigns import dispatch
from campaigns.actions import do_start_scheduled_campaign, skip_cancelled_messages
from campaigns.models import Campaign, Message, RateWindow

logger = logging.getLogger(__name__)

START = "campaigns.tasks.start_scheduled_campaign"
MATERIALISE = "campaigns.tasks.materialise_campaign"
SEND = "campaigns.tasks.send_campaign"
# Early enough that the scheduler (every ~30 s) enqueues the start in time.
SCHEDULE_LEAD = timedelta(seconds=40)


def time_budget() -> float:
    """Seconds a task may work before handing on: well inside the timeout."""
    timeout = settings.Q_CLUSTER["timeout"]
    return max(timeout / 2, timeout - 30)


def enqueue_pipeline(campaign_id: int) -> None:
    """Enqueue materialisation (when unfinished) and every sender slot."""
    campaign = Campaign.objects.only("materialised_at").get(pk=campaign_id)
    if campaign.materialised_at is None:
        async_task(MATERIALISE, campaign_id)
    for slot in range(settings.DISPATCH_SENDERS):
        async_task(SEND, campaign_id, slot)


def start_scheduled_campaign(campaign_id: int, at: str) -> str:
    when = parse_datetime(at)
    campaign = Campaign.objects.filter(pk=campaign_id).first()
    if campaign is None or campaign.status != Campaign.Status.SCHEDULED:
        return "not scheduled"
    if campaign.scheduled_at != when:
        return "rescheduled"  # an edit scheduled another start
    wait = (when - timezone.now()).total_seconds()
    step = time_budget()
    if wait > step:
        time.sleep(step)
        async_task(START, campaign_id, at)
        return "waiting"
    if wait > 0:
        time.sleep(wait)
    if do_start_scheduled_campaign(campaign, when):
        return "started"
    return Campaign.objects.values_list("status", flat=True).get(pk=campaign_id)


def _start_schedule_prefix(campaign_id: int) -> str:
    return f"campaign-start-{campaign_id}-"


def schedule_start(campaign_id: int, at: datetime) -> None:
    """Start at `at`: now-ish via the queue when close, else a one-off
    Schedule that fires SCHEDULE_LEAD early."""
    iso = at.isoformat()
    if at - timezone.now() <= SCHEDULE_LEAD:
        async_task(START, campaign_id, iso)
        return
    schedule(
        START,
        campaign_id,
        iso,
        name=f"{_start_schedule_prefix(campaign_id)}{int(at.timestamp())}",
        schedule_type=Schedule.ONCE,
        repeats=-1,
        next_run=at - SCHEDULE_LEAD,
    )


def forget_scheduled_start(campaign_id: int) -> int:
    """Drop the pending one-off start Schedules of a campaign that is no
    longer scheduled (unscheduled by a person, or returned to draft by its
    scheduled start): nothing is left to fire for it."""
    if Campaign.objects.filter(pk=campaign_id, status=Campaign.Status.SCHEDULED).exists():
        return 0  # scheduled again meanwhile: its new start stays
    deleted, _rows = Schedule.objects.filter(
        func=START, name__startswith=_start_schedule_prefix(campaign_id)
    ).delete()
    return deleted


def materialise_campaign(campaign_id: int) -> str:
    deadline = time.monotonic() + time_budget()
    while time.monotonic() < deadline:
        read = dispatch.materialise_chunk(campaign_id)
        if read is None:
            return "stopped"
        if read == 0:
            return "materialised"
    async_task(MATERIALISE, campaign_id)
    return "continues"


def send_campaign(campaign_id: int, slot: int = 0) -> str:
    owner = dispatch.process_owner()
    if not dispatch.take_slot(campaign_id, slot, owner, timezone.now()):
        return "slot taken"
    deadline = time.monotonic() + time_budget()
    try:
        while time.monotonic() < deadline:
            status = Campaign.objects.values_list("status", flat=True).get(pk=campaign_id)
            if status != Campaign.Status.SENDING:
                return status
            if not dispatch.renew_slot(campaign_id, slot, owner):
                return "slot lost"
            outcome = dispatch.send_batch(campaign_id, owner=owner)
            if outcome.claimed:
                continue
            if outcome.rate_limited:
                time.sleep(0.2)
                continue
            dispatch.release_stale_claims(campaign_id)
            if dispatch.finish_if_done(campaign_id):
                return "completed"
            work = dispatch.pending_work(campaign_id)
            campaign = Campaign.objects.only("materialised_at").get(pk=campaign_id)
            if work["due_now"] or work["sending"] or campaign.materialised_at is None:
                # More is coming: the materialiser, in-flight batches of other
                # slots, or claims that will turn stale.
                time.sleep(0.2)
                continue
            if work["next_due"] is not None:
                wait = (work["next_due"] - timezone.now()).total_seconds()
                if wait < deadline - time.monotonic():
                    time.sleep(max(wait, 0.05))
                    continue
                _wake_at(campaign_id, slot, work["next_due"])
                return "waiting"
            return "idle"
    finally:
        dispatch.free_slot(campaign_id, slot, owner)
    async_task(SEND, campaign_id, slot)
    return "continues"


def _wake_at(campaign_id: int, slot: int, when: datetime) -> None:
    name = f"campaign-send-{campaign_id}-{slot}-{int(when.timestamp())}"
    if Schedule.objects.filter(name=name).exists():
        return
    schedule(
        SEND,
        campaign_id,
        slot,
        name=name,
        schedule_type=Schedule.ONCE,
        repeats=-1,
        next_run=when,
    )


def reconcile_campaigns(*, restart: bool = False) -> dict[str, int]:
    """Find campaign work no live task owns and enqueue it again.

    - scheduled campaigns whose time has come (a lost start task);
    - sending campaigns whose materialiser went silent, or with due work and
      no send task that renewed its slot within the claim timeout — or every
      sending campaign when a worker has just started (`restart`): its
      predecessor's tasks died with it;
    - stale claims back to queued;
    - queued messages of a cancelled campaign (a retry that raced the cancel).
    """
    now = timezone.now()
    counts = {"started": 0, "enqueued": 0, "released": 0, "cancelled": 0}
    for campaign in Campaign.objects.filter(
        status=Campaign.Status.SCHEDULED, scheduled_at__lte=now
    ):
        counts["started"] += int(do_start_scheduled_campaign(campaign, campaign.scheduled_at))
    silent_since = now - dispatch.claim_timeout()
    for campaign in Campaign.objects.filter(status=Campaign.Status.SENDING):
        counts["released"] += dispatch.release_stale_claims(campaign.pk, now)
        if restart:
            enqueue_pipeline(campaign.pk)
            counts["enqueued"] += 1
            continue
        if campaign.materialised_at is None and (
            campaign.heartbeat_at is None or campaign.heartbeat_at < silent_since
        ):
            async_task(MATERIALISE, campaign.pk)
            counts["enqueued"] += 1
        work = dispatch.pending_work(campaign.pk)
        if (work["due_now"] or work["sending"]) and not dispatch.live_senders(campaign.pk, now):
            for slot in range(settings.DISPATCH_SENDERS):
                async_task(SEND, campaign.pk, slot)
            counts["enqueued"] += 1
    for campaign_id in (
        Message.objects.filter(
            status=Message.Status.QUEUED, campaign__status=Campaign.Status.CANCELLED
        )
        .values_list("campaign_id", flat=True)
        .distinct()
    ):
        counts["cancelled"] += skip_cancelled_messages(campaign_id)
    RateWindow.objects.filter(window_start__lt=now - timedelta(minutes=5)).delete()
    return counts
