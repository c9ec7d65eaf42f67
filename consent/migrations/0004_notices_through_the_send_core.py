"""Notices go through the send core: the outbox that carries a notice, its
delivery and error, the `queued` and `delivered` states, and a run of
consent.tasks.send_notices every minute (django-q schedule)."""

import django.db.models.deletion
from django.db import migrations, models
from django.utils import timezone

SENDER = "consent.send_notices"


def create_schedule(apps, schema_editor):
    apps.get_model("django_q", "Schedule").objects.update_or_create(
        name=SENDER,
        defaults={
            "func": "consent.tasks.send_notices",
            "schedule_type": "I",
            "minutes": 1,
            "repeats": -1,
            "next_run": timezone.now(),
        },
    )


def remove_schedule(apps, schema_editor):
    apps.get_model("django_q", "Schedule").objects.filter(name=SENDER).delete()


class Migration(migrations.Migration):

    dependencies = [
        ('consent', '0003_daily_reminder_schedule'),
        ('dispatch', '0004_outbox_informational_settings'),
    ]

    operations = [
        migrations.AddField(
            model_name='notice',
            name='delivered_at',
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name='notice',
            name='error',
            field=models.CharField(blank=True, max_length=255, verbose_name='error'),
        ),
        migrations.AddField(
            model_name='notice',
            name='outbox',
            field=models.ForeignKey(blank=True, db_index=False, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to='dispatch.outbox'),
        ),
        migrations.AlterField(
            model_name='notice',
            name='state',
            field=models.CharField(choices=[('due', 'Due'), ('queued', 'Sending'), ('sent', 'Sent'), ('delivered', 'Delivered'), ('failed', 'Failed'), ('impossible', 'Impossible')], default='due', max_length=10, verbose_name='state'),
        ),
        migrations.AddIndex(
            model_name='notice',
            index=models.Index(fields=['state', 'outbox'], name='consent_notice_sending'),
        ),
        migrations.RunPython(create_schedule, remove_schedule),
    ]
