"""Every minute, re-enqueue opt-out imports whose task was lost."""

from django.db import migrations
from django.utils import timezone

RECONCILER = "optout.reconcile_optout_imports"


def create_schedule(apps, schema_editor):
    apps.get_model("django_q", "Schedule").objects.update_or_create(
        name=RECONCILER,
        defaults={
            "func": "optout.tasks.reconcile_optout_imports",
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
        ("optout", "0003_optout_import"),
        ("django_q", "0019_alter_task_options_alter_ormq_key_alter_ormq_lock_and_more"),
    ]

    operations = [migrations.RunPython(create_schedule, remove_schedule)]
