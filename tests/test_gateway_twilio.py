"""The Twilio adapter against recorded request/response pairs served over real HTTP."""

from __future__ import annotations

import base64

import pytest

from channels.gateways.base import GatewayError, OutgoingSms
from channels.gateways.twilio import TwilioBackend, request_signature
from channels.models import Gateway
from dispatch.models import Message
from tests.fixtures.gateways.replay import ReplayServer, load
from tests.support.processes import make_project, make_test_message

RECORDED = load("twilio")
ACCOUNT = "AC00000000000000000000000000000001"
TOKEN = "auth-token-1"
FIRST = OutgoingSms("c-9-u1", "+14155550100", "+14155550199", "Spring sale: 20% off until Sunday")
SECOND = OutgoingSms("c-9-u2", "+1415555010", "+14155550199", "Spring sale")
THIRD = OutgoingSms("c-9-u3", "+14155550102", "+14155550199", "Spring sale")


@pytest.fixture
def twilio():
    with ReplayServer().running() as server:
        backend = TwilioBackend(
            {
                "account_sid": ACCOUNT,
                "auth_token": TOKEN,
                "url": server.url,
                "status_callback": "https://console.example/inbound/twilio/reports",
            }
        )
        yield server, backend


def test_a_message_is_one_form_post_with_basic_auth_and_our_reference_in_the_callback(twilio):
    server, backend = twilio
    server.answer(RECORDED["created"])
    backend.send_batch([FIRST])
    [request] = server.received
    expected = RECORDED["send_sms"]["request"]
    assert (request.method, request.path) == (expected["method"], expected["path"])
    assert request.headers["content-type"] == "application/x-www-form-urlencoded"
    assert request.form() == expected["form"]
    credentials = base64.b64encode(f"{ACCOUNT}:{TOKEN}".encode()).decode()
    assert request.headers["authorization"] == f"Basic {credentials}"


def test_a_messaging_service_replaces_the_from_number(twilio):
    _, backend = twilio
    backend.config["messaging_service_sid"] = "MG00000000000000000000000000000001"
    [(_, fields)] = backend.build_payload([FIRST])
    assert "From" not in fields
    assert fields["MessagingServiceSid"] == "MG00000000000000000000000000000001"


def test_an_accepted_message_gets_twilios_sid(twilio):
    server, backend = twilio
    server.answer(RECORDED["created"])
    [result] = backend.send_batch([FIRST])
    assert result.accepted
    assert result.provider_message_id == "SM00000000000000000000000000000001"


def test_a_bad_number_rejects_only_that_message_and_the_batch_goes_on(twilio):
    server, backend = twilio
    server.answer(RECORDED["created"], RECORDED["invalid_to"], RECORDED["created_second"])
    first, second, third = backend.send_batch([FIRST, SECOND, THIRD])
    assert first.accepted and third.accepted
    assert not second.accepted
    assert second.permanent
    assert second.error_code == "21211"
    assert second.error_message == "Invalid 'To' Phone Number: +1415555010"
    assert len(server.received) == 3


def test_refused_credentials_are_a_permanent_batch_error(twilio):
    server, backend = twilio
    server.answer(RECORDED["auth_failure"])
    with pytest.raises(GatewayError) as caught:
        backend.send_batch([FIRST, THIRD])
    assert caught.value.permanent
    assert "401" in caught.value.message and "Authenticate" in caught.value.message
    assert len(server.received) == 1  # the second message is not tried


@pytest.mark.parametrize(("recorded", "retry_after"), [("throttled", 3.0), ("server_error", None)])
def test_throttling_before_anything_was_accepted_fails_the_batch_transiently(
    twilio, recorded, retry_after
):
    server, backend = twilio
    server.answer(RECORDED[recorded])
    with pytest.raises(GatewayError) as caught:
        backend.send_batch([FIRST, THIRD])
    assert not caught.value.permanent
    assert caught.value.retry_after == retry_after
    assert len(server.received) == 1


