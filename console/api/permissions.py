"""A token may only reach its own project: any other project id answers 404."""

from __future__ import annotations

from django.http import Http404
from rest_framework.permissions import BasePermission
from rest_framework.request import Request

from projects.models import ApiToken


class HasProjectToken(BasePermission):
    def has_permission(self, request: Request, view: object) -> bool:
        token = request.auth
        if not isinstance(token, ApiToken):
            return False
        project_id = getattr(view, "kwargs", {}).get("project_id")
        if project_id is not None and str(project_id) != str(token.project_id):
            # Not 403: another project's existence is not revealed.
            raise Http404
        request.project = token.project
        return True
