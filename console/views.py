"""The landing redirect, the project dashboard and the health check."""

from __future__ import annotations

from datetime import datetime, time, timedelta

from django.contrib.auth.decorators import login_required
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.templatetags.static import static
from django.utils import timezone
from django.views.decorators.http import require_GET

from console.dashboard import (
    campaigns_under_way,
    compared_totals,
    needs_attention,
    sender_counts,
)
from projects.access import project_view
from projects.models import Project
from stats.charts import time_chart
from stats.queries import campaigns_with_numbers, sends_per_day

RECENT_CAMPAIGNS = 5


@login_required
def home(request: HttpRequest) -> HttpResponse:
    """Send the user to the project they used last, or their first one."""
    memberships = request.user.memberships.order_by("project__name")
    last = request.session.get("project_id")
    chosen = memberships.filter(project_id=last).first() if last else None
    chosen = chosen or memberships.first()
    if chosen is None:
        return render(request, "console/no_project.html")
    return redirect("dashboard", project_id=chosen.project_id)


@project_view()
def dashboard(request: HttpRequest, project: Project) -> HttpResponse:
    """The project overview: the last 30 days against the 30 before, sends
    per day, the campaigns under way, what needs attention, the last campaigns."""
    with timezone.override(project.time_zone or "Asia/Seoul"):
        under_way = campaigns_under_way(project)
        per_day = sends_per_day(project)
        zone = timezone.get_current_timezone()
        chart = time_chart(
            [datetime.combine(p["day"], time(), zone) for p in per_day],
            timedelta(days=1),
            [p["sent"] for p in per_day],
            [p["delivered"] for p in per_day],
        )
        return render(
            request,
            "console/dashboard.html",
            {
                "project": project,
                "totals": compared_totals(project),
                "sends_chart": chart,
                "under_way": under_way,
                "attention": needs_attention(project, request.membership, under_way),
                "sender_counts": sender_counts(project),
                "optout_number": getattr(project, "optout_number", None),
                "recent_campaigns": list(campaigns_with_numbers(project)[:RECENT_CAMPAIGNS]),
            },
        )


@require_GET
def favicon(request: HttpRequest) -> HttpResponse:
    """Browsers ask for /favicon.ico on pages without an icon link (the
    Django admin): send them to the console's icon. Resolved per request, as
    the hashed name exists only once collectstatic has run."""
    return redirect(static("favicon.svg"), permanent=True)


@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return JsonResponse({"status": "ok"})
