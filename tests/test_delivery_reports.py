"""Delivery reports and 080 calls: applying them, and the signed inbound endpoints."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests
from django.conf import settings
from django.utils import timezone

from channels.delivery import handle_delivery_reports
from channels.gateways.base import DeliveryReport
from channels.gateways.sandbox import SandboxBackend
from channels.models import Gateway, OptOutNumber
from channels.signals import delivery_report_received, optout_call_received
from console.lib.signing import signature_headers, verify
from dispatch.models import Message
from tests.support.processes import REQUEST_TIMEOUT, make_project, make_test_message, wait_until


@pytest.fixture
def acme(db):
    return make_project("Acme")


@pytest.fixture
def bolt(db):
    return make_project("Bolt")


Status = Message.Status


def report_for(message, status="delivered", **fields) -> DeliveryReport:
    return DeliveryReport(
        gateway_backend="sandbox",
        provider_message_id=fields.pop("provider_message_id", "sbx-1"),
        reference=message.reference,
        status=status,
        occurred_at=timezone.now(),
        **fields,
    )


@pytest.fixture
def received():
    """Signals sent during the test, as (signal name, kwargs)."""
    seen: list[tuple[str, dict]] = []

    def on_report(sender, **kwargs):
        seen.append(("report", {"sender": sender, **kwargs}))

    def on_call(sender, **kwargs):
        seen.append(("080", {"sender": sender, **kwargs}))

    delivery_report_received.connect(on_report, weak=False)
    optout_call_received.connect(on_call, weak=False)
    yield seen
    delivery_report_received.disconnect(on_report)
    optout_call_received.disconnect(on_call)


def test_a_report_moves_a_sent_test_message_to_delivered_once(acme, received):
    message = make_test_message(acme, status=Status.SENT)
    assert handle_delivery_reports([report_for(message)]) == 1
    message.refresh_from_db()
    assert message.status == Status.DELIVERED
    assert message.delivered_at is not None
    assert message.provider_message_id == "sbx-1"
    # A repeat (or a late failure) changes nothing, but is still announced.
    assert handle_delivery_reports([report_for(message, "failed", error_code="x")]) == 0
    message.refresh_from_db()
    assert message.status == Status.DELIVERED
    assert [kind for kind, _ in received] == ["report", "report"]
    assert received[0][1]["report"].reference == message.reference


def test_a_failed_report_records_the_providers_reason(acme):
    message = make_test_message(acme, status=Status.SENDING)
    report = report_for(
        message, "failed", error_code="undeliverable", error_message="The handset is off."
    )
    handle_delivery_reports([report])
    message.refresh_from_db()
    assert message.status == Status.FAILED
    assert message.error_code == "undeliverable"
    assert message.error_message == "The handset is off."


def test_a_report_for_an_unknown_reference_changes_nothing_but_is_announced(acme, received):
    unknown = DeliveryReport("sandbox", "sbx-9", "c-campaign-message", "delivered")
    assert handle_delivery_reports([unknown]) == 0
    assert received[0][1]["report"] == unknown


def signed_post(client, path: str, body: dict, secret: str | None = None):
    data = json.dumps(body).encode()
    headers = signature_headers(secret or settings.SANDBOX_CARRIER_SECRET, "msg_1", data)
    return client.post(
        path,
        data,
        content_type="application/json",
        headers={k: v for k, v in headers.items()},
    )


def test_inbound_reports_update_the_message(client, acme):
    message = make_test_message(acme, status=Status.SENT)
    body = {
        "reports": [{"messageId": "sbx-7", "reference": message.reference, "status": "delivered"}]
    }
    response = signed_post(client, "/inbound/sandbox/reports", body)
    assert response.status_code == 200
    assert response.json() == {"received": 1, "updated": 1}
    message.refresh_from_db()
    assert message.status == Status.DELIVERED


def test_inbound_reports_with_a_bad_or_missing_signature_are_refused(client, acme):
    message = make_test_message(acme, status=Status.SENT)
    body = {"reports": [{"reference": message.reference, "status": "delivered"}]}
    forged = signed_post(client, "/inbound/sandbox/reports", body, secret="not-the-secret")
    assert forged.status_code == 403
    assert forged.json()["error"]["code"] == "invalid_signature"
    unsigned = client.post("/inbound/sandbox/reports", body, content_type="application/json")
    assert unsigned.status_code == 403
    message.refresh_from_db()
    assert message.status == Status.SENT


def test_inbound_reports_for_unknown_ids_answer_200(client, db):
    body = {"reports": [{"messageId": "sbx-unknown", "reference": "t-zz", "status": "failed"}]}
    response = signed_post(client, "/inbound/sandbox/reports", body)
    assert response.status_code == 200
    assert response.json() == {"received": 1, "updated": 0}


def test_inbound_reports_say_what_is_wrong_with_a_malformed_body(client, db):
    response = signed_post(client, "/inbound/sandbox/reports", {"reports": [{"status": "lost"}]})
    assert response.status_code == 400
    assert "reports[0].status" in response.json()["error"]["message"]


def test_inbound_endpoints_accept_post_only_and_known_backends_only(client, db):
    assert client.get("/inbound/sandbox/reports").status_code == 405
    response = signed_post(client, "/inbound/carrier-pigeon/reports", {"reports": []})
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "unknown_backend"
    # The console backend delivers in-process, so it accepts no callbacks.
    assert signed_post(client, "/inbound/console/reports", {"reports": []}).status_code == 403


def test_an_080_call_with_a_caller_number_that_is_not_e164_is_refused(client, acme, received):
    OptOutNumber.objects.create(number="+82801234567", project=acme)
    body = {"optOutNumber": "+82801234567", "phoneNumber": "010-9999-8888", "action": "optout"}
    response = signed_post(client, "/inbound/sandbox/080", body)
    assert response.status_code == 400
    assert response.json()["error"]["message"].startswith("phoneNumber: '010-9999-8888'")
    assert received == []


def test_an_080_call_for_an_unknown_number_is_ignored(client, db, received):
    body = {"optOutNumber": "+82800000000", "phoneNumber": "+821012345678", "action": "optout"}
    response = signed_post(client, "/inbound/sandbox/080", body)
    assert response.status_code == 200
    assert response.json() == {"ignored": True}
    assert received == []


# --- against the real carrier, posting back to the live server ----------------


@pytest.fixture
def carrier_gateway(sandbox_carrier, live_server, settings):
    settings.PUBLIC_URL = live_server.url
    return Gateway.objects.create(
        name="Test carrier", backend="sandbox", config={"url": sandbox_carrier.url}
    )


def send_through(gateway, message):
    from channels.gateways.base import OutgoingSms

    sms = OutgoingSms(message.reference, message.phone_number, "+8215881234", message.body)
    [result] = SandboxBackend(gateway.config).send_batch([sms])
    assert result.accepted
    Message.objects.filter(pk=message.pk).update(
        status=Status.SENT, provider_message_id=result.provider_message_id
    )
    return result


def status_of(message) -> str:
    return Message.objects.values_list("status", flat=True).get(pk=message.pk)


@pytest.mark.processes
def test_the_carrier_posts_a_signed_report_that_marks_the_message_delivered(acme, carrier_gateway):
    message = make_test_message(acme)
    result = send_through(carrier_gateway, message)
    wait_until(lambda: status_of(message) == Status.DELIVERED, what="the delivery report")
    message.refresh_from_db()
    assert message.provider_message_id == result.provider_message_id


@pytest.mark.processes
def test_with_failure_rate_one_the_carrier_reports_failed(acme, carrier_gateway, sandbox_carrier):
    sandbox_carrier.configure(failure_rate=1)
    message = make_test_message(acme)
    send_through(carrier_gateway, message)
    wait_until(lambda: status_of(message) == Status.FAILED, what="the failed report")
    message.refresh_from_db()
    assert message.error_code == "undeliverable"


class FlakyConsole(ThreadingHTTPServer):
    """Answers 503 to the first callback, then 200; keeps what it received."""

    def __init__(self) -> None:
        self.received: list[tuple[dict, bytes]] = []
        console = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                console.received.append(({k.lower(): v for k, v in self.headers.items()}, body))
                self.send_response(503 if len(console.received) == 1 else 200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args) -> None:
                pass

        super().__init__(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.serve_forever, daemon=True).start()


@pytest.mark.processes
def test_the_carrier_retries_reports_while_the_console_is_down(sandbox_carrier):
    console = FlakyConsole()
    try:
        body = {
            "messages": [{"reference": "t-1", "to": "+821012345678", "from": "1588", "text": "x"}],
            "callbackUrl": f"http://127.0.0.1:{console.server_address[1]}/inbound/sandbox/reports",
        }
        requests.post(f"{sandbox_carrier.url}/v1/messages", json=body, timeout=REQUEST_TIMEOUT)
        wait_until(lambda: len(console.received) == 2, what="a second report post")
    finally:
        console.shutdown()
    first, second = console.received
    assert first[1] == second[1]
    assert verify(settings.SANDBOX_CARRIER_SECRET, second[0], second[1])
    assert json.loads(second[1])["reports"][0]["reference"] == "t-1"


@pytest.mark.processes
def test_an_080_call_reaches_the_console_for_the_right_project(
    acme, bolt, sandbox_carrier, live_server, received
):
    OptOutNumber.objects.create(number="+82801234567", project=acme)
    OptOutNumber.objects.create(number="+82807654321", project=bolt)
    sandbox_carrier.configure(console_url=live_server.url)

    answer = sandbox_carrier.call_080("+82801234567", "+821099998888", "optout")
    assert answer["consoleStatus"] == 200
    assert answer["consoleResponse"] == {"accepted": True, "subscribed": False}
    again = sandbox_carrier.call_080("+82807654321", "+821099998888", "optin")
    assert again["consoleStatus"] == 200

    calls = [kwargs for kind, kwargs in received if kind == "080"]
    assert [(c["project"], c["phone_number"], c["subscribed"]) for c in calls] == [
        (acme, "+821099998888", False),
        (bolt, "+821099998888", True),
    ]
    assert all(c["source"] == "080" and c["occurred_at"] is not None for c in calls)


@pytest.mark.processes
def test_an_080_call_to_a_number_no_project_holds_is_ignored(
    acme, sandbox_carrier, live_server, received
):
    OptOutNumber.objects.create(number="+82801111111")  # in the pool, unassigned
    sandbox_carrier.configure(console_url=live_server.url)
    answer = sandbox_carrier.call_080("+82801111111", "+821099998888", "optout")
    assert answer == {"consoleStatus": 200, "consoleResponse": {"ignored": True}}
    assert received == []
