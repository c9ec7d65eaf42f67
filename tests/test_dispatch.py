"""Campaign dispatch, step by step and in-process: materialisation, claims,
opt-outs, night-time hold, frequency cap, sender re-check, gateway errors,
delivery reports, counters, pause/resume/cancel and the reconciler."""

from __future__ import annotations

import re
import threading
import time
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection, transaction
from django.utils import timezone
from django_q.models import Schedule

from audiences.models import Customer
from campaigns import tasks
from campaigns.actions import (
    CampaignProblem,
    do_cancel_campaign,
    do_pause_campaign,
    do_resume_campaign,
    do_schedule_campaign,
    do_start_campaign,
)
from campaigns.materialise import materialise_chunk, sync_outbox
from campaigns.models import Campaign
from channels import gateways
from channels.gateways import console as console_backend
from channels.gateways.base import DeliveryReport, GatewayBackend, GatewayError, SendResult
from channels.models import Gateway, SenderNumber
from channels.queries import SenderNotAllowed
from dispatch import pipeline
from dispatch import tasks as dispatch_tasks
from dispatch.models import Message, Outbox, OutboxStats, SendingPolicy, message_reference
from dispatch.reports import apply_delivery_reports
from optout.actions import do_opt_out
from tests.support.campaigns import (
    add_customers,
    file_campaign,
    phone,
    segment_campaign,
    sending_project,
)

S = Message.Status
# 12:00 and 22:00 in Seoul.
NOON = datetime(2026, 3, 2, 3, 0, tzinfo=UTC)
NIGHT = datetime(2026, 3, 2, 13, 0, tzinfo=UTC)
SEOUL_8AM = datetime(2026, 3, 2, 23, 0, tzinfo=UTC)


@pytest.fixture
def console_gateway(db):
    console_backend.outbox.clear()
    yield Gateway.objects.create(name="Test console", backend="console")
    console_backend.outbox.clear()


@pytest.fixture
def acme(console_gateway):
    return sending_project("Acme", gateway=console_gateway)


def started(campaign: Campaign) -> Campaign:
    """Sending, with its outbox open, without running the start's tasks."""
    Campaign.objects.filter(pk=campaign.pk).update(status=Campaign.Status.SENDING)
    campaign.refresh_from_db()
    sync_outbox(campaign)
    Outbox.objects.filter(pk=campaign.outbox_id).update(status=Outbox.Status.OPEN)
    return campaign


def apply_delivery_report(sender: object, report: DeliveryReport) -> int:
    return apply_delivery_reports([report])


def materialise(campaign: Campaign) -> None:
    """Every chunk, without the senders: an enqueue wakes an open outbox's
    senders after commit, and tasks run inline in tests (in a test without
    an outer transaction they would send everything at once)."""
    outbox = Outbox.objects.filter(pk=campaign.outbox_id)
    status = outbox.values_list("status", flat=True).get()
    outbox.update(status=Outbox.Status.PAUSED)
    while materialise_chunk(campaign.pk, size=7):
        pass
    outbox.update(status=status)


def stats(campaign: Campaign) -> OutboxStats:
    return OutboxStats.objects.get(pk=campaign.outbox_id)


def statuses(campaign: Campaign) -> dict[str, int]:
    out: dict[str, int] = {}
    for status in Message.objects.filter(outbox_id=campaign.outbox_id).values_list(
        "status", flat=True
    ):
        out[status] = out.get(status, 0) + 1
    return out


def sent_references() -> list[str]:
    return [sms.reference for sms in console_backend.outbox]


def test_materialising_renders_each_recipient_once_and_resumes_from_its_cursor(acme):
    add_customers(acme, 20)
    campaign = started(segment_campaign(acme, body="{{ name }}님, {{ userId }} 쿠폰"))
    assert materialise_chunk(campaign.pk, size=7) == 7
    campaign.refresh_from_db()
    assert campaign.materialise_cursor > 0 and not campaign.is_materialised
    materialise(campaign)
    # Run again (a task delivered twice): nothing new.
    assert materialise_chunk(campaign.pk) == 0
    assert Message.objects.filter(outbox_id=campaign.outbox_id).count() == 20
    message = Message.objects.get(outbox_id=campaign.outbox_id, phone_number=phone(3))
    assert message.body == "고객3님, u3 쿠폰"
    assert (message.kind, message.bytes, message.status) == (
        "SMS",
        len("고객3님, u3 쿠폰".encode("cp949")),
        S.QUEUED,
    )
    assert (stats(campaign).recipients, stats(campaign).queued) == (20, 20)


