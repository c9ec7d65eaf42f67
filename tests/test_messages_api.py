"""GET /v1/projects/{projectId}/messages/{id}: an API send followed through
dispatch (opt-outs, night-time hold, delivery, failure) and its history; a
real end-to-end run through the queue to the sandbox carrier."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.test import Client

from campaigns.models import Campaign
from channels.gateways import console as console_backend
from channels.gateways.base import DeliveryReport
from channels.models import Gateway
from dispatch import pipeline
from dispatch.models import Message
from dispatch.reports import apply_delivery_reports
from optout.actions import do_opt_out
from optout.models import Source
from projects.actions import do_create_api_token
from tests.support.campaigns import add_customers, phone, sending_project
from tests.support.processes import wait_until
from tests.test_api_auth import assert_error
from tests.test_send_api_support import *  # noqa: F403 (the fixtures)
from tests.test_send_api_support import Api

S = Message.Status
# 22:00 and 12:00 in Seoul.
NIGHT = datetime(2026, 3, 2, 13, 0, tzinfo=UTC)
NOON = datetime(2026, 3, 3, 3, 0, tzinfo=UTC)
SEOUL_8AM = datetime(2026, 3, 2, 23, 0, tzinfo=UTC)


def outbox_of(campaign_id: int) -> int:
    return Campaign.objects.get(pk=campaign_id).outbox_id


def send_one(api: Api, target: str = "u0", **fields) -> tuple[int, int]:
    response = api.send(targetType="userId", targetIds=[target], **fields)
    assert response.status_code == 202, response.content
    answer = response.json()
    return answer["campaignId"], answer["results"][0]["messageId"]


def test_a_message_shows_its_rendered_body_recipient_and_campaign(api: Api):
    add_customers(api.project, 1)
    campaign_id, message_id = send_one(api, body="{{ name }}님, 주문이 출발했어요", title="배송")
    answer = api.get(f"/messages/{message_id}")
    assert answer.status_code == 200
    message = answer.json()
    assert message["id"] == message_id
    assert message["campaignId"] == campaign_id
    assert (message["userId"], message["phoneNumber"]) == ("u0", phone(0))
    assert message["body"] == "고객0님, 주문이 출발했어요"
    assert (message["kind"], message["title"]) == ("SMS", "")
    assert message["bytes"] == len("고객0님, 주문이 출발했어요".encode("cp949")) == 26
    assert (message["status"], message["skipReason"], message["error"]) == ("queued", None, None)
    assert message["isAdvertisement"] is False
    assert message["queuedAt"] is not None
    assert [entry["status"] for entry in message["history"]] == ["queued"]
    assert message["history"][0]["at"] == message["queuedAt"]


def test_a_number_without_a_user_has_no_user_id(api: Api):
    response = api.send(targetType="phoneNumber", targetIds=["+821055556666"], body="안녕")
    message_id = response.json()["results"][0]["messageId"]
    message = api.get(f"/messages/{message_id}").json()
    assert (message["userId"], message["phoneNumber"]) == (None, "+821055556666")


def test_an_api_send_runs_through_the_normal_pipeline_once_committed(
    api: Api, django_capture_on_commit_callbacks
):
    add_customers(api.project, 3)
    with django_capture_on_commit_callbacks(execute=False) as enqueued:
        answer = api.send(targetType="userId", targetIds=["u0", "u1", "u2"], body="안녕").json()
    # Nothing leaves before the request's transaction commits.
    assert enqueued and not console_backend.outbox
    for callback in enqueued:
        callback()  # tasks run inline in tests (MUNJA_Q_SYNC)
    campaign = Campaign.objects.get(pk=answer["campaignId"])
    assert campaign.status == Campaign.Status.COMPLETED
    assert sorted(sms.to for sms in console_backend.outbox) == [phone(0), phone(1), phone(2)]
    statuses = {api.get(f"/messages/{r['messageId']}").json()["status"] for r in answer["results"]}
    assert statuses == {"delivered"}


def test_a_delivered_message_shows_each_step_with_its_time(api: Api):
    add_customers(api.project, 1)
    campaign_id, message_id = send_one(api, body="안녕")
    # The console gateway accepts and reports delivery at once.
    pipeline.send_batch(outbox_of(campaign_id), now=NOON)
    message = api.get(f"/messages/{message_id}").json()
    assert message["status"] == "delivered"
    assert message["providerMessageId"]
    assert [entry["status"] for entry in message["history"]] == ["queued", "sent", "delivered"]
    assert all(entry["at"] for entry in message["history"])
    assert message["history"][1]["detail"] == message["providerMessageId"]


def test_an_advertisement_at_night_is_held_and_shows_queued_with_held_until(api: Api):
    add_customers(api.project, 1)
    campaign_id, message_id = send_one(api, body="봄 세일", isAdvertisement=True)
    outcome = pipeline.send_batch(outbox_of(campaign_id), now=NIGHT)
    assert outcome.held == 1
    message = api.get(f"/messages/{message_id}").json()
    assert message["status"] == "queued"
    # 08:00 the next morning in Seoul.
    assert datetime.fromisoformat(message["heldUntil"]) == SEOUL_8AM
    assert [entry["status"] for entry in message["history"]] == ["queued", "held"]
    assert message["heldUntil"] in message["history"][1]["detail"]


def test_an_opted_out_number_is_skipped_at_dispatch(api: Api):
    add_customers(api.project, 2)
    response = api.send(
        targetType="userId", targetIds=["u0", "u1"], body="안내", isAdvertisement=True
    )
    answer = response.json()
    # Queued when accepted: the list is read at dispatch, not at the request.
    assert [r["status"] for r in answer["results"]] == ["queued", "queued"]
    do_opt_out(api.project, [phone(1)], Source.API)
    pipeline.send_batch(outbox_of(answer["campaignId"]), now=NOON)
    delivered, opted_out = (
        api.get(f"/messages/{r['messageId']}").json() for r in answer["results"]
    )
    assert delivered["status"] == "delivered"
    assert (opted_out["status"], opted_out["skipReason"]) == ("skipped", "opted_out")
    assert [entry["status"] for entry in opted_out["history"]] == ["queued", "skipped"]


def test_a_failed_delivery_shows_the_providers_reason(api: Api):
    add_customers(api.project, 1)
    _campaign_id, message_id = send_one(api, body="안녕")
    Message.objects.filter(pk=message_id).update(status=S.SENT, sent_at=NOON)
    apply_delivery_reports(
        [
            DeliveryReport(
                gateway_backend="console",
                provider_message_id="",
                reference=Message.objects.get(pk=message_id).reference,
                status="failed",
                error_code="3001",
                error_message="Number not in service",
            )
        ]
    )
    message = api.get(f"/messages/{message_id}").json()
    assert message["status"] == "failed"
    assert message["error"] == {"code": "3001", "message": "Number not in service"}
    assert message["history"][-1] == {
        "status": "failed",
        "at": None,
        "detail": "3001: Number not in service",
    }


def test_a_message_skipped_when_written_was_never_queued(api: Api):
    add_customers(api.project, 1, promotional_consent=False)
    _campaign_id, message_id = send_one(api, body="세일", isAdvertisement=True)
    message = api.get(f"/messages/{message_id}").json()
    assert (message["status"], message["skipReason"]) == ("skipped", "no_consent")
    assert [entry["status"] for entry in message["history"]] == ["skipped"]


def test_another_projects_message_is_404(api: Api, other_api: Api):
    add_customers(api.project, 1)
    _campaign_id, message_id = send_one(api, body="안녕")
    assert_error(other_api.get(f"/messages/{message_id}"), 404, "not_found")
    assert_error(api.get(f"/messages/{message_id + 1000}"), 404, "not_found")


@pytest.mark.processes
def test_an_api_send_goes_through_the_queue_to_the_carrier_and_is_delivered(
    qcluster, sandbox_carrier
):
    gateway = Gateway.objects.create(name="Sandbox", backend="sandbox", config={})
    project = sending_project("Wired", gateway=gateway)
    add_customers(project, 2)
    _token, raw = do_create_api_token(project, "integration", None)
    auth = {"HTTP_AUTHORIZATION": f"Bearer {raw}"}
    base = f"/v1/projects/{project.id}"
    response = Client().post(
        f"{base}/sms",
        data={
            "targetType": "userId",
            "targetIds": ["u0", "u1"],
            "body": "{{ name }}님, {{ data.code }} 인증번호",
            "data": {"code": "4821"},
        },
        content_type="application/json",
        **auth,
    )
    assert response.status_code == 202, response.content
    answer = response.json()
    ids = [r["messageId"] for r in answer["results"]]

    def delivered() -> bool:
        statuses = [Client().get(f"{base}/messages/{i}", **auth).json()["status"] for i in ids]
        return statuses == ["delivered", "delivered"]

    wait_until(
        delivered,
        interval=0.2,
        what=lambda: f"delivery; qcluster log:\n{qcluster.process.output()[-2000:]}",
    )
    message = Client().get(f"{base}/messages/{ids[0]}", **auth).json()
    assert message["body"] == "고객0님, 4821 인증번호"
    assert [entry["status"] for entry in message["history"]] == ["queued", "sent", "delivered"]
    carried = sandbox_carrier.messages(Message.objects.get(pk=ids[0]).reference)
    assert [(entry["text"], entry["repeat"]) for entry in carried] == [
        ("고객0님, 4821 인증번호", False)
    ]
    wait_until(
        lambda: Campaign.objects.get(pk=answer["campaignId"]).status == Campaign.Status.COMPLETED,
        what="the API campaign to complete",
    )
