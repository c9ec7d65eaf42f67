"""Every write to the opt-out list: adding and removing numbers in bulk, with
their history rows, their webhook events and (for people) the audit log.

Concurrency: the database decides who changed a number. Additions are one
`INSERT … ON CONFLICT DO NOTHING RETURNING`, removals one `DELETE … RETURNING`,
so of two requests racing on the same number exactly one gets the row back —
and only that one writes the history row and publishes the event. Both
statements exist in SQLite (3.35+) and PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from django.contrib.auth.models import AbstractBaseUser
from django.core.files.uploadedfile import UploadedFile
from django.db import connection, transaction
from django.utils import timezone

from console.lib.phone import check_e164
from optout.imports import read_numbers
from optout.models import OptOut, OptOutChange, OptOutPolicy, Source
from optout.signals import list_changed, numbers_opted_out
from projects.actions import actor_label_for, record_audit
from projects.models import Project
from webhooks.events import publish

EVENT_TYPE = "ReportSMSUnsubscribed"
# Rows per statement: well under SQLite's bound-parameter limit.
CHUNK = 500
# How many numbers an audit entry lists; the history keeps all of them.
AUDIT_SAMPLE = 20


@dataclass(frozen=True)
class InvalidNumber:
    """A number that was refused, where it was (`index` in the input) and why."""

    index: int
    phone_number: str
    code: str
    message: str


@dataclass
class ListChange:
    """What a bulk call did: numbers it changed, numbers already in the asked
    state (including repeats within the call), and numbers it refused."""

    changed: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    invalid: list[InvalidNumber] = field(default_factory=list)


def split_numbers(numbers: Iterable[object]) -> tuple[list[str], list[InvalidNumber]]:
    """Valid E.164 numbers (stripped, each once, in first-seen order) and the
    refused ones with their index and reason."""
    valid: dict[str, None] = {}
    invalid: list[InvalidNumber] = []
    for index, raw in enumerate(numbers):
        value = raw.strip() if isinstance(raw, str) else ""
        problem = check_e164(value)
        if problem is not None:
            invalid.append(InvalidNumber(index, str(raw), problem.code, problem.message))
        else:
            valid.setdefault(value, None)
    return list(valid), invalid


def do_opt_out(
    project: Project,
    numbers: Iterable[object],
    source: str,
    actor: object = None,
    *,
    actor_label: str = "",
) -> ListChange:
    """Put numbers on the project's opt-out list (`subscribed: false`)."""
    return _change(project, numbers, Source(source), actor, actor_label, subscribed=False)


def do_opt_in(
    project: Project,
    numbers: Iterable[object],
    source: str,
    actor: object = None,
    *,
    actor_label: str = "",
) -> ListChange:
    """Take numbers off the project's opt-out list (`subscribed: true`)."""
    return _change(project, numbers, Source(source), actor, actor_label, subscribed=True)


@dataclass(frozen=True)
class ImportProblem:
    row: int
    value: str
    code: str
    message: str


@dataclass
class ImportReport:
    """What an import did: numbers added, numbers already on the list, rows
    repeating an earlier row of the file, and rows refused (row and reason)."""

    rows: int = 0
    added: list[str] = field(default_factory=list)
    already_present: list[str] = field(default_factory=list)
    duplicates: list[tuple[int, int, str]] = field(default_factory=list)
    invalid: list[ImportProblem] = field(default_factory=list)


def do_import_optouts(project: Project, upload: UploadedFile, actor: object) -> ImportReport:
    """Migrate an existing list from a csv/xlsx with a phoneNumber column.

    Raises `optout.imports.ImportRejected` (nothing applied) when the file as a
    whole cannot be read; otherwise adds every valid number in one transaction
    and reports the rest by row.
    """
    rows = read_numbers(upload)
    report = ImportReport(rows=len(rows))
    first_row: dict[str, int] = {}
    numbers: list[str] = []
    for entry in rows:
        problem = check_e164(entry.value)
        if problem is not None:
            report.invalid.append(
                ImportProblem(entry.row, entry.value, problem.code, problem.message)
            )
        elif entry.value in first_row:
            report.duplicates.append((entry.row, first_row[entry.value], entry.value))
        else:
            first_row[entry.value] = entry.row
            numbers.append(entry.value)
    result = do_opt_out(project, numbers, Source.IMPORT, actor)
    report.added = result.changed
    report.already_present = result.unchanged
    return report


