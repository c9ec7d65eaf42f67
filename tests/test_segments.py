"""Segment conditions against hand-computed answers on a small named dataset.

Acme's users at NOW (2025-06-15 12:00 UTC):

| user | country | phone          | name     | dob        | consent     | tags                  |
|------|---------|----------------|----------|------------|-------------|-----------------------|
| ann  | KR      | +821011110001  | Ann Kim  | 1990-01-15 | promo       | plan=gold, city=Seoul |
| ben  | US      | (none)         | Ben Lee  | —          | —           | plan=silver           |
| cho  | KR      | +821011110003  | Cho Park | 2000-05-05 | promo+night | plan=Gold Plus        |
| dan  | JP      | +819011110004  | (none)   | 1985-12-31 | —           | —                     |

Events: ann purchase 1 d (120, item book), 10 d (50), 40 d (300), view 2 d;
ben purchase exactly 30 d (80, product.sku A1); dan view ×5 at 3 d, purchase
30 d + 1 s (20). cho's number is on Acme's opt-out list. Created: ann 200 d,
ben exactly 10 d, cho 100 d, dan 1 d ago. Last seen: ann 2 d, ben exactly 40 d ago.

Bolt has zed, who matches almost everything (same number as ann, gold, many
purchases), and Bolt's opt-out list has ann's number: neither may leak into
Acme's answers.
"""

from __future__ import annotations

import datetime as dt

import pytest

from audiences.models import Customer, CustomerTag, Event
from audiences.segments import count, segment_queryset
from optout.models import OptOut

NOW = dt.datetime(2025, 6, 15, 12, 0, tzinfo=dt.UTC)
ALL = {"ann", "ben", "cho", "dan"}
OPTED_OUT = {"kind": "optout", "opted_out": True}
NO_SUCH_PLAN = {"kind": "tag", "key": "plan", "op": "eq", "value": "x"}


def ago(days: float = 0, seconds: float = 0) -> dt.datetime:
    return NOW - dt.timedelta(days=days, seconds=seconds)


def _customer(project, user_id, *, created, tags=(), events=(), **fields):
    customer = Customer.objects.create(project=project, user_id=user_id, **fields)
    Customer.objects.filter(pk=customer.pk).update(created_at=created)
    for key, value in tags:
        CustomerTag.objects.create(customer=customer, key=key, value=value)
    for type_, at, data in events:
        Event.objects.create(
            project=project, customer=customer, type=type_, created_at=at, data=data
        )
    return customer


@pytest.fixture
def people(world):
    acme, bolt = world.acme, world.bolt
    _customer(
        acme, "ann", created=ago(200), country="KR", phone_number="+821011110001",
        name="Ann Kim", email="ann@example.com", dob=dt.date(1990, 1, 15), language="ko",
        promotional_consent=True, last_seen_at=ago(2),
        tags=[("plan", "gold"), ("city", "Seoul")],
        events=[
            ("purchase", ago(1), {"amount": 120, "item": "book"}),
            ("purchase", ago(10), {"amount": 50}),
            ("purchase", ago(40), {"amount": 300}),
            ("view", ago(2), {}),
        ],
    )  # fmt: skip
    _customer(
        acme, "ben", created=ago(10), country="US", name="Ben Lee", email="ben@example.org",
        language="en", last_seen_at=ago(40), tags=[("plan", "silver")],
        events=[("purchase", ago(30), {"amount": 80, "product": {"sku": "A1"}})],
    )  # fmt: skip
    _customer(
        acme, "cho", created=ago(100), country="KR", phone_number="+821011110003",
        name="Cho Park", dob=dt.date(2000, 5, 5), promotional_consent=True,
        night_consent=True, tags=[("plan", "Gold Plus")],
    )  # fmt: skip
    _customer(
        acme, "dan", created=ago(1), country="JP", phone_number="+819011110004",
        dob=dt.date(1985, 12, 31),
        events=[("view", ago(3), {})] * 5 + [("purchase", ago(30, 1), {"amount": 20})],
    )  # fmt: skip
    _customer(
        bolt, "zed", created=ago(5), country="KR", phone_number="+821011110001",
        name="Zed Kim", promotional_consent=True, night_consent=True,
        tags=[("plan", "gold"), ("city", "Seoul")],
        events=[("purchase", ago(1), {"amount": 500})] * 4 + [("view", ago(1), {})] * 6,
    )  # fmt: skip
    OptOut.objects.create(project=acme, phone_number="+821011110003", source="console")
    OptOut.objects.create(project=bolt, phone_number="+821011110001", source="console")
    return world


