"""Queue tasks of the campaigns app. They are triggers only (SPEC §10): each
takes ids, works through `campaigns.materialise`, and is safe to run twice.
Sending is the send core's (`dispatch.tasks.send_outbox`).

- `start_scheduled_campaign(id, at)`: runs up to ~40 s early and sleeps until
  `at` (django-q2's scheduler only looks every 30 s), in steps shorter than the
  task timeout; then `do_start_scheduled_campaign`, which returns a campaign
  that is no longer ready to draft with the reason instead of starting it (no
  retry, no loop).
- `schedule_start(id, at)` / `forget_scheduled_start(id)`: enqueued by the
  schedule and unschedule actions, by name, after their commit.
- `materialise_campaign(id)`: audience → messages, chunk by chunk.
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

from campaigns import materialise
from campaigns.actions import (
    do_complete_campaign,
    do_end_campaign,
    do_start_scheduled_campaign,
    skip_cancelled_messages,
)
from campaigns.models import Campaign
from dispatch.actions import do_open_outbox, wake_senders
from dispatch.handover import HandOn
from dispatch.models import Outbox
from dispatch.pipeline import claim_timeout

logger = logging.getLogger(__name__)

START = "campaigns.tasks.start_scheduled_campaign"
MATERIALISE = "campaigns.tasks.materialise_campaign"
# Early enough that the scheduler (every ~30 s) enqueues the start in time.
SCHEDULE_LEAD = timedelta(seconds=40)


def time_budget() -> float:
    """Seconds a task may work before handing on: well inside the timeout."""
    timeout = settings.Q_CLUSTER["timeout"]
    return max(timeout / 2, timeout - 30)


def enqueue_pipeline(campaign_id: int) -> None:
    """Open the campaign's outbox (its senders wake) and enqueue the
    materialisation when unfinished."""
    campaign = Campaign.objects.get(pk=campaign_id)
    if campaign.status != Campaign.Status.SENDING:
        return
    materialise.sync_outbox(campaign)
    do_open_outbox(campaign.outbox_id)
    if campaign.materialised_at is None:
        async_task(MATERIALISE, campaign_id)


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
    hand_on = HandOn()
    while time.monotonic() < deadline and not hand_on.due():
        read = materialise.materialise_chunk(campaign_id)
        if read is None:
            return "stopped"
        if read == 0:
            return "materialised"
    async_task(MATERIALISE, campaign_id)
    return "continues"


def reconcile_campaigns(*, restart: bool = False) -> dict[str, int]:
    """Find campaign work no live task owns and enqueue it again (the send
    core's reconciler looks after the outboxes' senders and claims).

    - scheduled campaigns whose time has come (a lost start task);
    - sending campaigns whose materialiser went silent — or every unfinished
      one when a worker has just started (`restart`): its predecessor's
      tasks died with it;
    - cancelled campaigns whose outbox is still open: it closes, and what is
      still queued is skipped;
    - sending campaigns whose outbox is closed: completed (or ended, with
      the outbox's reason). The core tells a campaign after the close
      committed (`dispatch.signals`); a worker killed in between would
      otherwise leave the campaign sending for ever.
    """
    now = timezone.now()
    counts = {"started": 0, "enqueued": 0, "cancelled": 0, "completed": 0}
    for campaign in Campaign.objects.filter(
        status=Campaign.Status.SCHEDULED, scheduled_at__lte=now
    ):
        counts["started"] += int(do_start_scheduled_campaign(campaign, campaign.scheduled_at))
    silent_since = now - claim_timeout()
    # Started, but the outbox never opened (the process died before the
    # start's after-commit step ran). Only once the start is older than the
    # claim timeout: a start a moment ago has its own pipeline task on the
    # way, and a second one would materialise the first chunk twice (the
    # loser's work is thrown away at the cursor).
    for campaign_id in Campaign.objects.filter(
        status=Campaign.Status.SENDING,
        outbox__status=Outbox.Status.PAUSED,
        heartbeat_at__lt=silent_since,
    ).values_list("pk", flat=True):
        enqueue_pipeline(campaign_id)
        counts["enqueued"] += 1
    for campaign in Campaign.objects.filter(
        status=Campaign.Status.SENDING, materialised_at__isnull=True
    ):
        if restart or campaign.heartbeat_at is None or campaign.heartbeat_at < silent_since:
            async_task(MATERIALISE, campaign.pk)
            # The lost materialiser's enqueues may have found senders alive.
            wake_senders(campaign.outbox_id)
            counts["enqueued"] += 1
    # Cancelled, but the outbox was not closed with it (a retry raced the
    # cancel, or the status was set by hand).
    for campaign_id in Campaign.objects.filter(
        status=Campaign.Status.CANCELLED,
        outbox__status__in=[Outbox.Status.OPEN, Outbox.Status.PAUSED],
    ).values_list("pk", flat=True):
        counts["cancelled"] += skip_cancelled_messages(campaign_id)
    for campaign_id, reason in Campaign.objects.filter(
        status=Campaign.Status.SENDING, outbox__status=Outbox.Status.CLOSED
    ).values_list("pk", "outbox__status_reason"):
        if reason:
            counts["completed"] += int(do_end_campaign(campaign_id, reason))
        else:
            counts["completed"] += int(do_complete_campaign(campaign_id))
    return counts
