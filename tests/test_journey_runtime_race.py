"""The waited-for event and its timeout, really at the same time: for each
of many runs, one thread delivers the event while another runs the runner
at the timeout. Exactly one of them takes the step, every time."""

from __future__ import annotations

import threading
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection

from audiences.models import Customer
from journeys import runtime
from journeys.models import Run, Step
from tests.journey_factories import chain, live_journey, node, track
from tests.support.campaigns import add_customers, sending_project

NOON = datetime(2026, 3, 2, 3, 0, tzinfo=UTC)
RUNS = 40


@pytest.mark.django_db(transaction=True)
def test_an_event_and_its_timeout_at_the_same_moment_take_one_step_between_them(monkeypatch):
    # Only the two threads below take steps: no runner task woken inline.
    monkeypatch.setattr("django_q.tasks.async_task", lambda *args, **kwargs: None)
    project = sending_project("Race")
    add_customers(project, RUNS)
    graph = chain(
        node(
            "wait_event",
            "wait",
            event="purchase",
            timeout_seconds=600,
            next={"event": "thanks", "timeout": "remind"},
        ),
        node("exit", "thanks"),
        node("exit", "remind"),
    )
    journey = live_journey(project, graph)
    customers = list(Customer.objects.filter(project=project).order_by("id"))
    for customer in customers:
        event = track(customer, "cart_abandoned", {}, created_at=NOON)
        runtime.do_enter_journey(journey, customer, entry_key="e", entry_event=event, now=NOON)
    runtime.run_due(NOON)
    assert Run.objects.filter(state=Run.State.WAITING).count() == RUNS
    timeout = NOON + timedelta(minutes=10)
    purchases = [track(c, "purchase", {}) for c in customers]
    start = threading.Barrier(2)

    def deliver() -> None:
        start.wait()
        try:
            for event in purchases:
                runtime.on_events(project, [event])
        finally:
            connection.close()

    def time_out() -> None:
        start.wait()
        try:
            for _ in range(RUNS):
                runtime.run_batch(timeout, limit=1)
        finally:
            connection.close()

    threads = [threading.Thread(target=deliver), threading.Thread(target=time_out)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    runtime.run_due(timeout)
    ports = Counter()
    for run in Run.objects.filter(journey=journey):
        taken = list(Step.objects.filter(run=run, node="wait").values_list("port", flat=True))
        assert len(taken) == 1, (run.pk, taken)
        ports[taken[0]] += 1
        numbers = list(
            Step.objects.filter(run=run).order_by("number").values_list("number", flat=True)
        )
        assert numbers == list(range(1, run.step + 1))
    assert sum(ports.values()) == RUNS
    print(dict(ports))
