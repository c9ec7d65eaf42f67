"""A daily run of consent.tasks.schedule_reminders (django-q schedule)."""

from django.db import migrations
from django.utils import timezone

NAME = "consent.schedule_reminders"


def create_schedule(apps, schema_editor):
    apps.get_model("django_q", "Schedule").objects.update_or_create(
        name=NAME,
        defaults={
            "func": "consent.tasks.schedule_reminders",
            "schedule_type": "D",
            "repeats": -1,
            "next_run": timezone.now(),
        },
    )


def remove_schedule(apps, schema_editor):
    apps.get_model("django_q", "Schedule").objects.filter(name=NAME).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("consent", "0002_history_from_current_flags"),
        ("django_q", "0019_alter_task_options_alter_ormq_key_alter_ormq_lock_and_more"),
    ]

    operations = [migrations.RunPython(create_schedule, remove_schedule)]
