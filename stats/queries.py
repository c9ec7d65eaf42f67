"""Read-only statistics of campaigns and projects, from counters and buckets
only: the campaign's outbox counters (`dispatch.OutboxStats`), the goals'
per-basis counters, `dispatch.SendBucket` (per
minute) and `ConversionBucket` (per hour). Nothing here reads messages or
conversions, so a page costs the same for 100 recipients or 1,000,000.

Numbers are returned under the API's camelCase names, so the page, the API
and the CSV export show the very same dictionary.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from django.db.models import (
    Count,
    DecimalField,
    IntegerField,
    OuterRef,
    QuerySet,
    Subquery,
    Sum,
    Value,
)
from django.db.models.functions import Coalesce, TruncDate
from django.utils import timezone

from campaigns.models import Campaign, Price
from campaigns.test_sends import TEST_PRODUCER
from conversions.models import Basis, ConversionBucket, ConversionGoal
from dispatch.models import SKIP_REASONS, OutboxStats, SendBucket
from projects.models import Project

# The send chart: one point a minute up to this many points; a longer send
# (night holds, retries over hours) is drawn in wider steps.
SEND_SERIES_MAX_POINTS = 360
SEND_STEPS_MINUTES = (1, 2, 5, 10, 15, 30, 60, 120, 180, 360, 720, 1440)
# The conversions chart: per hour while the span is at most 72 h, else per day.
HOURLY_SPAN_LIMIT = timedelta(hours=72)
DASHBOARD_DAYS = 30
ZERO = Decimal("0.00")


@dataclass(frozen=True)
class Cost:
    """What a campaign's sent messages cost: SMS × the SMS price + LMS × the
    LMS price. `amount` is None when a needed price is not set."""

    amount: Decimal | None
    currency: str
    sms: int
    lms: int

    def as_dict(self) -> dict[str, Any]:
        return {
            "amount": None if self.amount is None else str(self.amount),
            "currency": self.currency,
            "sms": self.sms,
            "lms": self.lms,
            "pricesSet": self.amount is not None,
        }


def prices() -> dict[str, Price]:
    return {p.kind: p for p in Price.objects.filter(kind__in=["SMS", "LMS"])}


def cost_of(sent: int, sent_lms: int, price_list: dict[str, Price]) -> Cost:
    sms, lms = max(sent - sent_lms, 0), sent_lms
    needed = [kind for kind, n in (("SMS", sms), ("LMS", lms)) if n]
    currency = next((p.currency for p in price_list.values()), "")
    if any(kind not in price_list for kind in needed):
        return Cost(None, currency, sms, lms)
    amount = sum(
        (price_list[kind].amount * n for kind, n in (("SMS", sms), ("LMS", lms)) if n), ZERO
    )
    return Cost(Decimal(amount).quantize(ZERO), currency, sms, lms)


def rate(conversions: int, delivered: int) -> float | None:
    """Conversions per delivered message (None before anything is delivered)."""
    return round(conversions / delivered, 6) if delivered else None


def _zone(project: Project) -> ZoneInfo:
    try:
        return ZoneInfo(project.time_zone or "Asia/Seoul")
    except (KeyError, ValueError):
        return ZoneInfo("Asia/Seoul")


# --- one campaign ------------------------------------------------------------------


def campaign_statistics(campaign: Campaign) -> dict[str, Any]:
    """Everything the statistics page, the API and the CSV show, in five
    small queries (counters, goals, prices, send buckets, conversion buckets)."""
    stats = OutboxStats.objects.filter(pk=campaign.outbox_id).first() or OutboxStats()
    delivered = stats.delivered
    goals = []
    totals = {"conversions": 0, "revenue": ZERO, "clickConversions": 0, "clickRevenue": ZERO}
    for goal in ConversionGoal.objects.filter(campaign=campaign).order_by("position"):
        goals.append(
            {
                "position": goal.position,
                "eventName": goal.event_name,
                "windowSeconds": goal.window_seconds,
                "send": _basis(goal.conversions, goal.revenue, delivered),
                "click": _basis(goal.click_conversions, goal.click_revenue, delivered),
            }
        )
        totals["conversions"] += goal.conversions
        totals["revenue"] += goal.revenue
        totals["clickConversions"] += goal.click_conversions
        totals["clickRevenue"] += goal.click_revenue
    cost = cost_of(stats.sent, stats.sent_lms, prices())
    send_series = send_series_of(campaign)
    return {
        "campaignId": campaign.pk,
        "name": campaign.name,
        "status": campaign.status,
        "startedAt": campaign.started_at,
        "finishedAt": campaign.finished_at,
        "recipients": stats.recipients,
        "queued": max(stats.queued, 0),
        "sent": stats.sent,
        "sentSms": cost.sms,
        "sentLms": cost.lms,
        "delivered": delivered,
        "failed": stats.failed,
        "skipped": {reason: getattr(stats, f"skipped_{reason}") for reason in SKIP_REASONS},
        "skippedTotal": stats.skipped,
        "heldNightTime": stats.held_night_time,
        "optoutsAfterSend": stats.optouts_after_send,
        "clicks": stats.clicks,
        "clickedRecipients": stats.clicked_recipients,
        "conversions": totals["conversions"],
        "revenue": str(Decimal(totals["revenue"]).quantize(ZERO)),
        "clickConversions": totals["clickConversions"],
        "clickRevenue": str(Decimal(totals["clickRevenue"]).quantize(ZERO)),
        "conversionRate": rate(totals["conversions"], delivered),
        "goals": goals,
        "cost": cost.as_dict(),
        "sendSeries": send_series,
        "conversionSeries": conversion_series_of(campaign, send_series),
    }


def _basis(conversions: int, revenue: Decimal, delivered: int) -> dict[str, Any]:
    return {
        "conversions": conversions,
        "revenue": str(Decimal(revenue).quantize(ZERO)),
        "conversionRate": rate(conversions, delivered),
    }


def send_step_minutes(span_minutes: int) -> int:
    """The narrowest step that draws `span_minutes` in at most
    SEND_SERIES_MAX_POINTS points."""
    for step in SEND_STEPS_MINUTES:
        if math.ceil(span_minutes / step) <= SEND_SERIES_MAX_POINTS:
            return step
    return math.ceil(span_minutes / SEND_SERIES_MAX_POINTS / 1440) * 1440


def step_start(moment: datetime, step_minutes: int, zone: ZoneInfo) -> datetime:
    """The start of the step `moment` falls in, on the project's clock: a
    5-minute step starts at :00, :05, …, an hourly one on the hour, a daily
    one at midnight (every step divides a day or is whole days), so the
    chart's bars begin at round times and its axis can name them."""
    local = moment.astimezone(zone)
    if step_minutes >= 1440:
        start = local.replace(hour=0, minute=0, second=0, microsecond=0)
    else:
        minutes = local.hour * 60 + local.minute
        floored = minutes - minutes % step_minutes
        start = local.replace(hour=floored // 60, minute=floored % 60, second=0, microsecond=0)
    return start.astimezone(moment.tzinfo)


def send_series_of(campaign: Campaign) -> dict[str, Any]:
    """Sent, delivered and failed per minute from the first to the last
    bucket, zeros included; wider steps (starting at round times on the
    project's clock) for a send longer than 6 hours."""
    buckets = list(
        SendBucket.objects.filter(outbox_id=campaign.outbox_id)
        .order_by("minute")
        .values_list("minute", "sent", "delivered", "failed")
    )
    if not buckets:
        return {"stepSeconds": 60, "points": []}
    zone = _zone(campaign.project)
    first, last = buckets[0][0], buckets[-1][0]
    step = send_step_minutes(int((last - first).total_seconds() // 60) + 1)
    start = step_start(first, step, zone)
    count = int((last - start).total_seconds() // 60) // step + 1
    while count > SEND_SERIES_MAX_POINTS:  # the rounded start added a step
        step = next((s for s in SEND_STEPS_MINUTES if s > step), step + 1440)
        start = step_start(first, step, zone)
        count = int((last - start).total_seconds() // 60) // step + 1
    points = [
        {"at": start + timedelta(minutes=i * step), "sent": 0, "delivered": 0, "failed": 0}
        for i in range(count)
    ]
    for minute, sent, delivered, failed in buckets:
        point = points[int((minute - start).total_seconds() // 60) // step]
        point["sent"] += sent
        point["delivered"] += delivered
        point["failed"] += failed
    return {"stepSeconds": step * 60, "points": points}


def conversion_series_of(campaign: Campaign, send_series: dict[str, Any]) -> dict[str, Any]:
    """Conversions and revenue (both bases) per hour from the hour the send
    began to the last conversion; per day (in the project's zone) when that
    span is longer than 72 hours."""
    rows = list(
        ConversionBucket.objects.filter(goal__campaign=campaign)
        .order_by()
        .values("hour", "basis")
        .annotate(n=Sum("conversions"), r=Sum("revenue"))
    )
    if not rows:
        return {"step": "hour", "points": []}
    hours = [row["hour"] for row in rows]
    begins = [min(hours)]
    if campaign.started_at:
        begins.append(campaign.started_at)
    if send_series["points"]:
        begins.append(send_series["points"][0]["at"])
    start = min(begins).replace(minute=0, second=0, microsecond=0)
    end = max(hours)
    if end - start > HOURLY_SPAN_LIMIT:
        zone = _zone(campaign.project)
        first_day = timezone.localtime(start, zone).date()
        days = (timezone.localtime(end, zone).date() - first_day).days + 1
        points = [
            _conversion_point(
                datetime.combine(first_day + timedelta(days=i), datetime.min.time(), zone)
            )
            for i in range(days)
        ]
        for row in rows:
            index = (timezone.localtime(row["hour"], zone).date() - first_day).days
            _add(points[index], row)
        return {"step": "day", "points": points}
    count = int((end - start).total_seconds() // 3600) + 1
    points = [_conversion_point(start + timedelta(hours=i)) for i in range(count)]
    for row in rows:
        _add(points[int((row["hour"] - start).total_seconds() // 3600)], row)
    return {"step": "hour", "points": points}


def _conversion_point(at: datetime) -> dict[str, Any]:
    return {
        "at": at,
        "conversions": 0,
        "revenue": ZERO,
        "clickConversions": 0,
        "clickRevenue": ZERO,
    }


def _add(point: dict[str, Any], row: dict[str, Any]) -> None:
    if row["basis"] == Basis.CLICK:
        point["clickConversions"] += row["n"] or 0
        point["clickRevenue"] += row["r"] or ZERO
    else:
        point["conversions"] += row["n"] or 0
        point["revenue"] += row["r"] or ZERO


# --- a project ---------------------------------------------------------------------


def campaigns_with_numbers(project: Project) -> QuerySet:
    """The project's campaigns, newest first, each with its counters
    (`stats`) and its send-based `conversion_total` and `revenue_total`."""
    goals = ConversionGoal.objects.filter(campaign=OuterRef("pk")).order_by().values("campaign")
    return (
        Campaign.objects.filter(project=project)
        .select_related("outbox__stats")
        .annotate(
            conversion_total=Coalesce(
                Subquery(goals.annotate(n=Sum("conversions")).values("n")),
                Value(0),
                output_field=IntegerField(),
            ),
            revenue_total=Coalesce(
                Subquery(goals.annotate(r=Sum("revenue")).values("r")),
                Value(ZERO),
                output_field=DecimalField(max_digits=18, decimal_places=2),
            ),
        )
        .order_by("-created_at", "-pk")
    )


def project_totals(project: Project, *, days: int = DASHBOARD_DAYS) -> dict[str, Any]:
    """Sums over the campaigns started in the last `days` days: sent,
    delivered, failed, clicks, send-based conversions and revenue, and the cost."""
    now = timezone.now()
    return period_totals(project, now - timedelta(days=days), now) | {"days": days}


def period_totals(project: Project, since: datetime, until: datetime) -> dict[str, Any]:
    """The totals of the campaigns started in [since, until), from their
    outboxes' counters (the dashboard compares two such periods)."""
    started = {
        "campaign__project": project,
        "campaign__started_at__gte": since,
        "campaign__started_at__lt": until,
    }
    outboxes = Campaign.objects.filter(
        project=project, started_at__gte=since, started_at__lt=until
    ).values("outbox_id")
    sums = OutboxStats.objects.filter(pk__in=outboxes).aggregate(
        campaigns=Count("pk"),
        sent=Coalesce(Sum("sent"), 0),
        sent_lms=Coalesce(Sum("sent_lms"), 0),
        delivered=Coalesce(Sum("delivered"), 0),
        failed=Coalesce(Sum("failed"), 0),
        clicks=Coalesce(Sum("clicks"), 0),
        clicked_recipients=Coalesce(Sum("clicked_recipients"), 0),
    )
    goal_sums = ConversionGoal.objects.filter(**started).aggregate(
        conversions=Coalesce(Sum("conversions"), 0),
        revenue=Coalesce(Sum("revenue"), Value(ZERO)),
    )
    cost = cost_of(sums["sent"], sums["sent_lms"], prices())
    return {
        "campaigns": sums["campaigns"],
        "sent": sums["sent"],
        "delivered": sums["delivered"],
        "failed": sums["failed"],
        "deliveryRate": rate(sums["delivered"], sums["sent"]),
        "clicks": sums["clicks"],
        "clickedRecipients": sums["clicked_recipients"],
        "conversions": goal_sums["conversions"],
        "revenue": str(Decimal(goal_sums["revenue"]).quantize(ZERO)),
        "conversionRate": rate(goal_sums["conversions"], sums["delivered"]),
        "cost": cost.as_dict(),
    }


def sends_per_day(project: Project, *, days: int = DASHBOARD_DAYS) -> list[dict[str, Any]]:
    """Sent and delivered per day (in the project's zone) over the last
    `days` days, zeros included, from the per-minute send buckets."""
    zone = _zone(project)
    today = timezone.localtime(timezone.now(), zone).date()
    first = today - timedelta(days=days - 1)
    since = datetime.combine(first, datetime.min.time(), zone)
    rows = (
        SendBucket.objects.filter(outbox__project=project, minute__gte=since)
        # Test SMS are in no statistic.
        .exclude(outbox__producer_kind=TEST_PRODUCER)
        .annotate(day=TruncDate("minute", tzinfo=zone))
        .order_by()
        .values("day")
        .annotate(sent=Sum("sent"), delivered=Sum("delivered"))
    )
    points = [{"day": first + timedelta(days=i), "sent": 0, "delivered": 0} for i in range(days)]
    for row in rows:
        index = (row["day"] - first).days
        if 0 <= index < days:
            points[index]["sent"] += row["sent"] or 0
            points[index]["delivered"] += row["delivered"] or 0
    return points
