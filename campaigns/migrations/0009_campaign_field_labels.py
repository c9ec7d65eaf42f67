"""Labels for every field of the campaign models (the admin shows them in Korean)."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('audiences', '0008_verbose_names_for_the_admin'),
        ('campaigns', '0008_campaign_outboxes'),
        ('channels', '0007_verbose_names_for_the_admin'),
        ('dispatch', '0003_verbose_names_for_the_admin'),
        ('projects', '0003_verbose_names_for_the_admin'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AlterField(
            model_name='campaign',
            name='audience_file',
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='audiences.audiencefile', verbose_name='audience file'),
        ),
        migrations.AlterField(
            model_name='campaign',
            name='created_at',
            field=models.DateTimeField(auto_now_add=True, verbose_name='created at'),
        ),
        migrations.AlterField(
            model_name='campaign',
            name='created_by',
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL, verbose_name='created by'),
        ),
        migrations.AlterField(
            model_name='campaign',
            name='data',
            field=models.JSONField(blank=True, default=dict, verbose_name='data'),
        ),
        migrations.AlterField(
            model_name='campaign',
            name='file_consent_confirmed',
            field=models.BooleanField(default=False, verbose_name='file consent confirmed'),
        ),
        migrations.AlterField(
            model_name='campaign',
            name='finished_at',
            field=models.DateTimeField(blank=True, null=True, verbose_name='sending finished at'),
        ),
        migrations.AlterField(
            model_name='campaign',
            name='heartbeat_at',
            field=models.DateTimeField(blank=True, null=True, verbose_name='last heartbeat at'),
        ),
        migrations.AlterField(
            model_name='campaign',
            name='materialise_cursor',
            field=models.BigIntegerField(default=0, verbose_name='recipient writing cursor'),
        ),
        migrations.AlterField(
            model_name='campaign',
            name='materialised_at',
            field=models.DateTimeField(blank=True, null=True, verbose_name='recipients written at'),
        ),
        migrations.AlterField(
            model_name='campaign',
            name='outbox',
            field=models.OneToOneField(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='dispatch.outbox', verbose_name='outbox'),
        ),
        migrations.AlterField(
            model_name='campaign',
            name='project',
            field=models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='campaigns', to='projects.project', verbose_name='project'),
        ),
        migrations.AlterField(
            model_name='campaign',
            name='segment',
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='audiences.segment', verbose_name='segment'),
        ),
        migrations.AlterField(
            model_name='campaign',
            name='sender_number',
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='channels.sendernumber', verbose_name='sender number'),
        ),
        migrations.AlterField(
            model_name='campaign',
            name='started_at',
            field=models.DateTimeField(blank=True, null=True, verbose_name='sending started at'),
        ),
        migrations.AlterField(
            model_name='campaign',
            name='status_reason',
            field=models.CharField(blank=True, max_length=255, verbose_name='status reason'),
        ),
        migrations.AlterField(
            model_name='testnumber',
            name='created_at',
            field=models.DateTimeField(auto_now_add=True, verbose_name='created at'),
        ),
        migrations.AlterField(
            model_name='testnumber',
            name='project',
            field=models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='test_numbers', to='projects.project', verbose_name='project'),
        ),
    ]
