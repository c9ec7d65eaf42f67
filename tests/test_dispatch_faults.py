"""Crash safety at scale (SPEC §5, §10): a 20,000-recipient campaign through a
real qcluster to the real sandbox carrier, with the cluster SIGKILLed five
times at random moments. At the end the carrier has accepted every recipient
exactly once (a repeat it recognised by our reference is logged with
`repeat: true` and never delivered twice) and every message is final."""

from __future__ import annotations

import random
import time
from collections import Counter

import pytest

from campaigns.actions import do_start_campaign
from campaigns.models import Campaign
from channels.models import Gateway
from dispatch.models import Message, Outbox, OutboxStats, message_reference
from dispatch.pipeline import BACKOFF_MAX_SECONDS
from tests.support.campaigns import add_customers, phone, segment_campaign, sending_project
from tests.support.processes import wait_until

RECIPIENTS = 20_000
KILLS = 5
FINAL = {Message.Status.DELIVERED, Message.Status.FAILED, Message.Status.SKIPPED}


@pytest.fixture(autouse=True)
def _dispatch_settings(monkeypatch):
    # Read by the qcluster subprocess: a claim of a process that vanished on
    # another host would wait this long; here dead pids are seen at once.
    monkeypatch.setenv("MUNJA_DISPATCH_CLAIM_SECONDS", "10")
    monkeypatch.setenv("MUNJA_DISPATCH_BATCH_SIZE", "500")
    monkeypatch.setenv("MUNJA_Q_WORKERS", "2")


def _campaign() -> Campaign:
    gateway = Gateway.objects.create(
        name="Fault carrier", backend="sandbox", config={}, messages_per_second=100_000
    )
    project = sending_project("Faulty", gateway=gateway, rate=10_000_000)
    add_customers(project, RECIPIENTS)
    return segment_campaign(project, body="{{ name }}님, 봄 세일 쿠폰 {{ userId }}")


def _open_messages(campaign: Campaign) -> int:
    return Message.objects.filter(outbox_id=campaign.outbox_id).exclude(status__in=FINAL).count()


def _open_details(campaign: Campaign) -> list[tuple]:
    return list(
        Message.objects.filter(outbox_id=campaign.outbox_id)
        .exclude(status__in=FINAL)
        .values_list("status", "attempts", "next_attempt_at", "claimed_at")[:5]
    )


def _handed_over(campaign: Campaign) -> int:
    return (
        OutboxStats.objects.filter(pk=campaign.outbox_id).values_list("sent", flat=True).first()
        or 0
    )


def _crash_repeatedly(qcluster, campaign: Campaign, rng: random.Random) -> list[int]:
    """Kill and restart; returns how many messages were still open at each kill.

    Each kill waits for a random point of the campaign's progress (the k-th
    sixth of the recipients handed to the carrier, somewhere inside it), not
    for a random time: on a quiet machine the whole campaign takes a few
    seconds and timed kills all landed after its end; on a loaded one the
    same timed kills all landed before the first send."""
    open_at_kill = []
    for k in range(KILLS):
        mark = int(RECIPIENTS * (k + rng.uniform(0.2, 0.8)) / (KILLS + 1))
        wait_until(
            lambda mark=mark: _handed_over(campaign) >= mark,
            timeout=BACKOFF_MAX_SECONDS + 120,
            interval=0.02,
            what=lambda mark=mark: f"{mark} messages handed over ({_handed_over(campaign)} so far)",
        )
        open_at_kill.append(_open_messages(campaign))
        qcluster.restart(crash=True)
    return open_at_kill


def _check_exactly_once(sandbox_carrier, campaign: Campaign) -> None:
    entries = sandbox_carrier.messages()
    first_time = Counter(e["reference"] for e in entries if not e["repeat"])
    expected = {message_reference(campaign.outbox_id, phone(i)[1:]) for i in range(RECIPIENTS)}
    duplicated = {ref: n for ref, n in first_time.items() if n > 1}
    assert duplicated == {}
    assert set(first_time) == expected, (
        f"missing {len(expected - set(first_time))}, unexpected {len(set(first_time) - expected)}"
    )
    # The carrier only logs a repeat for a reference it had accepted before.
    assert all(e["reference"] in expected for e in entries)
    stats = OutboxStats.objects.get(pk=campaign.outbox_id)
    assert (stats.recipients, stats.sent, stats.queued) == (RECIPIENTS, RECIPIENTS, 0)
    assert stats.delivered + stats.failed == RECIPIENTS


