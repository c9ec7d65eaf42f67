"""Every write to the consent history and the notice schedule.

Called inside the transaction of the change they record (through the
receivers of audiences' `consents_changed` and optout's `list_changed`), so
a history entry and its scheduled notice commit or roll back with the
change. Everything is set-based: a Track call or an opt-out batch costs a
few statements whatever its size, never one per row.

Notices are scheduled here (`due`); consent.sending hands them to the send core.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from django.db import connection, transaction
from django.db.models import Exists, OuterRef, Subquery
from django.utils import timezone

from audiences.models import Customer
from audiences.signals import ConsentFlagChange
from consent.models import (
    HANDED_OVER,
    WENT_OUT,
    ConsentChange,
    ConsentField,
    Notice,
    NoticeSettings,
    Source,
)
from consent.schedule import next_notice_time, reminder_anchor_cutoff, reminder_due_at
from consent.texts import REMINDER, RESULT, check_notice_template
from console.lib import fastphone
from projects.actions import record_audit
from projects.models import Project

# Rows per statement: well under SQLite's bound-parameter limit.
CHUNK = 500
FIELD_OF_FLAG = {
    "promotional_consent": ConsentField.PROMOTIONAL,
    "night_consent": ConsentField.NIGHT,
}


@dataclass(frozen=True)
class Target:
    """What scheduling a notice needs to know of a user."""

    customer_id: int
    phone_number: str
    time_zone: str
    consent_at: datetime | None


def phone_problem(phone_number: str) -> str:
    """The reason a notice to this number is impossible, or ""."""
    if not phone_number:
        return Notice.Reason.NO_PHONE_NUMBER
    if fastphone.check(phone_number) is not None:
        return Notice.Reason.INVALID_PHONE_NUMBER
    return ""


def _iso(moment: datetime | None) -> str | None:
    # Facts in UTC, like the API's datetimes, whatever zone the caller used.
    return moment.astimezone(UTC).isoformat() if moment is not None else None


def do_record_consent_changes(
    project: Project,
    changes: Sequence[ConsentFlagChange],
    source: str,
    actor_label: str,
    at: datetime,
) -> None:
    """History entries for changed consent flags (and dates); a result notice
    for every user whose flag changed; open reminders of users whose
    promotional consent was withdrawn or re-dated are superseded."""
    _insert_changes(
        project,
        [
            (change.customer.pk, FIELD_OF_FLAG[change.flag].value, change.old, change.new,
             change.consent_at)
            for change in changes
        ],
        source,
        actor_label,
        at,
    )  # fmt: skip
    finals: dict[int, dict[str, bool]] = {}
    targets: dict[int, Target] = {}
    redated: dict[int, str] = {}
    for change in changes:
        customer = change.customer
        if change.flag == "promotional_consent":
            reason = Notice.Reason.CONSENT_DATE_CHANGED
            redated[customer.pk] = reason if change.new else Notice.Reason.CONSENT_WITHDRAWN
        if change.old == change.new:
            continue  # only the date moved: nothing was given, refused or withdrawn
        finals.setdefault(customer.pk, {})[FIELD_OF_FLAG[change.flag].value] = change.new
        targets[customer.pk] = Target(
            customer.pk, customer.phone_number, customer.time_zone, customer.promotional_consent_at
        )
    _schedule_results(project, targets, finals, at)
    for reason in set(redated.values()):
        _supersede_reminders([pk for pk, why in redated.items() if why == reason], reason)


def do_record_list_changes(
    project: Project,
    numbers: Sequence[str],
    subscribed: bool,
    source: str,
    actor_label: str,
    at: datetime,
) -> int:
    """History entries (and result notices) for the project's users whose
    number just went on (`subscribed=False`) or off the opt-out list: one
    select and a few inserts per CHUNK numbers. Numbers of no known user are
    left to the opt-out list's own history. Returns the entries written."""
    written = 0
    for start in range(0, len(numbers), CHUNK):
        chunk = numbers[start : start + CHUNK]
        targets = {
            pk: Target(pk, phone, zone, consent_at)
            for pk, phone, zone, consent_at in Customer.objects.filter(
                project=project, phone_number__in=chunk
            ).values_list("pk", "phone_number", "time_zone", "promotional_consent_at")
        }
        if not targets:
            continue
        # On the list before (old) = being taken off now (subscribed).
        _insert_changes(
            project,
            [(pk, ConsentField.OPTOUT.value, subscribed, not subscribed, None) for pk in targets],
            source,
            actor_label,
            at,
        )
        finals = {pk: {ConsentField.OPTOUT.value: not subscribed} for pk in targets}
        _schedule_results(project, targets, finals, at)
        written += len(targets)
    return written


