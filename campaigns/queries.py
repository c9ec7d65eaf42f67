"""Read-only questions about campaigns: progress and statistics from the
counters, never from a scan of the messages."""

from __future__ import annotations

from typing import Any

from django.db.models import F, OuterRef, QuerySet, Subquery
from django.utils import timezone

from campaigns.models import Campaign
from dispatch.models import SKIP_REASONS, Message, OutboxStats
from projects.models import Project


def message_of_project(project: Project, message_id: int) -> Message | None:
    """One message of the project, with `campaign` (None for a message of
    another producer's outbox, such as a test SMS) set on it."""
    message = (
        Message.objects.filter(project=project, pk=message_id).select_related("outbox").first()
    )
    if message is not None:
        message.campaign = Campaign.objects.filter(outbox_id=message.outbox_id).first()
        message.campaign_id = message.campaign.pk if message.campaign else None
    return message


def campaign_progress(campaign: Campaign) -> dict[str, Any]:
    stats = OutboxStats.objects.get(pk=campaign.outbox_id)
    done = stats.recipients - max(stats.queued, 0)
    return {
        "status": campaign.status,
        "recipients": stats.recipients,
        "queued": max(stats.queued, 0),
        "sent": stats.sent,
        "delivered": stats.delivered,
        "failed": stats.failed,
        "heldNightTime": stats.held_night_time,
        "skipped": {reason: getattr(stats, f"skipped_{reason}") for reason in SKIP_REASONS},
        "percent": round(100 * done / stats.recipients) if stats.recipients else 0,
        "materialised": campaign.is_materialised,
    }


def night_hold_waiting(campaign: Campaign) -> dict[str, Any] | None:
    """While a promotional campaign waits for the morning: how many of its
    messages were held at night (the counter) and when the ones still held
    go. Two reads of one message each, on the claim index (campaign,
    status, id), so the page can ask every second. None when nothing waits."""
    if campaign.status not in (Campaign.Status.SENDING, Campaign.Status.PAUSED):
        return None
    held = (
        OutboxStats.objects.filter(pk=campaign.outbox_id)
        .values_list("held_night_time", flat=True)
        .first()
    )
    if not held:
        return None
    waiting = Message.objects.filter(
        outbox_id=campaign.outbox_id, status=Message.Status.QUEUED, held_until__gt=timezone.now()
    ).values_list("held_until", flat=True)
    first = waiting.order_by("id").first()
    if first is None:
        return None
    last = waiting.order_by("-id").first() or first
    return {"held": held, "from": min(first, last), "until": max(first, last)}


def messages_to_number(project_id: object, phone_number: str) -> QuerySet[Message]:
    """The messages of the project to one phone number, newest first: not
    yet sent (queued, held, skipped) before the sent ones, then by send time.
    Reads the (project, phone_number, sent_at) index the frequency cap uses."""
    campaign = Campaign.objects.filter(outbox_id=OuterRef("outbox_id"))
    return (
        Message.objects.filter(project_id=project_id, phone_number=phone_number)
        .annotate(
            campaign_id=Subquery(campaign.values("pk")[:1]),
            campaign_name=Subquery(campaign.values("name")[:1]),
            producer_kind=F("outbox__producer_kind"),
        )
        .order_by(F("sent_at").desc(nulls_first=True), "-id")
    )
