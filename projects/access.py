"""The one place that fetches a project for a console request and checks the
user's role in it."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.utils import timezone
from django.utils.translation import gettext as _

from console.lib.compliance import resolve_time_zone
from projects.models import Membership, Role, role_at_least


def load_membership(request: HttpRequest, project_id: object, minimum_role: str) -> Membership:
    """The user's membership of the project, or 404 for a project that is not
    theirs (its existence is not revealed), or 403 when the role is too low."""
    try:
        membership = Membership.objects.select_related("project").get(
            project_id=project_id, user=request.user
        )
    except (Membership.DoesNotExist, ValueError, TypeError):
        raise Http404 from None
    if not role_at_least(membership.role, minimum_role):
        raise PermissionDenied(
            _("Your role (%(role)s) may not do this; it needs %(needed)s.")
            % {"role": membership.get_role_display(), "needed": Role(minimum_role).label}
        )
    request.membership = membership
    request.project = membership.project
    request.session["project_id"] = str(membership.project_id)
    return membership


def project_view(minimum_role: str = Role.VIEWER) -> Callable:
    """Decorate a view taking `project_id`; it runs with request.project set.

    Write methods (POST, PUT, PATCH, DELETE) on a view open to viewers still need
    `minimum_role`; pass a higher one for views that change things.
    """

    def decorator(view: Callable) -> Callable:
        @login_required
        @wraps(view)
        def wrapper(request: HttpRequest, project_id, *args, **kwargs) -> HttpResponse:
            load_membership(request, project_id, minimum_role)
            # Every project page shows times in the project's zone, and the
            # page footer names that zone once.
            with timezone.override(resolve_time_zone(request.project.time_zone)):
                return view(request, request.project, *args, **kwargs)

        return wrapper

    return decorator
