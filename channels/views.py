"""Console screens for the SMS channel. (Skeleton: filled in by the channels work.)"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from projects.access import project_view
from projects.models import Project


@project_view()
def channels_page(request: HttpRequest, project: Project) -> HttpResponse:
    return render(request, "console/dashboard.html")