def _run(qcluster, sandbox_carrier, seed: int) -> None:
    campaign = _campaign()
    started = time.monotonic()
    assert do_start_campaign(campaign)
    open_at_kill = _crash_repeatedly(qcluster, campaign, random.Random(seed))
    # The kills must land mid-campaign to prove anything.
    assert sum(1 for n in open_at_kill if n > 0) >= 3, open_at_kill
    # A message that met several 429s, 5xx bursts and kills may be waiting out
    # its backoff (up to BACKOFF_MAX_SECONDS) plus a reconciler cycle. The
    # campaign completes first (every message handed over or skipped), then
    # the carrier's last delivery reports arrive: while a killed materialiser
    # waits for its restart, the messages so far may all be final already.
    wait_until(
        lambda: Campaign.objects.get(pk=campaign.pk).status == Campaign.Status.COMPLETED,
        timeout=BACKOFF_MAX_SECONDS + 120,
        interval=0.5,
        what=lambda: (
            f"the campaign to complete; {_open_messages(campaign)} open: "
            f"{_open_details(campaign)}; "
            f"qcluster log tail:\n{qcluster.process.output()[-3000:]}"
        ),
    )
    wait_until(
        lambda: _open_messages(campaign) == 0,
        timeout=60,
        interval=0.5,
        what=lambda: (
            f"every message final; {_open_messages(campaign)} open: {_open_details(campaign)}"
        ),
    )
    _check_exactly_once(sandbox_carrier, campaign)
    print(
        f"{RECIPIENTS} recipients, kills with {open_at_kill} open: "
        f"{time.monotonic() - started:.1f} s"
    )


@pytest.mark.processes
def test_a_campaign_survives_five_sigkills_without_losing_or_repeating_a_message(
    qcluster, sandbox_carrier
):
    _run(qcluster, sandbox_carrier, seed=4)


@pytest.mark.processes
def test_a_campaign_survives_sigkills_5xx_bursts_and_throttling(qcluster, sandbox_carrier):
    sandbox_carrier.configure(throttle_rate=0.1, retry_after=1, burst_every=10, burst_length=2)
    _run(qcluster, sandbox_carrier, seed=5)


def _stuck(campaigns) -> list[dict]:
    """What a campaign that did not complete is waiting for: its outbox,
    its messages by status and its send slots."""
    from django.db.models import Count

    from dispatch.models import DispatchSlot

    found = []
    for campaign in campaigns.exclude(status=Campaign.Status.COMPLETED)[:3]:
        outbox = Outbox.objects.get(pk=campaign.outbox_id)
        found.append(
            {
                "campaign": (campaign.pk, campaign.status, campaign.materialised_at),
                "outbox": (outbox.pk, outbox.status, outbox.sealed_at),
                "messages": dict(
                    Message.objects.filter(outbox_id=outbox.pk)
                    .values_list("status")
                    .annotate(n=Count("pk"))
                ),
                "slots": list(
                    DispatchSlot.objects.filter(outbox_id=outbox.pk).values_list(
                        "slot", "owner", "renewed_at", "queued_at"
                    )
                ),
            }
        )
    return found


API_REQUESTS = 100
TARGETS_PER_REQUEST = 100


@pytest.mark.processes
def test_send_api_requests_survive_sigkills_5xx_bursts_and_throttling(qcluster, sandbox_carrier):
    """The same faults for the Send API: many requests, each its own outbox,
    arriving while the cluster is killed; every target once at the carrier."""
    from campaigns.sends import do_send_sms

    sandbox_carrier.configure(throttle_rate=0.1, retry_after=1, burst_every=10, burst_length=2)
    gateway = Gateway.objects.create(
        name="Fault carrier", backend="sandbox", config={}, messages_per_second=100_000
    )
    project = sending_project("Faulty API", gateway=gateway, rate=10_000_000)
    rng = random.Random(6)
    sends = []
    kills = 0
    for request in range(API_REQUESTS):
        numbers = [phone(request * TARGETS_PER_REQUEST + i) for i in range(TARGETS_PER_REQUEST)]
        outcome = do_send_sms(
            project, target_type="phoneNumber", target_ids=numbers, body="주문이 출발했어요"
        )
        sends.append(outcome.campaign)
        if request % 20 == 10 and kills < KILLS:
            time.sleep(rng.uniform(0.3, 1.0))
            qcluster.restart(crash=True)
            kills += 1
    campaigns = Campaign.objects.filter(pk__in=[c.pk for c in sends])
    wait_until(
        lambda: not campaigns.exclude(status=Campaign.Status.COMPLETED).exists(),
        timeout=BACKOFF_MAX_SECONDS + 120,
        interval=0.5,
        what=lambda: (
            f"every API campaign to complete; not yet: {_stuck(campaigns)}; "
            f"qcluster alive: {qcluster.process.alive()}; "
            f"qcluster log tail:\n{qcluster.process.output()[-3000:]}"
        ),
    )
    outboxes = [c.outbox_id for c in sends]
    messages = Message.objects.filter(outbox_id__in=outboxes)
    wait_until(
        lambda: not messages.exclude(status__in=FINAL).exists(),
        timeout=60,
        what="every message final",
    )
    expected = {
        message_reference(c.outbox_id, phone(r * TARGETS_PER_REQUEST + i)[1:])
        for r, c in enumerate(sends)
        for i in range(TARGETS_PER_REQUEST)
    }
    entries = sandbox_carrier.messages()
    first_time = Counter(e["reference"] for e in entries if not e["repeat"])
    assert {ref: n for ref, n in first_time.items() if n > 1} == {}
    assert set(first_time) == expected
    for outbox_id in outboxes:
        stats = OutboxStats.objects.get(pk=outbox_id)
        assert (stats.recipients, stats.sent, stats.queued) == (TARGETS_PER_REQUEST,) * 2 + (0,)
        assert stats.delivered + stats.failed == TARGETS_PER_REQUEST