def test_a_promotional_body_is_wrapped_by_the_system(acme):
    add_customers(acme, 1)
    campaign = started(segment_campaign(acme, body="봄 세일", is_promotional=True))
    materialise(campaign)
    body = Message.objects.get(outbox_id=campaign.outbox_id).body
    assert body.startswith("(광고)Acme Ltd")
    assert body.endswith("무료수신거부 " + acme.optout_number.display_number)
    assert "봄 세일" in body


def test_promotional_messages_skip_users_without_promotional_consent(acme):
    add_customers(acme, 3)
    add_customers(acme, 2, start=3, promotional_consent=False)
    campaign = started(segment_campaign(acme, is_promotional=True))
    materialise(campaign)
    skipped = set(
        Message.objects.filter(outbox_id=campaign.outbox_id, skip_reason="no_consent").values_list(
            "phone_number", flat=True
        )
    )
    assert skipped == {phone(3), phone(4)}
    s = stats(campaign)
    assert (s.recipients, s.queued, s.skipped_no_consent) == (5, 3, 2)


def test_informational_messages_go_without_promotional_consent(acme):
    add_customers(acme, 2, promotional_consent=False)
    campaign = started(segment_campaign(acme))
    materialise(campaign)
    assert stats(campaign).queued == 2


def test_a_promotional_file_campaign_starts_only_after_the_consent_confirmation(acme):
    campaign = file_campaign(acme, [(phone(1), {"coupon": "A1"})], is_promotional=True)
    with pytest.raises(CampaignProblem, match="consent"):
        do_start_campaign(campaign)
    assert Campaign.objects.get(pk=campaign.pk).status == Campaign.Status.DRAFT
    Campaign.objects.filter(pk=campaign.pk).update(file_consent_confirmed=True)
    campaign.refresh_from_db()
    assert do_start_campaign(campaign)


def test_a_draft_without_audience_sender_or_body_cannot_start(acme):
    campaign = Campaign.objects.create(project=acme, name="Draft")
    with pytest.raises(CampaignProblem) as problem:
        do_start_campaign(campaign)
    for part in ("audience", "sender", "body"):
        assert part in str(problem.value)


def test_invalid_numbers_and_unrenderable_bodies_are_skipped_with_their_reason(acme):
    add_customers(acme, 2)
    Customer.objects.create(project=acme, user_id="bad", phone_number="010-1234")
    campaign = started(segment_campaign(acme, body="가" * 1001))
    materialise(campaign)
    reasons = dict(
        Message.objects.filter(outbox_id=campaign.outbox_id).values_list(
            "phone_number", "skip_reason"
        )
    )
    assert reasons == {
        "010-1234": "invalid_number",
        phone(0): "render_error",
        phone(1): "render_error",
    }
    assert re.search(
        r"2,?000",
        Message.objects.get(outbox_id=campaign.outbox_id, phone_number=phone(0)).error_message,
    )
    s = stats(campaign)
    assert (s.skipped_invalid_number, s.skipped_render_error, s.queued) == (1, 2, 0)


def test_a_batch_goes_out_in_one_gateway_call_with_deterministic_references(acme):
    add_customers(acme, 12)
    campaign = started(segment_campaign(acme))
    materialise(campaign)
    outcome = pipeline.send_batch(campaign.outbox_id, now=NOON, limit=5)
    assert (outcome.claimed, outcome.sent) == (5, 0) or outcome.claimed == 5
    assert sent_references() == [
        message_reference(campaign.outbox_id, phone(i)[1:]) for i in range(5)
    ]
    # The console gateway reports delivery at once, overtaking the sent mark.
    assert statuses(campaign) == {S.DELIVERED: 5, S.QUEUED: 7}
    s = stats(campaign)
    assert (s.sent, s.delivered, s.queued) == (5, 5, 7)


