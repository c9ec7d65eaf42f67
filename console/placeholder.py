"""A page for a part of the console whose issue has not landed yet."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from projects.access import project_view
from projects.models import Project


def placeholder(title: str):
    @project_view()
    def view(request: HttpRequest, project: Project) -> HttpResponse:
        return render(request, "console/placeholder.html", {"title": title})

    return view
