"""A journey's settings at run time: re-entry policies, exit events (also
during a delay, cancelling queued messages), quiet hours (hold and skip), the
frequency cap and its override, late sends after a pause, and the wake-up."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone

from audiences.models import Customer
from audiences.signals import events_tracked
from channels.models import SenderNumber
from dispatch.actions import do_create_outbox
from dispatch.models import Message, OutboxStats, SendingPolicy
from journeys import runtime
from journeys.counters import values as counter_values
from journeys.models import Journey, Run, RunnerLease, SendNodeOutbox, Step
from tests.journey_factories import chain, live_journey, node, track
from tests.support.campaigns import add_customers, sending_project

# Monday 2 March 2026, 12:00 in Seoul.
NOON = datetime(2026, 3, 2, 3, 0, tzinfo=UTC)
# 22:00 in Seoul.
NIGHT = datetime(2026, 3, 2, 13, 0, tzinfo=UTC)


@pytest.fixture
def acme(db):
    project = sending_project("Acme")
    add_customers(project, 10)
    return project


@pytest.fixture
def sender(acme):
    return SenderNumber.objects.get(project=acme)


def user(project, i: int = 0) -> Customer:
    return Customer.objects.get(project=project, user_id=f"u{i}")


def enter(journey, customer, key, data=None, now=NOON):
    event = track(customer, "cart_abandoned", data or {}, created_at=now)
    return runtime.do_enter_journey(journey, customer, entry_key=key, entry_event=event, now=now)


def finish(run, now=NOON):
    runtime.run_due(now)
    run.refresh_from_db()
    assert run.state == "ended"


def short_journey(project, reentry):
    return live_journey(project, chain(node("exit", "x")), settings={"reentry": reentry})


def test_reentry_once_lets_a_user_in_a_single_time(acme):
    journey = short_journey(acme, {"mode": "once"})
    finish(enter(journey, user(acme), "e1"))
    assert enter(journey, user(acme), "e2") is None


def test_reentry_after_end_waits_for_the_previous_run_to_end(acme):
    journey = short_journey(acme, {"mode": "after_end"})
    first = enter(journey, user(acme), "e1")
    assert enter(journey, user(acme), "e2") is None
    finish(first)
    assert enter(journey, user(acme), "e3") is not None


def test_reentry_is_after_end_by_default_and_idempotent_per_entry_key(acme):
    journey = live_journey(acme, chain(node("exit", "x")))
    first = enter(journey, user(acme), "e1")
    finish(first)
    assert enter(journey, user(acme), "e1") is None
    assert Run.objects.filter(journey=journey).count() == 1
    assert counter_values(journey.live_version_id)[("start", "entered")] == 1


def test_reentry_after_a_cooldown_counts_from_the_previous_entry(acme):
    journey = short_journey(acme, {"mode": "cooldown", "cooldown_seconds": 3600})
    finish(enter(journey, user(acme), "e1"))
    assert enter(journey, user(acme), "e2", now=NOON + timedelta(minutes=59)) is None
    assert enter(journey, user(acme), "e3", now=NOON + timedelta(minutes=60)) is not None


def test_reentry_at_most_n_times(acme):
    journey = short_journey(acme, {"mode": "max", "max": 2})
    finish(enter(journey, user(acme), "e1"))
    finish(enter(journey, user(acme), "e2"))
    assert enter(journey, user(acme), "e3") is None


def test_reentry_keyed_allows_concurrent_runs_one_per_key(acme):
    journey = live_journey(
        acme,
        chain(node("delay", "d", seconds=600), node("exit", "x")),
        settings={"reentry": {"mode": "keyed", "key_field": "cartId"}},
    )
    a = enter(journey, user(acme), "e1", {"cartId": "A"})
    b = enter(journey, user(acme), "e2", {"cartId": "B"})
    assert a is not None and b is not None
    assert enter(journey, user(acme), "e3", {"cartId": "A"}) is None
    assert enter(journey, user(acme), "e4", {}) is None
    runtime.run_due(NOON)
    finish(a, NOON + timedelta(minutes=10))
    assert enter(journey, user(acme), "e5", {"cartId": "A"}, now=NOON + timedelta(minutes=10))


def test_inactive_journeys_take_no_entries(acme):
    journey = short_journey(acme, {})
    Journey.objects.filter(pk=journey.pk).update(status=Journey.Status.PAUSED)
    journey.refresh_from_db()
    assert enter(journey, user(acme), "e1") is None


def _exit_journey(acme, sender, **exit_event):
    exit_event.setdefault("event", "purchase")
    return live_journey(
        acme,
        chain(
            node("send", "first", sender_number_id=sender.pk, body="장바구니를 잊으셨나요?"),
            node("delay", "wait", seconds=86400),
            node("send", "second", sender_number_id=sender.pk, body="마지막 기회!"),
        ),
        settings={"exit_events": [exit_event]},
    )


def test_an_exit_event_takes_a_run_out_of_a_delay_at_once_and_cancels_its_queued_message(
    acme, sender
):
    journey = _exit_journey(acme, sender, match_field="cartId")
    customer = user(acme)
    run = enter(journey, customer, "e1", {"cartId": "C1"})
    runtime.run_due(NOON)
    run.refresh_from_db()
    assert run.node == "wait"
    message = Message.objects.get(dedupe_key=f"r{run.pk}-2")
    assert message.status == "queued"
    # A purchase of another cart does not end this run.
    runtime.on_events(acme, [track(customer, "purchase", {"cartId": "C2"})])
    run.refresh_from_db()
    assert run.state == "active"
    runtime.on_events(acme, [track(customer, "purchase", {"cartId": "C1"})])
    run.refresh_from_db()
    assert (run.state, run.end_reason, run.step) == ("ended", "exit_event", 3)
    last = Step.objects.get(run=run, number=3)
    assert (last.node, last.port, last.detail["exit"]) == ("wait", "", "exit_event")
    message.refresh_from_db()
    assert (message.status, message.skip_reason) == ("skipped", "cancelled")
    stats = OutboxStats.objects.get(outbox_id=message.outbox_id)
    assert (stats.queued, stats.skipped_cancelled) == (0, 1)
    counts = counter_values(journey.live_version_id)
    assert counts[("wait", "exited:exit_event")] == 1
    assert counts[("wait", "waiting")] == 0
    # The delay's end finds nothing to do.
    assert runtime.run_due(NOON + timedelta(days=2)).steps == 0


def test_an_exit_event_does_not_cancel_a_message_already_handed_to_a_gateway(acme, sender):
    journey = _exit_journey(acme, sender)
    customer = user(acme)
    run = enter(journey, customer, "e1")
    runtime.run_due(NOON)
    Message.objects.filter(dedupe_key=f"r{run.pk}-2").update(status="sent", sent_at=NOON)
    runtime.on_events(acme, [track(customer, "purchase", {})])
    assert Message.objects.get(dedupe_key=f"r{run.pk}-2").status == "sent"
    run.refresh_from_db()
    assert run.end_reason == "exit_event"


def test_the_tracked_events_signal_moves_runs(acme, sender):
    journey = _exit_journey(acme, sender)
    customer = user(acme)
    run = enter(journey, customer, "e1")
    runtime.run_due(NOON)
    purchase = track(customer, "purchase", {})
    events_tracked.send(sender=Customer, project=acme, event_ids=[purchase.pk])
    run.refresh_from_db()
    assert run.end_reason == "exit_event"


def _quiet_journey(acme, sender, mode):
    return live_journey(
        acme,
        chain(node("send", "s", sender_number_id=sender.pk, body="안녕하세요")),
        settings={"quiet_hours": {"start": "21:00", "end": "09:00", "mode": mode}},
    )


def test_quiet_hours_hold_moves_the_send_to_their_end_without_a_step(acme, sender):
    journey = _quiet_journey(acme, sender, "hold")
    run = enter(journey, user(acme), "e1", now=NIGHT)
    runtime.run_due(NIGHT)
    run.refresh_from_db()
    # 09:00 the next morning in Seoul; the trigger step only.
    assert (run.node, run.step) == ("s", 1)
    assert run.due_at == datetime(2026, 3, 3, 0, 0, tzinfo=UTC)
    assert not Message.objects.exists()
    runtime.run_due(run.due_at)
    run.refresh_from_db()
    assert (run.state, run.step) == ("ended", 2)
    assert Step.objects.get(run=run, number=2).port == "sent"


def test_quiet_hours_skip_sends_nothing_and_says_why(acme, sender):
    journey = _quiet_journey(acme, sender, "skip")
    run = enter(journey, user(acme), "e1", now=NIGHT)
    runtime.run_due(NIGHT)
    step = Step.objects.get(run=run, number=2)
    assert (step.port, step.detail["reason"]) == ("not_sent", "quiet_hours")
    assert not Message.objects.exists()
    assert counter_values(journey.live_version_id)[("s", "skipped:quiet_hours")] == 1


def _sent_today(project, customer):
    other = do_create_outbox(project, producer_kind="campaign")
    Message.objects.create(
        outbox=other,
        dedupe_key="x",
        project=project,
        phone_number=customer.phone_number,
        body="earlier",
        status="sent",
        sent_at=NOON - timedelta(hours=1),
    )


def test_the_projects_frequency_cap_applies_and_a_journey_may_override_it(acme, sender):
    SendingPolicy.objects.create(project=acme, frequency_cap=1, frequency_window_hours=24)
    capped_user, free_user = user(acme, 0), user(acme, 1)
    _sent_today(acme, capped_user)
    graph = chain(node("send", "s", sender_number_id=sender.pk, body="안녕"))
    journey = live_journey(acme, graph)
    capped = enter(journey, capped_user, "e1")
    free = enter(journey, free_user, "e2")
    runtime.run_due(NOON)
    assert Step.objects.get(run=capped, number=2).detail["reason"] == "frequency_cap"
    assert Step.objects.get(run=free, number=2).port == "sent"
    # An override of 0 (no cap) on another journey: its outbox carries it.
    uncapped = live_journey(acme, graph, settings={"frequency_cap": 0}, name="uncapped")
    run = enter(uncapped, capped_user, "e3")
    runtime.run_due(NOON)
    assert Step.objects.get(run=run, number=2).port == "sent"
    outbox = SendNodeOutbox.objects.get(version=uncapped.live_version).outbox
    assert outbox.frequency_cap == 0


def test_a_send_overdue_beyond_the_late_tolerance_after_a_pause_is_skipped_as_late(acme, sender):
    journey = live_journey(
        acme,
        chain(
            node("delay", "d", seconds=600),
            node("send", "s", sender_number_id=sender.pk, body="안녕"),
        ),
        settings={"late_tolerance_seconds": 3600},
    )
    late = enter(journey, user(acme, 0), "e1")
    on_time = enter(journey, user(acme, 1), "e2", now=NOON + timedelta(hours=2))
    runtime.run_due(NOON)
    Journey.objects.filter(pk=journey.pk).update(status=Journey.Status.PAUSED)
    runtime.run_due(NOON + timedelta(hours=2))
    assert Run.objects.get(pk=late.pk).step == 1
    Journey.objects.filter(pk=journey.pk).update(status=Journey.Status.ACTIVE)
    resumed = NOON + timedelta(hours=2, minutes=30)
    runtime.run_due(resumed)
    # Due 12:10, resumed 14:30: more than an hour late.
    assert Step.objects.get(run=late, node="s").detail["reason"] == "late"
    runtime.run_due(resumed + timedelta(minutes=10))
    assert Step.objects.get(run=on_time, node="s").port == "sent"
    assert Message.objects.count() == 1


def test_wake_runner_enqueues_at_most_one_pending_runner(acme, monkeypatch, settings):
    enqueued = []
    monkeypatch.setattr("django_q.tasks.async_task", lambda *a, **k: enqueued.append(a))
    RunnerLease.objects.all().delete()
    for _ in range(5):
        runtime.wake_now()
    assert enqueued == [(runtime.RUN_TASK,)]
    # The runner takes the lease, finds nothing due, leaves and clears the flag.
    owner = "host:1:a"
    assert runtime.take_lease(owner, timezone.now())
    assert not runtime.take_lease("host:2:b", timezone.now())
    assert runtime.give_up_lease(owner) is False
    runtime.wake_now()
    assert len(enqueued) == 2
    # A pending runner that never started for a claim timeout is replaced.
    RunnerLease.objects.update(woken_at=timezone.now() - timedelta(hours=1))
    runtime.wake_now()
    assert len(enqueued) == 3


def test_a_runner_leaving_looks_once_more_and_goes_on_when_a_run_became_due(acme):
    journey = live_journey(acme, chain(node("exit", "x")))
    owner = "host:1:a"
    assert runtime.take_lease(owner, timezone.now())
    enter(journey, user(acme), "e1", now=timezone.now())
    assert runtime.give_up_lease(owner) is True
    assert RunnerLease.objects.get().owner == owner
