"""Crash safety of the consent notices (SPEC §10, §12): a day's result
notices handed over by the real minute task in a real qcluster, sent to the
real sandbox carrier, with the cluster SIGKILLed at random points of the
hand-over and of the sending. At the end every notice reached the carrier
exactly once (a repeat it recognised by our reference is logged with
`repeat: true` and never delivered twice), none is lost, and every notice
knows its outcome."""

from __future__ import annotations

import random
import time
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
from django.db.models import Sum

from audiences.models import Customer
from audiences.signals import ConsentFlagChange
from channels.models import Gateway
from consent.actions import do_record_consent_changes
from consent.models import Notice, Source, notice_key
from consent.sending import PRODUCER, sync_outcomes
from dispatch.models import Message, OutboxStats, message_reference, parse_reference
from dispatch.pipeline import BACKOFF_MAX_SECONDS
from tests.support.campaigns import add_customers, sending_project
from tests.support.processes import wait_until

NOTICES = 3000
KILLS = 4


@pytest.fixture(autouse=True)
def _settings(monkeypatch):
    # Read by the qcluster subprocess: small hand-over batches so that kills
    # land inside the hand-over too; dead claims are seen at once.
    monkeypatch.setenv("MUNJA_CONSENT_NOTICE_BATCH_SIZE", "50")
    monkeypatch.setenv("MUNJA_DISPATCH_CLAIM_SECONDS", "10")
    monkeypatch.setenv("MUNJA_DISPATCH_BATCH_SIZE", "100")
    monkeypatch.setenv("MUNJA_Q_WORKERS", "2")


def daytime_zone(now: datetime) -> str:
    """A zone where it is about noon now: the test must not meet the night
    rule, which holds notices until 08:00 (Etc/GMT-N is UTC+N)."""
    offset = 12 - now.astimezone(UTC).hour
    if offset > 12:
        offset -= 24
    return f"Etc/GMT{-offset:+d}" if offset else "Etc/UTC"


def _progress() -> int:
    """Notices handed over plus messages handed to the carrier (0 … 2 × NOTICES)."""
    handed = Notice.objects.exclude(state=Notice.State.DUE).count()
    sent = (
        OutboxStats.objects.filter(outbox__producer_kind=PRODUCER).aggregate(n=Sum("sent"))["n"]
        or 0
    )
    return handed + sent


def _open_notices() -> int:
    sync_outcomes()
    return Notice.objects.exclude(state__in=[Notice.State.DELIVERED, Notice.State.FAILED]).count()


@pytest.mark.processes
def test_a_days_notices_survive_sigkills_without_losing_or_repeating_one(qcluster, sandbox_carrier):
    from django_q.tasks import async_task

    sandbox_carrier.configure(throttle_rate=0.05, retry_after=1)
    gateway = Gateway.objects.create(
        name="Fault carrier", backend="sandbox", config={}, messages_per_second=100_000
    )
    project = sending_project("Consenting", gateway=gateway, rate=10_000_000)
    now = datetime.now(UTC)
    add_customers(project, NOTICES, promotional_consent=False, time_zone=daytime_zone(now))
    changed = now - timedelta(days=2)
    customers = list(Customer.objects.filter(project=project))
    do_record_consent_changes(
        project,
        [ConsentFlagChange(c, "promotional_consent", False, True, changed) for c in customers],
        Source.TRACK,
        "",
        changed,
    )
    notices = Notice.objects.filter(project=project)
    assert notices.filter(state=Notice.State.DUE, due_at__lte=now).count() == NOTICES

    started = time.monotonic()
    async_task("consent.tasks.send_notices")
    rng = random.Random(14)
    progress_at_kill = []
    for k in range(KILLS):
        mark = int(2 * NOTICES * (k + rng.uniform(0.2, 0.8)) / (KILLS + 1))
        wait_until(
            lambda mark=mark: _progress() >= mark,
            timeout=BACKOFF_MAX_SECONDS + 120,
            interval=0.02,
            what=lambda mark=mark: f"progress {mark} (so far {_progress()})",
        )
        progress_at_kill.append(_progress())
        qcluster.restart(crash=True)
    # The kills must land mid-way, in the hand-over and in the sending.
    assert progress_at_kill[0] < NOTICES, progress_at_kill
    assert progress_at_kill[-1] > NOTICES and progress_at_kill[-1] < 2 * NOTICES

    wait_until(
        lambda: _open_notices() == 0,
        timeout=BACKOFF_MAX_SECONDS + 180,
        interval=0.5,
        what=lambda: (
            f"every notice final; {_open_notices()} open: "
            f"{Counter(notices.values_list('state', flat=True))}; "
            f"qcluster log tail:\n{qcluster.process.output()[-3000:]}"
        ),
    )

    # Each notice went to one outbox, as one message, and reached the carrier once.
    messages = Message.objects.filter(outbox__producer_kind=PRODUCER)
    keys = Counter(messages.values_list("dedupe_key", flat=True))
    expected = {
        notice_key(pk): outbox_id for pk, outbox_id in notices.values_list("pk", "outbox_id")
    }
    assert set(keys) == set(expected) and max(keys.values()) == 1
    entries = sandbox_carrier.messages()
    first_time = Counter(parse_reference(e["reference"])[1] for e in entries if not e["repeat"])
    assert {key: n for key, n in first_time.items() if n > 1} == {}
    assert set(first_time) == set(expected)
    references = {message_reference(o, key) for key, o in expected.items()}
    assert all(e["reference"] in references for e in entries)
    print(
        f"{NOTICES} notices, kills at progress {progress_at_kill} of {2 * NOTICES}: "
        f"{time.monotonic() - started:.1f} s"
    )
