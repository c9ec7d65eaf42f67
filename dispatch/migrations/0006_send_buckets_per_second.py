"""Send buckets per second instead of per minute, so a send of a minute or
two draws more than one or two bars. `minute` becomes `second`; the rows
kept so far stay as they are, marked 60 seconds wide, and are drawn per
minute or wider (new rows are 1 second wide)."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("dispatch", "0005_outbox_linger"),
    ]

    operations = [
        migrations.RemoveConstraint(
            model_name="sendbucket",
            name="one_send_bucket_per_outbox_minute",
        ),
        migrations.RenameField(
            model_name="sendbucket",
            old_name="minute",
            new_name="second",
        ),
        # The rows already there were counted per minute.
        migrations.AddField(
            model_name="sendbucket",
            name="width",
            field=models.PositiveSmallIntegerField(default=60),
            preserve_default=False,
        ),
        migrations.AlterField(
            model_name="sendbucket",
            name="width",
            field=models.PositiveSmallIntegerField(db_default=1),
        ),
        migrations.AddConstraint(
            model_name="sendbucket",
            constraint=models.UniqueConstraint(
                fields=("outbox", "second"), name="one_send_bucket_per_outbox_second"
            ),
        ),
    ]
