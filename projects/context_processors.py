"""Puts the current project and the user's other projects into every template."""

from __future__ import annotations

from django.http import HttpRequest


def current_project(request: HttpRequest) -> dict:
    membership = getattr(request, "membership", None)
    context: dict = {"project": getattr(request, "project", None), "membership": membership}
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        context["my_memberships"] = user.memberships.select_related("project").order_by(
            "project__name"
        )
    return context
