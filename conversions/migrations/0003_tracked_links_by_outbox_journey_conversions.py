"""Tracked links, clicks and first clicks keyed by the send core's outbox
instead of the campaign (a campaign has exactly one outbox, so every
existing row keeps its meaning: its campaign's outbox), so a journey send
node's messages can carry them too; and journeys' conversions."""

import django.db.models.deletion
from django.db import migrations, models


def outbox_of_campaign(apps, schema_editor):
    Campaign = apps.get_model("campaigns", "Campaign")
    outboxes = dict(Campaign.objects.values_list("pk", "outbox_id"))
    for name in ("TrackedLink", "Click", "FirstClick"):
        model = apps.get_model("conversions", name)
        for campaign_id in set(model.objects.values_list("campaign_id", flat=True)):
            rows = model.objects.filter(campaign_id=campaign_id)
            if outboxes.get(campaign_id) is not None:
                rows.update(outbox_id=outboxes[campaign_id])
            else:
                rows.delete()  # every campaign has had an outbox since campaigns 0008


def campaign_of_outbox(apps, schema_editor):
    Campaign = apps.get_model("campaigns", "Campaign")
    campaigns = dict(Campaign.objects.values_list("outbox_id", "pk"))
    for name in ("TrackedLink", "Click", "FirstClick"):
        model = apps.get_model("conversions", name)
        for outbox_id in set(model.objects.values_list("outbox_id", flat=True)):
            rows = model.objects.filter(outbox_id=outbox_id)
            if outbox_id in campaigns:
                rows.update(campaign_id=campaigns[outbox_id])
            else:
                rows.delete()  # a journey's: no campaign to give it back to


class Migration(migrations.Migration):
    dependencies = [
        ("campaigns", "0009_campaign_field_labels"),
        ("dispatch", "0005_outbox_linger"),
        ("journeys", "0003_segment_members_schedule_occurrences"),
        ("conversions", "0002_conversions_attribution_clicks"),
    ]

    operations = [
        *(
            migrations.AddField(
                model_name=name,
                name="outbox",
                field=models.ForeignKey(
                    null=True,
                    on_delete=django.db.models.deletion.CASCADE,
                    related_name="+",
                    to="dispatch.outbox",
                ),
            )
            for name in ("trackedlink", "click", "firstclick")
        ),
        *(
            migrations.AlterField(
                model_name=name,
                name="campaign",
                field=models.ForeignKey(
                    null=True,
                    on_delete=django.db.models.deletion.CASCADE,
                    related_name="+",
                    to="campaigns.campaign",
                ),
            )
            for name in ("trackedlink", "click", "firstclick")
        ),
        migrations.RunPython(outbox_of_campaign, campaign_of_outbox),
        migrations.RemoveConstraint(model_name="trackedlink", name="one_tracked_link_per_url"),
        migrations.RemoveIndex(model_name="click", name="click_time"),
        *(
            migrations.RemoveField(model_name=name, name="campaign")
            for name in ("trackedlink", "click", "firstclick")
        ),
        *(
            migrations.AlterField(
                model_name=name,
                name="outbox",
                field=models.ForeignKey(
                    on_delete=django.db.models.deletion.CASCADE,
                    related_name="+",
                    to="dispatch.outbox",
                ),
            )
            for name in ("trackedlink", "click", "firstclick")
        ),
        migrations.AddConstraint(
            model_name="trackedlink",
            constraint=models.UniqueConstraint(
                fields=("outbox", "url"), name="one_tracked_link_per_outbox_url"
            ),
        ),
        migrations.AddIndex(
            model_name="click",
            index=models.Index(fields=["outbox", "clicked_at"], name="click_outbox_time"),
        ),
        migrations.CreateModel(
            name="JourneyConversion",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("node", models.CharField(max_length=64)),
                ("run_id", models.BigIntegerField()),
                ("customer_id", models.BigIntegerField()),
                ("message_id", models.BigIntegerField()),
                ("event_id", models.BigIntegerField(blank=True, null=True)),
                ("converted_at", models.DateTimeField()),
                ("revenue", models.DecimalField(decimal_places=2, default=0, max_digits=18)),
                (
                    "journey",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to="journeys.journey",
                    ),
                ),
                (
                    "version",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to="journeys.journeyversion",
                    ),
                ),
            ],
            options={
                "indexes": [
                    models.Index(fields=["journey", "converted_at"], name="journey_conversion_time")
                ],
                "constraints": [
                    models.UniqueConstraint(
                        fields=("journey", "run_id"), name="one_conversion_per_journey_run"
                    )
                ],
            },
        ),
    ]
