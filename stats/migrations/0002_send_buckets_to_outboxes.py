"""The per-minute send buckets belong to the send core now
(`dispatch.SendBucket`); campaigns 0006 copied every row over."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("stats", "0001_stats_send_buckets"),
        ("campaigns", "0008_campaign_outboxes"),
    ]

    operations = [migrations.DeleteModel(name="SendBucket")]
