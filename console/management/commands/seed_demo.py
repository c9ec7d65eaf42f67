"""Seed a demo project on an empty database: a staff login that is also the
project's admin, an approved sender number, an 080 number and an API token.

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

from projects.models import Membership, Project

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
        demo = {**result, "email": DEMO_EMAIL, "password": DEMO_PASSWORD}
        path = settings.DATA_DIR / "demo.json"
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as fh:
            json.dump(demo, fh, indent=2)
        self.stdout.write(f"Seeded the demo project {result['projectId']}.")
