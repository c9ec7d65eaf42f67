"""The gateway base class, the registry and the backends' error mapping."""

from __future__ import annotations

import pytest

from channels.gateways import (
    BACKENDS,
    NoGatewayConfigured,
    UnknownBackend,
    backend_class,
    default_gateway_for,
    get_backend,
)
from channels.gateways import console as console_backend
from channels.gateways.base import GatewayBackend, GatewayError, OutgoingSms
from channels.gateways.sandbox import SandboxBackend
from channels.models import Gateway, SmsChannel
from dispatch.models import Message
from tests.support.processes import SandboxCarrier, free_port, make_project, make_test_message


@pytest.fixture
def acme(db):
    return make_project("Acme")


@pytest.fixture
def bolt(db):
    return make_project("Bolt")


SMS = OutgoingSms(reference="t-1", to="+821012345678", sender="+8215881234", body="hello")


class HalfBackend(GatewayBackend):
    name = "half"

    def build_payload(self, messages):
        return [m.reference for m in messages]


def test_a_backend_missing_a_step_fails_loudly():
    with pytest.raises(NotImplementedError, match=r"HalfBackend must implement post\(\)"):
        HalfBackend().send_batch([SMS])


def test_a_backend_that_answers_for_only_some_messages_leaves_the_rest_retryable():
    class ForgetfulBackend(HalfBackend):
        def post(self, payload):
            return payload

        def parse_results(self, messages, response):
            return []

    [result] = ForgetfulBackend().send_batch([SMS])
    assert result.reference == "t-1"
    assert not result.accepted
    assert not result.permanent
    assert result.error_code == "no_result"


def test_an_empty_batch_calls_nothing():
    assert HalfBackend().send_batch([]) == []


def test_every_registered_backend_is_a_gateway_backend():
    for name in BACKENDS:
        assert issubclass(backend_class(name), GatewayBackend)
    with pytest.raises(UnknownBackend, match="'carrier-pigeon'"):
        backend_class("carrier-pigeon")


@pytest.mark.django_db
def test_migrations_create_a_default_sandbox_gateway_and_a_console_gateway():
    sandbox = Gateway.objects.get(name="Sandbox carrier")
    assert sandbox.backend == "sandbox"
    assert sandbox.is_default
    assert sandbox.config == {}
    assert Gateway.objects.get(name="Console").backend == "console"
    from django_q.models import Schedule

    # Test SMS are the send core's now: their own reconciler is gone.
    assert not Schedule.objects.filter(func__startswith="channels.tasks.reconcile").exists()
    assert Schedule.objects.filter(func="dispatch.tasks.reconcile_outboxes").exists()


def test_a_project_uses_its_channel_gateway_else_the_default(acme, bolt):
    Gateway.objects.update(is_default=False)
    with pytest.raises(NoGatewayConfigured):
        default_gateway_for(acme)
    default = Gateway.objects.create(name="Platform default", backend="sandbox", is_default=True)
    console = Gateway.objects.create(name="Acme console", backend="console")
    SmsChannel.objects.create(project=acme, gateway=console)
    assert default_gateway_for(acme) == console
    assert default_gateway_for(bolt) == default


def test_console_backend_keeps_an_outbox_and_delivers_at_once(acme):
    console_backend.outbox.clear()
    gateway = Gateway.objects.create(name="Test console", backend="console")
    message = make_test_message(acme, gateway=gateway)
    Message.objects.filter(pk=message.pk).update(status="sent")
    sms = OutgoingSms(message.reference, message.phone_number, "+8215881234", message.body)
    [result] = get_backend(gateway).send_batch([sms])
    assert result.accepted
    assert result.provider_message_id.startswith("console-")
    assert console_backend.outbox == [sms]
    message.refresh_from_db()
    assert message.status == "delivered"
    assert message.provider_message_id == result.provider_message_id


def test_sandbox_payload_carries_reference_sender_and_callback(settings):
    settings.PUBLIC_URL = "https://console.example"
    payload = SandboxBackend({}).build_payload([SMS])
    assert payload == {
        "messages": [
            {
                "reference": "t-1",
                "to": "+821012345678",
                "from": "+8215881234",
                "text": "hello",
                "title": "",
                "kind": "SMS",
            }
        ],
        "callbackUrl": "https://console.example/inbound/sandbox/reports",
    }
    custom = SandboxBackend({"callback_url": "https://hooks.example/dr"}).build_payload([SMS])
    assert custom["callbackUrl"] == "https://hooks.example/dr"


@pytest.mark.processes
def test_sandbox_backend_sends_to_the_real_carrier(sandbox_carrier):
    rejected = OutgoingSms("t-2", "01012345678", "+8215881234", "hello")
    accepted, refused = SandboxBackend({"url": sandbox_carrier.url}).send_batch([SMS, rejected])
    assert accepted.accepted
    assert accepted.provider_message_id.startswith("sbx-")
    assert not refused.accepted
    assert refused.permanent
    assert refused.error_code == "invalid_number"
    assert [m["reference"] for m in sandbox_carrier.messages()] == ["t-1"]


@pytest.mark.processes
def test_a_throttling_carrier_is_a_transient_error_with_retry_after(sandbox_carrier):
    sandbox_carrier.configure(throttle_rate=1, retry_after=7)
    with pytest.raises(GatewayError) as caught:
        SandboxBackend({"url": sandbox_carrier.url}).send_batch([SMS])
    assert not caught.value.permanent
    assert caught.value.retry_after == 7.0
    assert "429" in caught.value.message


@pytest.mark.processes
def test_a_5xx_burst_is_a_transient_error(sandbox_carrier):
    sandbox_carrier.configure(burst_every=1, burst_length=1)
    backend = SandboxBackend({"url": sandbox_carrier.url})
    assert backend.send_batch([SMS])[0].accepted
    with pytest.raises(GatewayError) as caught:
        backend.send_batch([SMS])
    assert not caught.value.permanent
    assert caught.value.retry_after is None
    assert "503" in caught.value.message
    assert backend.send_batch([SMS])[0].accepted


@pytest.mark.processes
def test_a_refused_api_key_is_a_permanent_error(tmp_path):
    carrier = SandboxCarrier(tmp_path, "--api-key", "right-key")
    carrier.start()
    try:
        with pytest.raises(GatewayError) as caught:
            SandboxBackend({"url": carrier.url, "api_key": "wrong-key"}).send_batch([SMS])
        assert caught.value.permanent
        assert "401" in caught.value.message
        good = SandboxBackend({"url": carrier.url, "api_key": "right-key"})
        assert good.send_batch([SMS])[0].accepted
    finally:
        carrier.process.stop()


def test_an_unreachable_carrier_is_a_transient_error():
    with pytest.raises(GatewayError) as caught:
        SandboxBackend({"url": f"http://127.0.0.1:{free_port()}"}).send_batch([SMS])
    assert not caught.value.permanent
    assert "Could not reach" in caught.value.message
