"""Outbox.linger_seconds: how long an unsealed outbox's send chain waits for
more before going idle. It was a constant of 5 s for every outbox; campaign
outboxes keep it, the others (test SMS) get 0 so no worker idles after a
single message."""

from django.db import migrations, models

CAMPAIGN_LINGER_SECONDS = 5


def campaigns_linger(apps, schema_editor):
    Outbox = apps.get_model("dispatch", "Outbox")
    Outbox.objects.filter(producer_kind="campaign").update(linger_seconds=CAMPAIGN_LINGER_SECONDS)


class Migration(migrations.Migration):
    dependencies = [
        ("dispatch", "0004_outbox_informational_settings"),
    ]

    operations = [
        migrations.AddField(
            model_name="outbox",
            name="linger_seconds",
            field=models.PositiveSmallIntegerField(default=0, verbose_name="linger (seconds)"),
        ),
        migrations.RunPython(campaigns_linger, migrations.RunPython.noop),
    ]
