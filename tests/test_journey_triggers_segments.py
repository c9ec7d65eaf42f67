"""The per-user forms of the segment query journeys' triggers use: membership
of a few users (`members_among`), the users near a "within N days" edge
(`boundary_candidates`), and the `customers_changed` signal after a Track call.

The data is test_segments' named dataset (Acme's ann, ben, cho, dan; Bolt's zed)."""

from __future__ import annotations

import datetime as dt

import pytest

from audiences import segments
from audiences.actions import do_track
from audiences.models import Customer
from audiences.segments import (
    boundary_candidates,
    is_time_relative,
    members_among,
    segment_queryset,
)
from audiences.signals import customers_changed
from audiences.track import parse_track
from tests import test_segments
from tests.test_segments import NOW, attr, event, one, tag

people = test_segments.people

DEFINITIONS = [
    one(attr("country", "eq", "KR")),
    one(attr("lastSeenAt", "within_days", 7)),
    one(tag("plan", "eq", "gold")),
    one(tag("plan", "neq", "gold")),
    one(tag("city", "is_not_set")),
    one(event("purchase", min_count=2, within_days=30)),
    one(event("purchase", performed=False)),
    one(event("view", min_count=5)),
    one(event("purchase", where={"field": "amount", "op": "gt", "value": 100})),
    one({"kind": "optout", "opted_out": True}),
    one({"kind": "optout", "opted_out": False}),
    one({"kind": "consent", "type": "night", "given": True}),
    one({"kind": "phone", "present": False}),
    {
        "match": "any",
        "conditions": [
            tag("plan", "eq", "silver"),
            {"match": "all", "conditions": [attr("country", "eq", "KR"), event("view")]},
        ],
    },
    {"match": "all", "conditions": []},
]


def ids(project, *user_ids) -> set[int]:
    return set(
        Customer.objects.filter(project=project, user_id__in=user_ids).values_list("pk", flat=True)
    )


@pytest.mark.parametrize("definition", DEFINITIONS)
def test_members_among_equals_the_segment_query_narrowed_to_the_users(people, definition):
    acme = people.acme
    asked = ids(acme, "ann", "ben", "dan")
    whole = set(segment_queryset(acme, definition, now=NOW).values_list("pk", flat=True))
    assert members_among(acme, definition, asked, now=NOW) == whole & asked


def test_members_among_ignores_other_projects_users(people):
    zed = Customer.objects.get(user_id="zed")
    everyone = {"match": "all", "conditions": []}
    assert members_among(people.acme, everyone, [zed.pk], now=NOW) == set()
    assert members_among(people.bolt, everyone, [zed.pk], now=NOW) == {zed.pk}


def test_members_among_costs_one_query_per_chunk(people, django_assert_num_queries):
    definition = one(event("purchase", min_count=2, within_days=30))
    asked, ann = ids(people.acme, "ann", "ben"), ids(people.acme, "ann")
    with django_assert_num_queries(1):
        assert members_among(people.acme, definition, asked, now=NOW) == ann
    with django_assert_num_queries(0):
        assert members_among(people.acme, definition, [], now=NOW) == set()


WINDOWS = {
    "match": "any",
    "conditions": [
        event("purchase", min_count=2, within_days=30),
        attr("lastSeenAt", "within_days", 7),
        {
            "match": "all",
            "conditions": [event("view", within_days=7), event("purchase", within_days=30)],
        },
    ],
}


@pytest.mark.parametrize(
    "later",
    [dt.timedelta(0), dt.timedelta(seconds=1), dt.timedelta(days=3), dt.timedelta(days=40)],
)
def test_members_among_compiles_a_definition_once_and_moves_its_windows_with_now(people, later):
    acme = people.acme
    asked = ids(acme, "ann", "ben", "cho", "dan")
    segments._MEMBERS_SQL.clear()
    members_among(acme, WINDOWS, asked, now=NOW)
    compiled = dict(segments._MEMBERS_SQL)
    moment = NOW + later
    whole = set(segment_queryset(acme, WINDOWS, now=moment).values_list("pk", flat=True))
    assert members_among(acme, WINDOWS, asked, now=moment) == whole & asked
    assert compiled == segments._MEMBERS_SQL


def test_the_windows_move_the_answer(people):
    # The moments above are not all alike: the answer changes between them.
    acme = people.acme
    asked = ids(acme, "ann", "ben", "cho", "dan")
    answers = {
        frozenset(members_among(acme, WINDOWS, asked, now=NOW + dt.timedelta(days=days)))
        for days in (0, 3, 40)
    }
    assert len(answers) > 1


def test_an_event_ageing_out_of_its_window_makes_its_user_a_boundary_candidate(people):
    acme = people.acme
    # ben's only purchase is exactly 30 days old: a member at NOW, out a moment later;
    # dan's is a second older (already out), ann's are 1 and 10 days old (far inside).
    definition = one(event("purchase", within_days=30))
    later = NOW + dt.timedelta(hours=1)
    candidates = set(boundary_candidates(acme, definition, NOW, later))
    assert candidates == ids(acme, "ben")
    assert members_among(acme, definition, candidates, now=NOW) == ids(acme, "ben")
    assert members_among(acme, definition, candidates, now=later) == set()


def test_an_attribute_window_edge_and_a_negated_nested_condition_are_scanned(people):
    acme = people.acme
    # ben was created exactly 10 days before NOW; ann last seen 2 days before.
    nested = {
        "match": "any",
        "conditions": [
            {"match": "all", "conditions": [attr("createdAt", "within_days", 10)]},
            event("view", within_days=2, performed=False),
        ],
    }
    candidates = set(boundary_candidates(acme, nested, NOW, NOW + dt.timedelta(minutes=5)))
    assert candidates == ids(acme, "ben", "ann")


def test_a_segment_without_time_windows_has_no_boundary(people):
    definition = one(event("purchase", min_count=2))
    assert not is_time_relative(definition)
    assert is_time_relative(one(attr("lastSeenAt", "within_days", 3)))
    since = NOW - dt.timedelta(days=400)
    assert list(boundary_candidates(people.acme, definition, since, NOW)) == []


def test_a_track_call_tells_which_users_changed_after_it_commits(
    world, django_capture_on_commit_callbacks
):
    acme = world.acme
    Customer.objects.create(project=acme, user_id="same", country="KR")
    received = []

    def receiver(sender, project, customer_ids, at, **kwargs):
        received.append((project, customer_ids))

    body = {
        "userAttributes": [{"userId": "same", "country": "KR"}, {"userId": "new"}],
        "tags": [{"subjectType": "user", "subjectId": "tagged", "tags": {"plan": "gold"}}],
        "events": [{"subjectType": "user", "subjectId": "buyer", "type": "purchase"}],
    }
    customers_changed.connect(receiver)
    try:
        with django_capture_on_commit_callbacks() as callbacks:
            do_track(acme, parse_track(body))
            assert received == []  # not before the commit
        for callback in callbacks:
            callback()
        # Re-sending the same country changes nothing: "same" is not told.
        do_track(acme, parse_track({"userAttributes": [{"userId": "same", "country": "KR"}]}))
    finally:
        customers_changed.disconnect(receiver)
    assert len(received) == 1
    project, customer_ids = received[0]
    assert project == acme
    assert set(customer_ids) == ids(acme, "new", "tagged", "buyer")
