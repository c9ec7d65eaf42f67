"""Segment entry after a Track call, on its fast path (issue 13): the live
journeys read with plain SQL, the newcomers entered in one transaction
without a savepoint each, a failed entry costing only its own user."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from audiences.models import Customer
from journeys import triggers
from journeys.models import Journey, Run, SegmentMember
from tests.test_journey_triggers import GOLD, gold, make_journey, segment, track


def _gold_journey_and_users(world) -> Journey:
    """An active segment journey on gold users that has not looked yet at
    ann, ben and cho, who are gold (paused while they turned gold: in a
    test without a transaction around it the Track call's after-commit
    re-evaluation runs at once)."""
    acme = world.acme
    gold_segment = segment(acme, GOLD)
    journey = make_journey(
        acme, {"type": "segment", "segment_id": gold_segment.pk}, status=Journey.Status.PAUSED
    )
    track(acme, {"tags": [gold("ann"), gold("ben"), gold("cho")]})
    Journey.objects.filter(pk=journey.pk).update(status=Journey.Status.ACTIVE)
    return journey


def _ids(*user_ids: str) -> list[int]:
    return list(
        Customer.objects.filter(user_id__in=user_ids).order_by("pk").values_list("pk", flat=True)
    )


def _members(journey: Journey) -> list[str]:
    return sorted(
        SegmentMember.objects.filter(journey=journey).values_list("customer__user_id", flat=True)
    )


def _runs(journey: Journey) -> list[str]:
    return sorted(Run.objects.filter(journey=journey).values_list("customer__user_id", flat=True))


def test_active_journeys_are_the_orm_s_instances_with_the_same_fields_loaded(world):
    acme = world.acme
    gold_members = make_journey(acme, {"type": "segment", "segment_id": segment(acme, GOLD).pk})
    carts = make_journey(acme, {"type": "event", "event": "cart_abandoned"})
    make_journey(acme, {"type": "event", "event": "view"}, status=Journey.Status.PAUSED)
    make_journey(world.bolt, {"type": "segment", "segment_id": segment(world.bolt, GOLD).pk})

    by_orm = {j.pk: j for j in triggers._live_journeys(project=acme)}
    assert set(by_orm) == {gold_members.pk, carts.pk}
    for kind, expected in ((triggers.SEGMENT, gold_members), (triggers.EVENT, carts)):
        [(journey, config)] = triggers.active_journeys(acme, kind)
        orm = by_orm[journey.pk]
        assert journey.pk == expected.pk and config["type"] == kind
        assert journey.project is acme
        assert journey.get_deferred_fields() == orm.get_deferred_fields()
        for name in ("project_id", "name", "status", "activated_at", "live_version_id"):
            assert getattr(journey, name) == getattr(orm, name), name
        assert journey.activated_at.tzinfo is not None
        version = journey.live_version  # attached: no query
        assert version.get_deferred_fields() == orm.live_version.get_deferred_fields()
        assert version.pk == orm.live_version.pk
        assert version.created_at == orm.live_version.created_at
        assert not journey._state.adding and journey._state.db == orm._state.db
    assert triggers.active_journeys(world.bolt, triggers.EVENT) == []


@pytest.mark.django_db(transaction=True)
def test_newcomers_enter_in_one_transaction_without_a_savepoint_each(world, monkeypatch):
    acme = world.acme
    journey = _gold_journey_and_users(world)
    asked = []

    def record(journey, customer, **kwargs):
        # Not read again after the claim, the user's fields load when used.
        asked.append((customer.user_id, customer.project_id, kwargs["entry_key"][0]))
        return True

    monkeypatch.setattr(triggers, "_enter", record)
    with CaptureQueriesContext(connection) as queries:
        assert triggers.on_customers_changed(acme, _ids("ann", "ben", "cho")) == 3
    statements = [q["sql"].upper() for q in queries.captured_queries]
    assert not [sql for sql in statements if "SAVEPOINT" in sql]
    assert asked == [(user, acme.pk, "s") for user in ("ann", "ben", "cho")]
    assert _members(journey) == ["ann", "ben", "cho"]


def _ben_fails(monkeypatch):
    """The real entry, but ben's raises after his run was written."""
    real_enter = triggers._enter
    asked = []

    def enter(journey, customer, **kwargs):
        asked.append(customer.user_id)
        started = real_enter(journey, customer, **kwargs)
        if customer.user_id == "ben":
            raise RuntimeError("ben's entry fails after his run was written")
        return started

    monkeypatch.setattr(triggers, "_enter", enter)
    return asked


def _a_failing_entry_costs_only_its_own_user(world, monkeypatch) -> list[str]:
    acme = world.acme
    journey = _gold_journey_and_users(world)
    asked = _ben_fails(monkeypatch)
    assert triggers.on_customers_changed(acme, _ids("ann", "ben", "cho")) == 2
    # ben's run went with his entry, and he is not recorded: the next look
    # enters him (once his entry works), ann and cho only once.
    assert _members(journey) == _runs(journey) == ["ann", "cho"]
    monkeypatch.undo()
    assert triggers.on_customers_changed(acme, _ids("ann", "ben", "cho")) == 1
    assert _members(journey) == _runs(journey) == ["ann", "ben", "cho"]
    return asked


@pytest.mark.django_db(transaction=True)
def test_a_failing_entry_in_a_transaction_of_its_own_costs_only_its_own_user(world, monkeypatch):
    asked = _a_failing_entry_costs_only_its_own_user(world, monkeypatch)
    # Tried without savepoints first, then again one savepoint each.
    assert asked == ["ann", "ben", "ann", "ben", "cho"]


def test_a_failing_entry_inside_a_callers_transaction_costs_only_its_own_user(world, monkeypatch):
    asked = _a_failing_entry_costs_only_its_own_user(world, monkeypatch)
    # A savepoint per entry from the start.
    assert asked == ["ann", "ben", "cho"]
