"""POST /v1/projects/{projectId}/sms: per-target results, limits, senders,
promotional rules, Liquid errors, idempotency and tenancy."""

from __future__ import annotations

import uuid

import pytest

from audiences.models import Customer
from campaigns.models import Campaign
from channels.models import OptOutNumber, SenderNumber
from dispatch.models import Message, OutboxStats
from tests.support.campaigns import add_customers, phone
from tests.test_api_auth import assert_error
from tests.test_send_api_support import *  # noqa: F403 (the fixtures)
from tests.test_send_api_support import Api

S = Message.Status


def by_target(response) -> dict[str, dict]:
    return {r["targetId"]: r for r in response.json()["results"]}


def test_each_target_gets_its_own_result_and_reason(api: Api):
    add_customers(api.project, 3)
    Customer.objects.create(project=api.project, user_id="nophone", phone_number="")
    Customer.objects.create(project=api.project, user_id="badphone", phone_number="+8210")
    Customer.objects.create(project=api.project, user_id="twin", phone_number=phone(2))
    targets = ["u0", "ghost", "u1", "u1", "nophone", "badphone", "u2", "twin"]
    response = api.send(targetType="userId", targetIds=targets, body="{{ name }}님 안녕하세요")
    assert response.status_code == 202, response.content
    answer = response.json()
    results = answer["results"]
    assert [r["targetId"] for r in results] == targets
    assert [(r["status"], r["reason"]) for r in results] == [
        ("queued", None),
        ("refused", "unknown_user"),
        ("queued", None),
        ("refused", "duplicate_target"),
        ("refused", "no_phone_number"),
        ("refused", "invalid_number"),
        ("queued", None),
        ("refused", "duplicate_phone_number"),
    ]
    for result in results:
        if result["status"] == "refused":
            assert result["messageId"] is None and result["message"]
        else:
            assert result["messageId"] is not None and result["message"] is None
    assert "targetIds[2]" in results[3]["message"]
    assert "targetIds[6]" in results[7]["message"]
    assert (answer["queued"], answer["skipped"], answer["refused"]) == (3, 0, 5)
    campaign = Campaign.objects.get(pk=answer["campaignId"])
    assert (campaign.source, campaign.status, campaign.project_id) == (
        Campaign.Source.API,
        Campaign.Status.SENDING,
        api.project.pk,
    )
    assert campaign.is_materialised
    messages = Message.objects.filter(outbox_id=campaign.outbox_id)
    assert {m.pk for m in messages} == {r["messageId"] for r in results if r["messageId"]}
    assert Message.objects.get(pk=results[0]["messageId"]).body == "고객0님 안녕하세요"
    stats = OutboxStats.objects.get(pk=campaign.outbox_id)
    assert (stats.recipients, stats.queued) == (3, 3)


def test_phone_number_targets_use_a_matching_users_variables_else_the_number_and_data(api: Api):
    add_customers(api.project, 1, time_zone="Europe/Berlin")
    stranger = "+821099998888"
    response = api.send(
        targetType="phoneNumber",
        targetIds=[phone(0), stranger, "010-1234-5678"],
        body="{{ name | default: '고객' }}님, {{ data.coupon }} ({{ phoneNumber }})",
        data={"coupon": "SPRING10"},
    )
    assert response.status_code == 202, response.content
    results = response.json()["results"]
    assert [r["status"] for r in results] == ["queued", "queued", "refused"]
    assert results[2]["reason"] == "invalid_number"
    known = Message.objects.get(pk=results[0]["messageId"])
    unknown = Message.objects.get(pk=results[1]["messageId"])
    customer = Customer.objects.get(project=api.project, user_id="u0")
    assert known.body == f"고객0님, SPRING10 ({phone(0)})"
    assert (known.customer_id, known.time_zone) == (customer.pk, "Europe/Berlin")
    assert unknown.body == f"고객님, SPRING10 ({stranger})"
    assert unknown.customer_id is None
    assert Campaign.objects.get(pk=response.json()["campaignId"]).data == {"coupon": "SPRING10"}