def test_claims_never_overlap_when_two_tasks_claim_the_same_campaign(acme):
    add_customers(acme, 30)
    campaign = started(segment_campaign(acme))
    materialise(campaign)
    first = pipeline.claim(campaign.outbox_id, 20, "a", NOON)
    second = pipeline.claim(campaign.outbox_id, 20, "b", NOON)
    third = pipeline.claim(campaign.outbox_id, 20, "c", NOON)
    assert third is None
    a = set(Message.objects.filter(claim_token=first).values_list("id", flat=True))
    b = set(Message.objects.filter(claim_token=second).values_list("id", flat=True))
    assert (len(a), len(b), a & b) == (20, 10, set())


@pytest.mark.django_db(transaction=True)
def test_a_claim_takes_the_next_rows_while_another_sender_holds_the_first():
    if connection.vendor != "postgresql":
        pytest.skip("SQLite has one writer: a second claim waits for the first by design")
    gateway = Gateway.objects.create(name="Locking console", backend="console")
    project = sending_project("Locks", gateway=gateway)
    add_customers(project, 30)
    campaign = started(segment_campaign(project))
    materialise(campaign)
    first_20 = list(
        Message.objects.filter(outbox_id=campaign.outbox_id)
        .order_by("id")
        .values_list("id", flat=True)[:20]
    )
    holding, release = threading.Event(), threading.Event()

    def other_sender() -> None:
        try:
            with transaction.atomic():
                list(Message.objects.filter(pk__in=first_20).select_for_update())
                holding.set()
                # Held until the claim has returned: a claim that waited on
                # this lock would wait the whole minute, far past the bound.
                release.wait(120)
        finally:
            connection.close()

    thread = threading.Thread(target=other_sender)
    thread.start()
    assert holding.wait(120)
    started_at = time.monotonic()
    token = pipeline.claim(campaign.outbox_id, 20, "b", NOON)
    waited = time.monotonic() - started_at
    release.set()
    thread.join()
    claimed = set(Message.objects.filter(claim_token=token).values_list("id", flat=True))
    assert len(claimed) == 10
    assert not claimed & set(first_20)
    assert waited < 60  # skipped the locked rows instead of waiting 120 s for them


@pytest.mark.django_db(transaction=True)
def test_concurrent_send_tasks_send_every_message_exactly_once():
    console_backend.outbox.clear()
    gateway = Gateway.objects.create(name="Concurrent console", backend="console")
    project = sending_project("Racy", gateway=gateway)
    add_customers(project, 400)
    campaign = started(segment_campaign(project))
    materialise(campaign)
    errors = []

    def worker() -> None:
        try:
            while pipeline.send_batch(campaign.outbox_id, limit=25).claimed:
                pass
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    refs = sent_references()
    assert len(refs) == len(set(refs)) == 400
    assert statuses(campaign) == {S.DELIVERED: 400}
    assert (stats(campaign).sent, stats(campaign).queued) == (400, 0)
    console_backend.outbox.clear()


def test_an_opt_out_mid_campaign_stops_the_messages_not_yet_sent(acme):
    add_customers(acme, 10)
    campaign = started(segment_campaign(acme, is_promotional=True))
    materialise(campaign)
    pipeline.send_batch(campaign.outbox_id, now=NOON, limit=4)
    do_opt_out(acme, [phone(2), phone(7)], "080")
    while pipeline.send_batch(campaign.outbox_id, now=NOON).claimed:
        pass
    assert phone(7) not in [sms.to for sms in console_backend.outbox]
    assert (
        Message.objects.get(outbox_id=campaign.outbox_id, phone_number=phone(7)).skip_reason
        == "opted_out"
    )
    # Already sent before the opt-out: stays sent.
    assert (
        Message.objects.get(outbox_id=campaign.outbox_id, phone_number=phone(2)).status
        == S.DELIVERED
    )
    assert stats(campaign).skipped_opted_out == 1
    assert len(console_backend.outbox) == 9


def test_promotional_messages_are_held_at_night_unless_the_user_consented(acme):
    add_customers(acme, 3)
    Customer.objects.filter(user_id="u1").update(night_consent=True)
    campaign = started(segment_campaign(acme, is_promotional=True))
    materialise(campaign)
    outcome = pipeline.send_batch(campaign.outbox_id, now=NIGHT)
    assert (outcome.claimed, outcome.held) == (3, 2)
    assert [sms.to for sms in console_backend.outbox] == [phone(1)]
    held = Message.objects.get(outbox_id=campaign.outbox_id, phone_number=phone(0))
    assert (held.status, held.next_attempt_at, held.attempts) == (S.QUEUED, SEOUL_8AM, 0)
    # Still night: nothing is due.
    assert pipeline.send_batch(campaign.outbox_id, now=NIGHT + timedelta(hours=9)).claimed == 0
    pipeline.send_batch(campaign.outbox_id, now=SEOUL_8AM)
    assert sorted(sms.to for sms in console_backend.outbox) == [phone(0), phone(1), phone(2)]


