"""The default gateways and the every-minute reconciler of test messages."""

from django.db import migrations
from django.utils import timezone

RECONCILER = "channels.reconcile_test_messages"


def create_defaults(apps, schema_editor):
    Gateway = apps.get_model("channels", "Gateway")
    Schedule = apps.get_model("django_q", "Schedule")
    # config {} makes the sandbox backend use settings.SANDBOX_CARRIER_URL.
    Gateway.objects.get_or_create(
        name="Sandbox carrier",
        defaults={"backend": "sandbox", "config": {}, "is_default": True},
    )
    Gateway.objects.get_or_create(
        name="Console", defaults={"backend": "console", "config": {}, "is_default": False}
    )
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


def remove_defaults(apps, schema_editor):
    apps.get_model("django_q", "Schedule").objects.filter(name=RECONCILER).delete()
    apps.get_model("channels", "Gateway").objects.filter(
        name__in=["Sandbox carrier", "Console"]
    ).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("channels", "0002_gateways_test_message_attempts"),
        ("django_q", "0019_alter_task_options_alter_ormq_key_alter_ormq_lock_and_more"),
    ]

    operations = [migrations.RunPython(create_defaults, remove_defaults)]
