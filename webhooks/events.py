"""The one way other apps emit a webhook event."""

from __future__ import annotations

from django.db import transaction

from projects.models import Project
from webhooks.models import WebhookEvent


def publish(project: Project, type: str, data: dict, *, ordering_key: str = "") -> WebhookEvent:
    """Record an event owed to the project's endpoint.

    Call it inside the transaction that makes the change it reports: the event
    exists exactly when the change does (an outbox), so a crash can neither
    lose it nor send one for a change that was rolled back.
    """
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("publish() must run inside the transaction of the change it reports")
    return WebhookEvent.objects.create(
        project=project, type=type, data=data, ordering_key=ordering_key
    )
