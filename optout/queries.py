"""Read-only questions about the opt-out list, including the ones dispatch
asks: which recipients may be sent to, in bulk, never one lookup a message."""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import datetime

from django.db.models import Exists, OuterRef, QuerySet

from optout.models import OptOut, OptOutChange, OptOutImport, OptOutPolicy
from projects.models import Project

_CHUNK = 500


def applies_to_all_messages(project: Project) -> bool:
    return OptOutPolicy.objects.filter(project=project, applies_to_all_messages=True).exists()


def applies_to(project: Project, is_promotional: bool) -> bool:
    """Whether a message must skip opted-out numbers: promotional messages
    always (the law); others only when the project's policy says so."""
    return is_promotional or applies_to_all_messages(project)


def exclude_opted_out(
    queryset: QuerySet, project: Project, phone_field: str = "phone_number"
) -> QuerySet:
    """`queryset` without the rows whose `phone_field` is on the project's list.

    One anti-join (`NOT EXISTS` on the unique (project, phone_number) index),
    evaluated when dispatch reads the batch, so an opt-out that arrives
    mid-campaign stops the messages not yet read.
    """
    on_list = OptOut.objects.filter(project=project, phone_number=OuterRef(phone_field))
    return queryset.filter(~Exists(on_list))


def sendable(
    queryset: QuerySet, project: Project, *, is_promotional: bool, phone_field: str = "phone_number"
) -> QuerySet:
    """`exclude_opted_out` when the list applies to this kind of message."""
    if applies_to(project, is_promotional):
        return exclude_opted_out(queryset, project, phone_field)
    return queryset


def opted_out_numbers(project: Project, numbers: Iterable[str]) -> set[str]:
    """The given numbers that are on the list now, a few queries per batch."""
    wanted = list(dict.fromkeys(numbers))
    found: set[str] = set()
    for start in range(0, len(wanted), _CHUNK):
        found.update(
            OptOut.objects.filter(
                project=project, phone_number__in=wanted[start : start + _CHUNK]
            ).values_list("phone_number", flat=True)
        )
    return found


def is_opted_out(project: Project, number: str) -> bool:
    return OptOut.objects.filter(project=project, phone_number=number).exists()


def search_digits(query: str) -> str:
    """The digits to look for: `010-1234` → `101234` (E.164 drops the trunk 0)."""
    digits = re.sub(r"\D", "", query or "")
    if query.strip().startswith("0"):
        digits = digits[1:]
    return digits


def optouts(
    project: Project,
    *,
    query: str = "",
    since: datetime | None = None,
    until: datetime | None = None,
) -> QuerySet:
    """The project's list, newest first, filtered by part of a number and by
    when the number was added."""
    entries = OptOut.objects.filter(project=project).order_by("-id")
    digits = search_digits(query)
    if digits:
        entries = entries.filter(phone_number__contains=digits)
    if since is not None:
        entries = entries.filter(created_at__gte=since)
    if until is not None:
        entries = entries.filter(created_at__lt=until)
    return entries


def number_history(project: Project, number: str) -> QuerySet:
    """Every change to one number's place on the list, newest first."""
    return OptOutChange.objects.filter(project=project, phone_number=number).order_by("-id")


def recent_changes(project: Project) -> QuerySet:
    return OptOutChange.objects.filter(project=project).order_by("-id")


def recent_imports(project: Project, limit: int = 10) -> list:
    """The project's latest opt-out imports, newest first."""
    return list(OptOutImport.objects.filter(project=project).order_by("-created_at")[:limit])