def test_an_advertisement_needs_a_users_consent_but_a_caller_vouches_for_a_number(api: Api):
    add_customers(api.project, 1)
    add_customers(api.project, 1, start=1, promotional_consent=False)
    response = api.send(
        targetType="userId", targetIds=["u0", "u1"], body="봄 세일", isAdvertisement=True
    )
    assert response.status_code == 202, response.content
    consenting, refusing = response.json()["results"]
    assert consenting["status"] == "queued"
    assert (refusing["status"], refusing["reason"]) == ("skipped", "no_consent")
    skipped = Message.objects.get(pk=refusing["messageId"])
    assert (skipped.status, skipped.skip_reason) == (S.SKIPPED, "no_consent")
    stats = Campaign.objects.get(pk=response.json()["campaignId"]).stats
    assert (stats.recipients, stats.queued, stats.skipped_no_consent) == (2, 1, 1)
    # The same non-consenting user's number, sent as a phoneNumber target:
    # the caller vouches for the consent.
    by_number = api.send(
        targetType="phoneNumber", targetIds=[phone(1)], body="봄 세일", isAdvertisement=True
    )
    assert by_number.json()["results"][0]["status"] == "queued"


def test_an_advertisement_is_wrapped_and_the_wrapping_counts_in_the_bytes(api: Api):
    add_customers(api.project, 1)
    body = "x" * 60  # 60 bytes: an SMS on its own, an LMS once labelled
    plain = api.send(targetType="userId", targetIds=["u0"], body=body)
    ad = api.send(targetType="userId", targetIds=["u0"], body=body, isAdvertisement=True)
    plain_message = api.get(f"/messages/{plain.json()['results'][0]['messageId']}").json()
    ad_message = api.get(f"/messages/{ad.json()['results'][0]['messageId']}").json()
    assert (plain_message["body"], plain_message["kind"], plain_message["bytes"]) == (
        body,
        "SMS",
        60,
    )
    optout = OptOutNumber.objects.get(project=api.project).display_number
    assert ad_message["body"].startswith("(광고)Acme Ltd")
    assert ad_message["body"].endswith("무료수신거부 " + optout)
    assert body in ad_message["body"]
    assert ad_message["bytes"] == len(ad_message["body"].encode("cp949")) > 90
    assert (ad_message["kind"], ad_message["isAdvertisement"]) == ("LMS", True)


def test_an_advertisement_without_the_projects_080_number_is_refused_and_writes_nothing(
    api: Api,
):
    add_customers(api.project, 1)
    OptOutNumber.objects.filter(project=api.project).update(project=None)
    response = api.send(targetType="userId", targetIds=["u0"], body="세일", isAdvertisement=True)
    error = assert_error(response, 422, "optout_number_missing")
    assert "080" in error["message"]
    assert list(error["details"]) == ["isAdvertisement"]
    assert not Campaign.objects.exists() and not Message.objects.exists()
    # A non-promotional message needs no 080 number.
    assert api.send(targetType="userId", targetIds=["u0"], body="배송 안내").status_code == 202


def test_bodies_go_as_sms_up_to_90_bytes_and_as_lms_with_the_title_beyond(api: Api):
    add_customers(api.project, 1)
    sms = api.send(targetType="userId", targetIds=["u0"], body="가" * 45, title="제목")
    lms = api.send(targetType="userId", targetIds=["u0"], body="가" * 46, title="가" * 20)
    sms_message = Message.objects.get(pk=sms.json()["results"][0]["messageId"])
    lms_message = Message.objects.get(pk=lms.json()["results"][0]["messageId"])
    assert (sms_message.kind, sms_message.bytes, sms_message.title) == ("SMS", 90, "")
    assert (lms_message.kind, lms_message.bytes, lms_message.title) == ("LMS", 92, "가" * 20)


def test_a_title_over_40_bytes_is_refused(api: Api):
    add_customers(api.project, 1)
    response = api.send(targetType="userId", targetIds=["u0"], body="안녕", title="가" * 21)
    error = assert_error(response, 400, "validation_failed")
    assert "42 bytes" in error["details"]["title"][0]
    assert not Campaign.objects.exists()


