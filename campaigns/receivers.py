"""Signal receivers: what the send core says about a campaign's outbox, and
worker start-up."""

from __future__ import annotations

import logging

from django.dispatch import receiver
from django_q.signals import post_spawn

from campaigns.models import Campaign
from dispatch.signals import outbox_closed, outbox_paused, sender_refused

logger = logging.getLogger(__name__)


def _campaign_of(outbox_id: int) -> int | None:
    return Campaign.objects.filter(outbox_id=outbox_id).values_list("pk", flat=True).first()


@receiver(outbox_closed, dispatch_uid="campaigns.outbox_closed")
def complete_campaign(sender: object, outbox_id: int, **kwargs: object) -> None:
    """The sealed outbox ran out of work: the campaign is complete."""
    from campaigns.actions import do_complete_campaign

    campaign_id = _campaign_of(outbox_id)
    if campaign_id is not None:
        do_complete_campaign(campaign_id)


@receiver(sender_refused, dispatch_uid="campaigns.sender_refused")
def end_campaign(sender: object, outbox_id: int, reason: str, **kwargs: object) -> None:
    """The sender may no longer send: the campaign ends with the reason."""
    from campaigns.actions import do_end_campaign

    campaign_id = _campaign_of(outbox_id)
    if campaign_id is not None:
        do_end_campaign(campaign_id, reason)


@receiver(outbox_paused, dispatch_uid="campaigns.outbox_paused")
def pause_campaign(sender: object, outbox_id: int, reason: str, **kwargs: object) -> None:
    """The core paused the outbox (no gateway): so is the campaign."""
    from campaigns.actions import do_pause_campaign_by_system

    campaign_id = _campaign_of(outbox_id)
    if campaign_id is not None:
        do_pause_campaign_by_system(campaign_id, reason)


@receiver(post_spawn, dispatch_uid="campaigns.worker_started")
def reconcile_on_worker_start(sender: object, proc_name: str = "", **kwargs: object) -> None:
    """A worker (re)started: tasks of its predecessor died with it. Enqueue
    the reconciler instead of waiting for the next minute's schedule."""
    from django.conf import settings
    from django_q.tasks import async_task

    if settings.Q_CLUSTER.get("sync"):
        return
    try:
        async_task("campaigns.tasks.reconcile_campaigns", restart=True)
    except Exception:
        logger.exception("could not enqueue the campaign reconciler")
