"""Delivery reports applied a batch at a time by the send core: one UPDATE
for the rows, counters once per outbox, forward only, and a report that
overtakes the sender's own "sent" mark counts the message as sent."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.db.models import Sum

from campaigns.models import Campaign
from channels.delivery import handle_delivery_reports
from channels.gateways.base import DeliveryReport
from dispatch import pipeline
from dispatch.models import Message, OutboxStats, SendBucket, message_reference
from tests.support.campaigns import materialised_campaign, phone

S = Message.Status
AT = datetime(2026, 3, 2, 3, 0, 30, tzinfo=UTC)
COUNT = 1_250  # more than one statement's worth of rows


@pytest.fixture
def campaign(db):
    return materialised_campaign(COUNT)


def report(campaign: Campaign, i: int, status: str = "delivered") -> DeliveryReport:
    return DeliveryReport(
        "sandbox",
        f"p-{i}",
        message_reference(campaign.outbox_id, phone(i)[1:]),
        status,
        "" if status == "delivered" else "undeliverable",
        occurred_at=AT,
    )


def test_a_batch_of_reports_moves_every_sent_message_and_counts_once(campaign):
    messages = Message.objects.filter(outbox_id=campaign.outbox_id)
    messages.update(status=S.SENT, sent_at=AT)
    OutboxStats.objects.filter(pk=campaign.outbox_id).update(sent=COUNT, queued=0)
    batch = [report(campaign, i, "failed" if i % 10 == 0 else "delivered") for i in range(COUNT)]
    assert handle_delivery_reports(batch) == COUNT
    assert messages.filter(status=S.DELIVERED).count() == COUNT - COUNT // 10
    assert messages.filter(status=S.FAILED, error_code="undeliverable").count() == COUNT // 10
    assert messages.filter(status=S.DELIVERED, provider_message_id="p-1").exists()
    stats = OutboxStats.objects.get(pk=campaign.outbox_id)
    assert (stats.sent, stats.delivered, stats.failed) == (COUNT, COUNT - COUNT // 10, COUNT // 10)
    buckets = SendBucket.objects.filter(outbox_id=campaign.outbox_id).aggregate(
        d=Sum("delivered"), f=Sum("failed")
    )
    assert (buckets["d"], buckets["f"]) == (COUNT - COUNT // 10, COUNT // 10)
    # The same batch again, or late failures: nothing moves back, nothing counts twice.
    assert handle_delivery_reports(batch) == 0
    assert handle_delivery_reports([report(campaign, i, "failed") for i in range(5)]) == 0
    stats.refresh_from_db()
    assert (stats.delivered, stats.failed) == (COUNT - COUNT // 10, COUNT // 10)


def test_a_report_that_overtakes_the_senders_mark_counts_as_sent_and_wins(campaign):
    token = pipeline.claim(campaign.outbox_id, 3, "me", AT)
    claimed = list(
        Message.objects.filter(claim_token=token).order_by("id").values_list("phone_number", "id")
    )
    assert len(claimed) == 3
    first = int(claimed[0][0][-8:]) - 10000000
    # The carrier's report for the first arrives before the sender marks the batch.
    assert handle_delivery_reports([report(campaign, first)]) == 1
    marked = pipeline._mark_sent([(pk, "p") for _phone, pk in claimed], token, AT)
    assert marked == 2  # the overtaken one stays delivered
    assert Message.objects.get(pk=claimed[0][1]).status == S.DELIVERED
    stats = OutboxStats.objects.get(pk=campaign.outbox_id)
    assert (stats.sent, stats.delivered, stats.queued) == (1, 1, COUNT - 1)


def test_reports_for_unknown_references_or_outboxes_change_nothing(campaign):
    unknown = [
        DeliveryReport("sandbox", "x", "c999999-821000", "delivered"),
        DeliveryReport("sandbox", "x", "not-ours", "delivered"),
        DeliveryReport("sandbox", "x", f"c{campaign.outbox_id}-0000", "delivered"),
    ]
    assert handle_delivery_reports(unknown) == 0
    assert not Message.objects.exclude(status=S.QUEUED).exists()
