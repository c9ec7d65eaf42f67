"""Test SMS through the send core: each one a message of the project's test
outbox, sent by dispatch's pipeline once, its delivery reports applied by the
core's batched path; neither held by nor counted towards the frequency cap,
in no statistic; and the whole path through a real qcluster and the sandbox
carrier (SIGKILLs: tests/test_dispatch_faults.py)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from campaigns.materialise import dedupe_key
from campaigns.test_sends import TEST_PRODUCER, do_send_test_sms, find_test_send
from channels.gateways import console as console_backend
from channels.models import Gateway, SenderNumber, SmsChannel
from dispatch import pipeline
from dispatch.actions import NewMessage, do_create_outbox, do_enqueue_messages
from dispatch.models import Message, Outbox, OutboxStats, SendBucket, SendingPolicy
from stats.queries import period_totals, sends_per_day
from tests.support.campaigns import sending_project
from tests.support.processes import wait_until

SENDER = "+8215881234"
Status = Message.Status


@pytest.fixture
def console_gateway(db):
    console_backend.outbox.clear()
    yield Gateway.objects.create(name="Test console", backend="console")
    console_backend.outbox.clear()


@pytest.fixture
def acme(console_gateway):
    return sending_project("Acme", gateway=console_gateway)


def send(project, to: str = "+821012345678", body: str = "Munja test", **fields) -> Message:
    sent = do_send_test_sms(project, None, sender_number=SENDER, to=to, body=body, **fields)
    return Message.objects.select_related("outbox").get(pk=sent.id)


def reload(message: Message) -> Message:
    message.refresh_from_db()
    return message


def test_a_test_sms_goes_out_once_through_the_send_core(acme):
    message = send(acme, body="안녕하세요")
    assert message.status == Status.QUEUED
    assert message.outbox.producer_kind == TEST_PRODUCER
    pipeline.send_batch(message.outbox_id)
    # The console gateway reports at once, through the core's report path.
    message = reload(message)
    assert message.status == Status.DELIVERED
    assert (message.attempts, message.sent_at is not None) == (1, True)
    [sms] = console_backend.outbox
    assert (sms.reference, sms.to, sms.sender, sms.body, sms.kind) == (
        message.reference,
        "+821012345678",
        SENDER,
        "안녕하세요",
        "SMS",
    )
    # Nothing is left to claim: a second batch sends nothing.
    assert pipeline.send_batch(message.outbox_id).claimed == 0
    assert len(console_backend.outbox) == 1
    stats = OutboxStats.objects.get(pk=message.outbox_id)
    assert (stats.recipients, stats.sent, stats.delivered, stats.queued) == (1, 1, 1, 0)


def test_a_long_test_sms_goes_as_an_lms_with_its_title_and_a_short_one_without(acme):
    long = send(acme, body="가" * 46, title="봄 세일")
    short = send(acme, body="가", title="봄 세일")
    assert (long.kind, long.title, short.kind, short.title) == ("LMS", "봄 세일", "SMS", "")
    assert long.outbox_id == short.outbox_id
    pipeline.send_batch(long.outbox_id)
    assert [(s.kind, s.title) for s in console_backend.outbox] == [("LMS", "봄 세일"), ("SMS", "")]


def test_a_test_sms_is_neither_held_by_nor_counted_towards_the_frequency_cap(acme):
    SendingPolicy.objects.create(project=acme, frequency_cap=1, frequency_window_hours=24)
    sender = SenderNumber.objects.get(project=acme, number=SENDER)
    campaign_outbox = do_create_outbox(
        acme, producer_kind="campaign", sender_number_id=sender.pk, status=Outbox.Status.OPEN
    )
    # +8210…01 already had its one campaign message today: a test still goes.
    capped = "+821000000001"
    Message.objects.create(
        outbox=campaign_outbox,
        dedupe_key=dedupe_key(capped),
        project=acme,
        phone_number=capped,
        body="earlier",
        status=Status.SENT,
        sent_at=timezone.now() - timedelta(hours=1),
    )
    test = send(acme, to=capped)
    pipeline.send_batch(test.outbox_id)
    assert reload(test).status == Status.DELIVERED
    # +8210…02 had a test today: its campaign message still goes.
    tested = "+821000000002"
    pipeline.send_batch(send(acme, to=tested).outbox_id)
    do_enqueue_messages(campaign_outbox, [NewMessage(dedupe_key(tested), tested, "sale")])
    outcome = pipeline.send_batch(campaign_outbox.pk)
    assert outcome.skipped == 0
    assert Message.objects.get(outbox=campaign_outbox, phone_number=tested).status == (
        Status.DELIVERED
    )


def test_test_sms_are_in_no_statistic(acme):
    for n in range(3):
        send(acme, to=f"+82100000000{n}")
    outbox_id = Message.objects.get(phone_number="+821000000000").outbox_id
    pipeline.send_batch(outbox_id)
    assert Message.objects.filter(status=Status.DELIVERED).count() == 3
    # The core counted them in the test outbox's own counters and buckets …
    assert SendBucket.objects.filter(outbox_id=outbox_id).exists()
    # … which the project's statistics and the dashboard leave out.
    assert sum(day["sent"] + day["delivered"] for day in sends_per_day(acme)) == 0
    now = timezone.now()
    totals = period_totals(acme, now - timedelta(days=1), now + timedelta(minutes=1))
    assert (totals["campaigns"], totals["sent"], totals["delivered"]) == (0, 0, 0)


def test_a_suspended_sender_skips_the_test_and_the_next_one_gets_a_new_outbox(acme):
    first = send(acme)
    SenderNumber.objects.filter(project=acme, number=SENDER).update(
        status=SenderNumber.Status.SUSPENDED
    )
    pipeline.send_batch(first.outbox_id)
    shown = find_test_send(acme, first.pk)
    assert (shown.status, shown.status_reason, shown.is_final) == (
        Status.SKIPPED,
        "Unapproved sender",
        True,
    )
    assert Outbox.objects.get(pk=first.outbox_id).status == Outbox.Status.CLOSED
    assert console_backend.outbox == []

    SenderNumber.objects.filter(project=acme, number=SENDER).update(
        status=SenderNumber.Status.APPROVED
    )
    second = send(acme)
    assert second.outbox_id != first.outbox_id
    pipeline.send_batch(second.outbox_id)
    assert reload(second).status == Status.DELIVERED


def test_a_test_outbox_paused_for_want_of_a_gateway_opens_again_with_the_next_test(
    acme, console_gateway
):
    first = send(acme)
    SmsChannel.objects.filter(project=acme).update(gateway=None)
    Gateway.objects.update(is_default=False)
    pipeline.send_batch(first.outbox_id)
    shown = find_test_send(acme, first.pk)
    assert shown.status == Status.QUEUED
    assert "No gateway is configured" in shown.status_reason
    assert not shown.is_final

    SmsChannel.objects.filter(project=acme).update(gateway=console_gateway)
    second = send(acme)
    assert second.outbox_id == first.outbox_id
    assert Outbox.objects.get(pk=first.outbox_id).status == Outbox.Status.OPEN
    pipeline.send_batch(first.outbox_id)
    assert [reload(m).status for m in (first, second)] == [Status.DELIVERED] * 2


# --- the whole path through real processes ------------------------------------------


@pytest.fixture
def carrier_project(transactional_db):
    # config {} as in production: the qcluster reaches the carrier through
    # MUNJA_SANDBOX_URL and gets reports at MUNJA_PUBLIC_URL (the live server).
    gateway = Gateway.objects.create(name="Pipeline carrier", backend="sandbox", config={})
    return sending_project("Acme", gateway=gateway)


def status_of(message: Message) -> str:
    return Message.objects.values_list("status", flat=True).get(pk=message.pk)


@pytest.mark.processes
def test_a_test_sms_reaches_delivered_through_qcluster_and_the_carrier_once(
    qcluster, sandbox_carrier, carrier_project
):
    message = send(carrier_project)
    wait_until(
        lambda: status_of(message) == Status.DELIVERED,
        what=lambda: f"delivered; qcluster log:\n{qcluster.process.output()[-3000:]}",
    )
    message = reload(message)
    assert message.sent_at is not None
    assert message.delivered_at is not None
    [logged] = sandbox_carrier.messages(reference=message.reference)
    assert (logged["messageId"], logged["to"], logged["repeat"]) == (
        message.provider_message_id,
        "+821012345678",
        False,
    )


@pytest.mark.processes
def test_a_test_sms_sent_while_the_cluster_is_down_goes_after_a_restart(
    qcluster, sandbox_carrier, carrier_project
):
    qcluster.kill()
    message = send(carrier_project)
    assert status_of(message) == Status.QUEUED
    qcluster.start()
    wait_until(lambda: status_of(message) == Status.DELIVERED, what="delivered")
    assert len(sandbox_carrier.messages(reference=message.reference)) == 1


@pytest.mark.processes
def test_a_failed_report_from_the_carrier_fails_the_test_sms_with_its_reason(
    qcluster, sandbox_carrier, carrier_project
):
    sandbox_carrier.configure(failure_rate=1.0)
    message = send(carrier_project)
    wait_until(
        lambda: status_of(message) == Status.FAILED,
        what=lambda: f"failed; qcluster log:\n{qcluster.process.output()[-3000:]}",
    )
    shown = find_test_send(carrier_project, message.pk)
    assert shown.status_reason == "The handset could not be reached."
    assert reload(message).error_code == "undeliverable"
