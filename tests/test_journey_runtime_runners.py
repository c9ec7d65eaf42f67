"""More than one runner at a time (issue 13): on PostgreSQL with
`JOURNEY_RUNNERS` > 1 the first runner wakes helper runners (their own
leases); SQLite keeps one. Two runners taking batches of the same journey at
once take each step once, hand each message once, and leave counters equal
to a recount of the step log."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

import pytest
from django.db import connection

from audiences.models import Customer
from channels.models import SenderNumber
from dispatch.models import Message
from journeys import runtime
from journeys.counters import values as counter_values
from journeys.models import Run, RunnerLease, Step
from tests.journey_factories import chain, live_journey, node, track
from tests.support.campaigns import add_customers, sending_project

NOON = datetime(2026, 3, 2, 3, 0, tzinfo=UTC)
RUNS = 120


def test_helper_runners_are_woken_on_postgresql_only_once_each(db, settings, monkeypatch):
    settings.JOURNEY_RUNNERS = 3
    queued = []
    monkeypatch.setattr(
        "django_q.tasks.async_task", lambda *args, **kwargs: queued.append((args, kwargs))
    )
    if connection.vendor == "postgresql":
        assert runtime.helper_leases() == ["runner-2", "runner-3"]
        assert runtime.wake_helpers() == 2
        assert runtime.wake_helpers() == 0  # pending already
        assert [kw for _args, kw in queued] == [{"lease": "runner-2"}, {"lease": "runner-3"}]
        assert set(RunnerLease.objects.values_list("name", flat=True)) >= {"runner-2", "runner-3"}
    else:
        assert runtime.helper_leases() == []
        assert runtime.wake_helpers() == 0
        assert queued == []


@pytest.mark.django_db(transaction=True)
def test_two_runners_at_once_take_each_step_once(monkeypatch):
    monkeypatch.setattr("django_q.tasks.async_task", lambda *args, **kwargs: None)
    project = sending_project("Runners")
    add_customers(project, RUNS)
    sender = SenderNumber.objects.get(project=project)
    graph = chain(
        node(
            "ab",
            "ab",
            variants=[{"key": "a", "percent": 50}, {"key": "b", "percent": 50}],
            next={"a": "send", "b": "send"},
        ),
        node("send", "send", sender_number_id=sender.pk, body="{{ name }}님 안녕하세요"),
        node("webhook", "hook", body='{"n": 1}'),
        node("exit", "bye"),
    )
    journey = live_journey(project, graph)
    for customer in Customer.objects.filter(project=project):
        event = track(customer, "cart_abandoned", {}, created_at=NOON)
        runtime.do_enter_journey(journey, customer, entry_key="e", entry_event=event, now=NOON)
    start = threading.Barrier(2)
    errors = []

    def runner() -> None:
        start.wait()
        try:
            while runtime.run_batch(NOON, limit=15).claimed:
                pass
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=runner) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert not errors
    runtime.run_due(NOON)
    assert Run.objects.filter(journey=journey, state="ended").count() == RUNS
    for run in Run.objects.filter(journey=journey):
        numbers = list(
            Step.objects.filter(run=run).order_by("number").values_list("number", flat=True)
        )
        assert numbers == [1, 2, 3, 4, 5], (run.pk, numbers)
    assert Message.objects.count() == RUNS
    counts = counter_values(journey.live_version_id)
    assert counts[("send", "port:sent")] == RUNS
    assert counts[("ab", "port:a")] + counts[("ab", "port:b")] == RUNS
    assert counts[("bye", "exited:exit_node")] == RUNS
    assert all(counts[(n, "waiting")] == 0 for n in ("start", "ab", "send", "hook", "bye"))
