"""Test SMS move into the send core: every `ChannelTestMessage` becomes a
message of its project's test outbox, and the table, its send task's pending
retries and its every-minute reconciler go.

Chosen over keeping the table read-only: the Channels page and the compose
screen read test results from one place (messages of test outboxes), and no
second model of a sent SMS lingers.

- One test outbox per (project, sender number), as `campaigns.test_sends`
  makes them: producer "test", informational, not counted towards the
  frequency cap, open and never sealed; its counters count the moved rows.
- A message's dedupe key is the row's creation time in microseconds and the
  first 8 hex digits of its id (the producer's key shape), so the page still
  shows when the test was sent, and rows keep their order.
- Delivered, failed and sent rows keep their status, provider id, times,
  error code and reason (a report that arrives later for a sent row names
  the old `t-<uuid>` reference and changes nothing: it stays sent).
- A queued row that never reached a gateway (no attempt) stays queued: the
  core sends it. A row in flight — `sending`, or queued for a retry after a
  failed attempt — may have reached the carrier under its old reference,
  which the new one does not repeat: it fails with code `interrupted`
  rather than risk a second SMS.
- Who sent a test stays in its audit entry (`test_sms.sent`); the message
  row does not carry the user.

Backwards, test messages become rows again (a skipped one as failed) and the
test outboxes go.
"""

import uuid
from datetime import UTC, datetime

from django.db import migrations
from django.utils import timezone

RECONCILER = "channels.reconcile_test_messages"
SEND_TASK = "channels.tasks.send_test_sms"
SMS_MAX_BYTES = 90
INTERRUPTED = "Interrupted by the upgrade while it was being sent; send the test again."


def _key(created_at, message_id):
    micros = int(created_at.timestamp() * 1_000_000)
    return f"{micros}-{message_id.hex[:8]}"


def _size(body):
    return len(body.encode("cp949", errors="replace"))


def forward(apps, schema_editor):
    TestMessage = apps.get_model("channels", "ChannelTestMessage")
    Outbox = apps.get_model("dispatch", "Outbox")
    OutboxStats = apps.get_model("dispatch", "OutboxStats")
    Message = apps.get_model("dispatch", "Message")
    Schedule = apps.get_model("django_q", "Schedule")

    outboxes = {}
    counts = {}
    for row in TestMessage.objects.order_by("created_at", "id").iterator():
        group = (row.project_id, row.sender_number_id)
        if group not in outboxes:
            outbox = Outbox.objects.create(
                project_id=row.project_id,
                sender_number_id=row.sender_number_id,
                is_promotional=False,
                frequency_cap=0,
                counts_towards_cap=False,
                status="open",
                producer_kind="test",
                producer_id=str(row.sender_number_id),
            )
            outboxes[group] = outbox.pk
            counts[outbox.pk] = dict.fromkeys(
                ("recipients", "queued", "sent", "sent_lms", "delivered", "failed"), 0
            )
        outbox_id = outboxes[group]
        status, code, reason = row.status, row.error_code, row.status_reason
        if status == "sending" or (status == "queued" and row.attempts):
            status, code, reason = "failed", "interrupted", INTERRUPTED
        size = _size(row.body)
        kind = "SMS" if size <= SMS_MAX_BYTES else "LMS"
        Message.objects.create(
            outbox_id=outbox_id,
            dedupe_key=_key(row.created_at, row.id),
            project_id=row.project_id,
            phone_number=row.to,
            body=row.body,
            title=row.title if kind == "LMS" else "",
            kind=kind,
            bytes=size,
            status=status,
            provider_message_id=row.provider_message_id,
            attempts=row.attempts,
            sent_at=row.sent_at,
            delivered_at=row.delivered_at,
            error_code=(code if status == "failed" else "")[:50],
            error_message=(reason if status in ("failed", "queued") else "")[:255],
        )
        total = counts[outbox_id]
        total["recipients"] += 1
        went = status in ("sent", "delivered") or (status == "failed" and row.sent_at)
        total["queued"] += status == "queued"
        total["sent"] += bool(went)
        total["sent_lms"] += bool(went) and kind == "LMS"
        total["delivered"] += status == "delivered"
        total["failed"] += status == "failed"
    for outbox_id, total in counts.items():
        OutboxStats.objects.create(outbox_id=outbox_id, **total)

    Schedule.objects.filter(name=RECONCILER).delete()
    Schedule.objects.filter(func=SEND_TASK).delete()


def backward(apps, schema_editor):
    TestMessage = apps.get_model("channels", "ChannelTestMessage")
    Outbox = apps.get_model("dispatch", "Outbox")
    Message = apps.get_model("dispatch", "Message")
    Schedule = apps.get_model("django_q", "Schedule")

    tests = Outbox.objects.filter(producer_kind="test")
    for message in Message.objects.filter(outbox__in=tests).select_related("outbox"):
        head = message.dedupe_key.partition("-")[0]
        created = (
            datetime.fromtimestamp(int(head) / 1_000_000, tz=UTC)
            if head.isdigit()
            else timezone.now()
        )
        status = "failed" if message.status == "skipped" else message.status
        row = TestMessage.objects.create(
            id=uuid.uuid4(),
            project_id=message.project_id,
            sender_number_id=message.outbox.sender_number_id,
            to=message.phone_number,
            body=message.body,
            title=message.title,
            status=status,
            status_reason=message.error_message or message.skip_reason,
            provider_message_id=message.provider_message_id,
            error_code=message.error_code or message.skip_reason,
            attempts=message.attempts,
            sent_at=message.sent_at,
            delivered_at=message.delivered_at,
        )
        # auto_now_add: the original time is set after the insert.
        TestMessage.objects.filter(pk=row.pk).update(created_at=created)
    tests.delete()
    Schedule.objects.update_or_create(
        name=RECONCILER,
        defaults={
            "func": "channels.tasks.reconcile_test_messages",
            "schedule_type": "I",
            "minutes": 1,
            "repeats": -1,
            "next_run": timezone.now(),
        },
    )


class Migration(migrations.Migration):
    dependencies = [
        ("channels", "0007_verbose_names_for_the_admin"),
        ("dispatch", "0003_verbose_names_for_the_admin"),
        ("django_q", "0019_alter_task_options_alter_ormq_key_alter_ormq_lock_and_more"),
    ]

    operations = [
        migrations.RunPython(forward, backward),
        migrations.DeleteModel(name="ChannelTestMessage"),
    ]
