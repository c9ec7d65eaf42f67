"""Queue tasks of consent; plain functions, safe to run twice."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from consent.actions import do_schedule_reminders
from consent.queries import notice_config
from consent.texts import REMINDER
from projects.models import Project

# Run daily; two days ahead so a late or skipped run still finds every
# reminder before its 10:00 (the 30 days' lead absorbs longer outages).
REMINDER_HORIZON = timedelta(days=2)


def schedule_reminders() -> dict[str, int]:
    """Create the two-year reminders due soon in every project that has them
    switched on; {project id: reminders created}. Sending them is the send
    core's job (not wired yet)."""
    now = timezone.now()
    created = {}
    for project in Project.objects.all().iterator():
        if REMINDER in notice_config(project).enabled_kinds():
            created[str(project.pk)] = do_schedule_reminders(project, now + REMINDER_HORIZON, now)
    return created
