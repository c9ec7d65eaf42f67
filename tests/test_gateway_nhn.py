"""The NHN Cloud SMS adapter against recorded request/response pairs served over real HTTP."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qsl
from zoneinfo import ZoneInfo

import pytest

from campaigns.materialise import materialise_chunk
from campaigns.models import Campaign
from channels import tasks
from channels.gateways.base import GatewayError, OutgoingSms
from channels.gateways.nhn import NhnBackend
from channels.models import Gateway, OptOutNumber
from channels.signals import optout_call_received
from dispatch.models import Message, OutboxStats, message_reference
from tests.fixtures.gateways.replay import ReplayServer, load
from tests.support.campaigns import add_customers, phone, segment_campaign, sending_project
from tests.support.processes import make_project

RECORDED = load("nhn")
AD_SMS = "(광고)아크미 봄 세일 무료수신거부 080-123-4567"
U1 = OutgoingSms("c-5-u1", "+821012345678", "+8215881234", AD_SMS)
U2 = OutgoingSms("c-5-u2", "+821087654321", "+8215881234", AD_SMS)
U3 = OutgoingSms(
    "c-5-u3",
    "+821055556666",
    "+8215881234",
    "(광고)아크미 긴 안내문 무료수신거부 080-123-4567",
    title="봄 세일",
    kind="LMS",
)


@pytest.fixture
def nhn():
    with ReplayServer().running() as server:
        backend = NhnBackend({"app_key": "app-key-1", "secret_key": "secret-1", "url": server.url})
        yield server, backend


def test_messages_sharing_a_body_go_in_one_request_and_lms_goes_to_the_mms_endpoint(nhn):
    server, backend = nhn
    server.answer(RECORDED["sms_accepted"], RECORDED["lms_accepted"])
    backend.send_batch([U1, U3, U2])
    sms_request, lms_request = server.received
    for received, recorded in ((sms_request, "send_sms"), (lms_request, "send_lms")):
        expected = RECORDED[recorded]["request"]
        assert (received.method, received.path) == (expected["method"], expected["path"])
        assert received.json() == expected["json"]
        assert received.headers["x-secret-key"] == "secret-1"
        assert received.headers["content-type"] == "application/json"


def test_personalised_bodies_are_one_request_each_and_at_most_1000_recipients_a_request():
    backend = NhnBackend({})
    personal = [OutgoingSms(f"r{i}", "+821012345678", "+8215881234", f"hi {i}") for i in range(3)]
    assert len(backend.build_payload(personal)) == 3
    same = [OutgoingSms(f"r{i}", "+821012345678", "+8215881234", "hi") for i in range(2001)]
    assert [len(r.messages) for r in backend.build_payload(same)] == [1000, 1000, 1]


def test_an_international_recipient_uses_the_international_number_field():
    [request] = NhnBackend({}).build_payload([OutgoingSms("r", "+14155550100", "+8215881234", "x")])
    assert request.body["recipientList"] == [
        {"recipientGroupingKey": "r", "internationalRecipientNo": "14155550100"}
    ]


def test_accepted_recipients_get_request_id_and_sequence_as_provider_id(nhn):
    server, backend = nhn
    server.answer(RECORDED["sms_accepted"], RECORDED["lms_accepted"])
    first, lms, second = backend.send_batch([U1, U3, U2])
    assert first.accepted and first.provider_message_id == "20260310100630ReZQ6KZzAH0:1"
    assert second.accepted and second.provider_message_id == "20260310100630ReZQ6KZzAH0:2"
    assert lms.accepted and lms.provider_message_id == "20260310100631AbCdEfGhIj0:1"


def test_a_recipient_refused_inside_a_successful_request_is_rejected_alone(nhn):
    server, backend = nhn
    server.answer(RECORDED["sms_partial"])
    sent, refused = backend.send_batch([U1, U2])
    assert sent.accepted
    assert (refused.accepted, refused.permanent) == (False, True)
    assert (refused.error_code, refused.error_message) == ("-2019", "Recipient number is invalid")


def test_a_request_refused_for_its_content_rejects_its_messages_and_the_batch_goes_on(nhn):
    server, backend = nhn
    server.answer(RECORDED["unregistered_sender"], RECORDED["lms_accepted"])
    first, lms, second = backend.send_batch([U1, U3, U2])
    for refused in (first, second):
        assert (refused.accepted, refused.permanent, refused.error_code) == (False, True, "-2312")
        assert refused.error_message == "Sender number is missing or unregistered"
    assert lms.accepted


def test_an_invalid_app_key_is_a_permanent_batch_error(nhn):
    server, backend = nhn
    server.answer(RECORDED["invalid_appkey"])
    with pytest.raises(GatewayError, match="-1000") as caught:
        backend.send_batch([U1, U3])
    assert caught.value.permanent
    assert len(server.received) == 1


@pytest.mark.parametrize(
    ("recorded", "retry_after"),
    [("system_error", None), ("throttled", 2.0), ("gateway_error", None)],
)
def test_nhn_trouble_before_anything_was_accepted_fails_the_batch_transiently(
    nhn, recorded, retry_after
):
    server, backend = nhn
    server.answer(RECORDED[recorded])
    with pytest.raises(GatewayError) as caught:
        backend.send_batch([U1, U3])
    assert not caught.value.permanent
    assert caught.value.retry_after == retry_after


def test_nhn_trouble_mid_batch_keeps_what_was_accepted(nhn):
    server, backend = nhn
    server.answer(RECORDED["sms_accepted"], RECORDED["system_error"])
    first, lms, second = backend.send_batch([U1, U3, U2])
    assert first.accepted and second.accepted
    assert (lms.accepted, lms.permanent) == (False, False)


def test_missing_credentials_are_a_permanent_error_that_names_the_key():
    with pytest.raises(GatewayError, match="secret_key") as caught:
        NhnBackend({"app_key": "a"}).send_batch([U1])
    assert caught.value.permanent


# --- the 080 unsubscribe webhook ----------------------------------------------------


@pytest.fixture
def calls():
    seen = []

    def on_call(sender, **kwargs):
        seen.append(kwargs)

    optout_call_received.connect(on_call, weak=False)
    yield seen
    optout_call_received.disconnect(on_call)


@pytest.fixture
def webhook_gateway(db):
    return Gateway.objects.create(
        name="NHN", backend="nhn", config={"webhook_signature": "sig-from-console"}
    )


def post_webhook(client, body, signature="sig-from-console"):
    headers = {"X-Toast-Webhook-Signature": signature} if signature else {}
    return client.post(
        "/inbound/nhn/080", json.dumps(body), content_type="application/json", headers=headers
    )


def test_a_signed_unsubscribe_webhook_opts_the_number_out(client, webhook_gateway, calls):
    acme = make_project("Acme")
    OptOutNumber.objects.create(number="+82801234567", project=acme)
    response = post_webhook(client, RECORDED["unsubscribe_webhook"])
    assert response.status_code == 200
    assert response.json() == {"accepted": True, "subscribed": False}
    [call] = calls
    assert call["project"] == acme
    assert call["phone_number"] == "+821012341234"
    assert call["subscribed"] is False
    assert call["occurred_at"].isoformat() == "2026-03-10T11:25:10+09:00"


@pytest.mark.parametrize("signature", ["", "forged"])
def test_an_unsigned_unsubscribe_webhook_is_refused(client, webhook_gateway, calls, signature):
    response = post_webhook(client, RECORDED["unsubscribe_webhook"], signature=signature)
    assert response.status_code == 403
    assert calls == []


def test_an_unsubscribe_hook_with_a_bad_number_says_which_field(client, webhook_gateway, calls):
    body = json.loads(json.dumps(RECORDED["unsubscribe_webhook"]))
    body["hooks"][0]["recipientNo"] = "12"
    response = post_webhook(client, body)
    assert response.status_code == 400
    assert response.json()["error"]["message"].startswith("hooks[0].recipientNo:")
    assert calls == []


def test_nhn_delivery_reports_are_not_pushed(client, webhook_gateway):
    response = client.post(
        "/inbound/nhn/reports",
        "{}",
        content_type="application/json",
        headers={"X-Toast-Webhook-Signature": "sig-from-console"},
    )
    assert response.status_code == 400
    assert "polls them every minute" in response.json()["error"]["message"]


# --- delivery results, polled --------------------------------------------------------

SEOUL = ZoneInfo("Asia/Seoul")
POLL_START = datetime(2026, 3, 10, 1, 0, tzinfo=UTC)  # 10:00 in Seoul
POLL_END = datetime(2026, 3, 10, 1, 10, tzinfo=UTC)


def test_polled_results_become_delivery_reports_and_unfinished_ones_wait(nhn):
    server, backend = nhn
    server.answer(RECORDED["results"])
    delivered, failed = backend.poll_delivery_reports(POLL_START, POLL_END)
    assert (delivered.reference, delivered.status, delivered.provider_message_id) == (
        "c-5-u1",
        "delivered",
        "20260310100630ReZQ6KZzAH0:1",
    )
    assert delivered.occurred_at == datetime(2026, 3, 10, 10, 6, 42, tzinfo=SEOUL)
    assert (failed.reference, failed.status, failed.error_code, failed.error_message) == (
        "c-5-u2",
        "failed",
        "3015",
        "전송 경로 없음",
    )
    (request,) = server.received
    assert (request.method, request.path) == ("GET", "/sms/v3.0/appKeys/app-key-1/message-results")
    assert request.headers["x-secret-key"] == "secret-1"
    query = dict(parse_qsl(request.query))
    # NHN's dates are Korean local time.
    assert (query["startUpdateDate"], query["endUpdateDate"]) == (
        "2026-03-10 10:00:00",
        "2026-03-10 10:10:00",
    )
    assert (query["pageNum"], query["pageSize"]) == ("1", "1000")


def test_results_listed_under_result_update_list_are_read_too(nhn):
    server, backend = nhn
    server.answer(RECORDED["results_update_list"])
    (report,) = backend.poll_delivery_reports(POLL_START, POLL_END)
    assert (report.reference, report.status) == ("c-5-u3", "delivered")


def test_polling_pages_through_every_result(nhn, monkeypatch):
    server, backend = nhn
    monkeypatch.setattr(NhnBackend, "POLL_PAGE_SIZE", 2)
    page = RECORDED["results"]["body"]
    rows = page["body"]["data"]
    first = {"status": 200, "body": {**page, "body": {**page["body"], "data": rows[:2]}}}
    second = {"status": 200, "body": {**page, "body": {**page["body"], "data": rows[2:]}}}
    server.answer(first, second)
    reports = backend.poll_delivery_reports(POLL_START, POLL_END)
    assert [r.reference for r in reports] == ["c-5-u1", "c-5-u2"]
    assert [dict(parse_qsl(r.query))["pageNum"] for r in server.received] == ["1", "2"]


def test_a_span_longer_than_a_day_is_asked_a_day_at_a_time(nhn):
    server, backend = nhn
    server.answer(RECORDED["results_empty"], RECORDED["results_empty"])
    assert backend.poll_delivery_reports(POLL_END - timedelta(hours=30), POLL_END) == []
    windows = [
        (dict(parse_qsl(r.query))["startUpdateDate"], dict(parse_qsl(r.query))["endUpdateDate"])
        for r in server.received
    ]
    assert windows == [
        ("2026-03-09 04:10:00", "2026-03-10 04:10:00"),
        ("2026-03-10 04:10:00", "2026-03-10 10:10:00"),
    ]


def test_a_refused_results_query_is_a_gateway_error_with_nhn_code(nhn):
    server, backend = nhn
    server.answer(RECORDED["results_date_refused"])
    with pytest.raises(GatewayError, match="-2000"):
        backend.poll_delivery_reports(POLL_START, POLL_END)


@pytest.fixture
def nhn_campaign(db):
    with ReplayServer().running() as server:
        gateway = Gateway.objects.create(
            name="NHN",
            backend="nhn",
            config={"app_key": "app-key-1", "secret_key": "secret-1", "url": server.url},
        )
        project = sending_project("Polled", gateway=gateway)
        add_customers(project, 3)
        campaign = segment_campaign(project)
        Campaign.objects.filter(pk=campaign.pk).update(status=Campaign.Status.SENDING)
        while materialise_chunk(campaign.pk):
            pass
        Message.objects.filter(outbox_id=campaign.outbox_id).update(status=Message.Status.SENT)
        yield server, gateway, campaign


def _results_for(campaign, codes: list[str | None]) -> dict:
    rows = [
        {
            "requestId": "20260310100630ReZQ6KZzAH0",
            "recipientSeq": i + 1,
            "resultCode": code,
            "resultCodeName": "성공" if code == "1000" else "실패",
            "resultDate": "2026-03-10 10:06:42.0",
            "recipientGroupingKey": message_reference(campaign.outbox_id, phone(i)[1:]),
        }
        for i, code in enumerate(codes)
    ]
    page = RECORDED["results"]["body"]
    return {"status": 200, "body": {**page, "body": {**page["body"], "data": rows}}}


def test_the_poll_task_moves_campaign_messages_to_their_final_state(nhn_campaign):
    server, gateway, campaign = nhn_campaign
    server.answer(_results_for(campaign, ["1000", "3015", None]))
    assert tasks.poll_delivery_reports() == {"NHN": 2}
    statuses = dict(
        Message.objects.filter(outbox_id=campaign.outbox_id).values_list("phone_number", "status")
    )
    assert statuses == {phone(0): "delivered", phone(1): "failed", phone(2): "sent"}
    stats = OutboxStats.objects.get(pk=campaign.outbox_id)
    assert (stats.delivered, stats.failed) == (1, 1)
    gateway.refresh_from_db()
    first_until = gateway.reports_polled_until
    assert first_until is not None

    # The next poll starts a little before the last one ended, and a result
    # seen twice changes nothing.
    server.answer(_results_for(campaign, ["1000", "3015", "1000"]))
    assert tasks.poll_delivery_reports() == {"NHN": 3}
    statuses = dict(
        Message.objects.filter(outbox_id=campaign.outbox_id).values_list("phone_number", "status")
    )
    assert statuses == {phone(0): "delivered", phone(1): "failed", phone(2): "delivered"}
    stats = OutboxStats.objects.get(pk=campaign.outbox_id)
    assert (stats.delivered, stats.failed) == (2, 1)
    start = dict(parse_qsl(server.received[-1].query))["startUpdateDate"]
    overlap_start = (first_until - tasks.POLL_OVERLAP).astimezone(SEOUL)
    assert start == overlap_start.strftime("%Y-%m-%d %H:%M:%S")


def test_a_poll_that_fails_keeps_the_cursor_for_the_next_one(nhn_campaign):
    server, gateway, campaign = nhn_campaign
    server.answer({"status": 503, "body": {"error": "down"}})
    assert tasks.poll_delivery_reports() == {}
    gateway.refresh_from_db()
    assert gateway.reports_polled_until is None
    assert set(
        Message.objects.filter(outbox_id=campaign.outbox_id).values_list("status", flat=True)
    ) == {"sent"}


def test_gateways_that_push_their_reports_are_not_polled(db):
    Gateway.objects.create(name="Pushing", backend="sandbox", config={"url": "http://127.0.0.1:9"})
    assert tasks.poll_delivery_reports() == {}