def test_the_recipients_zone_decides_what_night_is(acme):
    add_customers(acme, 1, time_zone="America/New_York")
    campaign = started(segment_campaign(acme, is_promotional=True))
    materialise(campaign)
    # 22:00 in Seoul is 08:00 in New York.
    assert pipeline.send_batch(campaign.outbox_id, now=NIGHT).held == 0
    assert len(console_backend.outbox) == 1


def test_informational_messages_are_not_held_at_night(acme):
    add_customers(acme, 2)
    campaign = started(segment_campaign(acme))
    materialise(campaign)
    assert pipeline.send_batch(campaign.outbox_id, now=NIGHT).held == 0
    assert len(console_backend.outbox) == 2


def test_the_frequency_cap_skips_people_who_had_enough_and_a_campaign_may_override_it(acme):
    add_customers(acme, 4)
    SendingPolicy.objects.create(project=acme, frequency_cap=1, frequency_window_hours=24)
    first = started(segment_campaign(acme, name="first"))
    materialise(first)
    pipeline.send_batch(first.outbox_id, limit=2)  # u0, u1 got one today
    second = started(segment_campaign(acme, name="second"))
    materialise(second)
    pipeline.send_batch(second.outbox_id)
    skipped = Message.objects.filter(outbox_id=second.outbox_id, skip_reason="frequency_cap")
    assert sorted(skipped.values_list("phone_number", flat=True)) == [phone(0), phone(1)]
    assert stats(second).skipped_frequency_cap == 2
    uncapped = started(segment_campaign(acme, name="third", frequency_cap=0))
    materialise(uncapped)
    pipeline.send_batch(uncapped.outbox_id)
    assert statuses(uncapped) == {S.DELIVERED: 4}


def test_an_unapproved_sender_is_refused_when_creating_a_campaign(acme):
    SenderNumber.objects.create(
        project=acme,
        number="+8225550000",
        owner_type="company",
        owner_name="x",
        status=SenderNumber.Status.PENDING,
    )
    with pytest.raises(SenderNotAllowed, match="waiting for review"):
        segment_campaign(acme, sender_number="+8225550000")
    assert not Campaign.objects.exists()


def test_a_sender_suspended_mid_campaign_sends_nothing_more(acme):
    add_customers(acme, 6)
    campaign = started(segment_campaign(acme))
    materialise(campaign)
    pipeline.send_batch(campaign.outbox_id, limit=2)
    SenderNumber.objects.filter(project=acme).update(
        status=SenderNumber.Status.SUSPENDED, status_reason="spam complaints"
    )
    pipeline.send_batch(campaign.outbox_id)
    assert len(console_backend.outbox) == 2
    assert statuses(campaign) == {S.DELIVERED: 2, S.SKIPPED: 4}
    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.COMPLETED
    assert "spam complaints" in campaign.status_reason
    assert stats(campaign).skipped_unapproved_sender == 4


def test_pause_stops_claims_resume_continues_and_cancel_skips_the_rest(
    acme, django_capture_on_commit_callbacks
):
    add_customers(acme, 10)
    campaign = started(segment_campaign(acme))
    materialise(campaign)
    pipeline.send_batch(campaign.outbox_id, limit=3)
    assert do_pause_campaign(campaign)
    assert not do_pause_campaign(campaign)  # a second click changes nothing
    assert pipeline.send_batch(campaign.outbox_id).claimed == 0
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        assert do_resume_campaign(campaign)
    assert callbacks  # the pipeline is enqueued after commit
    pipeline.send_batch(campaign.outbox_id, limit=3)
    assert do_cancel_campaign(campaign)
    assert pipeline.send_batch(campaign.outbox_id).claimed == 0
    assert statuses(campaign) == {S.DELIVERED: 6, S.SKIPPED: 4}
    s = stats(campaign)
    assert (s.sent, s.skipped_cancelled, s.queued) == (6, 4, 0)
    assert not do_resume_campaign(campaign)