def matches(project, definition) -> set[str]:
    return set(segment_queryset(project, definition, now=NOW).values_list("user_id", flat=True))


def one(condition) -> dict:
    return {"match": "all", "conditions": [condition]}


def attr(field, op, value=None):
    return {"kind": "attribute", "field": field, "op": op, "value": value}


def tag(key, op, value=None):
    return {"kind": "tag", "key": key, "op": op, "value": value}


def event(type_, **options):
    return {"kind": "event", "type": type_, **options}


@pytest.mark.parametrize(
    ("condition", "expected"),
    [
        (attr("country", "eq", "KR"), {"ann", "cho"}),
        (attr("country", "neq", "KR"), {"ben", "dan"}),
        (attr("country", "gt", "KR"), {"ben"}),
        (attr("country", "lt", "KR"), {"dan"}),
        (attr("userId", "eq", "ann"), {"ann"}),
        (attr("name", "contains", "kim"), {"ann"}),
        (attr("name", "starts_with", "b"), {"ben"}),
        (attr("email", "contains", "example.org"), {"ben"}),
        (attr("phoneNumber", "starts_with", "+8210"), {"ann", "cho"}),
        (attr("name", "is_set"), {"ann", "ben", "cho"}),
        (attr("name", "is_not_set"), {"dan"}),
        (attr("language", "eq", "ko"), {"ann"}),
        (attr("dob", "eq", "1990-01-15"), {"ann"}),
        (attr("dob", "neq", "1990-01-15"), {"ben", "cho", "dan"}),
        (attr("dob", "before", "1990-01-01"), {"dan"}),
        (attr("dob", "after", "1990-01-15"), {"cho"}),
        (attr("dob", "gt", "1990-01-15"), {"cho"}),
        (attr("dob", "lt", "1990-01-16"), {"ann", "dan"}),
        (attr("dob", "is_set"), {"ann", "cho", "dan"}),
        (attr("dob", "is_not_set"), {"ben"}),
        (attr("lastSeenAt", "within_days", 7), {"ann"}),
        (attr("lastSeenAt", "within_days", 40), {"ann", "ben"}),  # exactly 40 d: inside
        (attr("lastSeenAt", "within_days", 39), {"ann"}),
        (attr("lastSeenAt", "is_not_set"), {"cho", "dan"}),
        (attr("createdAt", "within_days", 10), {"ben", "dan"}),  # exactly 10 d: inside
        (attr("createdAt", "before", "2025-04-26"), {"ann", "cho"}),
        (attr("createdAt", "after", "2025-06-05T12:00:00Z"), {"dan"}),  # strictly after
        (attr("createdAt", "lt", "2025-06-05T12:00:01+00:00"), {"ann", "ben", "cho"}),
        (tag("plan", "eq", "gold"), {"ann"}),
        (tag("plan", "neq", "gold"), {"ben", "cho", "dan"}),
        (tag("plan", "contains", "GOLD"), {"ann", "cho"}),
        (tag("plan", "is_set"), {"ann", "ben", "cho"}),
        (tag("plan", "is_not_set"), {"dan"}),
        (tag("city", "eq", "Seoul"), {"ann"}),
        (event("purchase"), {"ann", "ben", "dan"}),
        (event("purchase", performed=True), {"ann", "ben", "dan"}),
        (event("purchase", performed=False), {"cho"}),
        (event("purchase", min_count=2), {"ann"}),
        (event("purchase", min_count=3), {"ann"}),
        (event("purchase", min_count=4), set()),
        (event("purchase", min_count=2, performed=False), {"ben", "cho", "dan"}),
        (event("purchase", within_days=30), {"ann", "ben"}),  # ben at 30 d in, dan 1 s out
        (event("purchase", within_days=5), {"ann"}),
        (event("purchase", within_days=30, min_count=2), {"ann"}),
        (event("purchase", within_days=30, performed=False), {"cho", "dan"}),
        (event("view", min_count=5), {"dan"}),
        (event("view", min_count=6), set()),
        (event("signup"), set()),
        (event("purchase", where={"field": "amount", "op": "gt", "value": 100}), {"ann"}),
        (event("purchase", where={"field": "amount", "op": "lt", "value": 60}), {"ann", "dan"}),
        (event("purchase", where={"field": "amount", "op": "eq", "value": 80}), {"ben"}),
        (event("purchase", where={"field": "amount", "op": "neq", "value": 80}), {"ann", "dan"}),
        (event("purchase", where={"field": "amount", "op": "gt", "value": 99.5}), {"ann"}),
        (event("purchase", where={"field": "item", "op": "eq", "value": "book"}), {"ann"}),
        (event("purchase", where={"field": "product.sku", "op": "eq", "value": "A1"}), {"ben"}),
        (
            event("purchase", within_days=30, where={"field": "amount", "op": "gt", "value": 100}),
            {"ann"},
        ),
        (
            event("purchase", within_days=20, where={"field": "amount", "op": "gt", "value": 200}),
            set(),
        ),
        (
            event("purchase", min_count=2, where={"field": "amount", "op": "gt", "value": 40}),
            {"ann"},
        ),
        (
            event("purchase", performed=False, where={"field": "amount", "op": "gt", "value": 100}),
            {"ben", "cho", "dan"},
        ),
        ({"kind": "phone", "present": True}, {"ann", "cho", "dan"}),
        ({"kind": "phone", "present": False}, {"ben"}),
        ({"kind": "optout", "opted_out": True}, {"cho"}),
        ({"kind": "optout", "opted_out": False}, {"ann", "ben", "dan"}),
        ({"kind": "consent", "type": "promotional", "given": True}, {"ann", "cho"}),
        ({"kind": "consent", "type": "promotional", "given": False}, {"ben", "dan"}),
        ({"kind": "consent", "type": "night", "given": True}, {"cho"}),
        ({"kind": "consent", "type": "night", "given": False}, {"ann", "ben", "dan"}),
    ],
)
def test_each_condition_matches_the_hand_computed_users(people, condition, expected):
    assert matches(people.acme, one(condition)) == expected


