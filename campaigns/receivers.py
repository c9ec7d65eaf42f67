"""Signal receivers: delivery reports from channels, and worker start-up."""

from __future__ import annotations

import logging

from django.db import transaction
from django.dispatch import receiver
from django.utils import timezone
from django_q.signals import post_spawn

from campaigns.dispatch import bump
from campaigns.models import Message, parse_reference
from channels.gateways.base import DeliveryReport
from channels.signals import delivery_report_received
from stats.counters import bump_minute

logger = logging.getLogger(__name__)
S = Message.Status


@receiver(delivery_report_received, dispatch_uid="campaigns.delivery_report")
def apply_delivery_report(sender: object, report: DeliveryReport, **kwargs: object) -> int:
    """Move the message forward (never back; a repeat changes nothing) and
    count it. A report may overtake the sender's own "sent" mark: from
    `sending` it counts as sent too."""
    parsed = parse_reference(report.reference)
    if parsed is None:
        return 0
    campaign_id, phone = parsed
    rows = Message.objects.filter(campaign_id=campaign_id, phone_number=phone)
    when = report.occurred_at or timezone.now()
    fields: dict[str, object] = {"claim_token": "", "claimed_at": None}
    if report.provider_message_id:
        fields["provider_message_id"] = report.provider_message_id
    if report.status == "delivered":
        fields.update(status=S.DELIVERED, delivered_at=when)
        counter = "delivered"
    else:
        fields.update(
            status=S.FAILED,
            error_code=(report.error_code or "undeliverable")[:50],
            error_message=(report.error_message or report.error_code)[:255],
        )
        counter = "failed"
    with transaction.atomic():
        # Lock the row first: on PostgreSQL two conditional UPDATEs would both
        # miss a row whose "sent" mark commits between them, losing the report.
        current = rows.select_for_update().values_list("pk", "status").first()
        if current is None:
            return 0
        pk, status = current
        if status == S.SENT:
            Message.objects.filter(pk=pk).update(**fields)
            bump(campaign_id, **{counter: 1})
            bump_minute(campaign_id, when, **{counter: 1})
            return 1
        if status in (S.SENDING, S.QUEUED):
            # Overtaken: the sender has not marked it sent yet (or crashed first).
            Message.objects.filter(pk=pk).update(sent_at=when, **fields)
            bump(campaign_id, sent=1, queued=-1, **{counter: 1})
            bump_minute(campaign_id, when, sent=1, **{counter: 1})
            return 1
    return 0


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
