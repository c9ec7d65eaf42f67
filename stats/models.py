"""Per-minute send buckets: what a campaign sent, had delivered and had fail
in each minute (UTC), kept as the work happens so the statistics page draws
its send chart without reading messages."""

from __future__ import annotations

from django.db import models

from campaigns.models import Campaign


class SendBucket(models.Model):
    """Messages of one campaign marked sent, delivered or failed in one
    minute (UTC). Bumped by `stats.counters.bump_minute` with an upsert in the
    same transaction as the messages' transition."""

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="+")
    minute = models.DateTimeField()
    sent = models.PositiveIntegerField(default=0)
    delivered = models.PositiveIntegerField(default=0)
    failed = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["campaign", "minute"], name="one_send_bucket_per_minute"
            )
        ]

    def __str__(self) -> str:
        return f"{self.campaign_id} {self.minute:%Y-%m-%d %H:%M}: {self.sent}/{self.delivered}"