def test_all_needs_every_condition_and_any_needs_one(people):
    kr, silver = attr("country", "eq", "KR"), tag("plan", "eq", "silver")
    gold = tag("plan", "eq", "gold")
    assert matches(people.acme, {"match": "all", "conditions": [kr, gold]}) == {"ann"}
    assert matches(people.acme, {"match": "all", "conditions": [kr, silver]}) == set()
    assert matches(people.acme, {"match": "any", "conditions": [kr, silver]}) == {
        "ann",
        "ben",
        "cho",
    }


def test_nested_groups_combine_as_written(people):
    definition = {
        "match": "all",
        "conditions": [
            {
                "match": "any",
                "conditions": [attr("country", "eq", "JP"), attr("country", "eq", "US")],
            },
            event("purchase"),
        ],
    }
    assert matches(people.acme, definition) == {"ben", "dan"}
    definition = {
        "match": "any",
        "conditions": [
            {"match": "all", "conditions": [attr("country", "eq", "KR"), OPTED_OUT]},
            {"kind": "group", "match": "all", "conditions": [
                attr("country", "eq", "US"), {"kind": "phone", "present": False},
                {"match": "any", "conditions": [tag("plan", "eq", "silver"), NO_SUCH_PLAN]},
            ]},
        ],
    }  # fmt: skip
    assert matches(people.acme, definition) == {"ben", "cho"}


def test_a_one_condition_negation_inside_a_group_stays_inside(people):
    definition = {
        "match": "any",
        "conditions": [
            {"match": "all", "conditions": [event("purchase", performed=False)]},
            attr("country", "eq", "JP"),
        ],
    }
    assert matches(people.acme, definition) == {"cho", "dan"}


def test_an_empty_root_group_is_every_user_of_the_project(people):
    assert matches(people.acme, {"match": "all", "conditions": []}) == ALL
    assert matches(people.acme, {"match": "any", "conditions": []}) == ALL


def test_another_projects_users_tags_events_and_optouts_never_count(people):
    everything = {
        "match": "all",
        "conditions": [
            attr("country", "eq", "KR"),
            tag("plan", "eq", "gold"),
            event("purchase", min_count=2, within_days=30),
            {"kind": "consent", "type": "night", "given": True},
        ],
    }
    assert count(people.acme, everything, now=NOW) == 0
    assert count(people.bolt, everything, now=NOW) == 1
    assert count(people.acme, {"match": "all", "conditions": []}, now=NOW) == 4
    # ann's number is on Bolt's list, not Acme's.
    assert "ann" not in matches(people.acme, one({"kind": "optout", "opted_out": True}))
    assert matches(people.bolt, one({"kind": "optout", "opted_out": True})) == {"zed"}


def test_a_count_is_one_sql_query(people, django_assert_num_queries):
    definition = {
        "match": "any",
        "conditions": [
            attr("country", "eq", "KR"),
            tag("plan", "contains", "gold"),
            event("purchase", min_count=2, within_days=30),
            {"kind": "optout", "opted_out": True},
        ],
    }
    with django_assert_num_queries(1):
        assert count(people.acme, definition, now=NOW) == 2