def test_a_body_over_2000_bytes_is_refused_when_it_is_the_same_for_everyone(api: Api):
    add_customers(api.project, 1)
    response = api.send(targetType="userId", targetIds=["u0"], body="가" * 1001)
    error = assert_error(response, 400, "validation_failed")
    assert "2,002" in error["details"]["body"][0]
    assert api.send(targetType="userId", targetIds=["u0"], body="가" * 1000).status_code == 202
    # data.* is the same for everyone too.
    response = api.send(
        targetType="userId", targetIds=["u0"], body="{{ data.text }}", data={"text": "가" * 1001}
    )
    assert "2,002" in assert_error(response, 400, "validation_failed")["details"]["body"][0]


def test_a_recipient_whose_message_renders_too_long_is_skipped_as_a_render_error(api: Api):
    add_customers(api.project, 1)
    Customer.objects.create(
        project=api.project, user_id="verbose", phone_number=phone(7), name="가" * 250
    )
    body = "{{ name }}{{ name }}{{ name }}{{ name }}님"  # 4 x 500 + 2 bytes for "verbose"
    response = api.send(targetType="userId", targetIds=["u0", "verbose"], body=body)
    fine, long = response.json()["results"]
    assert fine["status"] == "queued"
    assert (long["status"], long["reason"]) == ("skipped", "render_error")
    assert "2,002 bytes" in long["message"]
    message = Message.objects.get(pk=long["messageId"])
    assert (message.status, message.skip_reason) == (S.SKIPPED, "render_error")


def test_characters_euc_kr_cannot_carry_are_refused(api: Api):
    add_customers(api.project, 1)
    response = api.send(targetType="userId", targetIds=["u0"], body="할인 🎉 시작")
    error = assert_error(response, 400, "validation_failed")
    assert "🎉" in error["details"]["body"][0]
    # From a user's data: that recipient is skipped, with the reason.
    Customer.objects.filter(user_id="u0").update(name="민수🎉")
    response = api.send(targetType="userId", targetIds=["u0"], body="{{ name }}님")
    result = response.json()["results"][0]
    assert (result["status"], result["reason"]) == ("skipped", "render_error")
    assert "🎉" in result["message"]


def test_a_liquid_error_is_reported_with_its_line_and_column(api: Api):
    add_customers(api.project, 1)
    response = api.send(targetType="userId", targetIds=["u0"], body="안녕\n{{ name | shout }}")
    error = assert_error(response, 400, "validation_failed")
    [problem] = error["details"]["body"]
    assert "shout" in problem["message"]
    # column of "shout" in "{{ name | shout }}"
    assert (problem["line"], problem["column"]) == (2, 11)
    response = api.send(targetType="userId", targetIds=["u0"], body="{% if %}x{% endif %}")
    [problem] = assert_error(response, 400, "validation_failed")["details"]["body"]
    assert problem["line"] == 1 and problem["column"] >= 1
    assert not Campaign.objects.exists()


def test_an_unknown_or_unapproved_sender_is_refused(api: Api):
    add_customers(api.project, 1)
    response = api.send(
        targetType="userId", targetIds=["u0"], body="안녕", senderNumber="+8215880000"
    )
    error = assert_error(response, 422, "sender_not_allowed")
    assert "+8215880000" in error["details"]["senderNumber"][0]
    SenderNumber.objects.create(
        project=api.project,
        number="+8215887777",
        owner_type=SenderNumber.OwnerType.COMPANY,
        owner_name="Acme Ltd",
        status=SenderNumber.Status.PENDING,
    )
    response = api.send(
        targetType="userId", targetIds=["u0"], body="안녕", senderNumber="+8215887777"
    )
    assert "waiting for review" in assert_error(response, 422, "sender_not_allowed")["message"]
    # An id is not a sender number here, even one of the project's own.
    own_id = str(SenderNumber.objects.get(number="+8215881234").pk)
    response = api.send(targetType="userId", targetIds=["u0"], body="안녕", senderNumber=own_id)
    assert_error(response, 422, "sender_not_allowed")
    assert not Campaign.objects.exists()


