"""Every minute, re-enqueue audience files whose validation task was lost."""

from django.db import migrations
from django.utils import timezone

RECONCILER = "audiences.reconcile_audience_files"


def create_schedule(apps, schema_editor):
    apps.get_model("django_q", "Schedule").objects.update_or_create(
        name=RECONCILER,
        defaults={
            "func": "audiences.file_tasks.reconcile_audience_files",
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
        ("audiences", "0004_files_enqueued_at"),
        ("django_q", "0019_alter_task_options_alter_ormq_key_alter_ormq_lock_and_more"),
    ]

    operations = [migrations.RunPython(create_schedule, remove_schedule)]
