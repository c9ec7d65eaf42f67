"""The Solapi adapter against recorded request/response pairs served over real HTTP."""

from __future__ import annotations

import copy
import json
import re

import pytest

from channels.gateways import backend_class
from channels.gateways.base import GatewayError, OutgoingSms
from channels.gateways.solapi import SolapiBackend, authorization_header
from channels.models import Gateway
from dispatch.models import Message
from tests.fixtures.gateways.replay import ReplayServer, load
from tests.support.processes import make_project, make_test_message

RECORDED = load("solapi")
SMS = OutgoingSms(
    "c-7-u1", "+821012345678", "+8215881234", "(광고)아크미 홍길동님, 봄 세일이 시작됐어요"
)
LMS = OutgoingSms(
    "c-7-u2",
    "+821087654321",
    "+8215881234",
    "(광고)아크미 김철수님께 드리는 긴 안내문입니다.",
    title="봄 세일",
    kind="LMS",
)


class FixedClockSolapi(SolapiBackend):
    """Signs with a fixed date and salt so the header can be asserted exactly."""

    def signing_date(self) -> str:
        return "2026-10-08T00:00:00.000Z"

    def signing_salt(self) -> str:
        return "abc123"


@pytest.fixture
def solapi():
    with ReplayServer().running() as server:
        backend = FixedClockSolapi(
            {"api_key": "test-key", "api_secret": "test-secret", "url": server.url}
        )
        yield server, backend


def test_the_signature_matches_an_independent_computation_of_solapis_formula():
    # The value a third party computed with Node's crypto.createHmac, the
    # way Solapi's own SDK signs: hex HMAC-SHA256(secret, date + salt).
    header = authorization_header("test-key", "test-secret", "2026-10-08T00:00:00.000Z", "abc123")
    assert header == (
        "HMAC-SHA256 apiKey=test-key, date=2026-10-08T00:00:00.000Z, salt=abc123, "
        "signature=01ed74b1a957a9670695979fd98b45116ee25697ed1ec792422ae5dc0dac1ac7"
    )


def test_it_sends_a_batch_as_one_signed_request_in_the_documented_shape(solapi):
    server, backend = solapi
    server.answer(RECORDED["success"])
    backend.send_batch([SMS, LMS])
    [request] = server.received
    expected = RECORDED["send_two"]["request"]
    assert (request.method, request.path) == (expected["method"], expected["path"])
    assert request.json() == expected["json"]
    assert request.headers["authorization"] == (
        "HMAC-SHA256 apiKey=test-key, date=2026-10-08T00:00:00.000Z, salt=abc123, "
        "signature=01ed74b1a957a9670695979fd98b45116ee25697ed1ec792422ae5dc0dac1ac7"
    )
    assert request.headers["content-type"] == "application/json"


def test_every_request_gets_a_fresh_salt_and_the_current_iso_date():
    backend = SolapiBackend({"api_key": "k", "api_secret": "s"})
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", backend.signing_date())
    salts = {backend.signing_salt() for _ in range(5)}
    assert len(salts) == 5
    assert all(12 <= len(salt) <= 64 for salt in salts)  # Solapi asks for 12–64 bytes


def test_an_international_number_carries_its_country_code(solapi):
    _, backend = solapi
    payload = backend.build_payload([OutgoingSms("r", "+14155550100", "+8215881234", "hi")])
    assert payload["messages"][0]["to"] == "4155550100"
    assert payload["messages"][0]["country"] == "1"


def test_accepted_messages_get_solapis_message_ids(solapi):
    server, backend = solapi
    server.answer(RECORDED["success"])
    first, second = backend.send_batch([SMS, LMS])
    assert first.accepted and first.provider_message_id == "M4V20260310101010AAAAAAAAAAAAAA1"
    assert second.accepted and second.provider_message_id == "M4V20260310101010AAAAAAAAAAAAAA2"