@transaction.atomic
def do_set_optout_policy(project: Project, applies_to_all_messages: bool, actor: object) -> bool:
    """Set whether the list applies to every message; True when it changed."""
    policy, _ = OptOutPolicy.objects.select_for_update().get_or_create(project=project)
    if policy.applies_to_all_messages == applies_to_all_messages:
        return False
    policy.applies_to_all_messages = applies_to_all_messages
    policy.save(update_fields=["applies_to_all_messages", "updated_at"])
    record_audit(
        project,
        actor,
        "optout.policy_changed",
        "all messages" if applies_to_all_messages else "promotional messages",
        applies_to_all_messages=applies_to_all_messages,
    )
    return True


def _change(
    project: Project,
    numbers: Iterable[object],
    source: Source,
    actor: object,
    actor_label: str,
    *,
    subscribed: bool,
) -> ListChange:
    valid, invalid = split_numbers(numbers)
    label = actor_label or actor_label_for(actor)
    user = actor if isinstance(actor, AbstractBaseUser) else None
    changed: list[str] = []
    with transaction.atomic():
        for start in range(0, len(valid), CHUNK):
            chunk = valid[start : start + CHUNK]
            if subscribed:
                won = _delete_returning(project, chunk)
            else:
                won = _insert_returning(project, chunk, source, user)
            # Keep the caller's order: history ids and events follow it.
            changed.extend(number for number in chunk if number in won)
        _record(project, changed, subscribed, source, label)
        if changed and source in (Source.CONSOLE, Source.IMPORT):
            record_audit(
                project,
                actor,
                "optout.removed" if subscribed else "optout.added",
                changed[0] if len(changed) == 1 else f"{len(changed)} numbers",
                source=source.value,
                count=len(changed),
                numbers=changed[:AUDIT_SAMPLE],
            )
        if changed and not subscribed:
            _announce_on_commit(project, changed)
    won_all = set(changed)
    unchanged = [number for number in valid if number not in won_all]
    return ListChange(changed=changed, unchanged=unchanged, invalid=invalid)


def _announce_on_commit(project: Project, numbers: list[str]) -> None:
    # Robust and after commit: a receiver's failure can never undo an opt-out.
    at = timezone.now()
    transaction.on_commit(
        lambda: numbers_opted_out.send_robust(
            sender=OptOut, project=project, numbers=numbers, at=at
        )
    )


def _record(
    project: Project, changed: Sequence[str], subscribed: bool, source: Source, label: str
) -> None:
    """History and webhook events, in the same transaction as the change."""
    OptOutChange.objects.bulk_create(
        [
            OptOutChange(
                project=project,
                phone_number=number,
                subscribed=subscribed,
                source=source,
                actor_label=label[:200],
            )
            for number in changed
        ],
        batch_size=CHUNK,
    )
    if changed:
        # Same transaction: the consent history of known users commits with the change.
        list_changed.send(
            sender=OptOutChange,
            project=project,
            numbers=list(changed),
            subscribed=subscribed,
            source=source.value,
            actor_label=label[:200],
            at=timezone.now(),
        )
    for number in changed:
        publish(
            project,
            EVENT_TYPE,
            {"phoneNumber": number, "subscribed": subscribed},
            ordering_key=number,
        )


def _column(name: str) -> str:
    return connection.ops.quote_name(OptOut._meta.get_field(name).column)


def _insert_returning(
    project: Project, numbers: Sequence[str], source: Source, user: AbstractBaseUser | None
) -> set[str]:
    if not numbers:
        return set()
    meta = OptOut._meta
    project_id = meta.get_field("project").get_db_prep_save(project.pk, connection)
    created_at = meta.get_field("created_at").get_db_prep_save(timezone.now(), connection)
    user_id = user.pk if user is not None else None
    columns = ["project", "phone_number", "source", "created_by", "created_at"]
    rows = ", ".join(["(%s, %s, %s, %s, %s)"] * len(numbers))
    params: list[object] = []
    for number in numbers:
        params += [project_id, number, source.value, user_id, created_at]
    sql = (
        f"INSERT INTO {connection.ops.quote_name(meta.db_table)} "
        f"({', '.join(_column(c) for c in columns)}) VALUES {rows} "
        f"ON CONFLICT ({_column('project')}, {_column('phone_number')}) DO NOTHING "
        f"RETURNING {_column('phone_number')}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return {row[0] for row in cursor.fetchall()}


def _delete_returning(project: Project, numbers: Sequence[str]) -> set[str]:
    if not numbers:
        return set()
    meta = OptOut._meta
    project_id = meta.get_field("project").get_db_prep_save(project.pk, connection)
    placeholders = ", ".join(["%s"] * len(numbers))
    sql = (
        f"DELETE FROM {connection.ops.quote_name(meta.db_table)} "
        f"WHERE {_column('project')} = %s AND {_column('phone_number')} IN ({placeholders}) "
        f"RETURNING {_column('phone_number')}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [project_id, *numbers])
        return {row[0] for row in cursor.fetchall()}
