"""The statistics screens: a campaign's statistics page with its charts, its
CSV export, and the project's statistics (totals and every campaign).
Viewers may see all of them."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_GET

from campaigns.models import Campaign
from dispatch.models import SKIP_REASONS, Message
from projects.access import project_view
from projects.models import Project
from stats import exports
from stats.charts import Chart, time_chart
from stats.queries import campaign_statistics, campaigns_with_numbers, project_totals, rate

PERIODS = (7, 30, 90)
CAMPAIGNS_PER_PAGE = 50


def _campaign(project: Project, campaign_id: int) -> Campaign:
    return get_object_or_404(
        Campaign.objects.select_related("project"), pk=campaign_id, project=project
    )


def send_chart(stats: dict[str, Any]) -> Chart:
    series = stats["sendSeries"]
    points = series["points"]
    return time_chart(
        [p["at"] for p in points],
        timedelta(seconds=series["stepSeconds"]),
        [p["sent"] for p in points],
        [p["delivered"] for p in points],
    )


def conversion_chart(stats: dict[str, Any]) -> Chart:
    series = stats["conversionSeries"]
    step = timedelta(days=1) if series["step"] == "day" else timedelta(hours=1)
    points = series["points"]
    return time_chart([p["at"] for p in points], step, [p["conversions"] for p in points])


def cards_of(stats: dict[str, Any]) -> dict[str, Any]:
    """A campaign's numbers in the shape of the dashboard's cards."""
    return {
        "campaigns": None,
        "sent": stats["sent"],
        "delivered": stats["delivered"],
        "failed": stats["failed"],
        "deliveryRate": rate(stats["delivered"], stats["sent"]),
        "clicks": stats["clicks"],
        "clickedRecipients": stats["clickedRecipients"],
        "conversions": stats["conversions"],
        "conversionRate": stats["conversionRate"],
        "revenue": stats["revenue"],
        "cost": stats["cost"],
    }


def funnel_of(stats: dict[str, Any]) -> list[dict[str, Any]]:
    """Recipients → sent → delivered → clicked → converted, each with its
    share of the recipients (the bar's width, 0–100)."""
    steps = [
        ("recipients", _("Recipients"), stats["recipients"]),
        ("sent", _("Sent"), stats["sent"]),
        ("delivered", _("Delivered"), stats["delivered"]),
        ("clicked", _("Clicked"), stats["clickedRecipients"]),
        ("converted", _("Converted"), stats["conversions"]),
    ]
    base = stats["recipients"]
    return [
        {
            "key": key,
            "label": label,
            "count": n,
            "share": n / base if base else None,
            "width": round(min(100, 100 * n / base), 2) if base else 0,
        }
        for key, label, n in steps
    ]


def step_note(step_seconds: int) -> str:
    if step_seconds < 60:
        return ngettext("One bar per second", "One bar per %(n)d seconds", step_seconds) % {
            "n": step_seconds
        }
    minutes = step_seconds // 60
    if minutes % 1440 == 0:
        days = minutes // 1440
        return ngettext("One bar per day", "One bar per %(n)d days", days) % {"n": days}
    if minutes % 60 == 0:
        hours = minutes // 60
        return ngettext("One bar per hour", "One bar per %(n)d hours", hours) % {"n": hours}
    return ngettext("One bar per minute", "One bar per %(n)d minutes", minutes) % {"n": minutes}


@require_GET
@project_view()
def campaign_stats(request: HttpRequest, project: Project, campaign_id: int) -> HttpResponse:
    campaign = _campaign(project, campaign_id)
    stats = campaign_statistics(campaign)
    reasons = dict(Message.SkipReason.choices)
    with timezone.override(project.time_zone or "Asia/Seoul"):
        return render(
            request,
            "stats/campaign.html",
            {
                "project": project,
                "campaign": campaign,
                "stats": stats,
                "skipped": [
                    (reason, reasons[reason], stats["skipped"][reason]) for reason in SKIP_REASONS
                ],
                "send_chart": send_chart(stats),
                "send_axis_note": step_note(stats["sendSeries"]["stepSeconds"]),
                "cards": cards_of(stats),
                "funnel": funnel_of(stats),
                "conversion_chart": conversion_chart(stats),
                "conversion_step": _("day")
                if stats["conversionSeries"]["step"] == "day"
                else _("hour"),
            },
        )


@require_GET
@project_view()
def campaign_stats_csv(request: HttpRequest, project: Project, campaign_id: int) -> HttpResponse:
    stats = campaign_statistics(_campaign(project, campaign_id))
    return csv_response(exports.csv_text(stats), exports.filename(stats))


def csv_response(text: str, filename: str) -> HttpResponse:
    response = HttpResponse(text, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["Cache-Control"] = "private, no-store"
    response["X-Content-Type-Options"] = "nosniff"
    return response


@require_GET
@project_view()
def project_stats(request: HttpRequest, project: Project) -> HttpResponse:
    try:
        days = int(request.GET.get("days", 30))
    except ValueError:
        days = 30
    days = days if days in PERIODS else 30
    page = Paginator(campaigns_with_numbers(project), CAMPAIGNS_PER_PAGE).get_page(
        request.GET.get("page")
    )
    with timezone.override(project.time_zone or "Asia/Seoul"):
        return render(
            request,
            "stats/project.html",
            {
                "project": project,
                "totals": project_totals(project, days=days),
                "days": days,
                "periods": PERIODS,
                "page": page,
            },
        )
