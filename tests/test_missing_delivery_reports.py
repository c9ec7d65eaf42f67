"""A message the gateway accepted whose delivery report never comes ends as
failed (`no_report`) once the report window has passed, as Korean providers
count one after 72 hours: the outbox's counters follow, a late report
changes nothing, and the sweep looks only at outboxes that can still hold
such a message (dispatch.reports.expire_missing_reports, run by the minute's
outbox reconciler)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from channels.delivery import handle_delivery_reports
from channels.gateways.base import DeliveryReport
from dispatch import reports
from dispatch import tasks as dispatch_tasks
from dispatch.models import Message, Outbox, OutboxStats, message_reference
from tests.support.campaigns import materialised_campaign, segment_campaign, sending_project

S = Message.Status
COUNT = 1_100  # more than one statement's worth of rows
WINDOW = timedelta(hours=72)


@pytest.fixture
def outbox(db):
    """A campaign's outbox, created four days ago, every message sent."""
    campaign = materialised_campaign(COUNT)
    Outbox.objects.filter(pk=campaign.outbox_id).update(
        created_at=timezone.now() - timedelta(days=4)
    )
    Message.objects.filter(outbox_id=campaign.outbox_id).update(
        status=S.SENT, sent_at=timezone.now() - timedelta(days=4)
    )
    OutboxStats.objects.filter(pk=campaign.outbox_id).update(sent=COUNT, queued=0)
    return Outbox.objects.get(pk=campaign.outbox_id)


def _stats(outbox: Outbox) -> tuple[int, int, int]:
    stats = OutboxStats.objects.get(pk=outbox.pk)
    return stats.sent, stats.delivered, stats.failed


def test_a_sent_message_without_a_report_after_the_window_ends_as_failed(outbox):
    messages = Message.objects.filter(outbox=outbox)
    reported = list(messages.order_by("id")[:10])
    recent = list(messages.order_by("id")[10:15])
    handle_delivery_reports(
        DeliveryReport(
            "sandbox", f"p-{m.pk}", message_reference(outbox.pk, m.dedupe_key), "delivered"
        )
        for m in reported
    )
    Message.objects.filter(pk__in=[m.pk for m in recent]).update(
        sent_at=timezone.now() - WINDOW + timedelta(hours=1)
    )

    assert reports.expire_missing_reports() == COUNT - 15

    expired = messages.filter(status=S.FAILED, error_code="no_report")
    assert expired.count() == COUNT - 15
    assert "72" in expired.first().error_message
    assert messages.filter(status=S.DELIVERED).count() == 10
    assert messages.filter(status=S.SENT).count() == 5  # inside the window: still waiting
    assert _stats(outbox) == (COUNT, 10, COUNT - 15)
    # Once is enough; a report that comes after all changes nothing.
    assert reports.expire_missing_reports() == 0
    late = expired.first()
    assert (
        handle_delivery_reports(
            [
                DeliveryReport(
                    "sandbox", "p-late", message_reference(outbox.pk, late.dedupe_key), "delivered"
                )
            ]
        )
        == 0
    )
    assert _stats(outbox) == (COUNT, 10, COUNT - 15)


def test_the_minutes_outbox_reconciler_ends_messages_without_a_report(outbox):
    counts = dispatch_tasks.reconcile_outboxes()
    assert counts["no_report"] == COUNT
    assert not Message.objects.filter(outbox=outbox, status=S.SENT).exists()


def test_the_window_is_a_setting(outbox, settings):
    settings.DISPATCH_REPORT_WINDOW_HOURS = 24 * 5
    assert reports.expire_missing_reports() == 0
    settings.DISPATCH_REPORT_WINDOW_HOURS = 24
    assert reports.expire_missing_reports() == COUNT


@pytest.mark.parametrize(
    ("created_days_ago", "closed_days_ago", "looked_at"),
    [
        (4, None, True),  # open (or paused): may still hold some
        (2, None, False),  # younger than the window: none of its messages can be that old
        (20, 5, True),  # closed five days ago: its last messages may still wait
        (40, 30, False),  # closed long ago: its messages were ended when it was in reach
    ],
)
def test_the_sweep_looks_only_at_outboxes_that_can_still_hold_such_messages(
    outbox, created_days_ago, closed_days_ago, looked_at
):
    now = timezone.now()
    outboxes = Outbox.objects.filter(pk=outbox.pk)
    outboxes.update(created_at=now - timedelta(days=created_days_ago))
    if closed_days_ago is not None:
        outboxes.update(
            status=Outbox.Status.CLOSED, closed_at=now - timedelta(days=closed_days_ago)
        )
    assert reports.expire_missing_reports(now) == (COUNT if looked_at else 0)


def test_closing_an_outbox_records_when(outbox):
    from dispatch.actions import do_close_outbox, do_seal_outbox
    from dispatch.pipeline import close_if_done

    do_seal_outbox(outbox.pk)
    Outbox.objects.filter(pk=outbox.pk).update(status=Outbox.Status.OPEN)
    assert close_if_done(outbox.pk)
    outbox.refresh_from_db()
    assert outbox.status == Outbox.Status.CLOSED
    assert timezone.now() - outbox.closed_at < timedelta(minutes=1)
    Outbox.objects.filter(pk=outbox.pk).update(status=Outbox.Status.OPEN, closed_at=None)
    do_close_outbox(outbox.pk)
    outbox.refresh_from_db()
    assert outbox.closed_at is not None


@pytest.mark.django_db(transaction=True)
def test_outboxes_closed_before_the_upgrade_count_as_closed_at_the_upgrade():
    from django.db import connection
    from django.db.migrations.executor import MigrationExecutor

    before = [("dispatch", "0007_slot_queued_at")]
    project = sending_project("Before closing times")
    campaign = segment_campaign(project, name="Closed long ago")
    open_one = segment_campaign(project, name="Still open")
    Outbox.objects.filter(pk=campaign.outbox_id).update(status=Outbox.Status.CLOSED)
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    try:
        executor.migrate(before)
    finally:
        executor = MigrationExecutor(connection)
        executor.loader.build_graph()
        executor.migrate(executor.loader.graph.leaf_nodes())
    closed = Outbox.objects.get(pk=campaign.outbox_id)
    assert timezone.now() - closed.closed_at < timedelta(minutes=5)
    assert Outbox.objects.get(pk=open_one.outbox_id).closed_at is None
