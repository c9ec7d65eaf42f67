"""Per-project API rate limit; 429 with Retry-After beyond it."""

from __future__ import annotations

from django.conf import settings
from rest_framework.request import Request
from rest_framework.throttling import SimpleRateThrottle

from projects.models import ApiToken


class ProjectRateThrottle(SimpleRateThrottle):
    scope = "project"

    def get_rate(self) -> str:
        return f"{settings.API_RATE_PER_MINUTE}/min"

    def allow_request(self, request: Request, view: object) -> bool:
        token = request.auth
        if isinstance(token, ApiToken) and token.project.api_rate_per_minute:
            self.num_requests = token.project.api_rate_per_minute
        return super().allow_request(request, view)

    def get_cache_key(self, request: Request, view: object) -> str | None:
        token = request.auth
        if not isinstance(token, ApiToken):
            return None
        return f"api-throttle:{token.project_id}"
