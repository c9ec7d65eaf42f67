"""The one way other apps emit a webhook event."""

from __future__ import annotations

from django.db import transaction

from projects.models import Project
from webhooks.models import WebhookEvent


class _DeliveryTrigger:
    """An on-commit callback that starts a delivery run for one project. One
    per project and transaction, however many events it publishes (an API
    call may opt out 1,000 numbers at once)."""

    def __init__(self, project_id: object) -> None:
        self.project_id = project_id

    def __call__(self) -> None:
        from webhooks.tasks import enqueue_delivery

        enqueue_delivery(self.project_id)


def _trigger_delivery_on_commit(project_id: object) -> None:
    connection = transaction.get_connection()
    # A callback registered in a savepoint that was rolled back is gone from
    # this list, so a trigger found here will run.
    for _savepoints, callback, _robust in connection.run_on_commit:
        if isinstance(callback, _DeliveryTrigger) and callback.project_id == project_id:
            return
    transaction.on_commit(_DeliveryTrigger(project_id))


def publish(
    project: Project,
    type: str,
    data: dict,
    *,
    ordering_key: str = "",
    is_test: bool = False,
) -> WebhookEvent:
    """Record an event owed to the project's endpoint.

    Call it inside the transaction that makes the change it reports: the event
    exists exactly when the change does (an outbox), so a crash can neither
    lose it nor send one for a change that was rolled back. Delivery starts
    when that transaction commits; events with the same `ordering_key` reach
    the receiver in the order they were published.
    """
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("publish() must run inside the transaction of the change it reports")
    event = WebhookEvent.objects.create(
        project=project, type=type, data=data, ordering_key=ordering_key, is_test=is_test
    )
    _trigger_delivery_on_commit(project.pk)
    return event


def publish_many(
    project: Project, type: str, items: list[tuple[dict, str]], *, batch_size: int = 1000
) -> int:
    """`publish()` for many events of one type at once: `items` are (data,
    ordering_key) pairs, written with multi-row INSERTs (a bulk change of
    thousands of numbers would otherwise be thousands of statements). The
    same outbox rule: call it inside the change's transaction."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("publish_many() must run inside the transaction of the change")
    if not items:
        return 0
    WebhookEvent.objects.bulk_create(
        [
            WebhookEvent(project=project, type=type, data=data, ordering_key=key)
            for data, key in items
        ],
        batch_size=batch_size,
    )
    _trigger_delivery_on_commit(project.pk)
    return len(items)
