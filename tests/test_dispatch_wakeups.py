"""A producer's wake-ups of an outbox's send chains enqueue each slot's task
once while it waits for a worker: without that, every commit of a busy
producer (the journey runner's batches, a campaign's chunks) added tasks,
and a task enqueued behind them (the runner's) waited for all of them."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.conf import settings
from django.utils import timezone

from channels.gateways import console as console_backend
from channels.models import Gateway, SenderNumber
from dispatch import pipeline
from dispatch import tasks as dispatch_tasks
from dispatch.actions import (
    SEND_TASK,
    NewMessage,
    do_create_outbox,
    do_enqueue_messages,
    wake_senders,
)
from dispatch.models import DispatchSlot, Outbox
from tests.support.campaigns import sending_project


@pytest.fixture
def outbox(db, settings):
    settings.DISPATCH_SENDERS = 2
    console_backend.outbox.clear()
    gateway = Gateway.objects.create(name="Test console", backend="console")
    project = sending_project("Acme", gateway=gateway)
    sender = SenderNumber.objects.get(project=project)
    yield do_create_outbox(
        project, producer_kind="test", sender_number_id=sender.pk, status=Outbox.Status.OPEN
    )
    console_backend.outbox.clear()


@pytest.fixture
def queued(monkeypatch):
    """Send tasks enqueued, recorded instead of run."""
    calls: list[tuple] = []

    def record(*args, **kw):
        calls.append(args)

    monkeypatch.setattr("django_q.tasks.async_task", record)
    monkeypatch.setattr(dispatch_tasks, "async_task", record)
    return calls


def enqueue(outbox: Outbox, *keys: str) -> None:
    do_enqueue_messages(outbox, [NewMessage(key, "+821012340000", "hello") for key in keys])


def test_wake_ups_while_the_chains_wait_for_a_worker_enqueue_each_slot_once(outbox, queued):
    for _ in range(5):
        wake_senders(outbox.pk)
    assert sorted(queued) == [(SEND_TASK, outbox.pk, 0), (SEND_TASK, outbox.pk, 1)]


def test_a_started_task_lets_the_next_wake_up_enqueue_its_slot_again(outbox, queued):
    assert wake_senders(outbox.pk)
    enqueue(outbox, "a")
    assert dispatch_tasks.send_outbox(outbox.pk, 0) == "idle"
    assert len(console_backend.outbox) == 1
    queued.clear()
    assert wake_senders(outbox.pk)
    # Slot 1's task has not started: only slot 0's is enqueued again.
    assert queued == [(SEND_TASK, outbox.pk, 0)]


def test_a_task_finding_its_slot_taken_is_no_longer_counted_as_queued(outbox, queued):
    wake_senders(outbox.pk)
    assert pipeline.take_slot(outbox.pk, 0, "other:1:x", timezone.now())
    assert dispatch_tasks.send_outbox(outbox.pk, 0) == "slot taken"
    assert DispatchSlot.objects.get(outbox=outbox, slot=0).queued_at is None
    assert DispatchSlot.objects.get(outbox=outbox, slot=1).queued_at is not None


def test_a_task_queued_longer_than_the_claim_timeout_counts_as_lost(outbox, queued):
    wake_senders(outbox.pk)
    DispatchSlot.objects.filter(outbox=outbox).update(
        queued_at=timezone.now() - timedelta(seconds=settings.DISPATCH_CLAIM_SECONDS + 1)
    )
    queued.clear()
    assert wake_senders(outbox.pk)
    assert len(queued) == 2


def test_a_forced_wake_up_enqueues_even_when_tasks_are_queued(outbox, queued):
    # After a restart the queued tasks may have died with their worker.
    wake_senders(outbox.pk)
    queued.clear()
    assert wake_senders(outbox.pk, force=True)
    assert len(queued) == 2


def test_a_chain_handing_on_marks_its_successor_queued(outbox, queued, monkeypatch):
    enqueue(outbox, "a", "b")
    monkeypatch.setattr(dispatch_tasks, "_send_until_done", lambda *args: "continues")
    DispatchSlot.objects.create(outbox=outbox, slot=1, owner="other:1:x", renewed_at=None)
    assert dispatch_tasks.send_outbox(outbox.pk, 0) == "continues"
    assert queued == [(SEND_TASK, outbox.pk, 0)]
    queued.clear()
    # No chain is alive now, but slot 0's successor is queued: a producer's
    # wake-up enqueues only the slot that has none.
    wake_senders(outbox.pk)
    assert queued == [(SEND_TASK, outbox.pk, 1)]


def test_wake_ups_enqueue_nothing_while_a_chain_is_alive(outbox, queued):
    assert pipeline.take_slot(outbox.pk, 0, pipeline.process_owner(), timezone.now())
    assert not wake_senders(outbox.pk)
    assert queued == []
