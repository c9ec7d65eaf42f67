"""Nothing is lost while the receiver is down: 1,000 opt-out changes across
100 numbers are published while a real local receiver refuses connections and
then answers 500s; once it answers 200, all 1,000 arrive, signed, in order per
number, each change under exactly one requestId.

Delivery is driven by the real triggers (each committed transaction starts a
run; tasks run inline in tests) and, after the receiver recovers, by calling
the task as the retry schedule would. Backoff is compressed via settings."""

from __future__ import annotations

import random
from collections import defaultdict

import pytest
from django.db import transaction

from console.lib.signing import verify
from tests.support.processes import make_project, wait_until
from webhooks import delivery, tasks
from webhooks.actions import do_register_webhook
from webhooks.events import publish
from webhooks.models import WebhookAttempt, WebhookEvent

NUMBERS = [f"+82105000{i:04d}" for i in range(100)]
CHANGES_PER_NUMBER = 10
PER_TRANSACTION = 5


def publish_changes(
    project, plan: list[str], published: dict[str, list[str]], subscribed: dict[str, bool]
) -> None:
    for start in range(0, len(plan), PER_TRANSACTION):
        with transaction.atomic():
            for number in plan[start : start + PER_TRANSACTION]:
                subscribed[number] = not subscribed[number]
                event = publish(
                    project,
                    "ReportSMSUnsubscribed",
                    {"phoneNumber": number, "subscribed": subscribed[number]},
                    ordering_key=number,
                )
                published[number].append(str(event.request_id))


def pending() -> int:
    return WebhookEvent.objects.filter(status=WebhookEvent.Status.PENDING).count()


@pytest.mark.django_db(transaction=True)
def test_a_receiver_that_is_down_then_failing_loses_no_event(receiver, settings, monkeypatch):
    settings.WEBHOOK_BACKOFF_SECONDS = 0.02
    monkeypatch.setattr(delivery, "BACKOFF_CAP_SECONDS", 0.3)
    project = make_project("Acme")
    endpoint = do_register_webhook(project, receiver.url, None)
    plan = [number for number in NUMBERS for _ in range(CHANGES_PER_NUMBER)]
    random.Random(5).shuffle(plan)
    published: dict[str, list[str]] = defaultdict(list)
    subscribed = dict.fromkeys(NUMBERS, True)

    receiver.stop()  # connection refused
    publish_changes(project, plan[:500], published, subscribed)
    receiver.start()
    receiver.answer(500)
    publish_changes(project, plan[500:], published, subscribed)
    tasks.deliver_webhook_events()

    assert pending() == 1000
    assert receiver.accepted() == []
    refused = WebhookAttempt.objects.filter(status_code__isnull=True, error_code="connect_failed")
    assert refused.exists()
    assert WebhookAttempt.objects.filter(status_code=500).exists()

    receiver.answer(200)

    def drained() -> bool:
        tasks.deliver_webhook_events()
        return pending() == 0

    wait_until(
        drained,
        timeout=120,
        interval=0.05,
        what=lambda: f"all events delivered ({pending()} still pending)",
    )

    # Every request — failed ones too — was validly signed and named by its
    # requestId.
    for got in receiver.received:
        assert verify(endpoint.secret, got.headers, got.body)
        assert got.headers["webhook-id"] == got.payload["requestId"]
    accepted = receiver.accepted()
    first_arrival: dict[str, int] = {}
    for position, got in enumerate(accepted):
        first_arrival.setdefault(got.payload["requestId"], position)
    repeats = len(accepted) - len(first_arrival)
    print(f"{len(accepted)} accepted deliveries, {repeats} repeats of a requestId")

    # All 1,000 arrived, each change under exactly one requestId.
    all_ids = {rid for ids in published.values() for rid in ids}
    assert len(all_ids) == 1000
    assert set(first_arrival) == all_ids
    assert repeats == 0
    # In order per number, with the data of each change.
    by_number: dict[str, list[str]] = defaultdict(list)
    for position, got in enumerate(accepted):
        if first_arrival[got.payload["requestId"]] == position:
            by_number[got.payload["data"]["phoneNumber"]].append(got.payload["requestId"])
    assert by_number == published
    for number in NUMBERS:
        states = [
            g.payload["data"]["subscribed"]
            for g in accepted
            if g.payload["data"]["phoneNumber"] == number
        ]
        assert states == [False, True] * (CHANGES_PER_NUMBER // 2)
    assert WebhookEvent.objects.filter(status=WebhookEvent.Status.DELIVERED).count() == 1000


@pytest.mark.django_db(transaction=True)
def test_a_real_qcluster_delivers_what_commits_trigger_in_order(qcluster, receiver, settings):
    """The on-commit trigger through django-q2's ORM broker to a separate
    worker process with two workers, racing for the same events."""
    project = make_project("Acme")
    endpoint = do_register_webhook(project, receiver.url, None)
    numbers = NUMBERS[:5]
    plan = [number for number in numbers for _ in range(6)]
    random.Random(7).shuffle(plan)
    published: dict[str, list[str]] = defaultdict(list)
    subscribed = dict.fromkeys(numbers, True)
    for number in plan:  # one transaction (and one trigger) per change
        publish_changes(project, [number], published, subscribed)

    wait_until(
        lambda: pending() == 0,
        timeout=60,
        what=lambda: f"the cluster to deliver ({pending()} pending):\n{qcluster.process.output()}",
    )
    accepted = receiver.accepted()
    for got in accepted:
        assert verify(endpoint.secret, got.headers, got.body)
    seen: dict[str, list[str]] = defaultdict(list)
    for got in accepted:
        ids = seen[got.payload["data"]["phoneNumber"]]
        if got.payload["requestId"] not in ids:
            ids.append(got.payload["requestId"])
    assert seen == published
