"""The schema is not looser than the server, and the server keeps to it:
regression tests for what schemathesis found (tests/test_api_schemathesis.py)."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from audiences.models import Customer
from tests.test_api_auth import assert_error

pytestmark = pytest.mark.django_db


@pytest.fixture
def schema() -> dict:
    return Client().get("/v1/schema").json()


def api(world) -> Client:
    return Client(HTTP_AUTHORIZATION=f"Bearer {world.acme_token}", HTTP_ACCEPT_LANGUAGE="en")


@pytest.mark.parametrize("limit", ["-1", "0", "abc", "5000", "1.5", "١"])
def test_a_limit_outside_1_to_1000_is_refused_not_clamped(world, limit):
    response = api(world).get(f"/v1/projects/{world.acme.id}/campaigns", {"limit": limit})
    error = assert_error(response, 400, "validation_failed")
    assert "limit" in error["details"]


def test_a_limit_given_twice_is_refused(world):
    response = api(world).get(f"/v1/projects/{world.acme.id}/segments?limit=2&limit=3")
    assert_error(response, 400, "validation_failed")


def test_a_limit_in_range_is_served(world):
    response = api(world).get(f"/v1/projects/{world.acme.id}/campaigns", {"limit": "1000"})
    assert response.status_code == 200


def test_the_schema_bounds_limit_and_documents_the_400(schema):
    for path in ("/campaigns", "/segments", "/sms/unsubscribes", "/sender-numbers"):
        operation = schema["paths"]["/v1/projects/{projectId}" + path]["get"]
        limit = next(p for p in operation["parameters"] if p["name"] == "limit")
        assert limit["schema"] == {"type": "integer", "minimum": 1, "maximum": 1000}, path
        assert "400" in operation["responses"], path


def test_the_idempotency_key_may_not_be_blank_in_the_schema(schema):
    operation = schema["paths"]["/v1/projects/{projectId}/sms"]["post"]
    key = next(p for p in operation["parameters"] if p["name"] == "Idempotency-Key")
    assert key["schema"]["minLength"] == 1
    assert key["schema"]["pattern"] == r"\S"


def test_the_schema_accepts_json_bodies_only_except_for_uploads(schema):
    paths = schema["paths"]
    sms = paths["/v1/projects/{projectId}/sms"]["post"]["requestBody"]["content"]
    assert list(sms) == ["application/json"]
    upload = paths["/v1/projects/{projectId}/audience-files"]["post"]["requestBody"]["content"]
    assert "multipart/form-data" in upload


def test_a_form_encoded_body_is_refused_with_415(world):
    response = api(world).post(
        f"/v1/projects/{world.acme.id}/sms/unsubscribe",
        "phoneNumbers=%2B821012345678",
        content_type="application/x-www-form-urlencoded",
    )
    assert_error(response, 415, "unsupported_media_type")


def test_the_segment_definition_has_a_schema(schema):
    request = schema["components"]["schemas"]["SegmentCreateRequest"]
    definition = request["properties"]["definition"]
    assert definition["properties"]["match"]["enum"] == ["all", "any"]
    kinds = [
        c["properties"]["kind"]["enum"]
        for c in definition["properties"]["conditions"]["items"]["anyOf"]
    ]
    assert ["consent"] in kinds
    assert request["properties"]["name"]["minLength"] == 1


@pytest.mark.parametrize(
    "condition",
    [
        {"kind": "consent", "type": {}, "given": True},
        {"kind": "attribute", "field": ["country"], "op": "eq", "value": "KR"},
    ],
)
def test_an_object_where_a_name_belongs_is_a_400_not_a_500(world, condition):
    response = api(world).post(
        f"/v1/projects/{world.acme.id}/segments/count",
        {"definition": {"match": "all", "conditions": [condition]}},
        content_type="application/json",
    )
    assert_error(response, 400, "validation_failed")


def test_a_user_without_email_answers_null_as_the_schema_says(world, schema):
    Customer.objects.create(project=world.acme, user_id="u1", phone_number="+821012345678")
    response = api(world).get(f"/v1/projects/{world.acme.id}/users/u1")
    assert response.status_code == 200
    assert response.json()["email"] is None
    email = schema["components"]["schemas"]["Customer"]["properties"]["email"]
    assert (email["format"], email["nullable"]) == ("email", True)


def test_the_webhook_url_is_a_uri_in_the_schema_and_on_the_server(world, schema):
    url = schema["components"]["schemas"]["WebhookRegistrationRequest"]["properties"]["url"]
    assert url["format"] == "uri"
    response = api(world).put(
        f"/v1/projects/{world.acme.id}/sms/webhook",
        {"url": "https://\u000f©h"},
        content_type="application/json",
    )
    error = assert_error(response, 400, "validation_failed")
    assert "url" in error["details"]


def test_an_empty_date_filter_is_refused(world):
    response = api(world).get(
        f"/v1/projects/{world.acme.id}/sms/unsubscribes", {"createdBefore": ""}
    )
    error = assert_error(response, 400, "validation_failed")
    assert "createdBefore" in error["details"]


HANGUL = re.compile(r"[\uac00-\ud7a3]")


def _texts(value: object) -> list[str]:
    if isinstance(value, dict):
        return [text for item in value.values() for text in _texts(item)]
    if isinstance(value, list):
        return [text for item in value for text in _texts(item)]
    return [value] if isinstance(value, str) and " " in value else []


@pytest.mark.parametrize("language", ["ko", "en"])
def test_an_answer_speaks_the_requests_language_only(world, language):
    client = Client(HTTP_AUTHORIZATION=f"Bearer {world.acme_token}", HTTP_ACCEPT_LANGUAGE=language)
    base = f"/v1/projects/{world.acme.id}"
    answers = [
        # The opt-out answer's per-number messages came from an English-only helper.
        client.post(
            f"{base}/sms/unsubscribe",
            {"phoneNumbers": ["abc", "01012345678", "+82abc", ""]},
            content_type="application/json",
        ).json(),
        client.get(f"{base}/campaigns", {"limit": "0"}).json(),
        client.put(
            f"{base}/sms/webhook", {"url": "https://\u00e9.test"}, content_type="application/json"
        ).json(),
    ]
    texts = [text for answer in answers for text in _texts(answer)]
    assert len(texts) >= 6
    for text in texts:
        assert bool(HANGUL.search(text)) == (language == "ko"), text


def test_a_campaigns_audience_is_one_of_a_segment_or_a_file(schema, world):
    audience = schema["components"]["schemas"]["CampaignWriteRequest"]["properties"]["audience"]
    assert [option["required"] for option in audience["oneOf"]] == [
        ["segmentId"],
        ["audienceFileId"],
    ]
    both = {"segmentId": 1, "audienceFileId": "00000000-0000-0000-0000-000000000001"}
    response = api(world).post(
        f"/v1/projects/{world.acme.id}/campaigns",
        {"name": "Both", "audience": both},
        content_type="application/json",
    )
    assert_error(response, 400, "validation_failed")


def test_every_operation_with_a_body_documents_415(schema):
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            if "requestBody" in operation:
                assert "415" in operation["responses"], (method, path)


@pytest.mark.parametrize(
    "moment",
    ["0405-11-17T04:30:55+18:54", "0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-05:00"],
)
def test_a_date_filter_at_the_edges_of_iso_8601_is_answered_not_a_500(world, moment):
    response = api(world).get(
        f"/v1/projects/{world.acme.id}/sms/unsubscribes", {"createdBefore": moment}
    )
    assert response.status_code in (200, 400), response.content


def test_a_schedule_with_an_offset_postgresql_refuses_is_still_read(world):
    from channels.models import SenderNumber
    from tests.support.campaigns import segment_campaign

    SenderNumber.objects.create(
        project=world.acme,
        number="+8215881234",
        owner_type=SenderNumber.OwnerType.COMPANY,
        owner_name="Acme",
        status=SenderNumber.Status.APPROVED,
        is_default=True,
    )
    campaign = segment_campaign(world.acme)
    response = api(world).post(
        f"/v1/projects/{world.acme.id}/campaigns/{campaign.pk}/schedule",
        {"at": "2999-01-01T09:00:00+18:54"},
        content_type="application/json",
    )
    assert response.status_code == 200, response.content
