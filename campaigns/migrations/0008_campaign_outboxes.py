"""Campaigns become producers of the send core: every campaign gets an outbox
(with the campaign's id, so the gateway references of messages in flight,
`c<campaign>-<digits>`, stay the same), its messages move into the outbox
(dedupe key: the E.164 digits), its counters and per-minute buckets are
copied to the outbox's, and the message and sending-policy tables pass to
the dispatch app (state only: the tables keep their names and rows).

Nothing is lost or sent twice: the rows keep their ids, statuses, claim
tokens and attempts; a stale claim is released by the core's reconciler
with the same reference as before."""

import django.db.models.deletion
from django.core.management.color import no_style
from django.db import migrations, models

OUTBOX_STATUS = {
    "draft": "paused",
    "scheduled": "paused",
    "sending": "open",
    "paused": "paused",
    "completed": "closed",
    "cancelled": "closed",
}
STATS_FIELDS = [
    "recipients", "queued", "sent", "delivered", "failed", "held_night_time",
    "skipped_opted_out", "skipped_frequency_cap", "skipped_invalid_number",
    "skipped_unapproved_sender", "skipped_cancelled", "skipped_render_error",
    "skipped_no_consent", "sent_lms", "clicks", "clicked_recipients", "optouts_after_send",
]


def fill_outboxes(apps, schema_editor):
    connection = schema_editor.connection
    if connection.vendor == "postgresql":
        # The UPDATEs below would otherwise leave FK trigger events pending,
        # and PostgreSQL refuses the ALTER TABLEs that follow.
        schema_editor.execute("SET CONSTRAINTS ALL IMMEDIATE")
    Campaign = apps.get_model("campaigns", "Campaign")
    CampaignStats = apps.get_model("campaigns", "CampaignStats")
    Outbox = apps.get_model("dispatch", "Outbox")
    OutboxStats = apps.get_model("dispatch", "OutboxStats")
    Message = apps.get_model("campaigns", "Message")
    outboxes = [
        Outbox(
            id=c.id,
            project_id=c.project_id,
            sender_number_id=c.sender_number_id,
            is_promotional=c.is_promotional,
            frequency_cap=c.frequency_cap,
            status=OUTBOX_STATUS.get(c.status, "closed"),
            status_reason=c.status_reason if c.status == "paused" else "",
            sealed_at=c.materialised_at,
            producer_kind="campaign",
            producer_id=str(c.id),
        )
        for c in Campaign.objects.all().iterator()
    ]
    Outbox.objects.bulk_create(outboxes, batch_size=500)
    Campaign.objects.update(outbox_id=models.F("id"))
    OutboxStats.objects.bulk_create(
        [
            OutboxStats(outbox_id=s.campaign_id, **{f: getattr(s, f) for f in STATS_FIELDS})
            for s in CampaignStats.objects.all().iterator()
        ],
        batch_size=500,
    )
    # Any campaign without counters gets empty ones.
    missing = Outbox.objects.filter(stats__isnull=True).values_list("id", flat=True)
    OutboxStats.objects.bulk_create([OutboxStats(outbox_id=i) for i in missing], batch_size=500)
    # Messages without a campaign (none are written today) get one closed
    # outbox per project, so none is dropped.
    for project_id in (
        Message.objects.filter(campaign__isnull=True).values_list("project_id", flat=True).distinct()
    ):
        legacy = Outbox.objects.create(
            project_id=project_id, status="closed", producer_kind="legacy", sealed_at=None
        )
        OutboxStats.objects.create(outbox=legacy)
        Message.objects.filter(campaign__isnull=True, project_id=project_id).update(
            campaign_id=None, outbox_id=legacy.pk
        )
    table = Message._meta.db_table
    schema_editor.execute(
        f"UPDATE {table} SET outbox_id = campaign_id, dedupe_key = CASE "
        "WHEN phone_number LIKE '+%%' THEN substr(phone_number, 2) "
        "ELSE 'invalid:' || phone_number END WHERE campaign_id IS NOT NULL"
        if connection.vendor == "postgresql"
        else f"UPDATE {table} SET outbox_id = campaign_id, dedupe_key = CASE "
        "WHEN phone_number LIKE '+%' THEN substr(phone_number, 2) "
        "ELSE 'invalid:' || phone_number END WHERE campaign_id IS NOT NULL"
    )
    schema_editor.execute(
        "INSERT INTO dispatch_sendbucket (outbox_id, minute, sent, delivered, failed) "
        "SELECT campaign_id, minute, sent, delivered, failed FROM stats_sendbucket"
    )
    for sql in connection.ops.sequence_reset_sql(no_style(), [Outbox]):
        schema_editor.execute(sql)


class Migration(migrations.Migration):
    dependencies = [
        ("campaigns", "0007_campaign_archived_at"),
        ("conversions", "0002_conversions_attribution_clicks"),
        ("dispatch", "0001_send_core"),
        ("stats", "0001_stats_send_buckets"),
    ]

    operations = [
        migrations.AddField(
            model_name="campaign",
            name="outbox",
            field=models.OneToOneField(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to="dispatch.outbox",
            ),
        ),
        migrations.AddField(
            model_name="message",
            name="outbox",
            field=models.ForeignKey(
                null=True,
                db_index=False,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="messages",
                to="dispatch.outbox",
            ),
        ),
        migrations.AddField(
            model_name="message",
            name="dedupe_key",
            field=models.CharField(default="", max_length=64),
            preserve_default=False,
        ),
        migrations.RunPython(fill_outboxes, migrations.RunPython.noop),
        # conversions' index on (customer_id, campaign_id) gives way to the
        # message model's own (customer_id, outbox_id).
        migrations.RunSQL(
            "DROP INDEX IF EXISTS message_customer_campaign", migrations.RunSQL.noop
        ),
        migrations.RemoveConstraint(model_name="message", name="one_message_per_recipient"),
        migrations.RemoveIndex(model_name="message", name="message_claim"),
        migrations.RemoveField(model_name="message", name="campaign"),
        migrations.AlterField(
            model_name="message",
            name="outbox",
            field=models.ForeignKey(
                db_index=False,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="messages",
                to="dispatch.outbox",
            ),
        ),
        migrations.AddIndex(
            model_name="message",
            index=models.Index(fields=["outbox", "status", "id"], name="message_claim"),
        ),
        migrations.AddIndex(
            model_name="message",
            index=models.Index(fields=["customer_id", "outbox"], name="message_customer_outbox"),
        ),
        migrations.AddConstraint(
            model_name="message",
            constraint=models.UniqueConstraint(
                fields=("outbox", "dedupe_key"), name="one_message_per_dedupe_key"
            ),
        ),
        migrations.DeleteModel(name="CampaignStats"),
        migrations.DeleteModel(name="DispatchSlot"),
        migrations.DeleteModel(name="RateWindow"),
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.DeleteModel(name="Message"),
                migrations.DeleteModel(name="SendingPolicy"),
            ]
        ),
    ]
