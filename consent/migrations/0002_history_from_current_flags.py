"""Users who existed before the consent history get one entry from their
current flags and dates (source `migration`, `old` empty): the promotional
consent of every user (given or not), and night-time consent where given.
Set-based: one INSERT … SELECT per field, whatever the number of users."""

from django.db import migrations

PROMOTIONAL = """
INSERT INTO consent_consentchange
    (project_id, customer_id, field, "old", "new", consent_at, changed_at, source, actor_label)
SELECT project_id, id, 'promotional', NULL, promotional_consent, promotional_consent_at,
       COALESCE(promotional_consent_at, created_at), 'migration', ''
FROM audiences_customer
"""
NIGHT = """
INSERT INTO consent_consentchange
    (project_id, customer_id, field, "old", "new", consent_at, changed_at, source, actor_label)
SELECT project_id, id, 'night', NULL, night_consent, night_consent_at,
       COALESCE(night_consent_at, created_at), 'migration', ''
FROM audiences_customer WHERE night_consent
"""


def forwards(apps, schema_editor):
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(PROMOTIONAL)
        cursor.execute(NIGHT)


def backwards(apps, schema_editor):
    apps.get_model("consent", "ConsentChange").objects.filter(source="migration").delete()


class Migration(migrations.Migration):
    dependencies = [
        ("consent", "0001_consent_history_and_notices"),
        ("audiences", "0001_initial"),
    ]

    operations = [migrations.RunPython(forwards, backwards)]
