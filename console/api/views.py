"""Base views for the project-scoped API under /v1/projects/{projectId}/."""

from __future__ import annotations

from rest_framework.views import APIView


class ProjectAPIView(APIView):
    """Every project API view inherits this: bearer-token auth, the token's
    project only (404 otherwise), the per-project rate limit and, on POST,
    Idempotency-Key handling. `request.project` is the token's project."""