def _insert_changes(
    project: Project,
    rows: list[tuple[int, str, bool | None, bool, datetime | None]],
    source: str,
    actor_label: str,
    at: datetime,
) -> None:
    """Insert history entries (customer id, field, old, new, consent_at)."""
    project_id = _prep(ConsentChange, "project", project.pk)
    changed_at = _prep(ConsentChange, "changed_at", at)
    consent_at_field = ConsentChange._meta.get_field("consent_at")
    label = actor_label[:200]
    _insert_rows(
        ConsentChange,
        ["project", "customer", "field", "old", "new", "consent_at", "changed_at", "source",
         "actor_label"],
        [
            (project_id, customer_id, field, old, new,
             consent_at_field.get_db_prep_save(consent_at, connection), changed_at, str(source),
             label)
            for customer_id, field, old, new, consent_at in rows
        ],
    )  # fmt: skip


def _prep(model: type, name: str, value: object) -> object:
    return model._meta.get_field(name).get_db_prep_save(value, connection)


# Django's bulk_create builds a model instance and SQL for every row; on a
# Track call that changes 100 consents, or the day's 100,000 reminders, one
# prepared INSERT run with executemany costs a fraction of it (as audiences'
# _update_customers does for its updates).
def _insert_rows(model: type, names: list[str], rows: list[tuple]) -> None:
    """INSERT `rows` (values already prepared for the database) into the
    columns of `names`."""
    if not rows:
        return
    meta = model._meta
    quote = connection.ops.quote_name
    columns = ", ".join(quote(meta.get_field(name).column) for name in names)
    sql = (
        f"INSERT INTO {quote(meta.db_table)} ({columns}) VALUES ({', '.join(['%s'] * len(names))})"
    )
    with connection.cursor() as cursor:
        for start in range(0, len(rows), 10_000):
            cursor.executemany(sql, rows[start : start + 10_000])


def _schedule_results(
    project: Project,
    targets: dict[int, Target],
    finals: dict[int, dict[str, bool]],
    at: datetime,
) -> None:
    """One open result notice per user: a new change supersedes the open
    (unsent) one and the new notice states the final state of every field
    changed since, keeping the earlier due time (the 14 days run from the
    first change)."""
    if not targets:
        return
    ids = list(targets)
    # (pk, state, due_at, facts) of each user's open notice, as plain values:
    # model instances would cost more than the rest of the call.
    open_notices: dict[int, tuple[int, str, datetime, dict]] = {}
    for start in range(0, len(ids), CHUNK):
        for pk, customer_id, state, due_at, facts in (
            Notice.objects.filter(
                customer_id__in=ids[start : start + CHUNK],
                kind=Notice.Kind.RESULT,
                superseded=False,
            )
            .exclude(state__in=HANDED_OVER)
            .values_list("pk", "customer_id", "state", "due_at", "facts")
        ):
            open_notices[customer_id] = (pk, state, due_at, facts)
    next_time: dict[str, datetime] = {}  # by zone: every change of the call is at `at`
    new: list[tuple] = []
    for pk, target in targets.items():
        changes = dict(finals[pk])
        zone = target.time_zone
        if zone not in next_time:
            next_time[zone] = next_notice_time(at, zone)
        due_at = next_time[zone]
        first_changed_at = at
        earlier = open_notices.get(pk)
        if earlier is not None:
            _earlier_pk, state, earlier_due_at, earlier_facts = earlier
            changes = {**earlier_facts.get("changes", {}), **changes}
            first_changed_at = datetime.fromisoformat(earlier_facts["firstChangedAt"])
            if state == Notice.State.DUE:
                due_at = min(due_at, earlier_due_at)
        facts = {
            "changes": changes,
            "firstChangedAt": _iso(first_changed_at),
            "changedAt": _iso(at),
            "consentAt": _iso(target.consent_at),
        }
        new.append(
            (pk, Notice.Kind.RESULT.value, phone_problem(target.phone_number), due_at, facts)
        )
    superseded = [earlier[0] for earlier in open_notices.values()]
    for start in range(0, len(superseded), CHUNK):
        Notice.objects.filter(pk__in=superseded[start : start + CHUNK]).update(superseded=True)
    _insert_notices(project, new, timezone.now())


def _supersede_reminders(customer_ids: list[int], reason: str) -> None:
    for start in range(0, len(customer_ids), CHUNK):
        Notice.objects.filter(
            customer_id__in=customer_ids[start : start + CHUNK],
            kind=Notice.Kind.REMINDER,
            superseded=False,
        ).exclude(state__in=HANDED_OVER).update(superseded=True, reason=reason)


