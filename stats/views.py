"""The statistics screens: a campaign's statistics page with its charts, its
CSV export, and the project's statistics (totals and every campaign).
Viewers may see all of them."""

from __future__ import annotations

from typing import Any

from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from campaigns.models import Campaign
from dispatch.models import SKIP_REASONS, Message
from projects.access import project_view
from projects.models import Project
from stats import exports
from stats.charts import Chart, bar_chart
from stats.queries import campaign_statistics, campaigns_with_numbers, project_totals

PERIODS = (7, 30, 90)
CAMPAIGNS_PER_PAGE = 50


def _campaign(project: Project, campaign_id: int) -> Campaign:
    return get_object_or_404(
        Campaign.objects.select_related("project"), pk=campaign_id, project=project
    )


def send_chart(stats: dict[str, Any]) -> Chart:
    points = stats["sendSeries"]["points"]
    labels = [timezone.localtime(p["at"]).strftime("%Y-%m-%d %H:%M") for p in points]
    return bar_chart(labels, [p["sent"] for p in points], [p["delivered"] for p in points])


def conversion_chart(stats: dict[str, Any]) -> Chart:
    series = stats["conversionSeries"]
    fmt = "%Y-%m-%d" if series["step"] == "day" else "%Y-%m-%d %H:00"
    labels = [timezone.localtime(p["at"]).strftime(fmt) for p in series["points"]]
    return bar_chart(labels, [p["conversions"] for p in series["points"]])


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
                "conversion_chart": conversion_chart(stats),
                "send_step_minutes": stats["sendSeries"]["stepSeconds"] // 60,
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