def test_the_default_sender_is_used_unless_another_approved_one_is_named(api: Api):
    add_customers(api.project, 1)
    SenderNumber.objects.create(
        project=api.project,
        number="+8215889999",
        owner_type=SenderNumber.OwnerType.COMPANY,
        owner_name="Acme Ltd",
        status=SenderNumber.Status.APPROVED,
    )
    default = api.send(targetType="userId", targetIds=["u0"], body="안녕")
    named = api.send(targetType="userId", targetIds=["u0"], body="안녕", senderNumber="+8215889999")
    senders = [
        Campaign.objects.get(pk=r.json()["campaignId"]).sender_number.number
        for r in (default, named)
    ]
    assert senders == ["+8215881234", "+8215889999"]


def test_a_project_without_an_approved_sender_cannot_send(api: Api):
    add_customers(api.project, 1)
    SenderNumber.objects.filter(project=api.project).update(status=SenderNumber.Status.SUSPENDED)
    response = api.send(targetType="userId", targetIds=["u0"], body="안녕")
    assert_error(response, 422, "sender_not_allowed")


@pytest.mark.parametrize(
    ("target_ids", "problem"),
    [
        ([], "empty"),
        ([f"u{i}" for i in range(101)], "at most 100"),
        (["u0", 7], "string"),
        (["u0", ""], "blank"),
    ],
)
def test_target_ids_must_be_1_to_100_strings(api: Api, target_ids, problem):
    response = api.send(targetType="userId", targetIds=target_ids, body="안녕")
    error = assert_error(response, 400, "validation_failed")
    assert problem in str(error["details"]["targetIds"])
    assert not Campaign.objects.exists()


def test_a_hundred_targets_are_accepted(api: Api):
    add_customers(api.project, 100)
    response = api.send(targetType="userId", targetIds=[f"u{i}" for i in range(100)], body="안녕")
    assert response.status_code == 202
    assert response.json()["queued"] == 100


def test_an_unknown_target_type_or_missing_body_is_a_validation_error(api: Api):
    response = api.post("/sms", {"targetType": "email", "targetIds": ["a@b.c"]})
    error = assert_error(response, 400, "validation_failed")
    assert set(error["details"]) == {"targetType", "body"}


def test_when_every_target_is_refused_nothing_is_written(api: Api):
    response = api.send(targetType="userId", targetIds=["ghost", "nobody"], body="안녕")
    assert response.status_code == 202
    answer = response.json()
    assert answer["campaignId"] is None
    assert answer["refused"] == 2
    assert not Campaign.objects.exists() and not Message.objects.exists()


def test_a_replayed_idempotency_key_returns_the_first_answer_and_sends_once(api: Api):
    add_customers(api.project, 2)
    key = str(uuid.uuid4())
    body = {"targetType": "userId", "targetIds": ["u0", "u1"], "body": "안녕"}
    first = api.post("/sms", body, HTTP_IDEMPOTENCY_KEY=key)
    again = api.post("/sms", body, HTTP_IDEMPOTENCY_KEY=key)
    assert first.status_code == again.status_code == 202
    assert again.json() == first.json()
    assert again["Idempotent-Replayed"] == "true"
    assert Campaign.objects.count() == 1 and Message.objects.count() == 2


def test_another_projects_token_gets_404_and_nothing_is_written(api: Api, other_api: Api):
    add_customers(api.project, 1)
    intruder = Api(api.project, other_api.token)
    response = intruder.send(targetType="userId", targetIds=["u0"], body="안녕")
    assert_error(response, 404, "not_found")
    assert not Campaign.objects.exists() and not Message.objects.exists()
    # Its own project does not know Acme's users either.
    response = other_api.send(targetType="userId", targetIds=["u0"], body="안녕")
    assert response.json()["results"][0]["reason"] == "unknown_user"


def test_a_body_with_a_tracked_link_is_refused_with_the_reason(api: Api):
    add_customers(api.project, 1)
    response = api.send(
        targetType="userId",
        targetIds=["u0"],
        body='{{ "https://shop.example/sale" | track }} 봄 세일',
    )
    error = assert_error(response, 400, "tracked_links_unsupported")
    assert "track" in error["details"]["body"][0]
    assert not Message.objects.exists()
