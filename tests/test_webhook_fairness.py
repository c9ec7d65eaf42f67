"""Fair delivery per project: one project's flood of events (a bulk opt-out
import) must not delay another project's single event, and a bulk change
queues one delivery run per project, not one per chunk it commits."""

from __future__ import annotations

import pytest
from django.db import transaction

from webhooks import tasks
from webhooks.actions import do_register_webhook
from webhooks.events import publish_many
from webhooks.models import WebhookEvent

pytestmark = pytest.mark.django_db

TYPE = "ReportSMSUnsubscribed"


def flood(project, count: int, prefix: str) -> None:
    with transaction.atomic():
        publish_many(
            project,
            TYPE,
            [({"phoneNumber": f"{prefix}{i:04d}"}, f"{prefix}{i:04d}") for i in range(count)],
        )


def test_a_run_over_all_projects_takes_each_project_in_turn(world, receiver, monkeypatch):
    do_register_webhook(world.acme, receiver.url, world.alice)
    do_register_webhook(world.bolt, receiver.url, world.bob)
    flood(world.acme, 40, "+82101111")  # older than Bolt's one event
    flood(world.bolt, 1, "+82102222")
    # One pass only: every project with due events gets one batch.
    monkeypatch.setattr(tasks, "RUN_SLICE_SECONDS", 0.0)
    monkeypatch.setattr(tasks, "enqueue_delivery", lambda *args, **kwargs: None)
    totals = tasks.deliver_webhook_events()
    bolt = WebhookEvent.objects.get(project=world.bolt)
    assert bolt.status == "delivered"
    delivered_acme = WebhookEvent.objects.filter(project=world.acme, status="delivered").count()
    assert delivered_acme == tasks.delivery.BATCH_SIZE
    assert totals["delivered"] == delivered_acme + 1


def test_a_run_that_is_not_done_queues_its_continuation_behind_other_work(
    world, receiver, monkeypatch
):
    do_register_webhook(world.acme, receiver.url, world.alice)
    flood(world.acme, 40, "+82101111")
    handed_over = []
    monkeypatch.setattr(tasks, "RUN_SLICE_SECONDS", 0.0)
    monkeypatch.setattr(
        tasks, "enqueue_delivery", lambda *args, **kwargs: handed_over.append((args, kwargs))
    )
    tasks.deliver_webhook_events(str(world.acme.id))
    assert WebhookEvent.objects.filter(status="delivered").count() == tasks.delivery.BATCH_SIZE
    assert handed_over == [((str(world.acme.id),), {"again": True})]


def test_many_commits_of_one_project_queue_one_delivery_run(world, monkeypatch):
    queued = []
    monkeypatch.setattr(tasks, "async_task", lambda *args, **kwargs: queued.append(args))
    for _ in range(5):
        tasks.enqueue_delivery(world.acme.id)
    tasks.enqueue_delivery(world.bolt.id)
    assert queued == [(tasks.TASK, str(world.acme.id)), (tasks.TASK, str(world.bolt.id))]
    # Once that run starts, a new commit queues the next one.
    monkeypatch.setattr(tasks.delivery, "deliver_batch", lambda *a, **k: {"claimed": 0})
    monkeypatch.setattr(tasks.delivery, "next_retry_at", lambda *a: None)
    tasks.deliver_webhook_events(str(world.acme.id))
    tasks.enqueue_delivery(world.acme.id)
    assert len(queued) == 3
