"""Read-only questions about a project's sender numbers and 080 number.

`sendable_sender` is the one check every send path (console, API, journeys,
test send) calls before a message may leave with a sender number.
"""

from __future__ import annotations

from django.db.models import QuerySet
from django.utils.translation import gettext as _

from channels.models import OptOutNumber, SenderNumber
from projects.models import Project


class SenderNotAllowed(ValueError):
    """This sender number may not send for this project; the message says why."""


def _lookup(project: Project, number_or_id: object) -> SenderNumber | None:
    senders = SenderNumber.objects.filter(project=project)
    if isinstance(number_or_id, SenderNumber):
        return senders.filter(pk=number_or_id.pk).first()
    value = str(number_or_id if number_or_id is not None else "").strip()
    if not value:
        return None
    if value.isdigit():
        return senders.filter(pk=int(value)).first()
    matching = senders.filter(number=value)
    # A rejected registration may sit beside a newer live one for the same
    # number; the live one is the one that counts.
    return matching.exclude(status=SenderNumber.Status.REJECTED).first() or matching.first()


def sendable_sender(project: Project, number_or_id: object) -> SenderNumber:
    """The project's approved sender number given as an E.164 number, an id or
    an instance; SenderNotAllowed otherwise."""
    sender = _lookup(project, number_or_id)
    if sender is None:
        raise SenderNotAllowed(
            _("%(number)s is not a registered sender number of this project.")
            % {"number": number_or_id}
        )
    number = sender.display_number
    status = SenderNumber.Status
    if sender.status == status.APPROVED:
        return sender
    if sender.status == status.PENDING:
        message = _("%(number)s is still waiting for review; only an approved number can send.")
    elif sender.status == status.REJECTED:
        message = _("%(number)s was rejected (%(reason)s); only an approved number can send.")
    else:
        message = _("%(number)s is suspended (%(reason)s); only an approved number can send.")
    raise SenderNotAllowed(message % {"number": number, "reason": sender.status_reason or "-"})


def approved_senders(project: Project) -> QuerySet[SenderNumber]:
    return SenderNumber.objects.filter(
        project=project, status=SenderNumber.Status.APPROVED
    ).order_by("-is_default", "number")


def default_sender(project: Project) -> SenderNumber | None:
    """The project's default sender when it is approved, else its first approved one."""
    return approved_senders(project).first()


def project_optout_number(project: Project) -> OptOutNumber | None:
    return OptOutNumber.objects.filter(project=project).first()


def free_optout_numbers() -> QuerySet[OptOutNumber]:
    return OptOutNumber.objects.filter(project=None).order_by("number")
