"""The upgrade that gave the send core its own app keeps every row (issue 11
§6): a campaign in flight across the migration — messages sent, claimed by
a worker that died with the old code, and still queued — loses nothing and
sends nothing twice afterwards; its counters, buckets and the django-q
schedules naming moved task paths come along."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone
from django_q.models import Schedule

from campaigns.models import Campaign
from channels.gateways import console as console_backend
from channels.models import Gateway
from dispatch import pipeline
from dispatch import tasks as dispatch_tasks
from dispatch.models import Message, Outbox, OutboxStats, SendBucket, message_reference
from tests.support.campaigns import phone, sending_project

BEFORE = [
    ("campaigns", "0005_message_no_redundant_indexes"),
    ("stats", "0001_stats_send_buckets"),
    ("dispatch", None),
]
MINUTE = datetime(2026, 3, 2, 3, 0, tzinfo=UTC)


def _migrate(targets) -> MigrationExecutor:
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets or executor.loader.graph.leaf_nodes())
    return executor


def _old_campaign(apps, project) -> tuple[int, list[int]]:
    """With the old models: a sending campaign of 8 recipients, 3 sent, 2
    claimed by a dead worker, 3 queued; its counters and one bucket."""
    OldCampaign = apps.get_model("campaigns", "Campaign")
    OldStats = apps.get_model("campaigns", "CampaignStats")
    OldMessage = apps.get_model("campaigns", "Message")
    OldBucket = apps.get_model("stats", "SendBucket")
    sender = project.sender_numbers.get()
    campaign = OldCampaign.objects.create(
        project_id=project.pk,
        name="In flight",
        status="sending",
        body="안녕",
        sender_number_id=sender.pk,
        started_at=timezone.now(),
        materialised_at=timezone.now(),
        heartbeat_at=timezone.now(),
    )
    dead = f"999999999:{pipeline._host_tag()}:deadbeef"
    ids = []
    for i in range(8):
        status, token, sent_at = "queued", "", None
        if i < 3:
            status, sent_at = "sent", MINUTE
        elif i < 5:
            status, token = "sending", dead
        message = OldMessage.objects.create(
            campaign_id=campaign.pk,
            project_id=project.pk,
            phone_number=phone(i),
            body="안녕",
            status=status,
            claim_token=token,
            claimed_at=timezone.now() if token else None,
            attempts=1 if status != "queued" else 0,
            sent_at=sent_at,
            provider_message_id=f"p-{i}" if sent_at else "",
        )
        ids.append(message.pk)
    OldStats.objects.create(campaign_id=campaign.pk, recipients=8, queued=5, sent=3)
    OldBucket.objects.create(campaign_id=campaign.pk, minute=MINUTE, sent=3)
    return campaign.pk, ids


@pytest.mark.django_db(transaction=True)
def test_a_campaign_in_flight_across_the_upgrade_loses_and_repeats_nothing():
    console_backend.outbox.clear()
    gateway = Gateway.objects.create(name="Test console", backend="console")
    project = sending_project("Upgrade", gateway=gateway)
    try:
        executor = _migrate(BEFORE)
        old_apps = executor.loader.project_state(BEFORE[:2]).apps
        campaign_id, ids = _old_campaign(old_apps, project)
        Schedule.objects.create(
            func="campaigns.tasks.send_campaign",
            args=f"({campaign_id}, 0)",
            name=f"campaign-send-{campaign_id}-0-1",
            schedule_type=Schedule.ONCE,
            next_run=timezone.now(),
        )
    finally:
        _migrate(None)

    campaign = Campaign.objects.get(pk=campaign_id)
    outbox = Outbox.objects.get(pk=campaign.outbox_id)
    # The outbox has the campaign's id: references of messages in flight stay.
    assert outbox.pk == campaign_id
    assert (outbox.status, outbox.producer_kind) == (Outbox.Status.OPEN, "campaign")
    assert outbox.sealed_at is not None
    messages = list(Message.objects.filter(outbox=outbox).order_by("id"))
    assert [m.pk for m in messages] == ids
    assert [m.status for m in messages] == ["sent"] * 3 + ["sending"] * 2 + ["queued"] * 3
    assert [m.reference for m in messages] == [f"c{campaign_id}-{phone(i)[1:]}" for i in range(8)]
    stats = OutboxStats.objects.get(pk=outbox.pk)
    assert (stats.recipients, stats.queued, stats.sent) == (8, 5, 3)
    assert list(
        SendBucket.objects.filter(outbox=outbox).values_list("second", "width", "sent")
    ) == [(MINUTE, 60, 3)]
    assert not Schedule.objects.filter(func="campaigns.tasks.send_campaign").exists()
    assert Schedule.objects.filter(
        func="dispatch.tasks.send_outbox", args=f"({campaign_id}, 0)"
    ).exists()
    assert Schedule.objects.filter(func="dispatch.tasks.reconcile_outboxes").exists()

    # The new code picks it up: the dead worker's claims are released, the
    # rest goes once, the sent ones never again, and the campaign completes.
    assert dispatch_tasks.send_outbox(outbox.pk, 0) == "closed"
    sent_now = sorted(sms.reference for sms in console_backend.outbox)
    assert sent_now == sorted(message_reference(outbox.pk, phone(i)[1:]) for i in range(3, 8))
    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.COMPLETED
    stats.refresh_from_db()
    assert (stats.sent, stats.queued) == (8, 0)
    console_backend.outbox.clear()


@pytest.mark.django_db(transaction=True)
def test_a_campaign_created_after_the_upgrade_gets_an_outbox_of_its_own():
    project = sending_project("After")
    first = Campaign.objects.create(project=project, name="One")
    second = Campaign.objects.create(project=project, name="Two")
    assert first.outbox_id != second.outbox_id
    assert Outbox.objects.get(pk=second.outbox_id).producer_id == str(second.pk)
    assert OutboxStats.objects.filter(pk=second.outbox_id).exists()


# --- test SMS into the send core (channels 0008) ----------------------------------------

BEFORE_TEST_OUTBOXES = [("channels", "0007_verbose_names_for_the_admin")]
TEST_MOVE = "channels.tasks.send_test_sms"


def _old_test_messages(apps, project) -> dict[str, object]:
    """With the old model: one test message in each status the old pipeline knew."""
    TestMessage = apps.get_model("channels", "ChannelTestMessage")
    sender = project.sender_numbers.get()
    rows = {}
    for name, status, attempts in [
        ("delivered", "delivered", 1),
        ("failed", "failed", 1),
        ("sent", "sent", 1),
        ("fresh", "queued", 0),
        ("retrying", "queued", 1),
        ("in flight", "sending", 1),
    ]:
        row = TestMessage.objects.create(
            project_id=project.pk,
            sender_number_id=sender.pk,
            to=f"+8210999900{len(rows):02d}",
            body=f"test {name}",
            status=status,
            attempts=attempts,
            sent_at=MINUTE if status in ("delivered", "failed", "sent") else None,
            delivered_at=MINUTE if status == "delivered" else None,
            provider_message_id="p-1" if status != "queued" else "",
            error_code="undeliverable" if status == "failed" else "",
            status_reason="The handset is off." if status == "failed" else "",
        )
        rows[name] = row
    return rows


@pytest.mark.django_db(transaction=True)
def test_test_messages_move_into_the_test_outbox_and_their_own_pipeline_goes():
    from campaigns.test_sends import TEST_PRODUCER, find_test_send, recent_test_sends

    console_backend.outbox.clear()
    gateway = Gateway.objects.create(name="Test console", backend="console")
    project = sending_project("Upgrade", gateway=gateway)
    try:
        executor = _migrate(BEFORE_TEST_OUTBOXES)
        old_apps = executor.loader.project_state(BEFORE_TEST_OUTBOXES).apps
        rows = _old_test_messages(old_apps, project)
        Schedule.objects.create(
            func=TEST_MOVE,
            args=f"('{rows['retrying'].pk}',)",
            schedule_type=Schedule.ONCE,
            next_run=timezone.now(),
        )
        assert Schedule.objects.filter(name="channels.reconcile_test_messages").exists()
    finally:
        _migrate(None)

    outbox = Outbox.objects.get(project=project, producer_kind=TEST_PRODUCER)
    assert outbox.status == Outbox.Status.OPEN and outbox.sealed_at is None
    assert not outbox.counts_towards_cap and not outbox.is_promotional
    messages = {m.body.removeprefix("test "): m for m in Message.objects.filter(outbox=outbox)}
    assert {name: m.status for name, m in messages.items()} == {
        "delivered": "delivered",
        "failed": "failed",
        "sent": "sent",
        "fresh": "queued",
        # Both may have reached the carrier under the old reference.
        "retrying": "failed",
        "in flight": "failed",
    }
    assert messages["in flight"].error_code == "interrupted"
    assert (messages["failed"].error_code, messages["failed"].error_message) == (
        "undeliverable",
        "The handset is off.",
    )
    delivered = find_test_send(project, messages["delivered"].pk)
    assert delivered.created_at.date() == rows["delivered"].created_at.date()
    assert [t.id for t in recent_test_sends(project, 10)] == sorted(
        (m.pk for m in messages.values()), reverse=True
    )
    stats = OutboxStats.objects.get(pk=outbox.pk)
    assert (stats.recipients, stats.queued, stats.sent, stats.delivered, stats.failed) == (
        6,
        1,
        3,  # delivered, sent, and the one that failed by report
        1,
        3,
    )
    assert not Schedule.objects.filter(func=TEST_MOVE).exists()
    assert not Schedule.objects.filter(name="channels.reconcile_test_messages").exists()

    # The one that never left goes now, through the core, once.
    pipeline.send_batch(outbox.pk)
    assert [sms.reference for sms in console_backend.outbox] == [messages["fresh"].reference]
    console_backend.outbox.clear()
