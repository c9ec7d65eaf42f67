"""GET /v1/projects/{projectId}: the token's project."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema
from rest_framework.request import Request
from rest_framework.response import Response

from console.api.views import ProjectAPIView
from projects.api.serializers import ProjectSerializer


class ProjectDetailView(ProjectAPIView):
    serializer_class = ProjectSerializer

    @extend_schema(
        operation_id="getProject",
        summary=_("Get the project"),
        description=_(
            "The project the token belongs to: names, time zone, 080 number, rate limit."
        ),
        tags=[_("Projects")],
    )
    def get(self, request: Request, project_id: object) -> Response:
        return Response(self.get_serializer(request.project).data)
