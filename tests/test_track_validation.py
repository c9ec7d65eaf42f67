"""Each Track validation rule, reported with its group, index, field and code,
while the valid item next to it is stored."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from audiences.models import Customer, CustomerTag, Event
from tests.test_track_api import event, track

FUTURE = (datetime.now(UTC) + timedelta(days=2)).isoformat()


def only_error(response, group, index=1):
    body = response.json()
    assert response.status_code == 200, body
    errors = [e for e in body["errors"] if e["group"] == group]
    assert [e["index"] for e in errors] == [index], errors
    assert body["accepted"][group] == 1
    return errors[0]


@pytest.mark.parametrize(
    ("attributes", "field", "code", "in_message"),
    [
        ({"phoneNumber": "010-1234-5678"}, "phoneNumber", "phone_not_e164", "+821012345678"),
        ({"phoneNumber": "+8210"}, "phoneNumber", "phone_invalid", "+8210"),
        ({"phoneNumber": 821012345678}, "phoneNumber", "invalid_type", "string"),
        ({"email": "kim@"}, "email", "invalid_email", "kim@"),
        ({"dob": "25/04/1990"}, "dob", "invalid_date", "YYYY-MM-DD"),
        ({"dob": "1990-02-30"}, "dob", "invalid_date", "1990-02-30"),
        ({"dob": "2999-01-01"}, "dob", "date_in_future", "2999-01-01"),
        ({"timeZone": "Seoul"}, "timeZone", "invalid_time_zone", "Asia/Seoul"),
        ({"country": "KOR"}, "country", "invalid_country", "KOR"),
        ({"country": "XK"}, "country", "invalid_country", "ISO 3166-1"),
        ({"language": "korean language"}, "language", "invalid_language", "ko"),
        ({"name": "x" * 256}, "name", "too_long", "255"),
        ({"phone": "+821012345678"}, "phone", "unknown_field", "phoneNumber"),
        ({"promotionalConsent": "yes"}, "promotionalConsent", "invalid_type", "true or false"),
        ({"nightConsentAt": "tonight"}, "nightConsentAt", "invalid_datetime", "tonight"),
        ({"promotionalConsentAt": FUTURE}, "promotionalConsentAt", "datetime_in_future", ""),
        (
            {"promotionalConsent": False, "promotionalConsentAt": "2025-01-01T00:00:00Z"},
            "promotionalConsentAt",
            "consent_date_without_consent",
            "false",
        ),
    ],
)
def test_each_attribute_rule(client, world, attributes, field, code, in_message):
    response = track(
        client,
        world.acme,
        world.acme_token,
        {"userAttributes": [{"userId": "ok", "name": "Fine"}, {"userId": "bad", **attributes}]},
    )
    error = only_error(response, "userAttributes")
    assert (error["field"], error["code"]) == (field, code)
    assert in_message in error["message"]
    assert Customer.objects.get(user_id="ok").name == "Fine"
    assert not Customer.objects.filter(user_id="bad").exists()


@pytest.mark.parametrize(
    ("item", "field", "code"),
    [
        ({"subjectType": "user", "type": "x"}, "subjectId", "required"),
        ({"subjectType": "user", "subjectId": " ", "type": "x"}, "subjectId", "invalid_type"),
        ({"subjectType": "user", "subjectId": "x" * 256, "type": "x"}, "subjectId", "too_long"),
        ({"subjectId": "u", "type": "x"}, "subjectType", "invalid_subject_type"),
        (event(type_=None), "type", "required"),
        (event(data=[1, 2]), "data", "invalid_type"),
        (event(createdAt="2025-05-01T09:00:00"), "createdAt", "datetime_without_offset"),
        (event(createdAt=FUTURE), "createdAt", "datetime_in_future"),
        (event(createdAt=1714550400), "createdAt", "invalid_type"),
        (event(when="now"), "when", "unknown_field"),
    ],
)
def test_each_event_rule(client, world, item, field, code):
    response = track(client, world.acme, world.acme_token, {"events": [event("ok"), item]})
    error = only_error(response, "events")
    assert (error["field"], error["code"]) == (field, code)
    assert Event.objects.get().customer.user_id == "ok"


@pytest.mark.parametrize(
    ("item", "field", "code"),
    [
        ({"subjectType": "user", "subjectId": "u"}, "tags", "required"),
        ({"subjectType": "user", "subjectId": "u", "tags": ["a"]}, "tags", "invalid_type"),
        (
            {"subjectType": "user", "subjectId": "u", "tags": {"a": {"b": 1}}},
            "tags.a",
            "invalid_tag_value",
        ),
        ({"subjectType": "user", "subjectId": "u", "tags": {"": "v"}}, "tags.", "invalid_tag_key"),
        (
            {"subjectType": "user", "subjectId": "u", "tags": {"a": "v" * 1025}},
            "tags.a",
            "too_long",
        ),
    ],
)
def test_each_tag_rule(client, world, item, field, code):
    ok = {"subjectType": "user", "subjectId": "ok", "tags": {"k": "v"}}
    response = track(client, world.acme, world.acme_token, {"tags": [ok, item]})
    error = only_error(response, "tags")
    assert (error["field"], error["code"]) == (field, code)
    assert CustomerTag.objects.get().customer.user_id == "ok"


def test_all_problems_of_one_item_are_reported(client, world):
    response = track(
        client,
        world.acme,
        world.acme_token,
        {"userAttributes": [{"userId": "ok"}, {"userId": "u", "email": "x", "country": "ZZ"}]},
    )
    body = response.json()
    assert {(e["index"], e["field"]) for e in body["errors"]} == {(1, "email"), (1, "country")}


def test_an_item_that_is_not_an_object_is_reported_by_index(client, world):
    response = track(client, world.acme, world.acme_token, {"events": [event(), "purchase"]})
    error = only_error(response, "events")
    assert (error["field"], error["code"]) == (None, "not_an_object")


def test_a_numeric_user_id_is_taken_as_a_string(client, world):
    track(client, world.acme, world.acme_token, {"userAttributes": [{"userId": 42}]})
    assert Customer.objects.get().user_id == "42"


def test_null_clears_an_attribute(client, world):
    track(
        client,
        world.acme,
        world.acme_token,
        {"userAttributes": [{"userId": "u", "name": "Kim", "dob": "1990-04-25"}]},
    )
    track(
        client,
        world.acme,
        world.acme_token,
        {"userAttributes": [{"userId": "u", "name": None, "dob": None}]},
    )
    customer = Customer.objects.get()
    assert (customer.name, customer.dob) == ("", None)


def test_attributes_not_sent_are_left_alone(client, world):
    track(
        client, world.acme, world.acme_token, {"userAttributes": [{"userId": "u", "name": "Kim"}]}
    )
    track(
        client,
        world.acme,
        world.acme_token,
        {"userAttributes": [{"userId": "u", "email": "k@x.kr"}]},
    )
    customer = Customer.objects.get()
    assert (customer.name, customer.email) == ("Kim", "k@x.kr")


def test_a_tag_set_to_null_is_deleted_and_others_kept(client, world):
    tags = {"subjectType": "user", "subjectId": "u"}
    track(client, world.acme, world.acme_token, {"tags": [{**tags, "tags": {"a": "1", "b": 2}}]})
    assert dict(CustomerTag.objects.values_list("key", "value")) == {"a": "1", "b": "2"}
    track(
        client, world.acme, world.acme_token, {"tags": [{**tags, "tags": {"a": None, "c": True}}]}
    )
    assert dict(CustomerTag.objects.values_list("key", "value")) == {"b": "2", "c": "true"}


def test_a_later_tag_item_wins_within_one_call(client, world):
    tags = {"subjectType": "user", "subjectId": "u"}
    track(
        client,
        world.acme,
        world.acme_token,
        {"tags": [{**tags, "tags": {"a": "1", "b": "1"}}, {**tags, "tags": {"a": None, "b": "2"}}]},
    )
    assert dict(CustomerTag.objects.values_list("key", "value")) == {"b": "2"}


def test_promotional_consent_gets_its_date_when_it_turns_true_and_keeps_it(client, world):
    before = datetime.now(UTC)
    grant = {"userAttributes": [{"userId": "u", "promotionalConsent": True}]}
    track(client, world.acme, world.acme_token, grant)
    first = Customer.objects.get()
    assert first.promotional_consent is True
    assert first.promotional_consent_at >= before - timedelta(seconds=1)
    track(client, world.acme, world.acme_token, grant)
    assert Customer.objects.get().promotional_consent_at == first.promotional_consent_at
    track(
        client,
        world.acme,
        world.acme_token,
        {"userAttributes": [{"userId": "u", "promotionalConsent": False}]},
    )
    withdrawn = Customer.objects.get()
    assert (withdrawn.promotional_consent, withdrawn.promotional_consent_at) == (False, None)


def test_a_given_consent_date_is_used_and_implies_consent(client, world):
    track(
        client,
        world.acme,
        world.acme_token,
        {"userAttributes": [{"userId": "u", "nightConsentAt": "2025-03-01T09:00:00+09:00"}]},
    )
    customer = Customer.objects.get()
    assert customer.night_consent is True
    assert customer.night_consent_at == datetime(2025, 3, 1, 0, 0, tzinfo=UTC)
    assert customer.promotional_consent is False


def test_attributes_are_applied_before_events_of_the_same_call(client, world):
    response = track(
        client,
        world.acme,
        world.acme_token,
        {
            "events": [event("new")],
            "userAttributes": [{"userId": "new", "phoneNumber": "+821011112222"}],
        },
    )
    assert response.json()["createdUsers"] == 1
    assert Event.objects.get().customer.phone_number == "+821011112222"
