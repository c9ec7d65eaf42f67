"""Seed a demo project on an empty database: a staff login that is also the
project's admin, an approved sender number, an 080 number, an API token, a
few users (with promotional consent) in a segment, and message prices, so a
first campaign can be composed and sent to the sandbox carrier at once.

The credentials are written to DATA_DIR/demo.json (owner-only) so `make run`
can print them every time; this is a local demo, not a production set-up.
"""

from __future__ import annotations

import io
import json
import os

from django.conf import settings
from django.contrib.auth.models import User
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError

from audiences.models import Customer, Segment
from campaigns.models import Price
from projects.models import Membership, Project

DEMO_USERS = [
    ("demo-1", "+821055510001", "김민준"),
    ("demo-2", "+821055510002", "이서연"),
    ("demo-3", "+821055510003", "박지후"),
    ("demo-4", "+821055510004", "최하은"),
    ("demo-5", "+14155550105", "Alex Kim"),
]

DEMO_EMAIL = "demo@munja.local"
DEMO_PASSWORD = "munja-demo-1234"


class Command(BaseCommand):
    help = "Create the demo project when the database has no project yet."

    def handle(self, *args, **options) -> None:
        if Project.objects.exists():
            raise CommandError("The database already has projects; the demo is only for a new one.")
        out = io.StringIO()
        call_command(
            "bootstrap_project",
            name="Demo",
            company="데모상사",
            sender_number="+8215880000",
            optout_number="+82801234567",
            approve=True,
            token=True,
            admin_email=DEMO_EMAIL,
            admin_password=DEMO_PASSWORD,
            stdout=out,
        )
        result = json.loads(out.getvalue().strip().splitlines()[-1])
        # The demo login is platform staff too, so the admin review can be tried.
        User.objects.filter(username=DEMO_EMAIL).update(is_staff=True, is_superuser=True)
        Membership.objects.filter(project_id=result["projectId"], user__username=DEMO_EMAIL).update(
            phone_number="+821012345678"
        )
        _seed_audience(result["projectId"])
        demo = {**result, "email": DEMO_EMAIL, "password": DEMO_PASSWORD}
        path = settings.DATA_DIR / "demo.json"
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as fh:
            json.dump(demo, fh, indent=2)
        self.stdout.write(f"Seeded the demo project {result['projectId']}.")


def _seed_audience(project_id: str) -> None:
    from django.utils import timezone

    project = Project.objects.get(pk=project_id)
    now = timezone.now()
    Customer.objects.bulk_create(
        Customer(
            project=project,
            user_id=user_id,
            phone_number=phone,
            name=name,
            promotional_consent=True,
            promotional_consent_at=now,
        )
        for user_id, phone, name in DEMO_USERS
    )
    # The demo users' consent is provable like anyone's: one history entry each.
    from consent.actions import do_record_initial_history
    from consent.models import Source

    do_record_initial_history(project, Source.SEED)
    Segment.objects.create(
        project=project,
        name="Demo users",
        definition={"match": "all", "conditions": [{"kind": "phone", "present": True}]},
    )
    for kind, amount in (("SMS", "9.90"), ("LMS", "29.00"), ("INTL", "45.00")):
        Price.objects.get_or_create(kind=kind, defaults={"amount": amount})
