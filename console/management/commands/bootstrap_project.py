"""`manage.py bootstrap_project`: provision a ready-to-send project for an
operator or a script, and print one JSON line describing it.

The sender number is filed without documents: the operator running this
command vouches for it, and the audit log records that it was provisioned so.
"""

from __future__ import annotations

import json

from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from channels.actions import (
    do_add_optout_pool_numbers,
    do_approve_sender_number,
    do_assign_optout_number,
    do_register_sender_number,
    do_set_default_sender,
    do_set_project_gateway,
    optout_number_error,
    phone_error,
    sandbox_gateway,
)
from channels.models import OptOutNumber, SenderNumber
from projects.actions import do_create_api_token, do_create_project


class Command(BaseCommand):
    help = (
        "Create a project with a sender number (approved with --approve), an 080 "
        "opt-out number from the pool, the sandbox gateway and optionally an API token; "
        "print one JSON object as the last line."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--name", required=True, help="Project name.")
        parser.add_argument(
            "--company", required=True, help="Company name (business registration)."
        )
        parser.add_argument("--sender-number", required=True, help="Sender number in E.164.")
        parser.add_argument("--approve", action="store_true", help="Approve the sender number.")
        parser.add_argument("--token", action="store_true", help="Create an API token.")
        parser.add_argument(
            "--optout-number",
            help="An 080 number in E.164 (+8280…); added to the pool first if it is not there.",
        )
        parser.add_argument("--admin-email", help="Make this user (created if new) the admin.")
        parser.add_argument("--admin-password", help="Password for a new --admin-email user.")

    def handle(self, *args: object, **options: object) -> None:
        name = (options["name"] or "").strip()
        company = (options["company"] or "").strip()
        sender_number = (options["sender_number"] or "").strip()
        optout = (options.get("optout_number") or "").strip()
        email = (options.get("admin_email") or "").strip()
        password = options.get("admin_password") or ""
        self._check(name, company, sender_number, optout, email, password)

        try:
            with transaction.atomic():
                result = self._provision(
                    name, company, sender_number, optout, email, password, options
                )
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages)) from None
        self.stdout.write(json.dumps(result, ensure_ascii=False))

    def _check(
        self, name: str, company: str, sender: str, optout: str, email: str, password: str
    ) -> None:
        """Refuse bad arguments before anything is written."""
        if not name:
            raise CommandError("--name must not be empty.")
        if not company:
            raise CommandError("--company must not be empty.")
        problem = phone_error(sender)
        if problem:
            raise CommandError(f"--sender-number: {problem}")
        if optout:
            problem = optout_number_error(optout)
            if problem:
                raise CommandError(f"--optout-number: {problem}")
            entry = OptOutNumber.objects.filter(number=optout).first()
            if entry is not None and entry.project_id is not None:
                raise CommandError(
                    f"--optout-number: {optout} is already assigned to project {entry.project}."
                )
        elif not OptOutNumber.objects.filter(project=None).exists():
            raise CommandError(
                "The 080 number pool has no free number: give --optout-number +8280… "
                "to add one, or add numbers in the admin first."
            )
        if password and not email:
            raise CommandError("--admin-password needs --admin-email.")
        if email:
            User = get_user_model()
            exists = User.objects.filter(username=email).exists()
            if not exists and not password:
                raise CommandError(f"--admin-password is required to create the user {email}.")
            if not exists:
                try:
                    validate_password(password, User(username=email, email=email))
                except ValidationError as exc:
                    raise CommandError("--admin-password: " + " ".join(exc.messages)) from None

    def _provision(
        self,
        name: str,
        company: str,
        sender_number: str,
        optout: str,
        email: str,
        password: str,
        options: dict,
    ) -> dict:
        owner = None
        if email:
            User = get_user_model()
            owner, created = User.objects.get_or_create(username=email, defaults={"email": email})
            if created:
                owner.set_password(password)
                owner.save()
        project = do_create_project(name, company, owner=owner)
        sender = do_register_sender_number(
            project,
            None,
            number=sender_number,
            owner_type=SenderNumber.OwnerType.COMPANY,
            owner_name=company,
            label="bootstrap_project",
            require_documents=False,
            provisioned_by_operator=True,
        )
        if options["approve"]:
            do_approve_sender_number(sender, None)
            do_set_default_sender(sender, None)
        if optout:
            do_add_optout_pool_numbers([optout], None)
        entry = do_assign_optout_number(project, None, number=optout or None)
        do_set_project_gateway(project, sandbox_gateway(), None)
        raw_token = None
        if options["token"]:
            _token, raw_token = do_create_api_token(project, "bootstrap_project", None)
        return {
            "projectId": str(project.id),
            "token": raw_token,
            "senderNumber": sender.number,
            "optOutNumber": entry.number,
        }
