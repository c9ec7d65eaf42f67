"""/v1/projects/{projectId}/sms/unsubscribe, /subscribe and /unsubscribes."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone
from drf_spectacular.generators import SchemaGenerator

from optout.models import OptOut, OptOutChange
from optout.queries import opted_out_numbers
from webhooks.models import WebhookEvent

A = "+821011112222"
B = "+821033334444"


def post(client, world, name, body, *, token=None, project=None, raw=False, **headers):
    url = reverse(name, args=[(project or world.acme).id])
    data = body if raw else json.dumps(body)
    return client.post(
        url,
        data,
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {token or world.acme_token}",
        **headers,
    )


def unsubscribe(client, world, body, **kwargs):
    return post(client, world, "api_sms_unsubscribe", body, **kwargs)


def subscribe(client, world, body, **kwargs):
    return post(client, world, "api_sms_subscribe", body, **kwargs)


def listing(client, world, token=None, **params):
    return client.get(
        reverse("api_sms_unsubscribes", args=[world.acme.id]),
        params,
        HTTP_AUTHORIZATION=f"Bearer {token or world.acme_token}",
    )


def test_unsubscribe_says_what_changed_and_a_repeat_changes_nothing(client, world):
    first = unsubscribe(client, world, {"phoneNumbers": [A, B]})
    assert first.status_code == 200
    assert first.json() == {"changed": [A, B], "unchanged": [], "invalid": []}
    again = unsubscribe(client, world, {"phoneNumbers": [A, B]})
    assert again.json() == {"changed": [], "unchanged": [A, B], "invalid": []}
    assert OptOutChange.objects.filter(project=world.acme).count() == 2
    assert WebhookEvent.objects.filter(project=world.acme).count() == 2
    history = OptOutChange.objects.filter(project=world.acme).first()
    assert history.source == "api"
    assert history.actor_label.startswith("API token mj_")


def test_subscribe_removes_numbers_and_publishes_subscribed_true(client, world):
    unsubscribe(client, world, {"phoneNumbers": [A]})
    answer = subscribe(client, world, {"phoneNumbers": [A, B]})
    assert answer.json() == {"changed": [A], "unchanged": [B], "invalid": []}
    assert subscribe(client, world, {"phoneNumbers": [A]}).json()["changed"] == []
    assert opted_out_numbers(world.acme, [A, B]) == set()
    last = WebhookEvent.objects.filter(project=world.acme).order_by("-id").first()
    assert (last.type, last.data, last.ordering_key) == (
        "ReportSMSUnsubscribed",
        {"phoneNumber": A, "subscribed": True},
        A,
    )


def test_invalid_numbers_are_reported_by_index_and_the_rest_applied(client, world):
    answer = unsubscribe(client, world, {"phoneNumbers": ["01012345678", A, "+82abc", ""]})
    assert answer.status_code == 200
    body = answer.json()
    assert body["changed"] == [A]
    assert [(i["index"], i["phoneNumber"], i["code"]) for i in body["invalid"]] == [
        (0, "01012345678", "phone_not_e164"),
        (2, "+82abc", "phone_not_e164"),
        (3, "", "phone_missing"),
    ]
    assert "+821012345678" in body["invalid"][0]["message"]


@pytest.mark.parametrize(
    ("body", "field_message"),
    [
        ({"phoneNumbers": []}, "phoneNumbers is empty"),
        ({"phoneNumbers": [A] * 1001}, "at most 1,000"),
        ({"phoneNumbers": A}, "must be a list"),
        ({"phoneNumbers": {"0": A}}, "must be a list"),
        ({}, "required"),
        ({"phoneNumbers": [A, {"n": 1}]}, "Must be a string"),
        # A number is not silently read as "821012345678" (the schema says string).
        ({"phoneNumbers": [A, 821012345678]}, "Must be a string"),
    ],
    ids=["empty", "too-many", "string", "object", "missing", "non-string-item", "number-item"],
)
def test_a_malformed_list_is_refused_with_where_and_why(client, world, body, field_message):
    answer = unsubscribe(client, world, body)
    assert answer.status_code == 400
    error = answer.json()["error"]
    assert error["code"] == "validation_failed"
    assert field_message in json.dumps(error["details"]["phoneNumbers"])
    assert not OptOut.objects.exists()


def test_a_non_string_item_names_its_index(client, world):
    error = unsubscribe(client, world, {"phoneNumbers": [A, {"n": 1}]}).json()["error"]
    assert list(error["details"]["phoneNumbers"]) == ["1"]


def test_exactly_1000_numbers_are_accepted(client, world):
    numbers = [f"+8210{n:08d}" for n in range(30_000_000, 30_001_000)]
    answer = unsubscribe(client, world, {"phoneNumbers": numbers})
    assert answer.status_code == 200
    assert len(answer.json()["changed"]) == 1000


def test_broken_json_is_refused(client, world):
    answer = unsubscribe(client, world, '{"phoneNumbers": [', raw=True)
    assert answer.status_code == 400
    assert answer.json()["error"]["code"] == "malformed_body"


def test_a_foreign_token_gets_404_and_changes_nothing(client, world):
    for name in ("api_sms_unsubscribe", "api_sms_subscribe"):
        answer = post(client, world, name, {"phoneNumbers": [A]}, token=world.bolt_token)
        assert answer.status_code == 404
        assert answer.json()["error"]["code"] == "not_found"
    assert listing(client, world, token=world.bolt_token).status_code == 404
    assert not OptOut.objects.exists()
    assert not WebhookEvent.objects.exists()


def test_an_idempotency_key_replays_the_first_answer(client, world):
    first = unsubscribe(client, world, {"phoneNumbers": [A]}, HTTP_IDEMPOTENCY_KEY="k1")
    second = unsubscribe(client, world, {"phoneNumbers": [A]}, HTTP_IDEMPOTENCY_KEY="k1")
    assert second.json() == first.json() == {"changed": [A], "unchanged": [], "invalid": []}
    assert second["Idempotent-Replayed"] == "true"


def test_the_list_is_paginated_newest_first(client, world):
    numbers = [f"+8210{n:08d}" for n in range(40_000_000, 40_000_005)]
    unsubscribe(client, world, {"phoneNumbers": numbers})
    page = listing(client, world, limit=3).json()
    assert [e["phoneNumber"] for e in page["results"]] == numbers[::-1][:3]
    assert page["results"][0]["source"] == "api"
    rest = client.get(page["next"], HTTP_AUTHORIZATION=f"Bearer {world.acme_token}").json()
    assert [e["phoneNumber"] for e in rest["results"]] == numbers[::-1][3:]


def test_the_list_filters_by_number_and_by_date(client, world):
    unsubscribe(client, world, {"phoneNumbers": [A, B]})
    old = timezone.now() - timedelta(days=10)
    OptOut.objects.filter(phone_number=A).update(created_at=old)

    by_number = listing(client, world, phoneNumber=B).json()["results"]
    assert [e["phoneNumber"] for e in by_number] == [B]
    recent = listing(client, world, createdAfter=(timezone.now() - timedelta(days=1)).isoformat())
    assert [e["phoneNumber"] for e in recent.json()["results"]] == [B]
    day = timezone.localdate(old).isoformat()
    that_day = listing(client, world, createdAfter=day, createdBefore=day).json()["results"]
    assert [e["phoneNumber"] for e in that_day] == [A]


def test_a_bad_date_filter_says_which_parameter(client, world):
    answer = listing(client, world, createdBefore="last tuesday")
    assert answer.status_code == 400
    error = answer.json()["error"]
    assert error["code"] == "validation_failed"
    assert "last tuesday" in error["details"]["createdBefore"][0]


def test_the_endpoints_are_in_the_schema():
    paths = SchemaGenerator().get_schema(public=True)["paths"]
    assert "post" in paths["/v1/projects/{project_id}/sms/unsubscribe"]
    assert "post" in paths["/v1/projects/{project_id}/sms/subscribe"]
    assert "get" in paths["/v1/projects/{project_id}/sms/unsubscribes"]
