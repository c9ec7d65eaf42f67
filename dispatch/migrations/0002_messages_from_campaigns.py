"""The message and sending-policy tables pass from campaigns to the send core
(state only: campaigns 0006 reshaped them in place, keeping every row), and
django-q schedules that name moved task paths are rewritten."""

import django.db.models.deletion
from django.db import migrations, models
from django.utils import timezone

RECONCILER = "dispatch.reconcile_outboxes"
MOVED_TASKS = {"campaigns.tasks.send_campaign": "dispatch.tasks.send_outbox"}


def rewrite_schedules(apps, schema_editor):
    Schedule = apps.get_model("django_q", "Schedule")
    for old, new in MOVED_TASKS.items():
        # A campaign's outbox has the campaign's id: the arguments stay.
        Schedule.objects.filter(func=old).update(func=new)
    Schedule.objects.update_or_create(
        name=RECONCILER,
        defaults={
            "func": "dispatch.tasks.reconcile_outboxes",
            "schedule_type": "I",
            "minutes": 1,
            "repeats": -1,
            "next_run": timezone.now(),
        },
    )


def restore_schedules(apps, schema_editor):
    Schedule = apps.get_model("django_q", "Schedule")
    for old, new in MOVED_TASKS.items():
        Schedule.objects.filter(func=new).update(func=old)
    Schedule.objects.filter(name=RECONCILER).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("campaigns", "0008_campaign_outboxes"),
        ("dispatch", "0001_send_core"),
        ("django_q", "0019_alter_task_options_alter_ormq_key_alter_ormq_lock_and_more"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name='Message',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('dedupe_key', models.CharField(max_length=64)),
                        ('customer_id', models.BigIntegerField(blank=True, null=True)),
                        ('phone_number', models.CharField(max_length=20)),
                        ('time_zone', models.CharField(blank=True, max_length=64)),
                        ('body', models.TextField()),
                        ('title', models.CharField(blank=True, max_length=100)),
                        ('kind', models.CharField(default='SMS', max_length=3)),
                        ('bytes', models.PositiveIntegerField(default=0)),
                        ('status', models.CharField(choices=[('queued', 'Queued'), ('sending', 'Sending'), ('sent', 'Sent'), ('delivered', 'Delivered'), ('failed', 'Failed'), ('skipped', 'Skipped')], default='queued', max_length=10)),
                        ('skip_reason', models.CharField(blank=True, choices=[('opted_out', 'Opted out'), ('frequency_cap', 'Frequency cap'), ('invalid_number', 'Invalid number'), ('unapproved_sender', 'Unapproved sender'), ('cancelled', 'Cancelled'), ('render_error', 'Message could not be rendered'), ('no_consent', 'No promotional consent')], max_length=20)),
                        ('held_until', models.DateTimeField(blank=True, null=True)),
                        ('provider_message_id', models.CharField(blank=True, max_length=100)),
                        ('attempts', models.PositiveSmallIntegerField(default=0)),
                        ('next_attempt_at', models.DateTimeField(blank=True, null=True)),
                        ('claim_token', models.CharField(blank=True, max_length=32)),
                        ('claimed_at', models.DateTimeField(blank=True, null=True)),
                        ('sent_at', models.DateTimeField(blank=True, null=True)),
                        ('delivered_at', models.DateTimeField(blank=True, null=True)),
                        ('error_code', models.CharField(blank=True, max_length=50)),
                        ('error_message', models.CharField(blank=True, max_length=255)),
                        ('project', models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='+', to='projects.project')),
                        ('outbox', models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='messages', to='dispatch.outbox')),
                    ],
                    options={
                        'db_table': 'campaigns_message',
                    },
                ),
                migrations.CreateModel(
                    name='SendingPolicy',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('frequency_cap', models.PositiveIntegerField(default=0, verbose_name='messages per person')),
                        ('frequency_window_hours', models.PositiveIntegerField(default=24, verbose_name='window (hours)')),
                        ('project', models.OneToOneField(on_delete=django.db.models.deletion.CASCADE, related_name='sending_policy', to='projects.project')),
                    ],
                    options={
                        'verbose_name': 'sending policy',
                        'verbose_name_plural': 'sending policies',
                        'db_table': 'campaigns_sendingpolicy',
                    },
                ),
                migrations.AddIndex(
                    model_name='message',
                    index=models.Index(fields=['outbox', 'status', 'id'], name='message_claim'),
                ),
                migrations.AddIndex(
                    model_name='message',
                    index=models.Index(fields=['project', 'phone_number', 'sent_at'], name='message_recent'),
                ),
                migrations.AddIndex(
                    model_name='message',
                    index=models.Index(fields=['customer_id', 'outbox'], name='message_customer_outbox'),
                ),
                migrations.AddConstraint(
                    model_name='message',
                    constraint=models.UniqueConstraint(fields=('outbox', 'dedupe_key'), name='one_message_per_dedupe_key'),
                ),
            ]
        ),
        migrations.RunPython(rewrite_schedules, restore_schedules),
    ]
