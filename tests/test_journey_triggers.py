"""Journeys' triggers: who enters, with which entry key, and when (SPEC §11).

Entry itself (the re-entry policy, the run) is the runtime's; here it is
replaced by a recorder at the one seam (`journeys.triggers._enter`), so each
test sees exactly the entries a trigger asked for."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from audiences.actions import do_track
from audiences.models import Customer, Event, Segment
from audiences.track import parse_track
from journeys import counters, triggers
from journeys.models import Journey, JourneyVersion, ScheduleOccurrence, SegmentMember
from optout.actions import do_opt_out
from optout.models import Source


@pytest.fixture
def entries(monkeypatch):
    """(journey id, user id, entry key, entry event id) of every entry asked for."""
    recorded: list[tuple[int, str, str, int | None]] = []

    def record(journey, customer, *, entry_key, entry_event=None, now=None):
        recorded.append(
            (journey.pk, customer.user_id, entry_key, entry_event.pk if entry_event else None)
        )
        return True

    def record_many(batch):
        for entry in batch:
            record(
                entry.journey,
                Customer.objects.get(pk=entry.customer_id),
                entry_key=entry.entry_key,
                entry_event=entry.entry_event,
            )
        return len(batch)

    monkeypatch.setattr(triggers, "_enter", record)
    monkeypatch.setattr(triggers, "_enter_many", record_many)
    return recorded


def make_journey(project, trigger: dict, *, status=Journey.Status.ACTIVE, activated_at=None):
    journey = Journey.objects.create(project=project, name=f"j{Journey.objects.count()}")
    graph = {
        "nodes": [
            {"key": "start", "kind": "trigger", "config": trigger, "next": {"next": "end"}},
            {"key": "end", "kind": "exit", "config": {}, "next": {}},
        ]
    }
    version = JourneyVersion.objects.create(
        journey=journey, number=1, graph=graph, settings={}, state="published"
    )
    journey.live_version = version
    journey.status = status
    journey.activated_at = activated_at or timezone.now()
    journey.save()
    return journey


def track(project, body):
    return do_track(project, parse_track(body))


def ev(user, type_, **data):
    return {"subjectType": "user", "subjectId": user, "type": type_, "data": data}


def users(*user_ids):
    return [{"userId": user_id} for user_id in user_ids]


def segment(project, *conditions, match="all"):
    return Segment.objects.create(
        project=project,
        name=f"s{Segment.objects.count()}",
        definition={"match": match, "conditions": list(conditions)},
    )


GOLD = {"kind": "tag", "key": "plan", "op": "eq", "value": "gold"}


def gold(user):
    return {"subjectType": "user", "subjectId": user, "tags": {"plan": "gold"}}


def keys(entries, journey):
    return sorted((user, key) for owner, user, key, _event in entries if owner == journey.pk)


# --- Event trigger ---------------------------------------------------------------------


def test_an_event_journey_enters_the_users_of_matching_events_keyed_by_event(world, entries):
    acme = world.acme
    journey = make_journey(
        acme,
        {"type": "event", "event": "cart_abandoned", "where": [
            {"field": "total", "op": "gt", "value": 100}
        ]},
    )  # fmt: skip
    other_type = make_journey(acme, {"type": "event", "event": "purchase"})
    result = track(
        acme,
        {
            "events": [
                ev("ann", "cart_abandoned", total=150),
                ev("ben", "cart_abandoned", total=50),
                ev("cho", "view"),
            ]
        },
    )
    assert triggers.on_events_tracked(acme, result.event_ids) == 1
    ann_event = Event.objects.get(customer__user_id="ann")
    assert entries == [(journey.pk, "ann", f"e{ann_event.pk}", ann_event.pk)]
    assert keys(entries, other_type) == []


def test_an_event_journey_with_a_segment_enters_only_its_members(world, entries):
    acme = world.acme
    journey = make_journey(
        acme, {"type": "event", "event": "view", "segment_id": segment(acme, GOLD).pk}
    )
    track(acme, {"tags": [gold("ann")]})
    result = track(acme, {"events": [ev("ann", "view"), ev("ben", "view")]})
    triggers.on_events_tracked(acme, result.event_ids)
    assert [user for _j, user, _k, _e in entries] == ["ann"]
    assert keys(entries, journey) == [("ann", f"e{result.event_ids[0]}")]


def test_a_failing_entry_of_a_track_call_rolls_back_only_its_own_run(world, monkeypatch):
    from journeys import runtime
    from journeys.models import Run

    acme = world.acme
    journey = make_journey(acme, {"type": "event", "event": "view"})
    result = track(acme, {"events": [ev("ann", "view"), ev("ben", "view"), ev("cho", "view")]})
    real_insert, real_enter = runtime._insert_runs, runtime.do_enter_journey

    def insert(runs):
        real_insert(runs)  # written, then the batch fails: all three roll back
        raise RuntimeError("the batch fails after its runs were written")

    def enter(journey, customer, **kwargs):
        run = real_enter(journey, customer, **kwargs)
        if customer.user_id == "ben":
            raise RuntimeError("ben's entry fails after his run was written")
        return run

    monkeypatch.setattr(runtime, "_insert_runs", insert)
    monkeypatch.setattr(runtime, "do_enter_journey", enter)
    assert triggers.on_events_tracked(acme, result.event_ids) == 2
    # The batch rolled back and its users were entered one at a time: ben's
    # run was rolled back with his savepoint; ann's and cho's stand, counted once.
    runs = Run.objects.filter(journey=journey).values_list("customer__user_id", flat=True)
    assert sorted(runs) == ["ann", "cho"]
    counts = counters.values(journey.live_version_id)
    assert (counts[("start", "entered")], counts[("start", "waiting")]) == (2, 2)


def test_paused_journeys_and_other_projects_journeys_enter_nobody(world, entries):
    make_journey(world.acme, {"type": "event", "event": "view"}, status=Journey.Status.PAUSED)
    make_journey(world.bolt, {"type": "event", "event": "view"})
    result = track(world.acme, {"events": [ev("ann", "view")]})
    assert triggers.on_events_tracked(world.acme, result.event_ids) == 0
    assert entries == []


def test_a_project_without_journeys_pays_one_query_per_track_call(
    world, entries, django_assert_num_queries
):
    result = track(world.acme, {"events": [ev("ann", "view")] * 100})
    with django_assert_num_queries(1):
        triggers.on_events_tracked(world.acme, result.event_ids)
    customer_ids = list(Customer.objects.values_list("pk", flat=True))
    with django_assert_num_queries(1):
        triggers.on_customers_changed(world.acme, customer_ids)


# --- Segment-entry trigger ------------------------------------------------------------------


def test_only_users_entering_the_segment_start_a_run(world, entries):
    acme = world.acme
    journey = make_journey(acme, {"type": "segment", "segment_id": segment(acme, GOLD).pk})
    triggers.on_activated(journey, enter_current_members=False)

    changed = track(acme, {"tags": [gold("ann")], "userAttributes": users("ben")})
    triggers.on_customers_changed(acme, _ids("ann", "ben"))
    assert [user for _j, user, _k, _e in entries] == ["ann"]
    assert changed.created_users == 2

    # ann changes again but stays inside: no second entry.
    track(acme, {"events": [ev("ann", "view")]})
    triggers.on_customers_changed(acme, _ids("ann"))
    assert len(entries) == 1

    # ann leaves, then comes back: a new entry with a new key.
    track(acme, {"tags": [{"subjectType": "user", "subjectId": "ann", "tags": {"plan": None}}]})
    triggers.on_customers_changed(acme, _ids("ann"))
    assert not SegmentMember.objects.filter(journey=journey).exists()
    track(acme, {"tags": [gold("ann")]})
    triggers.on_customers_changed(acme, _ids("ann"))
    assert [user for _j, user, _k, _e in entries] == ["ann", "ann"]
    assert entries[0][2] != entries[1][2]
    assert all(key.startswith("s") for _j, _u, key, _e in entries)


def test_a_track_call_enters_segment_journeys_through_the_signal_after_commit(
    world, entries, django_capture_on_commit_callbacks
):
    acme = world.acme
    make_journey(acme, {"type": "segment", "segment_id": segment(acme, GOLD).pk})
    with django_capture_on_commit_callbacks(execute=True):
        track(acme, {"tags": [gold("ann"), gold("ben")]})
    assert sorted(user for _j, user, _k, _e in entries) == ["ann", "ben"]


def test_going_on_the_opt_out_list_can_enter_a_segment_journey(
    world, entries, django_capture_on_commit_callbacks
):
    acme = world.acme
    opted_out = {"kind": "optout", "opted_out": True}
    make_journey(acme, {"type": "segment", "segment_id": segment(acme, opted_out).pk})
    track(acme, {"userAttributes": [{"userId": "ann", "phoneNumber": "+821011112222"}]})
    with django_capture_on_commit_callbacks(execute=True):
        do_opt_out(acme, ["+821011112222", "+821099998888"], Source.CONSOLE, world.alice)
    assert [user for _j, user, _k, _e in entries] == ["ann"]


@pytest.mark.parametrize("enter_current_members", [True, False])
def test_activation_records_current_members_and_enters_them_only_if_asked(
    world, entries, enter_current_members
):
    acme = world.acme
    track(acme, {"tags": [gold("ann"), gold("ben")], "userAttributes": users("cho")})
    journey = make_journey(acme, {"type": "segment", "segment_id": segment(acme, GOLD).pk})
    triggers.on_activated(journey, enter_current_members=enter_current_members)
    members = SegmentMember.objects.filter(journey=journey)
    assert sorted(members.values_list("customer__user_id", flat=True)) == ["ann", "ben"]
    expected = ["ann", "ben"] if enter_current_members else []
    assert sorted(user for _j, user, _k, _e in entries) == expected
    # A member already recorded does not enter on their next change.
    triggers.on_customers_changed(acme, _ids("ann", "cho"))
    assert sorted(user for _j, user, _k, _e in entries) == expected


def test_the_boundary_scan_enters_users_whose_window_moved_past_them(world, entries):
    acme = world.acme
    now = timezone.now()
    not_recent = {"kind": "event", "type": "purchase", "within_days": 7, "performed": False}
    journey = make_journey(
        acme,
        {"type": "segment", "segment_id": segment(acme, not_recent).pk},
        activated_at=now,
    )
    old = (now - dt.timedelta(days=7) + dt.timedelta(minutes=30)).isoformat()
    fresh = (now - dt.timedelta(days=1)).isoformat()
    track(
        acme,
        {
            "events": [
                {**ev("ann", "purchase"), "createdAt": old},
                {**ev("ben", "purchase"), "createdAt": fresh},
            ]
        },
    )
    triggers.on_activated(journey)
    assert not SegmentMember.objects.filter(journey=journey).exists()
    # Nothing about ann changes; an hour on, her purchase is older than 7 days.
    assert triggers.scan_boundaries(now=now + dt.timedelta(hours=1)) == 1
    assert [user for _j, user, _k, _e in entries] == ["ann"]
    # The next scan starts where this one ended: ann is not entered again.
    assert triggers.scan_boundaries(now=now + dt.timedelta(hours=2)) == 0
    assert len(entries) == 1


# --- Schedule trigger -------------------------------------------------------------------


def _schedule(project, cron, *, segment_id=None, catch_up=60, activated_at):
    return make_journey(
        project,
        {
            "type": "schedule",
            "cron": cron,
            "time_zone": "Asia/Seoul",
            "segment_id": segment_id,
            "catch_up_minutes": catch_up,
        },
        activated_at=activated_at,
    )


def test_a_schedule_enters_everyone_once_per_occurrence_in_its_time_zone(world, entries):
    acme = world.acme
    track(acme, {"userAttributes": users("ann", "ben")})
    track(world.bolt, {"userAttributes": users("zed")})
    # 10:00 in Seoul is 01:00 UTC.
    activated = dt.datetime(2026, 3, 2, 0, 30, tzinfo=dt.UTC)
    journey = _schedule(acme, "0 10 * * *", activated_at=activated)
    at = dt.datetime(2026, 3, 2, 1, 0, 30, tzinfo=dt.UTC)
    triggers.scan_schedules(now=at)
    triggers.scan_schedules(now=at + dt.timedelta(seconds=20))  # a second scanner
    assert keys(entries, journey) == [("ann", "c202603020100"), ("ben", "c202603020100")]
    occurrence = ScheduleOccurrence.objects.get(journey=journey)
    assert (occurrence.state, occurrence.entered) == ("done", 2)
    # The next day's occurrence is a new entry.
    triggers.scan_schedules(now=at + dt.timedelta(days=1))
    assert len(entries) == 4
    assert ScheduleOccurrence.objects.filter(journey=journey).count() == 2


def test_a_schedule_enters_only_its_segments_members(world, entries):
    acme = world.acme
    track(acme, {"tags": [gold("ann")], "userAttributes": users("ben")})
    activated = dt.datetime(2026, 3, 2, 0, 0, tzinfo=dt.UTC)
    journey = _schedule(
        acme, "*/15 * * * *", segment_id=segment(acme, GOLD).pk, activated_at=activated
    )
    triggers.scan_schedules(now=activated + dt.timedelta(minutes=16))
    assert keys(entries, journey) == [("ann", "c202603020015")]


def test_occurrences_missed_beyond_the_catch_up_window_are_skipped_not_run(world, entries):
    acme = world.acme
    track(acme, {"userAttributes": users("ann")})
    activated = dt.datetime(2026, 3, 2, 0, 0, tzinfo=dt.UTC)
    journey = _schedule(acme, "0 * * * *", catch_up=90, activated_at=activated)
    # Workers down from 00:00 to 05:10: 01:00 … 05:00 were missed.
    triggers.scan_schedules(now=dt.datetime(2026, 3, 2, 5, 10, tzinfo=dt.UTC))
    states = {
        row.occurrence.astimezone(dt.UTC).hour: row.state
        for row in ScheduleOccurrence.objects.filter(journey=journey)
    }
    assert states == {1: "skipped", 2: "skipped", 3: "skipped", 4: "done", 5: "done"}
    assert keys(entries, journey) == [("ann", "c202603020400"), ("ann", "c202603020500")]


def test_a_crashed_occurrence_is_finished_by_a_later_scan_without_repeating_users(
    world, entries, monkeypatch
):
    acme = world.acme
    track(acme, {"userAttributes": users(*(f"u{i:04d}" for i in range(12)))})
    monkeypatch.setattr(triggers, "BATCH", 5)
    activated = dt.datetime(2026, 3, 2, 0, 0, tzinfo=dt.UTC)
    journey = _schedule(acme, "0 * * * *", activated_at=activated)
    calls = {"n": 0}
    record = triggers._enter

    def dies_on_the_seventh(journey, customer, **kwargs):
        calls["n"] += 1
        if calls["n"] == 7:
            raise SystemExit("worker killed")
        return record(journey, customer, **kwargs)

    monkeypatch.setattr(triggers, "_enter", dies_on_the_seventh)
    at = dt.datetime(2026, 3, 2, 1, 0, 5, tzinfo=dt.UTC)
    with pytest.raises(SystemExit):
        triggers.scan_schedules(now=at)
    assert len(entries) == 6
    # Within the stale time another scan leaves it to its (presumed live) owner.
    triggers.scan_schedules(now=at + dt.timedelta(minutes=1))
    assert len(entries) == 6
    triggers.scan_schedules(now=at + dt.timedelta(minutes=5))
    # The batch in progress is entered again (entry is idempotent per key); no
    # finished batch is.
    users_entered = [user for _j, user, _k, _e in entries]
    assert sorted(set(users_entered)) == [f"u{i:04d}" for i in range(12)]
    assert users_entered.count("u0000") == 1
    assert ScheduleOccurrence.objects.get(journey=journey).state == "done"


def _ids(*user_ids):
    return list(Customer.objects.filter(user_id__in=user_ids).values_list("pk", flat=True))


# --- Through the Track API, with the real runtime ------------------------------------------


def test_a_track_call_enters_event_and_segment_journeys_with_the_runtime(
    client, world, django_capture_on_commit_callbacks
):
    from journeys.models import Run

    acme = world.acme
    carts = make_journey(
        acme,
        {"type": "event", "event": "cart_abandoned", "where": [
            {"field": "total", "op": "gt", "value": 100}
        ]},
    )  # fmt: skip
    gold_members = make_journey(acme, {"type": "segment", "segment_id": segment(acme, GOLD).pk})
    triggers.on_activated(gold_members)
    body = {
        "tags": [gold("ann")],
        "events": [
            ev("ann", "cart_abandoned", total=150, cartId="c1"),
            ev("ben", "cart_abandoned"),
        ],
    }
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            f"/v1/projects/{acme.id}/track",
            data=body,
            content_type="application/json",
            HTTP_AUTHORIZATION=f"Bearer {world.acme_token}",
        )
    assert response.status_code == 200, response.content
    event = Event.objects.get(customer__user_id="ann")
    cart_run = Run.objects.get(journey=carts)
    assert (cart_run.customer.user_id, cart_run.entry_key) == ("ann", f"e{event.pk}")
    assert cart_run.entry_data == {"total": 150, "cartId": "c1"}
    assert cart_run.version_id == carts.live_version_id
    member_run = Run.objects.get(journey=gold_members)
    assert member_run.customer.user_id == "ann" and member_run.entry_key.startswith("s")
    # The same events again (a retried call) start nothing new for the segment journey.
    with django_capture_on_commit_callbacks(execute=True):
        client.post(
            f"/v1/projects/{acme.id}/track",
            data={"tags": [gold("ann")]},
            content_type="application/json",
            HTTP_AUTHORIZATION=f"Bearer {world.acme_token}",
        )
    assert Run.objects.filter(journey=gold_members).count() == 1


# --- A saved segment's definition changes ----------------------------------------------------

SILVER = {"kind": "tag", "key": "plan", "op": "eq", "value": "silver"}


def silver(user):
    return {"subjectType": "user", "subjectId": user, "tags": {"plan": "silver"}}


def _members(journey):
    return sorted(
        SegmentMember.objects.filter(journey=journey).values_list("customer__user_id", flat=True)
    )


def test_a_new_definition_rerecords_members_without_entering_them_and_later_changes_enter(
    world, entries, django_capture_on_commit_callbacks
):
    from audiences.segment_actions import do_change_segment

    acme = world.acme
    track(acme, {"tags": [gold("ann"), silver("ben"), silver("cho")]})
    saved = segment(acme, GOLD)
    journey = make_journey(acme, {"type": "segment", "segment_id": saved.pk})
    paused = make_journey(
        acme, {"type": "segment", "segment_id": saved.pk}, status=Journey.Status.PAUSED
    )
    other = make_journey(acme, {"type": "segment", "segment_id": segment(acme, GOLD).pk})
    for j in (journey, paused, other):
        triggers.on_activated(j)
    ann_since = SegmentMember.objects.get(journey=journey).since

    with django_capture_on_commit_callbacks(execute=True):
        do_change_segment(
            saved, world.alice, saved.name, {"match": "any", "conditions": [GOLD, SILVER]}
        )
    # Recorded under the new definition, nobody entered; ann stays a member since before.
    assert _members(journey) == _members(paused) == ["ann", "ben", "cho"]
    assert SegmentMember.objects.get(journey=journey, customer__user_id="ann").since == ann_since
    assert _members(other) == ["ann"]
    assert entries == []

    # ben was a member at the change: his next change does not enter him.
    track(acme, {"events": [ev("ben", "view")]})
    triggers.on_customers_changed(acme, _ids("ben"))
    assert entries == []

    # Narrowed to silver: ann is now outside, and does not enter when she turns silver...
    with django_capture_on_commit_callbacks(execute=True):
        do_change_segment(saved, world.alice, saved.name, {"match": "all", "conditions": [SILVER]})
    assert _members(journey) == ["ben", "cho"]
    assert entries == []
    # ...until then: a user who enters the segment after the change enters the journey.
    track(acme, {"tags": [silver("ann")]})
    triggers.on_customers_changed(acme, _ids("ann"))
    assert [(j, user) for j, user, _k, _e in entries] == [(journey.pk, "ann")]


def test_renaming_a_segment_does_not_rerecord_its_journeys(
    world, entries, django_capture_on_commit_callbacks
):
    from audiences.segment_actions import do_change_segment
    from audiences.signals import segment_redefined

    acme = world.acme
    saved = segment(acme, GOLD)
    told = []

    def spy(sender, *, project, segment_id, **kwargs):
        told.append(segment_id)

    segment_redefined.connect(spy, sender=Segment, dispatch_uid="test-spy")
    try:
        with django_capture_on_commit_callbacks(execute=True):
            do_change_segment(saved, world.alice, "Renamed", dict(saved.definition))
        assert told == []
        with django_capture_on_commit_callbacks(execute=True):
            do_change_segment(saved, world.alice, "Renamed", one_of(SILVER))
        assert told == [saved.pk]
    finally:
        segment_redefined.disconnect(sender=Segment, dispatch_uid="test-spy")


def one_of(condition):
    return {"match": "all", "conditions": [condition]}
