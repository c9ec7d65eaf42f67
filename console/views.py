"""The landing redirect, the project dashboard and the health check."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.db import connection
from django.db.models import Count
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET

from projects.access import project_view
from projects.models import Project
from stats.queries import campaigns_with_numbers, project_totals

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
    """The project overview: the last campaigns with their numbers, totals of
    the last 30 days, sender numbers by status, the 080 number."""
    numbers = project.sender_numbers
    counts = {
        row["status"]: row["n"]
        for row in numbers.order_by().values("status").annotate(n=Count("pk"))
    }
    # Every status in its fixed order, so the overview reads the same each time.
    sender_counts = [
        (label, status, counts[status])
        for status, label in numbers.model.Status.choices
        if counts.get(status)
    ]
    optout_number = getattr(project, "optout_number", None)
    return render(
        request,
        "console/dashboard.html",
        {
            "project": project,
            "sender_counts": sender_counts,
            "optout_number": optout_number,
            "optout_display": optout_number.display_number if optout_number else "",
            "recent_campaigns": list(campaigns_with_numbers(project)[:RECENT_CAMPAIGNS]),
            "totals": project_totals(project),
        },
    )


@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return JsonResponse({"status": "ok"})