def test_delivery_reports_move_messages_forward_only_and_count_once(acme):
    add_customers(acme, 2)
    campaign = started(segment_campaign(acme))
    materialise(campaign)
    Message.objects.filter(outbox_id=campaign.outbox_id).update(status=S.SENT)
    OutboxStats.objects.filter(pk=campaign.outbox_id).update(sent=2, queued=0)
    ref0 = message_reference(campaign.outbox_id, phone(0)[1:])
    ref1 = message_reference(campaign.outbox_id, phone(1)[1:])
    failed = DeliveryReport("sandbox", "p-1", ref1, "failed", "undeliverable", "no handset")
    assert apply_delivery_report(None, DeliveryReport("sandbox", "p-0", ref0, "delivered")) == 1
    assert apply_delivery_report(None, DeliveryReport("sandbox", "p-0", ref0, "delivered")) == 0
    assert apply_delivery_report(None, DeliveryReport("sandbox", "p-0", ref0, "failed")) == 0
    assert apply_delivery_report(None, failed) == 1
    assert (
        apply_delivery_report(None, DeliveryReport("sandbox", "x", "c999-821000", "delivered")) == 0
    )
    m0 = Message.objects.get(outbox_id=campaign.outbox_id, phone_number=phone(0))
    m1 = Message.objects.get(outbox_id=campaign.outbox_id, phone_number=phone(1))
    assert (m0.status, m0.provider_message_id) == (S.DELIVERED, "p-0")
    assert (m1.status, m1.error_code, m1.error_message) == (S.FAILED, "undeliverable", "no handset")
    s = stats(campaign)
    assert (s.sent, s.delivered, s.failed) == (2, 1, 1)


class FlakyBackend(GatewayBackend):
    """The provider seam: answers as the test tells it."""

    name = "flaky"
    answers: list = []
    calls: list = []

    def send_batch(self, messages):
        FlakyBackend.calls.append([m.to for m in messages])
        answer = FlakyBackend.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return [answer(m) for m in messages]


@pytest.fixture
def flaky(db, monkeypatch):
    monkeypatch.setitem(gateways.BACKENDS, "flaky", f"{__name__}.FlakyBackend")
    FlakyBackend.answers, FlakyBackend.calls = [], []
    gateway = Gateway.objects.create(name="Flaky", backend="flaky")
    return sending_project("Flaky", gateway=gateway)


def test_a_throttled_batch_waits_at_least_retry_after_and_then_goes(flaky):
    add_customers(flaky, 3)
    campaign = started(segment_campaign(flaky))
    materialise(campaign)
    FlakyBackend.answers = [
        GatewayError("HTTP 429", retry_after=30),
        lambda m: SendResult(m.reference, True, "id-" + m.to),
    ]
    before = timezone.now()
    outcome = pipeline.send_batch(campaign.outbox_id)
    assert outcome.retrying == 3
    message = Message.objects.get(outbox_id=campaign.outbox_id, phone_number=phone(0))
    assert message.status == S.QUEUED
    assert message.next_attempt_at >= before + timedelta(seconds=30)
    assert pipeline.send_batch(campaign.outbox_id).claimed == 0  # not yet due
    pipeline.send_batch(campaign.outbox_id, now=message.next_attempt_at)
    assert statuses(campaign) == {S.SENT: 3}
    assert Message.objects.get(pk=message.pk).attempts == 2


def test_permanent_rejections_fail_with_the_providers_reason_and_transient_ones_retry(flaky):
    add_customers(flaky, 3)
    campaign = started(segment_campaign(flaky))
    materialise(campaign)

    def mixed(m):
        if m.to == phone(0):
            return SendResult(
                m.reference, False, "", "invalid_number", "No such number", permanent=True
            )
        if m.to == phone(1):
            return SendResult(m.reference, False, "", "busy", "Try later")
        return SendResult(m.reference, True, "ok")

    FlakyBackend.answers = [mixed]
    pipeline.send_batch(campaign.outbox_id)
    bad = Message.objects.get(outbox_id=campaign.outbox_id, phone_number=phone(0))
    assert (bad.status, bad.error_code, bad.error_message) == (
        S.FAILED,
        "invalid_number",
        "No such number",
    )
    assert (
        Message.objects.get(outbox_id=campaign.outbox_id, phone_number=phone(1)).status == S.QUEUED
    )
    s = stats(campaign)
    assert (s.sent, s.failed, s.queued) == (1, 1, 1)


