"""A runner whose time budget is spent enqueues its successor and works on
until the successor starts and takes the lease: with a large campaign's
tasks queued ahead of the successor, the journeys would otherwise stand
still while it waits for a worker (docs/journey-runtime.md "Workers")."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from journeys import runtime
from journeys import tasks as journey_tasks
from journeys.models import RunnerLease

OWNER = "host:1:old"
SUCCESSOR = "host:2:new"


@pytest.fixture
def enqueued(db, monkeypatch):
    calls: list[tuple] = []

    def record(*args, **kw):
        calls.append((*args, *kw.values()))

    monkeypatch.setattr("django_q.tasks.async_task", record)
    monkeypatch.setattr(journey_tasks, "async_task", record)
    RunnerLease.objects.all().delete()
    return calls


@pytest.fixture
def busy(monkeypatch):
    """Every batch comes back full; `busy.hooks[n]` runs before batch n."""

    class Busy:
        batches = 0
        hooks: dict = {}

    def full_batch(*args, **kw):
        hook = Busy.hooks.get(Busy.batches)
        Busy.batches += 1
        if hook:
            hook()
        return runtime.Pass(claimed=runtime.BATCH_SIZE, steps=runtime.BATCH_SIZE)

    monkeypatch.setattr(runtime, "run_batch", full_batch)
    return Busy


def test_a_runner_past_its_budget_works_on_until_its_successor_takes_the_lease(enqueued, busy):
    assert runtime.take_lease(OWNER, timezone.now())
    busy.hooks[3] = lambda: runtime.take_lease(SUCCESSOR, timezone.now())
    result = runtime.run_until_idle(OWNER, budget=0.0, overtime=60.0)
    assert result == "lease lost"
    assert enqueued == [(runtime.RUN_TASK,)]
    # It took batches after enqueueing its successor, until the take-over.
    assert busy.batches == 4
    lease = RunnerLease.objects.get()
    assert (lease.owner, lease.successor_at) == (SUCCESSOR, None)


def test_a_queued_successor_makes_the_send_core_hand_its_worker_on(enqueued, busy):
    assert runtime.take_lease(OWNER, timezone.now())
    busy.hooks[1] = lambda: RunnerLease.objects.update(
        successor_at=timezone.now() - timedelta(seconds=1)
    )
    seen: list[bool] = []
    busy.hooks[2] = lambda: seen.append(runtime.runner_waits())
    busy.hooks[3] = lambda: runtime.take_lease(SUCCESSOR, timezone.now())
    runtime.run_until_idle(OWNER, budget=0.0, overtime=60.0)
    assert seen == [True]
    # Once taken over, nobody waits any more.
    assert not runtime.runner_waits()


def test_without_overtime_a_runner_stops_at_its_budget(enqueued, busy):
    assert runtime.take_lease(OWNER, timezone.now())
    assert runtime.run_until_idle(OWNER, budget=0.0) == "continues"
    assert busy.batches == 0
    assert enqueued == []


def test_a_runner_whose_successor_never_started_leaves_it_the_lease(enqueued, busy, monkeypatch):
    monkeypatch.setattr(journey_tasks, "time_budget", lambda: 0.0)
    monkeypatch.setattr(journey_tasks, "overtime", lambda: 0.05)
    monkeypatch.setattr(journey_tasks, "process_owner", lambda: OWNER)
    assert journey_tasks.run_due() == "handed over"
    # One successor, not a second one when the overtime ran out.
    assert enqueued == [(runtime.RUN_TASK,)]
    lease = RunnerLease.objects.get()
    assert (lease.owner, lease.pending) == ("", True)
    assert lease.successor_at is not None
    assert runtime.runner_waits(after=0.0)
    assert runtime.take_lease(SUCCESSOR, timezone.now())


def test_a_handed_over_lease_goes_to_whichever_runner_task_starts_first(enqueued, busy):
    assert runtime.take_lease(OWNER, timezone.now())
    assert runtime.hand_over(OWNER)
    # The minute's schedule starts a runner before the successor does.
    assert runtime.take_lease("host:3:minute", timezone.now())
    assert not runtime.take_lease(SUCCESSOR, timezone.now())
    assert not runtime.renew_lease(OWNER)


def test_a_runner_that_lost_its_lease_enqueues_no_successor(enqueued):
    assert runtime.take_lease(OWNER, timezone.now())
    assert runtime.take_lease(SUCCESSOR, timezone.now() + runtime.claim_timeout() * 2)
    assert not runtime.hand_over(OWNER)
    assert enqueued == []


def test_overtime_ends_ten_seconds_before_the_task_timeout(settings):
    settings.Q_CLUSTER = {**settings.Q_CLUSTER, "sync": False, "timeout": 120}
    assert journey_tasks.time_budget() + journey_tasks.overtime() == 110
    settings.Q_CLUSTER = {**settings.Q_CLUSTER, "sync": True}
    assert journey_tasks.overtime() == 0.0


def test_a_runner_that_takes_the_lease_back_goes_on_with_what_is_left_of_its_time(
    enqueued, monkeypatch, settings
):
    """A run that became due as the runner left makes it take the lease back
    (`give_up_lease`); it must not start a fresh budget, or a late-life
    runner outlives django-q2's timeout and is killed."""
    from types import SimpleNamespace

    settings.Q_CLUSTER = {**settings.Q_CLUSTER, "sync": False, "timeout": 120}
    clock = SimpleNamespace(now=1000.0)
    monkeypatch.setattr(journey_tasks, "time", SimpleNamespace(monotonic=lambda: clock.now))
    monkeypatch.setattr(journey_tasks, "process_owner", lambda: OWNER)
    given: list[tuple[float, float]] = []

    def idle_after_80_seconds(owner, budget, lease, *, overtime):
        given.append((budget, overtime))
        clock.now += 80
        return "idle"

    took_back = iter([True, True, False])
    monkeypatch.setattr(runtime, "run_until_idle", idle_after_80_seconds)
    monkeypatch.setattr(runtime, "give_up_lease", lambda *a, **kw: next(took_back))

    assert journey_tasks.run_due() == "idle"
    # Budget 90 s and overtime 20 s end 10 s before the 120 s timeout; each
    # take-back gets only what is left of them.
    assert given == [(90.0, 20.0), (10.0, 20.0), (0.0, 0.0)]
