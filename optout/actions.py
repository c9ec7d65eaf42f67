"""Every write to the opt-out list: adding and removing numbers in bulk, with
their history rows, their webhook events and (for people) the audit log.

Concurrency: the database decides who changed a number. Additions are one
`INSERT … ON CONFLICT DO NOTHING RETURNING`, removals one `DELETE … RETURNING`,
so of two requests racing on the same number exactly one gets the row back —
and only that one writes the history row and publishes the event. Both
statements exist in SQLite (3.35+) and PostgreSQL.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core.files import File
from django.core.files.uploadedfile import UploadedFile
from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

from console.lib.bulk import insert_rows
from console.lib.fastphone import check as fast_check
from console.lib.phone import check_e164
from optout.imports import ImportRejected, check_size, read_numbers, row_problem_text
from optout.models import OptOut, OptOutChange, OptOutImport, OptOutPolicy, Source
from optout.signals import list_changed, numbers_opted_out
from projects.actions import actor_label_for, record_audit
from projects.models import Project
from webhooks.events import publish_many

EVENT_TYPE = "ReportSMSUnsubscribed"
# Rows per statement: well under SQLite's bound-parameter limit.
CHUNK = 500
# How many numbers an audit entry lists; the history keeps all of them.
AUDIT_SAMPLE = 20


@dataclass(frozen=True)
class InvalidNumber:
    """A number that was refused, where it was (`index` in the input) and why
    (`code`; `message` puts it in words in the language active when read)."""

    index: int
    phone_number: str
    code: str

    @property
    def message(self) -> str:
        return row_problem_text(self.code, self.phone_number.strip())


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
            invalid.append(InvalidNumber(index, str(raw), problem.code))
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
    with transaction.atomic():
        changed = apply_numbers(project, valid, source, user, label, subscribed=subscribed)
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
    won_all = set(changed)
    unchanged = [number for number in valid if number not in won_all]
    return ListChange(changed=changed, unchanged=unchanged, invalid=invalid)


def apply_numbers(
    project: Project,
    numbers: Sequence[str],
    source: Source,
    user: AbstractBaseUser | None,
    label: str,
    *,
    subscribed: bool,
) -> list[str]:
    """Add (or remove) distinct valid numbers with their history rows and
    webhook events; the numbers that changed, in the caller's order. Call it
    inside a transaction: the change, its history and its events commit
    together (and the caller decides how much one transaction holds)."""
    changed: list[str] = []
    for start in range(0, len(numbers), CHUNK):
        chunk = numbers[start : start + CHUNK]
        if subscribed:
            won = _delete_returning(project, chunk)
        else:
            won = _insert_returning(project, chunk, source, user)
        # Keep the caller's order: history ids and events follow it.
        changed.extend(number for number in chunk if number in won)
    _record(project, changed, subscribed, source, label)
    if changed and not subscribed:
        _announce_on_commit(project, changed)
    return changed


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
    # Raw multi-row inserts (console.lib.bulk), not bulk_create: this runs
    # while the transaction holds the write lock, and the ORM spent seconds
    # building 5,000 model instances of an import chunk.
    meta = OptOutChange._meta

    def prep(name: str, value: object) -> object:
        return meta.get_field(name).get_db_prep_save(value, connection)

    constant = (
        prep("project", project.pk),
        prep("subscribed", subscribed),
        source.value,
        label[:200],
        prep("created_at", timezone.now()),
    )
    names = ["project", "subscribed", "source", "actor_label", "created_at", "phone_number"]
    with connection.cursor() as cursor:
        insert_rows(
            cursor,
            meta.db_table,
            [meta.get_field(name).column for name in names],
            [(*constant, number) for number in changed],
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
    publish_many(
        project,
        EVENT_TYPE,
        [({"phoneNumber": number, "subscribed": subscribed}, number) for number in changed],
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


# --- importing an existing list (csv/xlsx) ------------------------------------------

IMPORT_TASK = "optout.tasks.run_optout_import"
# How many refused and repeated rows an import keeps to show; the counts are exact.
IMPORT_PROBLEMS_KEPT = 1000


def do_upload_optout_import(project: Project, upload: UploadedFile, actor: object) -> OptOutImport:
    """Store an import file and start applying it: during the request when it
    is small, else in the background (the import is then still `importing`).

    Raises `ImportRejected` (nothing stored) for an empty or too large file;
    other whole-file problems are found while applying and kept on the import.
    """
    name = os.path.basename(upload.name or "optouts.csv")[:255]
    check_size(name, upload.size)
    user = actor if isinstance(actor, AbstractBaseUser) else None
    optout_import = OptOutImport(project=project, name=name, size=upload.size or 0, created_by=user)
    upload.seek(0)
    optout_import.file.save(name, upload, save=False)
    optout_import.save()
    if optout_import.size <= settings.OPTOUT_IMPORT_INLINE_MAX_BYTES:
        do_apply_optout_import(optout_import.pk)
        optout_import.refresh_from_db()
    else:
        enqueue_optout_import(optout_import)
    return optout_import


def enqueue_optout_import(optout_import: OptOutImport) -> None:
    """Hand the import to the queue once what it needs is committed."""
    from django_q.tasks import async_task

    OptOutImport.objects.filter(pk=optout_import.pk).update(enqueued_at=timezone.now())
    import_id = str(optout_import.pk)
    transaction.on_commit(lambda: async_task(IMPORT_TASK, import_id, q_options={"group": "optout"}))


class _ChunkTaken(Exception):
    """Another run applied this chunk first (its cursor moved): stop, quietly."""


def do_apply_optout_import(import_id: object, budget_seconds: float | None = None) -> str:
    """Apply an `importing` import from where it stopped, one bounded
    transaction per `OPTOUT_IMPORT_CHUNK_ROWS` numbers.

    Each transaction moves the import's cursor (`next_index`, checked and set
    first, so of two runs only one applies a chunk) together with the numbers,
    their history, their webhook events and the counts: a crash loses at most
    the chunk in flight, and a second run carries on. With `budget_seconds`
    the run stops after about that long and hands the rest to a fresh task, so
    a million numbers never hold one worker (or the write lock) for minutes.
    """
    started = time.monotonic()
    optout_import = (
        OptOutImport.objects.filter(pk=import_id, status=OptOutImport.Status.IMPORTING)
        .select_related("project", "created_by")
        .first()
    )
    if optout_import is None:
        return "not importing"
    numbers = _read_spool(optout_import)
    if numbers is None:
        try:
            with optout_import.file.open("rb") as handle:
                upload = File(handle, name=optout_import.name)
                upload.size = optout_import.size
                rows = read_numbers(upload)
        except ImportRejected as exc:
            OptOutImport.objects.filter(pk=import_id, status=OptOutImport.Status.IMPORTING).update(
                status=OptOutImport.Status.REFUSED,
                error_code=exc.code,
                error_params=exc.params,
                progress=100,
                finished_at=timezone.now(),
            )
            return f"refused: {exc.code}"
        numbers = _sort_rows(optout_import, rows)
        del rows
        _write_spool(optout_import, numbers)
    project, user = optout_import.project, optout_import.created_by
    label = actor_label_for(user)[:200]
    size = settings.OPTOUT_IMPORT_CHUNK_ROWS
    # SQLite has one write lock: leave a gap after each commit so that the
    # writers of other projects, which poll for it, get in between.
    pause = IMPORT_PAUSE_SECONDS if connection.vendor == "sqlite" else 0.0
    start = optout_import.next_index
    while start < len(numbers):
        end = min(start + size, len(numbers))
        try:
            with transaction.atomic():
                moved = OptOutImport.objects.filter(
                    pk=import_id, status=OptOutImport.Status.IMPORTING, next_index=start
                ).update(next_index=end, progress=max(1, min(99, 100 * end // len(numbers))))
                if not moved:
                    raise _ChunkTaken
                chunk = numbers[start:end]
                changed = apply_numbers(
                    project, chunk, Source.IMPORT, user, label, subscribed=False
                )
                OptOutImport.objects.filter(pk=import_id).update(
                    added=F("added") + len(changed),
                    already_present=F("already_present") + len(chunk) - len(changed),
                )
        except _ChunkTaken:
            return f"stopped at {start}: another run carries on"
        start = end
        if start < len(numbers):
            if budget_seconds is not None and time.monotonic() - started > budget_seconds:
                enqueue_optout_import(optout_import)
                return f"continuing from {start}"
            time.sleep(pause)
    finished = OptOutImport.objects.filter(
        pk=import_id, status=OptOutImport.Status.IMPORTING
    ).update(status=OptOutImport.Status.DONE, progress=100, finished_at=timezone.now())
    # The numbers are on the list now; the file and its spool are not kept.
    _spool_path(optout_import).unlink(missing_ok=True)
    optout_import.file.storage.delete(optout_import.file.name)
    if finished:
        optout_import.refresh_from_db()
        with transaction.atomic():
            record_audit(
                project,
                user,
                "optout.added",
                f"{optout_import.added} numbers ({optout_import.name})",
                source=Source.IMPORT.value,
                count=optout_import.added,
                import_id=str(optout_import.pk),
                rows=optout_import.rows,
            )
    return f"done: {len(numbers)} numbers"


# Seconds between two chunks on SQLite: longer than the longest sleep of
# SQLite's busy handler (100 ms), so a waiting writer always finds the lock free.
IMPORT_PAUSE_SECONDS = 0.12


def _spool_path(optout_import: OptOutImport) -> Path:
    return Path(optout_import.file.path + ".numbers")


def _read_spool(optout_import: OptOutImport) -> list[str] | None:
    """The distinct valid numbers a previous run of this import sorted out,
    if it got that far: a continuation does not read and check the whole
    file again (a million numbers take seconds of its 20 s)."""
    try:
        return _spool_path(optout_import).read_text().split()
    except FileNotFoundError:
        return None


def _write_spool(optout_import: OptOutImport, numbers: list[str]) -> None:
    path = _spool_path(optout_import)
    partial = path.with_suffix(".partial")
    partial.write_text("\n".join(numbers))
    partial.replace(path)  # whole or absent, never half-written


def _sort_rows(optout_import: OptOutImport, rows: list) -> list[str]:
    """The distinct valid numbers in file order; the first run also stores the
    row counts and the first refused and repeated rows (codes, not text)."""
    first_row: dict[str, int] = {}
    numbers: list[str] = []
    invalid: list[list] = []
    duplicates: list[list] = []
    invalid_count = duplicate_count = 0
    for entry in rows:
        # fastphone gives phonenumbers' own verdict, an order of magnitude
        # faster for well-formed numbers (a million in seconds, not minutes).
        problem = fast_check(entry.value)
        if problem is not None:
            invalid_count += 1
            if len(invalid) < IMPORT_PROBLEMS_KEPT:
                invalid.append([entry.row, entry.value[:100], problem.code])
        elif entry.value in first_row:
            duplicate_count += 1
            if len(duplicates) < IMPORT_PROBLEMS_KEPT:
                duplicates.append([entry.row, first_row[entry.value], entry.value])
        else:
            first_row[entry.value] = entry.row
            numbers.append(entry.value)
    if optout_import.next_index == 0:
        OptOutImport.objects.filter(pk=optout_import.pk, next_index=0).update(
            rows=len(rows),
            to_apply=len(numbers),
            invalid=invalid,
            invalid_count=invalid_count,
            duplicates=duplicates,
            duplicate_count=duplicate_count,
        )
    return numbers