def test_a_message_that_keeps_failing_transiently_gives_up(flaky):
    add_customers(flaky, 1)
    campaign = started(segment_campaign(flaky))
    materialise(campaign)
    FlakyBackend.answers = [GatewayError("HTTP 503")] * pipeline.MAX_ATTEMPTS
    at = timezone.now()
    for _ in range(pipeline.MAX_ATTEMPTS):
        pipeline.send_batch(campaign.outbox_id, now=at)
        at += timedelta(hours=1)
    message = Message.objects.get(outbox_id=campaign.outbox_id)
    assert (message.status, message.error_code) == (S.FAILED, "gave_up")
    assert len(FlakyBackend.calls) == pipeline.MAX_ATTEMPTS


def test_a_permanent_batch_refusal_fails_the_batch(flaky):
    add_customers(flaky, 2)
    campaign = started(segment_campaign(flaky))
    materialise(campaign)
    FlakyBackend.answers = [GatewayError("HTTP 401: bad key", permanent=True)]
    pipeline.send_batch(campaign.outbox_id)
    assert statuses(campaign) == {S.FAILED: 2}
    assert stats(campaign).failed == 2


def test_the_reconciler_returns_stale_and_dead_claims_and_starts_overdue_campaigns(acme):
    add_customers(acme, 6)
    campaign = started(segment_campaign(acme))
    materialise(campaign)
    old = pipeline.claim(campaign.outbox_id, 2, "x", timezone.now() - timedelta(hours=1))
    # A claim by a process that no longer exists on this host.
    dead = f"999999999:{pipeline._host_tag()}:deadbeef"
    first_queued = (
        Message.objects.filter(outbox_id=campaign.outbox_id, status=S.QUEUED).order_by("id").first()
    )
    Message.objects.filter(pk=first_queued.pk).update(
        status=S.SENDING, claim_token=dead, claimed_at=timezone.now()
    )
    live = pipeline.claim(campaign.outbox_id, 1, "y", timezone.now())
    assert old and live
    assert pipeline.release_stale_claims(campaign.outbox_id) == 3
    assert Message.objects.filter(claim_token=live, status=S.SENDING).count() == 1
    # That live batch finishes (here: its claim ages out) before the reconciler runs.
    Message.objects.filter(claim_token=live).update(claimed_at=timezone.now() - timedelta(hours=1))

    due = segment_campaign(acme, name="overdue")
    Campaign.objects.filter(pk=due.pk).update(
        status=Campaign.Status.SCHEDULED, scheduled_at=timezone.now() - timedelta(minutes=2)
    )
    counts = tasks.reconcile_campaigns()
    assert counts["started"] == 1
    assert Campaign.objects.get(pk=due.pk).status in (
        Campaign.Status.SENDING,
        Campaign.Status.COMPLETED,
    )


def test_the_reconciler_skips_queued_messages_of_a_cancelled_campaign(acme):
    add_customers(acme, 3)
    campaign = started(segment_campaign(acme))
    materialise(campaign)
    Campaign.objects.filter(pk=campaign.pk).update(status=Campaign.Status.CANCELLED)
    assert tasks.reconcile_campaigns()["cancelled"] == 3
    assert statuses(campaign) == {S.SKIPPED: 3}


def test_a_campaign_whose_worker_died_between_the_close_and_its_completion_completes(acme):
    """The close of a sealed, empty outbox commits before its producer hears
    of it (`dispatch.signals`). A worker killed in between (here: the
    campaigns' receiver raises) leaves the campaign sending with every
    message final; the reconciler completes it."""
    from campaigns.receivers import complete_campaign
    from dispatch.signals import outbox_closed

    add_customers(acme, 3)
    campaign = started(segment_campaign(acme))
    materialise(campaign)
    while pipeline.send_batch(campaign.outbox_id).claimed:
        pass

    def killed(**kwargs):
        raise SystemExit("killed")

    outbox_closed.disconnect(dispatch_uid="campaigns.outbox_closed")
    outbox_closed.connect(killed, dispatch_uid="test.killed")
    try:
        with pytest.raises(SystemExit):
            pipeline.close_if_done(campaign.outbox_id)
    finally:
        outbox_closed.disconnect(dispatch_uid="test.killed")
        outbox_closed.connect(complete_campaign, dispatch_uid="campaigns.outbox_closed")
    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.SENDING
    assert Outbox.objects.get(pk=campaign.outbox_id).status == Outbox.Status.CLOSED

    assert tasks.reconcile_campaigns()["completed"] == 1
    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.COMPLETED
    assert statuses(campaign) == {S.DELIVERED: 3}