TEST_SENDS = 200
SECOND_SENDER = "+8215885678"


@pytest.mark.processes
def test_test_sms_survive_sigkills_5xx_bursts_and_throttling(qcluster, sandbox_carrier):
    """The same faults for test SMS: one test send at a time into the open
    test outboxes of two sender numbers while the cluster is killed; every
    test once at the carrier, every one final."""
    from campaigns.test_sends import TEST_PRODUCER, do_send_test_sms
    from channels.models import SenderNumber

    sandbox_carrier.configure(throttle_rate=0.1, retry_after=1, burst_every=10, burst_length=2)
    gateway = Gateway.objects.create(
        name="Fault carrier", backend="sandbox", config={}, messages_per_second=100_000
    )
    project = sending_project("Faulty tests", gateway=gateway, rate=10_000_000)
    SenderNumber.objects.create(
        project=project,
        number=SECOND_SENDER,
        owner_type=SenderNumber.OwnerType.COMPANY,
        owner_name=project.company_name,
        status=SenderNumber.Status.APPROVED,
    )
    rng = random.Random(7)
    ids = []
    open_at_kill = []
    for i in range(TEST_SENDS):
        sent = do_send_test_sms(
            project,
            None,
            sender_number=SECOND_SENDER if i % 2 else "+8215881234",
            to=phone(i),
            body=f"테스트 {i}",
        )
        ids.append(sent.id)
        if i % 40 == 20 and len(open_at_kill) < KILLS:
            # Soon after a send, while the latest tests are on their way.
            time.sleep(rng.uniform(0.0, 0.2))
            open_at_kill.append(
                Message.objects.filter(pk__in=ids).exclude(status__in=FINAL).count()
            )
            qcluster.restart(crash=True)
    # The kills must land while tests are pending to prove anything.
    assert len(open_at_kill) == KILLS
    assert sum(1 for n in open_at_kill if n > 0) >= 3, open_at_kill
    messages = Message.objects.filter(pk__in=ids)
    wait_until(
        lambda: not messages.exclude(status__in=FINAL).exists(),
        timeout=BACKOFF_MAX_SECONDS + 120,
        interval=0.5,
        what=lambda: (
            f"every test SMS final; {messages.exclude(status__in=FINAL).count()} not yet: "
            f"{list(messages.exclude(status__in=FINAL).values_list('status', 'attempts')[:5])}; "
            f"qcluster log tail:\n{qcluster.process.output()[-3000:]}"
        ),
    )
    expected = {m.reference for m in messages}
    assert len(expected) == TEST_SENDS
    entries = sandbox_carrier.messages()
    first_time = Counter(e["reference"] for e in entries if not e["repeat"])
    assert {ref: n for ref, n in first_time.items() if n > 1} == {}
    assert set(first_time) == expected
    assert all(e["reference"] in expected for e in entries)
    outboxes = set(messages.values_list("outbox_id", flat=True))
    assert len(outboxes) == 2
    assert set(Outbox.objects.filter(pk__in=outboxes).values_list("producer_kind", "status")) == {
        (TEST_PRODUCER, Outbox.Status.OPEN)
    }
    for outbox_id in outboxes:
        stats = OutboxStats.objects.get(pk=outbox_id)
        half = TEST_SENDS // 2
        assert (stats.recipients, stats.sent, stats.queued) == (half, half, 0)
        assert stats.delivered + stats.failed == half
    print(f"{TEST_SENDS} test SMS, kills with {open_at_kill} pending")
