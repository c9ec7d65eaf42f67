"""Entering a Track call's users in one batch (`runtime.enter_many`) decides
exactly as entering them one at a time (`do_enter_journey`), for every
re-entry policy, with users who already have runs (live, ended) and users
who appear more than once in the batch."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from audiences.models import Customer
from journeys import runtime
from journeys.counters import values as counter_values
from journeys.models import Run
from tests.journey_factories import chain, live_journey, node, track
from tests.support.campaigns import add_customers, sending_project

NOON = datetime(2026, 3, 2, 3, 0, tzinfo=UTC)
LATER = NOON + timedelta(minutes=30)

# (user, cartId) in the order of the batch; None: no cartId in the event.
BATCH = [(0, "A"), (1, "A"), (2, "B"), (3, "A"), (3, "A"), (3, "B"), (4, None), (0, "B"), (5, "C")]


@pytest.fixture
def acme(db):
    project = sending_project("Acme")
    add_customers(project, 6)
    return project


def user(project, i: int) -> Customer:
    return Customer.objects.get(project=project, user_id=f"u{i}")


def journey_with_history(project, reentry: dict):
    """u0 had a run that ended; u1 and u2 had one that ended and have a live one."""
    journey = live_journey(
        project,
        chain(node("delay", "d", seconds=600), node("exit", "x")),
        settings={"reentry": reentry},
    )
    for i in (0, 1, 2):
        event = track(user(project, i), "cart_abandoned", {"cartId": "A"}, created_at=NOON)
        runtime.do_enter_journey(
            journey, user(project, i), entry_key=f"h{i}", entry_event=event, now=NOON
        )
    runtime.run_due(NOON)
    runtime.run_due(NOON + timedelta(minutes=10))
    for i in (1, 2):
        at = NOON + timedelta(minutes=11)
        event = track(user(project, i), "cart_abandoned", {"cartId": "A"}, created_at=at)
        runtime.do_enter_journey(
            journey, user(project, i), entry_key=f"l{i}", entry_event=event, now=at
        )
    return journey


def batch_events(project):
    return [
        track(user(project, i), "cart_abandoned", {} if cart is None else {"cartId": cart})
        for i, cart in BATCH
    ]


def entered(journey) -> list[tuple[str, str, str]]:
    return sorted(
        Run.objects.filter(journey=journey, started_at=LATER).values_list(
            "customer__user_id", "entry_key", "reentry_key"
        )
    )


@pytest.mark.parametrize(
    "reentry",
    [
        {"mode": "once"},
        {"mode": "after_end"},
        {"mode": "cooldown", "cooldown_seconds": 600},
        {"mode": "cooldown", "cooldown_seconds": 3600},
        {"mode": "max", "max": 1},
        {"mode": "max", "max": 2},
        {"mode": "keyed", "key_field": "cartId"},
    ],
    ids=lambda r: "-".join(str(v) for v in r.values()),
)
def test_a_batch_of_entries_decides_as_one_entry_at_a_time(acme, reentry, caplog):
    one_by_one = journey_with_history(acme, reentry)
    batched = journey_with_history(acme, reentry)
    events = batch_events(acme)
    for n, event in enumerate(events):
        runtime.do_enter_journey(
            one_by_one, event.customer, entry_key=f"b{n}", entry_event=event, now=LATER
        )
    started = runtime.enter_many(
        [runtime.Entry(batched, e.customer_id, f"b{n}", e) for n, e in enumerate(events)], now=LATER
    )
    assert "one at a time" not in caplog.text  # decided as a batch, no fallback
    expected = entered(one_by_one)
    assert expected, "the scenario lets somebody in under every policy"
    assert entered(batched) == expected
    assert started == len(expected)
    counts, reference = (counter_values(j.live_version_id) for j in (batched, one_by_one))
    assert counts[("start", "entered")] == reference[("start", "entered")]
    assert counts[("start", "waiting")] == reference[("start", "waiting")]


def test_an_entry_repeated_by_a_later_batch_is_not_entered_twice(acme):
    journey = live_journey(acme, chain(node("exit", "x")))
    event = track(user(acme, 0), "cart_abandoned", {})
    entry = runtime.Entry(journey, event.customer_id, f"e{event.pk}", event)
    assert runtime.enter_many([entry], now=NOON) == 1
    runtime.run_due(NOON)
    # The run ended, so after_end would let the user in again, but not for
    # the same entry (the same event): its INSERT conflicts, and the batch
    # falls back to one at a time, which recognises the repeat.
    assert runtime.enter_many([entry], now=LATER) == 0
    assert Run.objects.filter(journey=journey).count() == 1
    assert counter_values(journey.live_version_id)[("start", "entered")] == 1


def test_a_journey_that_is_not_active_takes_no_batch(acme):
    journey = live_journey(acme, chain(node("exit", "x")))
    journey.status = journey.Status.PAUSED
    journey.save(update_fields=["status"])
    event = track(user(acme, 0), "cart_abandoned", {})
    assert runtime.enter_many([runtime.Entry(journey, event.customer_id, "e", event)]) == 0
    assert not Run.objects.filter(journey=journey).exists()


def test_the_batch_insert_writes_every_column_of_a_run_with_the_models_defaults():
    # A field added to Run must be added to the batch INSERT too.
    fields = [f for f in Run._meta.concrete_fields if not f.primary_key]
    assert {*runtime._RUN_COLUMNS, *runtime._RUN_DEFAULTS} == {f.column for f in fields}
    for f in fields:
        if f.column in runtime._RUN_DEFAULTS:
            assert runtime._RUN_DEFAULTS[f.column] == f.get_default(), f.column


def test_a_batch_entered_run_reads_back_as_one_entered_alone(acme, caplog):
    alone, batched = (live_journey(acme, chain(node("exit", "x"))) for _ in range(2))
    event = track(user(acme, 0), "cart_abandoned", {"cartId": "A", "n": [1, 2]})
    runtime.do_enter_journey(alone, event.customer, entry_key="k", entry_event=event, now=NOON)
    runtime.enter_many([runtime.Entry(batched, event.customer_id, "k", event)], now=NOON)
    fields = [
        f.attname
        for f in Run._meta.concrete_fields
        if f.attname not in {"id", "journey_id", "version_id"}
    ]
    assert "one at a time" not in caplog.text
    one, other = (Run.objects.values(*fields).get(journey=j) for j in (alone, batched))
    assert one == other