@pytest.mark.parametrize("reason", ["", "발신번호 승인이 취소됐어요"])
def test_the_reconciler_ends_a_sending_campaign_whose_outbox_closed_without_it(acme, reason):
    """A close whose signal was lost (before the two shared a transaction):
    the campaign completes, or ends with the outbox's reason."""
    add_customers(acme, 2)
    campaign = started(segment_campaign(acme))
    materialise(campaign)
    Outbox.objects.filter(pk=campaign.outbox_id).update(
        status=Outbox.Status.CLOSED, status_reason=reason
    )
    assert tasks.reconcile_campaigns()["completed"] == 1
    campaign.refresh_from_db()
    assert (campaign.status, campaign.status_reason) == (Campaign.Status.COMPLETED, reason)
    assert tasks.reconcile_campaigns()["completed"] == 0


def test_a_campaign_scheduled_later_gets_a_one_off_schedule_40_seconds_early(
    acme, django_capture_on_commit_callbacks
):
    campaign = segment_campaign(acme)
    at = timezone.now() + timedelta(hours=2)
    with django_capture_on_commit_callbacks(execute=True):
        assert do_schedule_campaign(campaign, at)
    [entry] = Schedule.objects.filter(func=tasks.START)
    assert entry.next_run == at - timedelta(seconds=40)
    assert entry.schedule_type == Schedule.ONCE
    # An edit re-schedules; the first start then does nothing.
    later = at + timedelta(hours=1)
    assert do_schedule_campaign(campaign, later)
    assert tasks.start_scheduled_campaign(campaign.pk, at.isoformat()) == "rescheduled"


def test_the_send_task_runs_a_campaign_to_completion(acme, django_capture_on_commit_callbacks):
    add_customers(acme, 25)
    campaign = segment_campaign(acme)
    with django_capture_on_commit_callbacks(execute=True):
        assert do_start_campaign(campaign)
    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.COMPLETED
    assert statuses(campaign) == {S.DELIVERED: 25}
    s = stats(campaign)
    assert (s.recipients, s.sent, s.delivered, s.queued) == (25, 25, 25, 0)


def test_a_project_rate_limit_is_shared_per_minute(acme):
    add_customers(acme, 10)
    acme.send_rate_per_minute = 4
    acme.save()
    campaign = started(segment_campaign(acme))
    materialise(campaign)
    at = datetime(2026, 3, 2, 3, 0, 10, tzinfo=UTC)
    assert pipeline.send_batch(campaign.outbox_id, now=at).claimed == 4
    outcome = pipeline.send_batch(campaign.outbox_id, now=at + timedelta(seconds=20))
    assert (outcome.claimed, outcome.rate_limited) == (0, True)
    assert pipeline.send_batch(campaign.outbox_id, now=at + timedelta(seconds=45)).claimed == 0
    assert pipeline.send_batch(campaign.outbox_id, now=at + timedelta(minutes=1)).claimed == 4


def test_the_reconciler_resumes_a_campaign_that_no_task_works_on(acme):
    add_customers(acme, 9)
    campaign = started(segment_campaign(acme))
    materialise_chunk(campaign.pk, size=4)
    # Then its tasks were lost: silent for longer than the claim timeout.
    Campaign.objects.filter(pk=campaign.pk).update(
        heartbeat_at=timezone.now() - timedelta(minutes=5)
    )
    counts = tasks.reconcile_campaigns()  # tasks run inline in the test settings
    assert counts["enqueued"] >= 1
    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.COMPLETED
    assert statuses(campaign) == {S.DELIVERED: 9}
    assert (stats(campaign).recipients, stats(campaign).sent) == (9, 9)


def test_a_send_task_without_a_free_slot_does_nothing(acme):
    add_customers(acme, 2)
    campaign = started(segment_campaign(acme))
    materialise(campaign)
    assert pipeline.take_slot(campaign.outbox_id, 0, pipeline.process_owner(), timezone.now())
    assert dispatch_tasks.send_outbox(campaign.outbox_id, 0) == "slot taken"
    assert console_backend.outbox == []


