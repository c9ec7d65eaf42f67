"""Read-only questions about campaigns: progress and statistics from the
counters, never from a scan of the messages."""

from __future__ import annotations

from typing import Any

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
