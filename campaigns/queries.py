"""Read-only questions about campaigns: progress and statistics from the
counters, never from a scan of the messages."""

from __future__ import annotations

from typing import Any

from campaigns.models import SKIP_REASONS, Campaign, CampaignStats


def campaign_progress(campaign: Campaign) -> dict[str, Any]:
    stats = CampaignStats.objects.get(pk=campaign.pk)
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