def test_a_partial_failure_rejects_only_that_message_and_says_why(solapi):
    server, backend = solapi
    server.answer(RECORDED["partial_failure"])
    sent, refused = backend.send_batch([SMS, LMS])
    assert sent.accepted
    assert not refused.accepted
    assert refused.permanent  # an unregistered sender number will not register itself
    assert (refused.error_code, refused.error_message) == ("1062", "발신번호 미등록")


def test_an_exhausted_balance_is_retryable(solapi):
    server, backend = solapi
    server.answer(RECORDED["balance_exhausted"])
    [result] = backend.send_batch([SMS])
    assert not result.accepted
    assert not result.permanent
    assert result.error_code == "1030"


def test_a_refused_signature_is_a_permanent_batch_error(solapi):
    server, backend = solapi
    server.answer(RECORDED["auth_failure"])
    with pytest.raises(GatewayError) as caught:
        backend.send_batch([SMS])
    assert caught.value.permanent
    assert "403" in caught.value.message
    assert "Signature 가 일치하지 않습니다." in caught.value.message


@pytest.mark.parametrize(("recorded", "retry_after"), [("throttled", 7.0), ("server_error", None)])
def test_throttling_and_server_errors_are_transient(solapi, recorded, retry_after):
    server, backend = solapi
    server.answer(RECORDED[recorded])
    with pytest.raises(GatewayError) as caught:
        backend.send_batch([SMS, LMS])
    assert not caught.value.permanent
    assert caught.value.retry_after == retry_after


def test_missing_credentials_are_a_permanent_error_that_names_the_key():
    with pytest.raises(GatewayError, match="api_secret") as caught:
        SolapiBackend({"api_key": "k"}).send_batch([SMS])
    assert caught.value.permanent


def test_the_registry_knows_solapi():
    assert backend_class("solapi") is SolapiBackend


# --- the delivery-report webhook ----------------------------------------------------


@pytest.fixture
def webhook_gateway(db):
    return Gateway.objects.create(
        name="Solapi", backend="solapi", config={"webhook_token": "tok-123", "api_key": "k"}
    )


def post_reports(client, events, token="tok-123"):
    query = f"?token={token}" if token is not None else ""
    return client.post(
        f"/inbound/solapi/reports{query}", json.dumps(events), content_type="application/json"
    )


def test_a_webhook_with_the_right_token_updates_the_message(client, webhook_gateway):
    message = make_test_message(make_project("Acme"), gateway=webhook_gateway)
    Message.objects.filter(pk=message.pk).update(status="sent")
    events = copy.deepcopy(RECORDED["webhook_reports"][:1])
    events[0]["data"]["customFields"]["reference"] = message.reference
    response = post_reports(client, events)
    assert response.status_code == 200
    assert response.json() == {"received": 1, "updated": 1}
    message.refresh_from_db()
    assert message.status == "delivered"
    assert message.provider_message_id == "M4V20260310101010AAAAAAAAAAAAAA1"


@pytest.mark.parametrize("token", [None, "wrong"])
def test_a_webhook_without_the_token_is_refused(client, webhook_gateway, token):
    response = post_reports(client, RECORDED["webhook_reports"], token=token)
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "invalid_signature"


def test_webhook_reports_map_to_delivered_failed_and_skip_pending(rf, webhook_gateway):
    request = rf.post(
        "/inbound/solapi/reports?token=tok-123",
        json.dumps(RECORDED["webhook_reports"]),
        content_type="application/json",
    )
    delivered, failed = SolapiBackend().parse_delivery_reports(request)
    assert (delivered.reference, delivered.status) == ("c-7-u1", "delivered")
    assert delivered.occurred_at.isoformat() == "2026-03-10T01:10:15+00:00"
    assert (failed.reference, failed.status) == ("c-7-u2", "failed")
    assert (failed.error_code, failed.error_message) == ("3043", "단말기 Power off")


def test_a_malformed_webhook_says_which_event_is_wrong(client, webhook_gateway):
    response = post_reports(client, [RECORDED["webhook_reports"][0], {"data": "nope"}])
    assert response.status_code == 400
    assert response.json()["error"]["message"].startswith("[1].data:")
