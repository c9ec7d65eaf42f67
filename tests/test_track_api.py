"""POST /v1/projects/{projectId}/track: shapes, per-item errors, partial success."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from django.urls import reverse

from audiences.models import Customer, Event
from audiences.signals import events_tracked


def track(client, project, token, body, **headers):
    return client.post(
        reverse("api_track", args=[project.id]),
        data=json.dumps(body),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {token}",
        **headers,
    )


def event(subject="u1", type_="purchase", **extra):
    return {"subjectType": "user", "subjectId": subject, "type": type_, **extra}


def error_at(body, group, index):
    return [e for e in body["errors"] if e["group"] == group and e["index"] == index]


def test_a_call_with_all_three_groups_stores_everything(client, world):
    response = track(
        client,
        world.acme,
        world.acme_token,
        {
            "userAttributes": [
                {"userId": "u1", "phoneNumber": "+821012345678", "name": "Kim", "country": "kr"}
            ],
            "tags": [{"subjectType": "user", "subjectId": "u1", "tags": {"tier": "gold"}}],
            "events": [event("u1", data={"amount": 12000}), event("u2", "signup")],
        },
    )
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["accepted"] == {"userAttributes": 1, "tags": 1, "events": 2}
    assert body["rejected"] == {"userAttributes": 0, "tags": 0, "events": 0}
    assert body["createdUsers"] == 2
    assert body["errors"] == []
    kim = Customer.objects.get(project=world.acme, user_id="u1")
    assert (kim.phone_number, kim.name, kim.country) == ("+821012345678", "Kim", "KR")
    assert kim.last_seen_at is not None
    assert {t.key: t.value for t in kim.tags.all()} == {"tier": "gold"}
    assert Event.objects.get(customer=kim).data == {"amount": 12000}
    # An event for an unknown subject created the customer.
    assert Customer.objects.filter(project=world.acme, user_id="u2").exists()
    assert not Customer.objects.filter(project=world.bolt).exists()


def test_valid_items_are_stored_and_invalid_ones_reported_by_group_index_and_field(client, world):
    response = track(
        client,
        world.acme,
        world.acme_token,
        {
            "events": [
                event("u1"),
                event("u1", createdAt="yesterday"),
                event("u2"),
                {"subjectType": "device", "subjectId": "u3", "type": "x"},
            ],
            "userAttributes": [{"userId": "u1", "timeZone": "Mars/Olympus"}],
        },
    )
    assert response.status_code == 200
    body = response.json()
    assert body["accepted"] == {"userAttributes": 0, "tags": 0, "events": 2}
    assert body["rejected"] == {"userAttributes": 1, "tags": 0, "events": 2}
    assert error_at(body, "events", 1) == [
        {
            "group": "events",
            "index": 1,
            "field": "createdAt",
            "code": "invalid_datetime",
            "message": error_at(body, "events", 1)[0]["message"],
        }
    ]
    assert "yesterday" in error_at(body, "events", 1)[0]["message"]
    assert error_at(body, "events", 3)[0]["field"] == "subjectType"
    assert error_at(body, "userAttributes", 0)[0]["code"] == "invalid_time_zone"
    assert Event.objects.filter(project=world.acme).count() == 2
    assert Customer.objects.get(user_id="u1").time_zone == ""


def test_a_call_where_nothing_is_valid_is_400_and_stores_nothing(client, world):
    response = track(client, world.acme, world.acme_token, {"events": [event("u1", type_="")]})
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "validation_failed"
    assert error["details"]["errors"][0]["field"] == "type"
    assert not Customer.objects.exists()


@pytest.mark.parametrize("group", ["events", "tags", "userAttributes"])
def test_more_than_100_items_in_a_group_is_400_naming_the_group(client, world, group):
    item = {
        "events": event(),
        "tags": {"subjectType": "user", "subjectId": "u1", "tags": {"a": "b"}},
        "userAttributes": {"userId": "u1"},
    }[group]
    response = track(client, world.acme, world.acme_token, {group: [item] * 101})
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "too_many_items"
    assert group in error["message"]
    assert error["details"] == {"group": group, "count": 101, "max": 100}
    assert not Customer.objects.exists()


def test_exactly_100_items_are_accepted(client, world):
    body = {"events": [event(f"u{i}") for i in range(100)]}
    response = track(client, world.acme, world.acme_token, body)
    assert response.status_code == 200
    assert response.json()["accepted"]["events"] == 100
    assert Customer.objects.filter(project=world.acme).count() == 100


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ([], "malformed_body"),
        ({"events": {"subjectId": "u1"}}, "malformed_body"),
        ({"evnts": []}, "unknown_group"),
        ({}, "nothing_to_track"),
    ],
)
def test_an_unreadable_body_is_400(client, world, body, code):
    response = track(client, world.acme, world.acme_token, body)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == code


def test_invalid_json_is_malformed_body(client, world):
    response = client.post(
        reverse("api_track", args=[world.acme.id]),
        data="{not json",
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {world.acme_token}",
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "malformed_body"


def test_a_foreign_token_gets_404_and_stores_nothing(client, world):
    response = track(client, world.acme, world.bolt_token, {"events": [event()]})
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"
    assert not Customer.objects.exists()


def test_events_tracked_signal_names_the_stored_events_after_commit(
    client, world, django_capture_on_commit_callbacks
):
    received = []

    def receiver(sender, project, event_ids, **kwargs):
        received.append((project, event_ids))

    events_tracked.connect(receiver)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            track(client, world.acme, world.acme_token, {"events": [event("a"), event("b")]})
    finally:
        events_tracked.disconnect(receiver)
    assert len(received) == 1
    project, ids = received[0]
    assert project == world.acme
    assert sorted(ids) == sorted(Event.objects.values_list("id", flat=True))


def test_last_seen_moves_forward_only(client, world):
    now = datetime.now(UTC).replace(microsecond=0)
    track(client, world.acme, world.acme_token, {"events": [event(createdAt=now.isoformat())]})
    old = (now - timedelta(days=30)).isoformat()
    track(client, world.acme, world.acme_token, {"events": [event(createdAt=old)]})
    assert Customer.objects.get(user_id="u1").last_seen_at == now
    assert Event.objects.count() == 2


def test_an_event_without_created_at_happens_now(client, world):
    before = datetime.now(UTC)
    track(client, world.acme, world.acme_token, {"events": [event()]})
    stored = Event.objects.get()
    assert stored.created_at >= before - timedelta(seconds=1)
    assert stored.data == {}


def test_the_same_idempotency_key_does_not_store_events_twice(client, world):
    body = {"events": [event()]}
    first = track(client, world.acme, world.acme_token, body, HTTP_IDEMPOTENCY_KEY="k1")
    second = track(client, world.acme, world.acme_token, body, HTTP_IDEMPOTENCY_KEY="k1")
    assert first.json() == second.json()
    assert Event.objects.count() == 1


@pytest.mark.skipif(
    "sqlite" not in __import__("django.conf").conf.settings.DATABASES["default"]["ENGINE"],
    reason="SQLite's query plan",
)
def test_users_are_looked_up_by_the_unique_user_id_index_not_by_scanning_the_project(client, world):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as queries:
        track(client, world.acme, world.acme_token, {"events": [event("u1"), event("u2")]})
    lookups = [
        q["sql"]
        for q in queries.captured_queries
        if q["sql"].startswith("SELECT") and '"audiences_customer"."user_id" IN' in q["sql"]
    ]
    assert lookups
    with connection.cursor() as cursor:
        for sql in lookups:
            cursor.execute(f"EXPLAIN QUERY PLAN {sql}")
            plan = " ".join(str(row[-1]) for row in cursor.fetchall())
            assert "user_id=?" in plan and "SCAN" not in plan, plan
