"""The send core's own tables: outboxes, their counters and buckets, sender
slots and rate windows. The message and sending-policy tables keep their
names and move over from campaigns in 0002 (state only)."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        ('channels', '0006_delivery_report_polling'),
        ('projects', '0002_tenancy_readable_names'),
    ]

    operations = [
        migrations.CreateModel(
            name='Outbox',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('is_promotional', models.BooleanField(default=False)),
                ('frequency_cap', models.PositiveIntegerField(blank=True, null=True)),
                ('counts_towards_cap', models.BooleanField(default=True)),
                ('status', models.CharField(choices=[('open', 'Open'), ('paused', 'Paused'), ('closed', 'Closed')], default='paused', max_length=8)),
                ('status_reason', models.CharField(blank=True, max_length=255)),
                ('sealed_at', models.DateTimeField(blank=True, null=True)),
                ('producer_kind', models.CharField(max_length=20)),
                ('producer_id', models.CharField(blank=True, max_length=64)),
                ('created_at', models.DateTimeField(auto_now_add=True)),
                ('project', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='outboxes', to='projects.project')),
                ('sender_number', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='channels.sendernumber')),
            ],
            options={
                'verbose_name': 'outbox',
                'verbose_name_plural': 'outboxes',
            },
        ),
        migrations.CreateModel(
            name='RateWindow',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('key', models.CharField(max_length=100, unique=True)),
                ('window_start', models.DateTimeField(db_index=True)),
                ('count', models.PositiveIntegerField(default=0)),
            ],
        ),
        migrations.CreateModel(
            name='OutboxStats',
            fields=[
                ('outbox', models.OneToOneField(on_delete=django.db.models.deletion.CASCADE, primary_key=True, related_name='stats', serialize=False, to='dispatch.outbox')),
                ('recipients', models.PositiveIntegerField(default=0)),
                ('queued', models.IntegerField(default=0)),
                ('sent', models.PositiveIntegerField(default=0)),
                ('delivered', models.PositiveIntegerField(default=0)),
                ('failed', models.PositiveIntegerField(default=0)),
                ('held_night_time', models.PositiveIntegerField(default=0)),
                ('skipped_opted_out', models.PositiveIntegerField(default=0)),
                ('skipped_frequency_cap', models.PositiveIntegerField(default=0)),
                ('skipped_invalid_number', models.PositiveIntegerField(default=0)),
                ('skipped_unapproved_sender', models.PositiveIntegerField(default=0)),
                ('skipped_cancelled', models.PositiveIntegerField(default=0)),
                ('skipped_render_error', models.PositiveIntegerField(default=0)),
                ('skipped_no_consent', models.PositiveIntegerField(default=0)),
                ('sent_lms', models.PositiveIntegerField(default=0)),
                ('clicks', models.PositiveIntegerField(default=0)),
                ('clicked_recipients', models.PositiveIntegerField(default=0)),
                ('optouts_after_send', models.PositiveIntegerField(default=0)),
            ],
        ),
        migrations.CreateModel(
            name='DispatchSlot',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('slot', models.PositiveSmallIntegerField()),
                ('owner', models.CharField(blank=True, max_length=100)),
                ('renewed_at', models.DateTimeField(blank=True, null=True)),
                ('outbox', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='+', to='dispatch.outbox')),
            ],
        ),
        migrations.CreateModel(
            name='SendBucket',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('minute', models.DateTimeField()),
                ('sent', models.PositiveIntegerField(default=0)),
                ('delivered', models.PositiveIntegerField(default=0)),
                ('failed', models.PositiveIntegerField(default=0)),
                ('outbox', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='+', to='dispatch.outbox')),
            ],
        ),
        migrations.AddIndex(
            model_name='outbox',
            index=models.Index(fields=['status'], name='outbox_status'),
        ),
        migrations.AddConstraint(
            model_name='dispatchslot',
            constraint=models.UniqueConstraint(fields=('outbox', 'slot'), name='one_row_per_outbox_slot'),
        ),
        migrations.AddConstraint(
            model_name='sendbucket',
            constraint=models.UniqueConstraint(fields=('outbox', 'minute'), name='one_send_bucket_per_outbox_minute'),
        ),
    ]
