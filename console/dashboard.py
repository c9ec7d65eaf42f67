"""What the dashboard shows, gathered from counters and buckets only (never a
scan of message rows): the last 30 days against the 30 before, sends per
day, the campaigns under way, and what needs a marketer's attention."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.db.models import Count
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from campaigns.models import Campaign
from channels.models import SenderNumber
from console.lib.compliance import night_release_at
from console.templatetags.munja_format import count
from dispatch.models import OutboxStats
from projects.models import Membership, Project, Role
from stats.queries import DASHBOARD_DAYS, period_totals
from webhooks.models import WebhookEvent

UNDER_WAY = (Campaign.Status.SENDING, Campaign.Status.PAUSED, Campaign.Status.SCHEDULED)
WEBHOOK_LOOKBACK = timedelta(days=7)


@dataclass(frozen=True)
class Attention:
    key: str
    level: str  # "danger" or "warning"
    text: str
    url: str | None


def compared_totals(project: Project, days: int = DASHBOARD_DAYS) -> dict[str, Any]:
    now = timezone.now()
    current = period_totals(project, now - timedelta(days=days), now)
    previous = period_totals(project, now - timedelta(days=2 * days), now - timedelta(days=days))
    return {"days": days, "current": current, "previous": previous}


def campaigns_under_way(project: Project) -> list[dict[str, Any]]:
    """Sending, paused and scheduled campaigns with their progress; for held
    promotional messages, the 08:00 they wait for when it is night now."""
    now = timezone.now()
    release = night_release_at(now, project.time_zone or "Asia/Seoul")
    rows = []
    campaigns = (
        Campaign.objects.filter(project=project, status__in=UNDER_WAY)
        .select_related("outbox__stats")
        .order_by("scheduled_at", "-pk")
    )
    for campaign in campaigns:
        stats = campaign.stats or OutboxStats()
        done = stats.recipients - max(stats.queued, 0)
        held = stats.held_night_time if campaign.is_promotional else 0
        rows.append(
            {
                "campaign": campaign,
                "stats": stats,
                "percent": round(100 * done / stats.recipients) if stats.recipients else 0,
                "held": held,
                "held_until": release
                if held and release and campaign.status == Campaign.Status.SENDING
                else None,
            }
        )
    return rows


def sender_counts(project: Project) -> list[tuple[str, str, int]]:
    """(label, status, count) of the project's sender numbers, every status
    in its fixed order so the card reads the same each time."""
    counts = dict(
        project.sender_numbers.order_by()
        .values_list("status")
        .annotate(n=Count("pk"))
        .values_list("status", "n")
    )
    return [
        (label, status, counts[status])
        for status, label in SenderNumber.Status.choices
        if counts.get(status)
    ]


def needs_attention(
    project: Project, membership: Membership | None, under_way: list[dict[str, Any]]
) -> list[Attention]:
    is_admin = membership is not None and membership.role == Role.ADMIN
    items: list[Attention] = []
    channels = reverse("channels", args=[project.id])
    counts = dict(
        project.sender_numbers.order_by()
        .values_list("status")
        .annotate(n=Count("pk"))
        .values_list("status", "n")
    )
    if not counts.get(SenderNumber.Status.APPROVED):
        items.append(
            Attention(
                "no-approved-sender",
                "danger",
                _("No approved sender number: nothing can be sent until one is approved."),
                channels,
            )
        )
    if n := counts.get(SenderNumber.Status.PENDING):
        text = ngettext(
            "%(n)d sender number is waiting for review.",
            "%(n)d sender numbers are waiting for review.",
            n,
        ) % {"n": n}
        items.append(Attention("sender-pending", "warning", text, channels))
    if n := counts.get(SenderNumber.Status.REJECTED):
        text = ngettext(
            "%(n)d sender number was rejected: see the reason and register it again.",
            "%(n)d sender numbers were rejected: see the reasons and register them again.",
            n,
        ) % {"n": n}
        items.append(Attention("sender-rejected", "danger", text, channels))
    if n := counts.get(SenderNumber.Status.SUSPENDED):
        text = ngettext(
            "%(n)d sender number is suspended.", "%(n)d sender numbers are suspended.", n
        ) % {"n": n}
        items.append(Attention("sender-suspended", "danger", text, channels))
    if getattr(project, "optout_number", None) is None:
        items.append(
            Attention(
                "no-optout-number",
                "warning",
                _("No 080 opt-out number yet: promotional messages cannot be sent."),
                channels,
            )
        )
    failing = WebhookEvent.objects.filter(
        project=project,
        status=WebhookEvent.Status.FAILED,
        created_at__gte=timezone.now() - WEBHOOK_LOOKBACK,
    ).count()
    if failing:
        text = ngettext(
            "%(n)s webhook delivery failed in the last 7 days.",
            "%(n)s webhook deliveries failed in the last 7 days.",
            failing,
        ) % {"n": count(failing)}
        url = reverse("sms_settings", args=[project.id]) if is_admin else None
        items.append(Attention("webhooks-failing", "danger", text, url))
    for row in under_way:
        campaign = row["campaign"]
        url = reverse("campaign_detail", args=[project.id, campaign.pk])
        if row["held_until"]:
            local = timezone.localtime(row["held_until"])
            text = ngettext(
                "“%(name)s”: %(n)s promotional message is held for the night until %(at)s.",
                "“%(name)s”: %(n)s promotional messages are held for the night until %(at)s.",
                row["held"],
            ) % {"name": campaign.name, "n": count(row["held"]), "at": local.strftime("%H:%M")}
            items.append(Attention("night-hold", "warning", text, url))
        if campaign.status == Campaign.Status.PAUSED:
            text = _("“%(name)s” is paused.") % {"name": campaign.name}
            items.append(Attention("paused", "warning", text, url))
    return items
