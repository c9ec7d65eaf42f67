"""The every-minute reconciler of webhook events (SPEC §10: tasks are only
triggers; this finds due events that no task is on its way to deliver)."""

from django.db import migrations
from django.utils import timezone

RECONCILER = "webhooks.reconcile_webhook_events"


def create_schedule(apps, schema_editor):
    apps.get_model("django_q", "Schedule").objects.update_or_create(
        name=RECONCILER,
        defaults={
            "func": "webhooks.tasks.reconcile_webhook_events",
            "schedule_type": "I",
            "minutes": 1,
            "repeats": -1,
            "next_run": timezone.now(),
        },
    )


def remove_schedule(apps, schema_editor):
    apps.get_model("django_q", "Schedule").objects.filter(name=RECONCILER).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("webhooks", "0002_webhooks_claims_rotation"),
        ("django_q", "0019_alter_task_options_alter_ormq_key_alter_ormq_lock_and_more"),
    ]

    operations = [migrations.RunPython(create_schedule, remove_schedule)]