@transaction.atomic
def do_schedule_reminders(project: Project, until: datetime, now: datetime | None = None) -> int:
    """Create the reminder rows (Art. 50 ⑧) due by `until` for every user
    with promotional consent who has none open: anchored on the date of
    consent, or on the last reminder sent when that is later. Safe to run
    again (an open reminder is never doubled). Returns how many it created."""
    now = now or timezone.now()
    _retry_impossible_reminders(project)
    reminders = Notice.objects.filter(customer=OuterRef("pk"), kind=Notice.Kind.REMINDER)
    last_sent = Subquery(
        reminders.filter(state__in=WENT_OUT).order_by("-sent_at").values("sent_at")[:1]
    )
    has_open = Exists(reminders.filter(superseded=False).exclude(state__in=WENT_OUT))
    candidates = (
        Customer.objects.filter(
            project=project,
            promotional_consent=True,
            promotional_consent_at__lte=reminder_anchor_cutoff(until),
        )
        .annotate(last_sent=last_sent)
        .filter(~has_open)
        .values_list("pk", "phone_number", "time_zone", "promotional_consent_at", "last_sent")
    )
    rows: list[tuple] = []
    for pk, phone, zone, consent_at, sent_at in candidates.iterator(chunk_size=5000):
        anchor = max(consent_at, sent_at) if sent_at is not None else consent_at
        due_at = reminder_due_at(anchor, zone, now)
        if due_at > until:
            continue
        problem = phone_problem(phone)
        facts = {"consentAt": _iso(consent_at), "anchorAt": _iso(anchor)}
        rows.append((pk, Notice.Kind.REMINDER.value, problem, due_at, facts))
    _insert_notices(project, rows, now)
    return len(rows)


def _retry_impossible_reminders(project: Project) -> None:
    """An impossible reminder whose user has a valid number by now is
    superseded, so this run schedules a real one in its place."""
    impossible = Notice.objects.filter(
        project=project,
        kind=Notice.Kind.REMINDER,
        state=Notice.State.IMPOSSIBLE,
        superseded=False,
    ).values_list("pk", "customer__phone_number")
    now_possible = [pk for pk, phone in impossible.iterator() if not phone_problem(phone)]
    for start in range(0, len(now_possible), CHUNK):
        Notice.objects.filter(pk__in=now_possible[start : start + CHUNK]).update(superseded=True)


def _insert_notices(
    project: Project, rows: list[tuple[int, str, str, datetime, dict]], now: datetime
) -> None:
    """Insert notices (customer id, kind, impossibility reason or "", due at,
    facts): `impossible` when there is a reason, `due` otherwise."""
    project_id = _prep(Notice, "project", project.pk)
    created_at = _prep(Notice, "created_at", now)
    due_field = Notice._meta.get_field("due_at")
    facts_field = Notice._meta.get_field("facts")
    _insert_rows(
        Notice,
        ["project", "customer", "kind", "state", "reason", "due_at", "facts", "superseded",
         "created_at", "error"],
        [
            (project_id, customer_id, kind,
             Notice.State.IMPOSSIBLE.value if reason else Notice.State.DUE.value, reason,
             due_field.get_db_prep_save(due_at, connection),
             facts_field.get_db_prep_save(facts, connection), False, created_at, "")
            for customer_id, kind, reason, due_at, facts in rows
        ],
    )  # fmt: skip


def do_record_initial_history(
    project: Project, source: str = Source.MIGRATION, customer_ids: Iterable[int] | None = None
) -> int:
    """History entries from users' current flags and dates (users who existed
    before the history, demo data), as the data migration writes them: the
    promotional consent of every user, given or not, and night-time consent
    where given."""
    customers = Customer.objects.filter(project=project)
    if customer_ids is not None:
        customers = customers.filter(pk__in=list(customer_ids))
    rows = []
    now = timezone.now()
    for pk, promotional, promotional_at, night, night_at in customers.values_list(
        "pk", "promotional_consent", "promotional_consent_at", "night_consent", "night_consent_at"
    ).iterator(chunk_size=2000):
        for field, granted, at in (
            (ConsentField.PROMOTIONAL, promotional, promotional_at),
            (ConsentField.NIGHT, night, night_at),
        ):
            if granted or field == ConsentField.PROMOTIONAL:
                rows.append(
                    ConsentChange(
                        project=project,
                        customer_id=pk,
                        field=field,
                        old=None,
                        new=granted,
                        consent_at=at,
                        changed_at=at or now,
                        source=source,
                    )
                )
    ConsentChange.objects.bulk_create(rows, batch_size=CHUNK)
    return len(rows)


@transaction.atomic
def do_save_notice_settings(
    project: Project,
    *,
    result_enabled: bool,
    reminder_enabled: bool,
    result_text: str,
    reminder_text: str,
    optout_number: str,
    actor: object,
) -> NoticeSettings:
    """Save the switches and texts; raises NoticeTemplateError (nothing saved)
    when a text misses a required fact. An empty text means the default."""
    for kind, text in ((RESULT, result_text), (REMINDER, reminder_text)):
        if text.strip():
            check_notice_template(kind, text, project.company_name, optout_number)
    settings, _ = NoticeSettings.objects.select_for_update().get_or_create(project=project)
    settings.result_enabled = result_enabled
    settings.reminder_enabled = reminder_enabled
    settings.result_text = result_text.strip()
    settings.reminder_text = reminder_text.strip()
    settings.save()
    record_audit(
        project,
        actor,
        "consent.notice_settings_changed",
        "consent notices",
        result_enabled=result_enabled,
        reminder_enabled=reminder_enabled,
    )
    return settings
