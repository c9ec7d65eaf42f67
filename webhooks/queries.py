"""Read-only questions about a project's webhook: its endpoint and the
delivery log."""

from __future__ import annotations

from django.db.models import Count, Prefetch, QuerySet

from projects.models import Project
from webhooks.models import WebhookAttempt, WebhookEndpoint, WebhookEvent

# Attempts shown under each event in the log; the rest are counted.
ATTEMPTS_SHOWN = 5
LOG_FILTERS = ("all", "pending", "failed", "delivered", "test")


def endpoint_of(project: Project) -> WebhookEndpoint | None:
    return WebhookEndpoint.objects.filter(project=project).first()


def delivery_log(project: Project, status: str = "all") -> QuerySet[WebhookEvent]:
    """The project's events, newest first, with their attempts (newest first)."""
    events = WebhookEvent.objects.filter(project=project)
    if status == "test":
        events = events.filter(is_test=True)
    elif status in WebhookEvent.Status.values:
        events = events.filter(status=status)
    return events.order_by("-id").prefetch_related(
        Prefetch("attempts_log", queryset=WebhookAttempt.objects.order_by("-attempted_at", "-id"))
    )


def status_counts(project: Project) -> dict[str, int]:
    rows = (
        WebhookEvent.objects.filter(project=project)
        .values_list("status")
        .annotate(n=Count("id"))
        .order_by()
    )
    counts = {status: 0 for status in WebhookEvent.Status.values}
    counts.update(dict(rows))
    return counts
