"""Every minute, the campaign reconciler (campaigns.tasks.reconcile_campaigns)."""

from django.db import migrations
from django.utils import timezone

RECONCILER = "campaigns.reconcile_campaigns"


def create_schedule(apps, schema_editor):
    apps.get_model("django_q", "Schedule").objects.update_or_create(
        name=RECONCILER,
        defaults={
            "func": "campaigns.tasks.reconcile_campaigns",
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
        ("campaigns", "0001_campaigns_initial"),
        ("django_q", "0019_alter_task_options_alter_ormq_key_alter_ormq_lock_and_more"),
    ]

    operations = [migrations.RunPython(create_schedule, remove_schedule)]
