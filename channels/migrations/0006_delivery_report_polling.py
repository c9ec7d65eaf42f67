"""Delivery reports of providers that do not push them (NHN Cloud): a cursor on
each gateway and an every-minute poll."""

from django.db import migrations, models
from django.utils import timezone

POLLER = "channels.poll_delivery_reports"


def create_schedule(apps, schema_editor):
    apps.get_model("django_q", "Schedule").objects.update_or_create(
        name=POLLER,
        defaults={
            "func": "channels.tasks.poll_delivery_reports",
            "schedule_type": "I",
            "minutes": 1,
            "repeats": -1,
            "next_run": timezone.now(),
        },
    )


def remove_schedule(apps, schema_editor):
    apps.get_model("django_q", "Schedule").objects.filter(name=POLLER).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("channels", "0005_compose_test_title"),
        ("django_q", "0019_alter_task_options_alter_ormq_key_alter_ormq_lock_and_more"),
    ]

    operations = [
        migrations.AddField(
            model_name="gateway",
            name="reports_polled_until",
            field=models.DateTimeField(blank=True, editable=False, null=True),
        ),
        migrations.RunPython(create_schedule, remove_schedule),
    ]
