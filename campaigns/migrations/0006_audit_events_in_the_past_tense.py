"""Campaign audit events are named in the past tense, like the rest of the
audit log (campaigns.rules.CampaignEvent): rename the entries written under
the old names so the log reads one way. Reversible."""

from django.db import migrations

RENAMED = {
    "campaign.create": "campaign.created",
    "campaign.update": "campaign.updated",
    "campaign.schedule": "campaign.scheduled",
    "campaign.unschedule": "campaign.unscheduled",
    "campaign.start": "campaign.started",
    "campaign.pause": "campaign.paused",
    "campaign.resume": "campaign.resumed",
    "campaign.cancel": "campaign.cancelled",
    "campaign.goals": "conversion_goals.changed",
    "test_number.add": "test_number.added",
    "test_number.remove": "test_number.removed",
}


def _rename(apps, mapping):
    AuditLog = apps.get_model("projects", "AuditLog")
    for old, new in mapping.items():
        AuditLog.objects.filter(action=old).update(action=new)


def forwards(apps, schema_editor):
    _rename(apps, RENAMED)


def backwards(apps, schema_editor):
    _rename(apps, {new: old for old, new in RENAMED.items()})


class Migration(migrations.Migration):
    dependencies = [
        ("campaigns", "0005_message_no_redundant_indexes"),
        ("projects", "0002_tenancy_readable_names"),
    ]

    operations = [migrations.RunPython(forwards, backwards)]
