"""Console screens for tenancy. (Skeleton: filled in by the tenancy work.)"""

from __future__ import annotations

from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from projects.access import load_membership, project_view
from projects.models import Project, Role

login_view = auth_views.LoginView.as_view(template_name="registration/login.html")
logout_view = auth_views.LogoutView.as_view()


@login_required
def switch_project(request: HttpRequest) -> HttpResponse:
    load_membership(request, request.GET.get("project"), Role.VIEWER)
    return redirect("dashboard", project_id=request.project.id)


@project_view(Role.ADMIN)
def members(request: HttpRequest, project: Project) -> HttpResponse:
    return render(request, "console/dashboard.html")


@project_view(Role.ADMIN)
def api_tokens(request: HttpRequest, project: Project) -> HttpResponse:
    return render(request, "console/dashboard.html")


@project_view(Role.ADMIN)
def audit_log(request: HttpRequest, project: Project) -> HttpResponse:
    return render(request, "console/dashboard.html")
