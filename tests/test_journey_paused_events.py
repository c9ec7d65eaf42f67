"""Events that arrive while a journey is paused (issue 13): an exit event
takes the run out at once, paused or not; a waited-for event is applied when
the journey resumes — by the `event` port — if it arrived before the run's
timeout, however late the resume; one that came after the timeout is not."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from audiences.models import Customer
from journeys import runtime
from journeys.actions import do_resume
from journeys.counters import values as counter_values
from journeys.models import Journey, Run, Step
from tests.journey_factories import chain, live_journey, node, track
from tests.support.campaigns import add_customers, sending_project

NOON = datetime(2026, 3, 2, 3, 0, tzinfo=UTC)
TIMEOUT = timedelta(minutes=10)


@pytest.fixture
def acme(db):
    project = sending_project("Acme")
    add_customers(project, 5)
    return project


def user(project, i: int) -> Customer:
    return Customer.objects.get(project=project, user_id=f"u{i}")


def _journey(project):
    graph = chain(
        node(
            "wait_event",
            "wait",
            event="purchase",
            match_field="cartId",
            timeout_seconds=int(TIMEOUT.total_seconds()),
            next={"event": "thanks", "timeout": "remind"},
        ),
        node("exit", "thanks"),
        node("exit", "remind"),
    )
    return live_journey(project, graph, settings={"exit_events": [{"event": "refund"}]})


def _waiting(journey, project, n: int) -> list[Run]:
    runs = []
    for i in range(n):
        customer = user(project, i)
        event = track(customer, "cart_abandoned", {"cartId": f"C{i}"}, created_at=NOON)
        runs.append(
            runtime.do_enter_journey(journey, customer, entry_key="e", entry_event=event, now=NOON)
        )
    runtime.run_due(NOON)
    assert Run.objects.filter(journey=journey, state="waiting").count() == n
    return runs


def _ports(run) -> list[tuple[str, str]]:
    return list(Step.objects.filter(run=run).order_by("number").values_list("node", "port"))


def test_an_exit_event_takes_a_run_out_while_the_journey_is_paused(acme):
    journey = _journey(acme)
    [run] = _waiting(journey, acme, 1)
    Journey.objects.filter(pk=journey.pk).update(
        status=Journey.Status.PAUSED, paused_at=NOON + timedelta(minutes=1)
    )
    runtime.on_events(acme, [track(user(acme, 0), "refund", {})])
    run.refresh_from_db()
    assert (run.state, run.end_reason) == ("ended", "exit_event")
    assert counter_values(journey.live_version_id)[("wait", "exited:exit_event")] == 1


def test_a_waited_for_event_during_a_pause_is_applied_on_resume_unless_the_timeout_came_first(
    acme,
):
    journey = _journey(acme)
    early, late, other_cart, untouched = _waiting(journey, acme, 4)
    paused_at = NOON + timedelta(minutes=1)
    Journey.objects.filter(pk=journey.pk).update(status=Journey.Status.PAUSED, paused_at=paused_at)
    arrived = [
        # Before the timeout: applied on resume, even though the resume
        # comes long after the timeout.
        track(user(acme, 0), "purchase", {"cartId": "C0"}, created_at=NOON + timedelta(minutes=2)),
        # After the timeout: the timeout came first.
        track(user(acme, 1), "purchase", {"cartId": "C1"}, created_at=NOON + timedelta(minutes=20)),
        # Another cart: not the one waited for.
        track(user(acme, 2), "purchase", {"cartId": "C9"}, created_at=NOON + timedelta(minutes=3)),
    ]
    runtime.on_events(acme, arrived)
    for run in (early, late, other_cart, untouched):
        run.refresh_from_db()
        assert run.state == "waiting"  # nothing moves while paused
    journey.refresh_from_db()
    assert do_resume(journey)
    early.refresh_from_db()
    assert early.node == "thanks" and _ports(early)[-1] == ("wait", "event")
    assert Step.objects.get(run=early, node="wait").detail == {"event": arrived[0].pk}
    for run in (late, other_cart, untouched):
        run.refresh_from_db()
        assert run.state == "waiting"
    runtime.run_due()
    early.refresh_from_db()
    assert (early.state, early.end_reason, early.node) == ("ended", "exit_node", "thanks")
    for run in (late, other_cart, untouched):
        run.refresh_from_db()
        assert (run.state, run.node) == ("ended", "remind")
        assert ("wait", "timeout") in _ports(run)
    counts = counter_values(journey.live_version_id)
    assert (counts[("wait", "port:event")], counts[("wait", "port:timeout")]) == (1, 3)