def test_throttling_mid_batch_keeps_what_was_accepted_and_leaves_the_rest_retryable(twilio):
    server, backend = twilio
    server.answer(RECORDED["created"], RECORDED["throttled"])
    first, throttled, untried = backend.send_batch([FIRST, THIRD, SECOND])
    assert first.accepted
    assert (throttled.accepted, throttled.permanent, throttled.error_code) == (
        False,
        False,
        "http_429",
    )
    assert (untried.accepted, untried.permanent, untried.error_code) == (
        False,
        False,
        "not_attempted",
    )
    assert len(server.received) == 2  # stopped at the 429


def test_missing_credentials_are_a_permanent_error_that_names_the_key():
    with pytest.raises(GatewayError, match="auth_token") as caught:
        TwilioBackend({"account_sid": ACCOUNT}).send_batch([FIRST])
    assert caught.value.permanent


# --- status callbacks ---------------------------------------------------------------


def test_the_signature_matches_twilios_documented_example():
    params = {
        "CallSid": "CA1234567890ABCDE",
        "Caller": "+12349013030",
        "Digits": "1234",
        "From": "+12349013030",
        "To": "+18005551212",
    }
    url = "https://mycompany.com/myapp.php?foo=1&bar=2"
    assert request_signature("12345", url, params.items()) == "0/KCTR6DLpKmkAf8muzZqo1nDgQ="


@pytest.fixture
def callback_gateway(db):
    return Gateway.objects.create(
        name="Twilio",
        backend="twilio",
        config={
            "account_sid": ACCOUNT,
            "auth_token": TOKEN,
            "status_callback": "https://console.example/inbound/twilio/reports",
        },
    )


def post_callback(client, params, reference, token=TOKEN):
    url = f"https://console.example/inbound/twilio/reports?ref={reference}"
    signature = request_signature(token, url, params.items())
    return client.post(
        f"/inbound/twilio/reports?ref={reference}",
        params,
        headers={"X-Twilio-Signature": signature},
    )


def test_a_signed_delivered_callback_updates_the_message(client, callback_gateway):
    message = make_test_message(make_project("Acme"), gateway=callback_gateway)
    Message.objects.filter(pk=message.pk).update(status="sent")
    response = post_callback(client, RECORDED["callback_delivered"], message.reference)
    assert response.status_code == 200
    assert response.json() == {"received": 1, "updated": 1}
    message.refresh_from_db()
    assert message.status == "delivered"
    assert message.provider_message_id == "SM00000000000000000000000000000001"


def test_an_undelivered_callback_fails_the_message_with_twilios_error_code(
    client, callback_gateway
):
    message = make_test_message(make_project("Acme"), gateway=callback_gateway)
    Message.objects.filter(pk=message.pk).update(status="sent")
    response = post_callback(client, RECORDED["callback_undelivered"], message.reference)
    assert response.status_code == 200
    message.refresh_from_db()
    assert (message.status, message.error_code) == ("failed", "30003")
    assert "undelivered" in message.error_message


def test_a_callback_that_is_not_final_changes_nothing(client, callback_gateway):
    response = post_callback(client, RECORDED["callback_sent"], "c-9-u1")
    assert response.status_code == 200
    assert response.json() == {"received": 0, "updated": 0}


@pytest.mark.parametrize(
    "tamper",
    ["wrong token", "changed parameter", "changed reference", "no header"],
)
def test_a_callback_with_a_bad_signature_is_refused(client, callback_gateway, tamper):
    params = dict(RECORDED["callback_delivered"])
    if tamper == "wrong token":
        response = post_callback(client, params, "c-9-u1", token="not-the-token")
    elif tamper == "no header":
        response = client.post("/inbound/twilio/reports?ref=c-9-u1", params)
    else:
        url = "https://console.example/inbound/twilio/reports?ref=c-9-u1"
        signature = request_signature(TOKEN, url, params.items())
        query = "c-9-u1"
        if tamper == "changed parameter":
            params["MessageStatus"] = "failed"
        else:
            query = "c-9-u2"
        response = client.post(
            f"/inbound/twilio/reports?ref={query}",
            params,
            headers={"X-Twilio-Signature": signature},
        )
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "invalid_signature"
