"""Read-only statistics of campaigns and projects, from counters and buckets
only: the campaign's outbox counters (`dispatch.OutboxStats`), the goals'
per-basis counters, `dispatch.SendBucket` (per
second) and `ConversionBucket` (per hour). Nothing here reads messages or
conversions, so a page costs the same for 100 recipients or 1,000,000.

Numbers are returned under the API's camelCase names, so the page, the API
and the CSV export show the very same dictionary.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from django.db.models import (
    Count,
    DecimalField,
    ExpressionWrapper,
    Func,
    IntegerField,
    Max,
    Min,
    OuterRef,
    QuerySet,
    Subquery,
    Sum,
    Value,
)
from django.db.models.functions import Coalesce
from django.utils import timezone

from campaigns.models import Campaign, Price
from campaigns.test_sends import TEST_PRODUCER
from conversions.models import Basis, ConversionBucket, ConversionGoal
from dispatch.models import SKIP_REASONS, OutboxStats, SendBucket
from projects.models import Project

# The send chart: at most this many points, in the narrowest of these steps
# that fits (a second for a send of up to two minutes, a minute up to two
# hours, an hour up to five days…), whole days beyond.
SEND_SERIES_MAX_POINTS = 120
SEND_STEPS_SECONDS = (
    *(1, 2, 5, 10, 15, 30),
    *(60 * m for m in (1, 2, 5, 10, 15, 30)),
    *(3600 * h for h in (1, 2, 3, 6, 12)),
    86400,
)
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


def send_step_seconds(span_seconds: int, finest: int = 1) -> int:
    """The narrowest step, a multiple of `finest` seconds (the widest bucket
    counted), that draws `span_seconds` in at most SEND_SERIES_MAX_POINTS
    points."""
    for step in SEND_STEPS_SECONDS:
        if step % finest == 0 and math.ceil(span_seconds / step) <= SEND_SERIES_MAX_POINTS:
            return step
    return math.ceil(span_seconds / SEND_SERIES_MAX_POINTS / 86400) * 86400


def step_start(moment: datetime, step_seconds: int, zone: ZoneInfo) -> datetime:
    """The start of the step `moment` falls in, on the project's clock: a
    5-second step starts at :00, :05, …, a 5-minute one at :00, :05, …, an
    hourly one on the hour, a daily one at midnight (every step divides a
    day or is whole days), so the chart's bars begin at round times and its
    axis can name them."""
    local = moment.astimezone(zone)
    if step_seconds >= 86400:
        start = local.replace(hour=0, minute=0, second=0, microsecond=0)
    else:
        seconds = local.hour * 3600 + local.minute * 60 + local.second
        floored = seconds - seconds % step_seconds
        start = local.replace(
            hour=floored // 3600,
            minute=floored // 60 % 60,
            second=floored % 60,
            microsecond=0,
        )
    return start.astimezone(moment.tzinfo)


def _send_steps(
    first: datetime, last: datetime, finest: int, zone: ZoneInfo
) -> tuple[int, datetime, int]:
    """The step, the first point's start and the number of points for
    buckets from `first` to `last` (starts), `finest` seconds wide at most."""
    span = int((last - first).total_seconds()) + finest
    step = send_step_seconds(span, finest)
    while True:
        start = step_start(first, step, zone)
        count = int((last - start).total_seconds()) // step + 1
        if count <= SEND_SERIES_MAX_POINTS:
            return step, start, count
        # The rounded start added a step.
        step = next((s for s in SEND_STEPS_SECONDS if s > step), step + 86400)


class EpochSeconds(Func):
    """A datetime column as whole seconds since 1970, computed by the
    database itself (SQLite's strftime, PostgreSQL's EXTRACT), so buckets
    are grouped into steps by integer arithmetic: Django's Trunc on SQLite
    calls a Python function for every row (36 ms for the 7,200 buckets of
    a 2-hour send, against 6 ms for the whole series this way)."""

    output_field = IntegerField()

    def as_sqlite(self, compiler: Any, connection: Any, **extra: Any) -> tuple[str, list]:
        # '%%%%s': the template is %-formatted once here and once with the
        # query's parameters.
        template = "CAST(strftime('%%%%s', %(expressions)s) AS INTEGER)"
        return self.as_sql(compiler, connection, template=template, **extra)

    def as_postgresql(self, compiler: Any, connection: Any, **extra: Any) -> tuple[str, list]:
        template = "CAST(EXTRACT(EPOCH FROM %(expressions)s) AS BIGINT)"
        return self.as_sql(compiler, connection, template=template, **extra)


# Buckets summed in SQL per this many seconds when the steps are calendar
# days: every time zone's offset is a multiple of 15 minutes, so no block
# straddles a local midnight; a day is at most 96 rows.
DAY_FOLD_SECONDS = 900


def _sums_per_slot(
    buckets: QuerySet, start: datetime, slot: int
) -> list[tuple[int, int, int, int]]:
    """(slot index, sent, delivered, failed) of the buckets in slots `slot`
    seconds wide from `start`, summed in SQL: one row per slot with counts."""
    index = ExpressionWrapper(
        (EpochSeconds("second") - int(start.timestamp())) / slot, output_field=IntegerField()
    )
    return list(
        buckets.annotate(slot=index)
        .order_by()
        .values("slot")
        .annotate(s=Sum("sent"), d=Sum("delivered"), f=Sum("failed"))
        .values_list("slot", "s", "d", "f")
    )


def send_series_of(campaign: Campaign) -> dict[str, Any]:
    """Sent, delivered and failed per step from the first to the last
    bucket, zeros included: per second for a short send, per minute, hour or
    day for a longer one (steps start at round times on the project's
    clock). Buckets counted per minute (before buckets were per second) are
    never drawn finer than a minute. The buckets are summed per step in SQL
    (per 15 minutes for daily steps, folded into the project's calendar
    days here), so at most a few thousand rows leave the database whatever
    the send's length."""
    buckets = SendBucket.objects.filter(outbox_id=campaign.outbox_id)
    bounds = buckets.aggregate(first=Min("second"), last=Max("second"), finest=Max("width"))
    if bounds["first"] is None:
        return {"stepSeconds": 60, "points": []}
    zone = _zone(campaign.project)
    first, last = bounds["first"], bounds["last"]
    step, start, count = _send_steps(first, last, max(bounds["finest"], 1), zone)
    start = start.astimezone(UTC)
    points = [
        {"at": start + timedelta(seconds=i * step), "sent": 0, "delivered": 0, "failed": 0}
        for i in range(count)
    ]
    days = step // 86400
    start_day = start.astimezone(zone).date()
    slot = DAY_FOLD_SECONDS if days else step
    for index, sent, delivered, failed in _sums_per_slot(buckets, start, slot):
        if days:
            # Days by the calendar: a day with a clock change is not 86,400 s.
            moment = start + timedelta(seconds=index * slot)
            index = (moment.astimezone(zone).date() - start_day).days // days
        point = points[min(max(index, 0), count - 1)]
        point["sent"] += sent
        point["delivered"] += delivered
        point["failed"] += failed
    if days:
        for i, point in enumerate(points):
            midnight = datetime.combine(start_day + timedelta(days=i * days), time(), zone)
            point["at"] = midnight.astimezone(UTC)
    return {"stepSeconds": step, "points": points}


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
    `days` days, zeros included, from the send buckets summed per 15 minutes
    in SQL and folded into the project's calendar days here."""
    zone = _zone(project)
    today = timezone.localtime(timezone.now(), zone).date()
    first = today - timedelta(days=days - 1)
    since = datetime.combine(first, datetime.min.time(), zone)
    buckets = (
        SendBucket.objects.filter(outbox__project=project, second__gte=since)
        # Test SMS are in no statistic.
        .exclude(outbox__producer_kind=TEST_PRODUCER)
    )
    points = [{"day": first + timedelta(days=i), "sent": 0, "delivered": 0} for i in range(days)]
    for block, sent, delivered, _failed in _sums_per_slot(buckets, since, DAY_FOLD_SECONDS):
        moment = since + timedelta(seconds=block * DAY_FOLD_SECONDS)
        index = (moment.astimezone(zone).date() - first).days
        if 0 <= index < days:
            points[index]["sent"] += sent or 0
            points[index]["delivered"] += delivered or 0
    return points