def test_a_promotional_campaign_needs_the_projects_080_number(acme):
    from campaigns.actions import CampaignProblem

    acme.optout_number.delete()
    with pytest.raises(CampaignProblem, match="080"):
        segment_campaign(acme, is_promotional=True)
    assert segment_campaign(acme, is_promotional=False).pk


def test_the_reconciler_leaves_a_start_of_a_moment_ago_to_its_own_pipeline_task(acme):
    """A campaign started a moment ago whose outbox is not open yet has its
    pipeline task on the way: the reconciler opening it too would run a
    second materialiser over the same first chunk."""
    add_customers(acme, 3)
    campaign = segment_campaign(acme)
    Campaign.objects.filter(pk=campaign.pk).update(
        status=Campaign.Status.SENDING, heartbeat_at=timezone.now()
    )
    Outbox.objects.filter(pk=campaign.outbox_id).update(status=Outbox.Status.PAUSED)
    assert tasks.reconcile_campaigns()["enqueued"] == 0
    assert Outbox.objects.get(pk=campaign.outbox_id).status == Outbox.Status.PAUSED
    # Silent for longer than the claim timeout: the start's task was lost.
    Campaign.objects.filter(pk=campaign.pk).update(
        heartbeat_at=timezone.now() - timedelta(minutes=5)
    )
    assert tasks.reconcile_campaigns()["enqueued"] >= 1
    assert Outbox.objects.get(pk=campaign.outbox_id).status == Outbox.Status.OPEN
    assert Message.objects.filter(outbox_id=campaign.outbox_id).count() == 3


class _Clock:
    """dispatch.tasks' monotonic clock and sleep, without waiting."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.slept = 0.0

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds
        self.slept += seconds


@pytest.mark.parametrize("linger", [0, 3])
def test_a_send_chain_of_an_unsealed_outbox_lingers_only_as_long_as_its_producer_asked(
    acme, monkeypatch, linger
):
    add_customers(acme, 2)
    campaign = started(segment_campaign(acme))
    materialise_chunk(campaign.pk, size=10)  # every recipient, not yet sealed
    Outbox.objects.filter(pk=campaign.outbox_id).update(linger_seconds=linger, sealed_at=None)
    clock = _Clock()
    monkeypatch.setattr(dispatch_tasks.time, "monotonic", clock.monotonic)
    monkeypatch.setattr(dispatch_tasks.time, "sleep", clock.sleep)
    assert dispatch_tasks.send_outbox(campaign.outbox_id, 0) == "idle"
    assert statuses(campaign) == {S.DELIVERED: 2}
    # It waited for more only as long as the outbox's linger, in 0.2 s naps.
    assert linger <= clock.slept < linger + 0.5


def test_campaign_outboxes_linger_and_test_sms_outboxes_do_not(acme):
    from campaigns.models import CAMPAIGN_LINGER_SECONDS
    from dispatch.actions import do_create_outbox

    campaign = segment_campaign(acme)
    assert Outbox.objects.get(pk=campaign.outbox_id).linger_seconds == CAMPAIGN_LINGER_SECONDS > 0
    assert do_create_outbox(acme, producer_kind="test").linger_seconds == 0


def test_enqueues_in_a_deferred_block_wake_their_outbox_once_when_it_ends(
    acme, monkeypatch, django_capture_on_commit_callbacks
):
    from dispatch import actions
    from dispatch.actions import NewMessage, do_create_outbox, do_enqueue_messages

    woke: list[int] = []
    monkeypatch.setattr(actions, "wake_senders", lambda outbox_id, **kw: woke.append(outbox_id))
    outbox = do_create_outbox(acme, producer_kind="test", status=Outbox.Status.OPEN)

    def enqueue(key: str) -> None:
        # One message per committed transaction, as the journey runner does.
        with django_capture_on_commit_callbacks(execute=True):
            do_enqueue_messages(outbox, [NewMessage(key, "+821012340000", "hello")])

    with django_capture_on_commit_callbacks(execute=True), actions.wakeups_deferred():
        for key in ("a", "b", "c"):
            enqueue(key)
        assert woke == []
    assert woke == [outbox.pk]
    woke.clear()
    for key in ("d", "e"):
        enqueue(key)
    assert woke == [outbox.pk, outbox.pk]
