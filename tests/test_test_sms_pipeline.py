"""The test-SMS pipeline: claim → gateway → result, retries, reconciliation,
and the whole path through a real qcluster subprocess and the sandbox carrier."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from django_q.models import Schedule
from django_q.tasks import async_task

from channels import tasks
from channels.gateways import console as console_backend
from channels.models import ChannelTestMessage, Gateway, SenderNumber
from tests.support.processes import free_port, make_project, make_test_message, wait_until

Status = ChannelTestMessage.Status


@pytest.fixture
def acme(db):
    return make_project("Acme")


@pytest.fixture
def console_gateway(db):
    console_backend.outbox.clear()
    yield Gateway.objects.create(name="Test console", backend="console")
    console_backend.outbox.clear()


@pytest.fixture
def carrier_gateway(sandbox_carrier):
    # Nobody listens for the reports: these tests look at the send step only.
    dead = f"http://127.0.0.1:{free_port()}/inbound/sandbox/reports"
    return Gateway.objects.create(
        name="Test carrier",
        backend="sandbox",
        config={"url": sandbox_carrier.url, "callback_url": dead},
    )


def reload(message: ChannelTestMessage) -> ChannelTestMessage:
    message.refresh_from_db()
    return message


def test_a_test_sms_goes_out_through_the_gateway_and_is_delivered(acme, console_gateway):
    message = make_test_message(acme, gateway=console_gateway, body="안녕하세요")
    assert tasks.send_test_sms(str(message.pk)) == "sent"
    message = reload(message)
    assert message.status == Status.DELIVERED
    assert message.sent_at is not None
    assert message.attempts == 1
    [sms] = console_backend.outbox
    assert (sms.reference, sms.to, sms.sender, sms.body, sms.kind) == (
        message.client_reference,
        "+821012345678",
        "+8215881234",
        "안녕하세요",
        "SMS",
    )


def test_running_the_task_twice_sends_once(acme, console_gateway):
    message = make_test_message(acme, gateway=console_gateway)
    tasks.send_test_sms(str(message.pk))
    assert tasks.send_test_sms(str(message.pk)) == "not claimed"
    assert len(console_backend.outbox) == 1
    assert reload(message).attempts == 1


def test_a_sender_number_no_longer_approved_is_refused_before_the_gateway(acme, console_gateway):
    message = make_test_message(
        acme, gateway=console_gateway, sender_status=SenderNumber.Status.SUSPENDED
    )
    assert tasks.send_test_sms(str(message.pk)) == "failed"
    message = reload(message)
    assert message.status == Status.FAILED
    assert message.error_code == "sender_not_approved"
    assert "cannot send" in message.status_reason
    assert console_backend.outbox == []


def test_a_message_without_a_gateway_uses_the_default_one(acme, console_gateway):
    Gateway.objects.update(is_default=False)
    Gateway.objects.filter(pk=console_gateway.pk).update(is_default=True)
    message = make_test_message(acme)
    tasks.send_test_sms(str(message.pk))
    message = reload(message)
    assert message.gateway == console_gateway
    assert message.status == Status.DELIVERED


def test_a_long_body_goes_as_lms(acme, console_gateway):
    message = make_test_message(acme, gateway=console_gateway, body="가" * 46)
    tasks.send_test_sms(str(message.pk))
    assert console_backend.outbox[0].kind == "LMS"


@pytest.mark.processes
def test_an_accepted_message_is_sent_with_the_providers_id(acme, carrier_gateway, sandbox_carrier):
    message = make_test_message(acme, gateway=carrier_gateway)
    assert tasks.send_test_sms(str(message.pk)) == "sent"
    message = reload(message)
    assert message.status == Status.SENT
    [logged] = sandbox_carrier.messages(reference=message.client_reference)
    assert message.provider_message_id == logged["messageId"]


@pytest.mark.processes
def test_a_number_the_provider_rejects_fails_with_its_reason(acme, carrier_gateway):
    message = make_test_message(acme, gateway=carrier_gateway, to="+82")
    assert tasks.send_test_sms(str(message.pk)) == "failed"
    message = reload(message)
    assert message.status == Status.FAILED
    assert message.error_code == "invalid_number"
    assert "E.164" in message.status_reason


@pytest.mark.processes
def test_a_5xx_sends_the_message_back_to_the_queue_with_backoff(
    acme, carrier_gateway, sandbox_carrier
):
    sandbox_carrier.configure(burst_every=0, burst_length=1)
    message = make_test_message(acme, gateway=carrier_gateway)
    before = timezone.now()
    assert tasks.send_test_sms(str(message.pk)) == "retry"
    message = reload(message)
    assert message.status == Status.QUEUED
    assert message.attempts == 1
    assert message.next_attempt_at >= before + timedelta(seconds=tasks.BACKOFF_BASE_SECONDS)
    assert "503" in message.status_reason
    retry = Schedule.objects.get(func=tasks.TASK)
    assert retry.schedule_type == Schedule.ONCE
    assert retry.next_run == message.next_attempt_at
    # Not due yet: a duplicate trigger does nothing.
    assert tasks.send_test_sms(str(message.pk)) == "not claimed"

    sandbox_carrier.configure(burst_length=0)
    ChannelTestMessage.objects.filter(pk=message.pk).update(next_attempt_at=timezone.now())
    assert tasks.send_test_sms(str(message.pk)) == "sent"
    assert reload(message).attempts == 2


@pytest.mark.processes
def test_a_throttled_message_waits_at_least_retry_after(acme, carrier_gateway, sandbox_carrier):
    sandbox_carrier.configure(throttle_rate=1, retry_after=120)
    message = make_test_message(acme, gateway=carrier_gateway)
    before = timezone.now()
    tasks.send_test_sms(str(message.pk))
    assert reload(message).next_attempt_at >= before + timedelta(seconds=120)


@pytest.mark.processes
def test_a_message_fails_after_the_last_attempt(acme, carrier_gateway, sandbox_carrier):
    sandbox_carrier.configure(burst_every=0, burst_length=1)
    message = make_test_message(acme, gateway=carrier_gateway, attempts=tasks.MAX_ATTEMPTS - 1)
    assert tasks.send_test_sms(str(message.pk)) == "failed"
    message = reload(message)
    assert message.status == Status.FAILED
    assert message.error_code == "gave_up"
    assert f"after {tasks.MAX_ATTEMPTS} attempts" in message.status_reason


def test_backoff_grows_and_is_capped():
    delays = [tasks.backoff_seconds(n) for n in range(1, 12)]
    assert delays == sorted(delays)
    assert delays[0] == tasks.BACKOFF_BASE_SECONDS
    assert delays[-1] == tasks.BACKOFF_MAX_SECONDS
    assert tasks.backoff_seconds(1, retry_after=60) == 60


@pytest.mark.processes
def test_the_reconciler_resends_a_message_stuck_in_sending_as_a_repeat(
    acme, carrier_gateway, sandbox_carrier
):
    message = make_test_message(acme, gateway=carrier_gateway)
    # A worker claimed it, the carrier accepted it, then the worker died.
    tasks.send_test_sms(str(message.pk))
    long_ago = timezone.now() - timedelta(hours=1)
    ChannelTestMessage.objects.filter(pk=message.pk).update(
        status=Status.SENDING, claimed_at=long_ago
    )
    assert tasks.reconcile_test_messages() == {"requeued": 1, "failed": 0}
    message = reload(message)
    assert message.status == Status.SENT
    logged = sandbox_carrier.messages(reference=message.client_reference)
    assert [e["repeat"] for e in logged] == [False, True]
    assert {e["messageId"] for e in logged} == {message.provider_message_id}


def test_the_reconciler_leaves_recent_claims_alone_and_enqueues_lost_messages(
    acme, console_gateway
):
    claimed = make_test_message(acme, gateway=console_gateway)
    ChannelTestMessage.objects.filter(pk=claimed.pk).update(
        status=Status.SENDING, claimed_at=timezone.now()
    )
    lost = make_test_message(acme, gateway=console_gateway, sender="+8215885678")
    ChannelTestMessage.objects.filter(pk=lost.pk).update(
        created_at=timezone.now() - timedelta(minutes=5)
    )
    fresh = make_test_message(acme, gateway=console_gateway, sender="+8215889999")
    assert tasks.reconcile_test_messages() == {"requeued": 1, "failed": 0}
    assert reload(claimed).status == Status.SENDING
    assert reload(lost).status == Status.DELIVERED
    assert reload(fresh).status == Status.QUEUED


# --- the whole pipeline through real processes ---------------------------------


@pytest.fixture
def pipeline_gateway(transactional_db):
    # config {} as in production: the qcluster reaches the carrier through
    # MUNJA_SANDBOX_URL and gets reports at MUNJA_PUBLIC_URL (the live server).
    return Gateway.objects.create(name="Pipeline carrier", backend="sandbox", config={})


def status_of(message) -> str:
    return ChannelTestMessage.objects.values_list("status", flat=True).get(pk=message.pk)


@pytest.mark.processes
def test_a_queued_test_sms_reaches_delivered_through_qcluster_and_the_carrier(
    qcluster, sandbox_carrier, pipeline_gateway
):
    message = make_test_message(make_project("Acme"), gateway=pipeline_gateway)
    async_task(tasks.TASK, str(message.pk))
    wait_until(
        lambda: status_of(message) == Status.DELIVERED,
        what=f"delivered; qcluster log:\n{qcluster.process.output()}",
    )
    message = reload(message)
    assert message.sent_at is not None
    assert message.delivered_at is not None
    [logged] = sandbox_carrier.messages(reference=message.client_reference)
    assert logged["messageId"] == message.provider_message_id
    assert logged["to"] == message.to


@pytest.mark.processes
def test_a_task_enqueued_while_the_cluster_is_down_runs_after_a_restart(
    qcluster, sandbox_carrier, pipeline_gateway
):
    qcluster.kill()
    message = make_test_message(make_project("Acme"), gateway=pipeline_gateway)
    async_task(tasks.TASK, str(message.pk))
    assert status_of(message) == Status.QUEUED
    qcluster.start()
    wait_until(lambda: status_of(message) == Status.DELIVERED, what="delivered")
    assert len(sandbox_carrier.messages(reference=message.client_reference)) == 1
