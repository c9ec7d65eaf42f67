"""Who enters a journey, and when (SPEC §11 "Triggers", docs/journeys.md).

- **event**: `on_events_tracked(project, event_ids)`, called by the runtime's
  `events_tracked` receiver right after the Track call commits: the project's
  active event journeys whose event type, `where` and optional segment match
  enter the event's user with entry key ``e<event id>``.
- **segment entry**: `SegmentMember` holds who was inside each segment journey's
  segment at the last look. When users' data change (audiences'
  `customers_changed`; optout's `list_changed` for the numbers of known users)
  only those users are re-evaluated (`audiences.segments.members_among`); a user
  who is now inside and was not is inserted, and the insert that wins enters
  them (entry key ``s<time>``); a user now outside is removed. Conditions
  relative to the current time ("within 7 days") are caught by a periodic
  scan of only the users near the boundary (`scan_boundaries`). At activation
  (`on_activated`) the current members are recorded, and entered if the
  marketer asked for it.
- **schedule**: a cron expression in a time zone (croniter). Each occurrence is
  claimed by inserting its `ScheduleOccurrence` row, so it runs once however
  many scanners look; an occurrence missed by more than `catch_up_minutes`
  (workers down) is recorded as skipped. Entry is in batches of users (entry
  key ``c<occurrence, UTC, %Y%m%d%H%M>``), resumable after a crash.

`scan_triggers()` is the periodic task (every minute, django-q2 schedule
"journeys.scan_triggers") for the schedule occurrences and the boundary scans.
Entry itself (re-entry policy, idempotency per entry key) is
`journeys.runtime.do_enter_journey`, or `enter_many` for a Track call's users.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
import zoneinfo
from collections.abc import Iterable, Iterator
from typing import Any

from django.db import IntegrityError, connection, transaction
from django.db.models import F, QuerySet
from django.utils import timezone

from audiences.models import Customer, Event, Segment
from audiences.segments import (
    InvalidDefinition,
    boundary_candidates,
    ids_parameter,
    is_time_relative,
    members_among,
    members_query,
)
from audiences.signals import customers_changed, segment_redefined
from journeys.models import (
    Journey,
    JourneyVersion,
    ScheduleOccurrence,
    SegmentMember,
    TriggerCursor,
)
from journeys.runtime import Entry
from optout.models import OptOutChange
from optout.signals import list_changed
from projects.models import Project

logger = logging.getLogger(__name__)

EVENT, SEGMENT, SCHEDULE = "event", "segment", "schedule"
# Users per batch when recording members, scanning a boundary, or entering
# the users of a schedule occurrence.
BATCH = 500
DEFAULT_CATCH_UP_MINUTES = 60
# An occurrence still "entering" whose scanner has not moved it on for this
# long is presumed dead and taken over (entry is idempotent per entry key).
OCCURRENCE_STALE = dt.timedelta(minutes=3)
# Occurrences one scan looks at per journey (a long downtime of a
# minute-by-minute cron is worked off over several scans).
MAX_OCCURRENCES_PER_SCAN = 1000


# --- Reading a journey's trigger -------------------------------------------------------


# Trigger configs by version (id and creation time, as a rolled-back id can
# come again): a published version never changes, so a Track call need not
# read and decode every live journey's graph.
_TRIGGERS: dict[tuple, dict[str, Any]] = {}
_TRIGGERS_SIZE = 1000


def trigger_config(journey: Journey) -> dict[str, Any]:
    """The trigger node's config of the journey's live version ({} without one)."""
    if journey.live_version_id is None:
        return {}
    version = journey.live_version  # loaded without its graph by _live_journeys
    key = (version.pk, version.created_at)
    cached = _TRIGGERS.get(key)
    if cached is not None:
        return cached
    version = JourneyVersion.objects.get(pk=version.pk)
    config: dict[str, Any] = {}
    for node in (version.graph or {}).get("nodes", []):
        if isinstance(node, dict) and node.get("kind") == "trigger":
            config = node.get("config") or {}
            break
    if version.state != JourneyVersion.State.DRAFT:
        if len(_TRIGGERS) >= _TRIGGERS_SIZE:
            _TRIGGERS.clear()
        _TRIGGERS[key] = config
    return config


def _live_journeys(**filters: Any) -> QuerySet[Journey]:
    return (
        Journey.objects.filter(status=Journey.Status.ACTIVE, live_version__isnull=False, **filters)
        .select_related("live_version")
        .only(
            "id",
            "project_id",
            "name",
            "status",
            "activated_at",
            "live_version__id",
            "live_version__created_at",
        )
    )


def active_journeys(project: Project, kind: str) -> list[tuple[Journey, dict[str, Any]]]:
    """The project's active journeys whose trigger is of `kind`, with the
    trigger config: one query on the (project, status) index, so a project
    without journeys pays one cheap lookup per Track call."""
    return _of_kind(_active_live_journeys(project), kind)


_JOURNEY = Journey._meta
_VERSION = JourneyVersion._meta
# What _live_journeys() loads, by attribute name (the rest stays deferred).
_JOURNEY_LOADED = ("id", "project_id", "name", "status", "activated_at", "live_version_id")


def _active_live_journeys(project: Project) -> list[Journey]:
    """_live_journeys(project=project) as plain SQL, the same instances (the
    same fields loaded, the live version attached, the rest deferred): this
    runs twice after every Track call (its events, then its users), and
    Django's building of the query and of the instances cost several times
    the query itself."""
    quote = connection.ops.quote_name
    journey_columns = [_JOURNEY.get_field(name).column for name in _JOURNEY_LOADED]
    live_version = quote(_JOURNEY.get_field("live_version").column)
    created_at = _VERSION.get_field("created_at")
    sql = (
        f"SELECT {', '.join('j.' + quote(column) for column in journey_columns)}, "
        f"v.{quote(created_at.column)} "
        f"FROM {quote(_JOURNEY.db_table)} j INNER JOIN {quote(_VERSION.db_table)} v "
        f"ON v.{quote(_VERSION.pk.column)} = j.{live_version} "
        f"WHERE j.{quote(_JOURNEY.get_field('project').column)} = %s "
        f"AND j.{quote(_JOURNEY.get_field('status').column)} = %s"
    )
    project_id = _JOURNEY.get_field("project").get_db_prep_value(project.pk, connection)
    with connection.cursor() as cursor:
        cursor.execute(sql, [project_id, Journey.Status.ACTIVE.value])
        rows = cursor.fetchall()
    if not rows:
        return []
    activated_at = _converter(_JOURNEY.get_field("activated_at"))
    version_created_at = _converter(created_at)
    journeys = []
    for pk, _project_id, name, status, activated, version_id, version_created in rows:
        loaded = {
            "id": pk,
            "project_id": project.pk,
            "name": name,
            "status": status,
            "activated_at": activated_at(activated),
            "live_version_id": version_id,
        }
        journey = _from_db(Journey, loaded)
        version = _from_db(
            JourneyVersion, {"id": version_id, "created_at": version_created_at(version_created)}
        )
        _JOURNEY.get_field("live_version").set_cached_value(journey, version)
        journey.project = project
        journeys.append(journey)
    return journeys


def _converter(field: Any) -> Any:
    """The backend's and the field's conversions of a column's raw value, as
    the ORM applies them (a SQLite datetime comes back as text)."""
    column = field.get_col(field.model._meta.db_table)
    converters = connection.ops.get_db_converters(column) + column.get_db_converters(connection)

    def convert(value: Any) -> Any:
        for converter in converters:
            value = converter(value, column, connection)
        return value

    return convert


def _from_db(model: Any, loaded: dict[str, Any]) -> Any:
    """An instance as the ORM builds it from a row of these fields (by
    attribute name); the model's other fields are deferred."""
    names = [f.attname for f in model._meta.concrete_fields if f.attname in loaded]
    return model.from_db(connection.alias, names, [loaded[name] for name in names])


def _of_kind(journeys: Iterable[Journey], kind: str) -> list[tuple[Journey, dict[str, Any]]]:
    found = []
    for journey in journeys:
        config = trigger_config(journey)
        if config.get("type") == kind:
            found.append((journey, config))
    return found


_DEFINITION_FIELD = Segment._meta.get_field("definition")
_SEGMENT_PROJECT = Segment._meta.get_field("project")


def _definition(project: Project, segment_id: Any) -> dict | None:
    """The saved segment's definition; None when it is gone (nobody enters).
    Plain SQL: this runs after every Track call of a project with segment
    journeys, and the ORM's building of the query cost more than the query."""
    try:
        segment_id = int(segment_id)
    except (TypeError, ValueError):
        return None
    quote = connection.ops.quote_name
    sql = (
        f"SELECT {quote(_DEFINITION_FIELD.column)} FROM {quote(Segment._meta.db_table)} "
        f"WHERE {quote(Segment._meta.pk.column)} = %s AND {quote(_SEGMENT_PROJECT.column)} = %s"
    )
    project_id = _SEGMENT_PROJECT.get_db_prep_value(project.pk, connection)
    with connection.cursor() as cursor:
        cursor.execute(sql, [segment_id, project_id])
        row = cursor.fetchone()
    if row is None:
        return None
    return _DEFINITION_FIELD.from_db_value(row[0], None, connection)


def _members(project: Project, definition: dict, ids: Iterable[int], now: dt.datetime) -> set[int]:
    try:
        return members_among(project, definition, ids, now=now)
    except InvalidDefinition:
        logger.warning("journey segment of project %s is not valid", project.pk)
        return set()


def _enter_many(entries: list[Entry]) -> int:
    from journeys.runtime import enter_many

    return enter_many(entries)


def _enter(journey: Journey, customer: Customer, **kwargs: Any) -> bool:
    from journeys.runtime import do_enter_journey

    return do_enter_journey(journey, customer, **kwargs) is not None


# --- Event trigger -----------------------------------------------------------------------


def on_events_tracked(
    project: Project, event_ids: list[int], events: list[Event] | None = None
) -> int:
    """Enter the users of the just-committed events into the project's event
    journeys that match them; how many runs started. Called after commit;
    `events`: those events already loaded (the receiver's)."""
    from journeys.conditions import data_matches

    journeys = active_journeys(project, EVENT)
    if not journeys or not event_ids:
        return 0
    types = {config.get("event") for _journey, config in journeys}
    if events is None:
        events = list(Event.objects.filter(pk__in=event_ids, type__in=types))
    wanted = set(event_ids)
    events = sorted(
        (
            e
            for e in events
            if e.pk in wanted
            and e.type in types
            and e.project_id == project.pk
            and e.customer_id is not None
        ),
        key=lambda e: e.pk,
    )
    entries: list[tuple[Journey, Event]] = []
    for journey, config in journeys:
        chosen = [
            event
            for event in events
            if event.type == config.get("event") and data_matches(config.get("where"), event.data)
        ]
        if chosen and config.get("segment_id") is not None:
            definition = _definition(project, config["segment_id"])
            inside = (
                _members(project, definition, {e.customer_id for e in chosen}, timezone.now())
                if definition is not None
                else set()
            )
            chosen = [event for event in chosen if event.customer_id in inside]
        entries += [(journey, event) for event in chosen]
    # One transaction for all of the call's entries, one query and one
    # INSERT per journey (runtime.enter_many): on SQLite a transaction (and
    # then a statement) per entry held the one write lock for as long as the
    # runner's steps and the send chains waited (bench/journey_entry.py).
    return _enter_many(
        [Entry(journey, event.customer_id, f"e{event.pk}", event) for journey, event in entries]
    )


# --- Segment-entry trigger ---------------------------------------------------------------


def reconcile_members(
    journey: Journey,
    definition: dict,
    customer_ids: Iterable[int],
    *,
    now: dt.datetime | None = None,
    enter: bool = True,
) -> int:
    """Bring the journey's recorded members in line with the segment for these
    users: newcomers are recorded (and entered, when `enter`), leavers removed.
    How many users entered."""
    now = now or timezone.now()
    entered = 0
    for chunk in _chunks(sorted(set(customer_ids)), BATCH):
        inside, known = _inside_and_known(journey, definition, chunk, now)
        leaving = known - inside
        if leaving:
            SegmentMember.objects.filter(journey=journey, customer_id__in=leaving).delete()
        newcomers = inside - known
        if not newcomers:
            continue
        if not enter:
            SegmentMember.objects.bulk_create(
                [SegmentMember(journey=journey, customer_id=pk, since=now) for pk in newcomers],
                ignore_conflicts=True,
            )
            continue
        entered += _record_and_enter(journey, sorted(newcomers), now)
    return entered


def _inside_and_known(
    journey: Journey, definition: dict, customer_ids: list[int], now: dt.datetime
) -> tuple[set[int], set[int]]:
    """Which of these users the segment holds now, and which are recorded
    members: one statement (the members query and the recorded rows, UNION
    ALL), as this runs after every Track call."""
    project = journey.project  # the callers' select_related or set it
    try:
        members_sql, params = members_query(project, definition, customer_ids, now=now)
    except InvalidDefinition:
        logger.warning("journey segment of project %s is not valid", project.pk)
        return set(), _known_members(journey, customer_ids)
    meta = SegmentMember._meta
    quote = connection.ops.quote_name
    ids = ids_parameter(customer_ids)
    customer = quote(meta.get_field("customer").column)
    sql = (
        f"SELECT 1, inside.* FROM ({members_sql}) inside "
        f"UNION ALL SELECT 0, {customer} FROM {quote(meta.db_table)} "
        f"WHERE {quote(meta.get_field('journey').column)} = %s AND {customer} IN ({ids.sql})"
    )
    inside: set[int] = set()
    known: set[int] = set()
    with connection.cursor() as cursor:
        cursor.execute(sql, [*params, journey.pk, *ids.params])
        for is_member, customer_id in cursor.fetchall():
            (inside if is_member else known).add(customer_id)
    return inside, known


def _known_members(journey: Journey, customer_ids: list[int]) -> set[int]:
    """Which of these users are recorded members (plain SQL: this runs after
    every Track call, and the ORM's query building cost more than the query)."""
    meta = SegmentMember._meta
    quote = connection.ops.quote_name
    ids = ids_parameter(customer_ids)
    customer = quote(meta.get_field("customer").column)
    sql = (
        f"SELECT {customer} FROM {quote(meta.db_table)} "
        f"WHERE {quote(meta.get_field('journey').column)} = %s AND {customer} IN ({ids.sql})"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [journey.pk, *ids.params])
        return {row[0] for row in cursor.fetchall()}


def _record_and_enter(journey: Journey, customer_ids: list[int], now: dt.datetime) -> int:
    """Record the newcomers and enter them, in one transaction: only the users
    whose row this insert created enter (a concurrent evaluation that won
    enters the others), and a crash records nobody, so the next look tries
    again. A user whose entry fails is unrecorded again, for the same reason.

    In a transaction of its own (the usual case: after the Track call
    committed) the entries take no savepoint each; a failed entry rolls that
    transaction back whole and the newcomers are recorded and entered again,
    one savepoint each, so only the failed one is left out. Inside a caller's
    transaction each entry has its savepoint from the start (the runtime may
    hold what an entry did outside the database until that transaction ends)."""
    entry_key = f"s{now:%Y%m%d%H%M%S%f}"
    if not connection.in_atomic_block:
        try:
            with transaction.atomic():
                entered = 0
                for customer in _claim_members(journey, customer_ids, now):
                    try:
                        entered += _enter(journey, customer, entry_key=entry_key)
                    except Exception as exc:
                        raise _EntryFailed from exc
                return entered
        except _EntryFailed:
            # Rolled back: again, one savepoint per entry (where a failure
            # that repeats is logged with its user).
            logger.warning(
                "journey %s: a segment entry failed; entering again one by one",
                journey.pk,
                exc_info=True,
            )
    entered = 0
    with transaction.atomic():
        for customer in _claim_members(journey, customer_ids, now):
            try:
                with transaction.atomic():
                    entered += _enter(journey, customer, entry_key=entry_key)
            except Exception:
                logger.exception("journey %s: segment entry of %s failed", journey.pk, customer.pk)
                SegmentMember.objects.filter(journey=journey, customer=customer).delete()
    return entered


class _EntryFailed(Exception):
    """An entry raised inside _record_and_enter's transaction without savepoints."""


def _claim_members(journey: Journey, customer_ids: list[int], now: dt.datetime) -> list[Customer]:
    """Insert the membership rows; the users whose row this statement created,
    by id (one INSERT … ON CONFLICT DO NOTHING RETURNING, SQLite ≥ 3.35 and
    PostgreSQL). They are not read again: entry needs only their id, and
    any other field loads when first used (deferred, as with `only()`)."""
    meta = SegmentMember._meta
    quote = connection.ops.quote_name
    columns = [meta.get_field(name).column for name in ("journey", "customer", "since")]
    since = meta.get_field("since").get_db_prep_save(now, connection)
    rows = ", ".join(["(%s, %s, %s)"] * len(customer_ids))
    params: list[object] = []
    for customer_id in customer_ids:
        params += [journey.pk, customer_id, since]
    sql = (
        f"INSERT INTO {quote(meta.db_table)} ({', '.join(quote(c) for c in columns)}) "
        f"VALUES {rows} ON CONFLICT DO NOTHING RETURNING {quote(columns[1])}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        won = sorted(row[0] for row in cursor.fetchall())
    return [_from_db(Customer, {"id": pk, "project_id": journey.project_id}) for pk in won]


def on_customers_changed(
    project: Project, customer_ids: list[int], *, now: dt.datetime | None = None
) -> int:
    """Re-evaluate these users for the project's segment-entry journeys; how
    many entered."""
    journeys = active_journeys(project, SEGMENT)
    if not journeys or not customer_ids:
        return 0
    now = now or timezone.now()
    entered = 0
    for journey, config in journeys:
        definition = _definition(project, config.get("segment_id"))
        if definition is not None:
            entered += reconcile_members(journey, definition, customer_ids, now=now)
    return entered


def _customers_changed_receiver(
    sender: object, *, project: Project, customer_ids: list[int], **kwargs: object
) -> None:
    try:
        on_customers_changed(project, customer_ids)
    except Exception:
        # After commit: the write stands; a missed entry is not worth a 500.
        logger.exception("segment journeys of project %s: re-evaluation failed", project.pk)


def _list_changed_receiver(
    sender: object, *, project: Project, numbers: list[str], **kwargs: object
) -> None:
    # Sent inside the opt-out list's transaction: look only after it commits.
    journeys = [
        journey
        for journey, config in active_journeys(project, SEGMENT)
        if _mentions_optout(_definition(project, config.get("segment_id")) or {})
    ]
    if not journeys:
        return
    customer_ids = []
    for chunk in _chunks(sorted(set(numbers)), BATCH):
        customer_ids += Customer.objects.filter(
            project=project, phone_number__in=chunk
        ).values_list("pk", flat=True)
    if customer_ids:
        transaction.on_commit(
            lambda: _customers_changed_receiver(None, project=project, customer_ids=customer_ids)
        )


def _mentions_optout(node: dict) -> bool:
    return any(
        _mentions_optout(child) if "conditions" in child else child.get("kind") == "optout"
        for child in node.get("conditions", [])
        if isinstance(child, dict)
    )


def scan_boundaries(*, now: dt.datetime | None = None) -> int:
    """For every active segment journey with "within N days" conditions,
    re-evaluate only the users whose window edge passed since the last scan;
    how many entered."""
    now = now or timezone.now()
    journeys = _live_journeys().select_related("project")
    entered = 0
    for journey, config in _of_kind(journeys, SEGMENT):
        definition = _definition(journey.project, config.get("segment_id"))
        if definition is None or not is_time_relative(definition):
            continue
        since = _cursor(journey, now)
        if since >= now:
            continue
        candidates = boundary_candidates(journey.project, definition, since, now)
        entered += reconcile_members(journey, definition, candidates.iterator(), now=now)
        TriggerCursor.objects.filter(journey=journey, scanned_until=since).update(scanned_until=now)
    return entered


def _cursor(journey: Journey, now: dt.datetime) -> dt.datetime:
    cursor, _created = TriggerCursor.objects.get_or_create(
        journey=journey, defaults={"scanned_until": journey.activated_at or now}
    )
    return cursor.scanned_until


def on_activated(journey: Journey, enter_current_members: bool = False) -> int:
    """The journey has just been activated: start its trigger's clocks now, and
    for a segment-entry journey record the segment's current members (entering
    them when `enter_current_members`). How many entered."""
    now = timezone.now()
    TriggerCursor.objects.update_or_create(journey=journey, defaults={"scanned_until": now})
    config = trigger_config(journey)
    if config.get("type") != SEGMENT:
        return 0
    SegmentMember.objects.filter(journey=journey).delete()
    definition = _definition(journey.project, config.get("segment_id"))
    if definition is None:
        return 0
    entered = 0
    for chunk in _project_customer_chunks(journey.project):
        entered += reconcile_members(
            journey, definition, chunk, now=now, enter=enter_current_members
        )
    return entered


def on_segment_redefined(
    project: Project, segment_id: int, *, now: dt.datetime | None = None
) -> int:
    """A saved segment's definition changed: for every active or paused
    segment-entry journey on it, record its members under the new definition
    WITHOUT entering anyone, as at an activation where current members do not
    enter (docs/journeys.md "When a segment's definition changes"). Members
    who stay inside keep their row (and `since`), those now outside are
    removed, those now inside are recorded: only a later change of a user's
    data (or a "within N days" edge passing after now) enters them. How many
    journeys were re-recorded."""
    now = now or timezone.now()
    journeys = (
        Journey.objects.filter(
            project=project,
            status__in=(Journey.Status.ACTIVE, Journey.Status.PAUSED),
            live_version__isnull=False,
        )
        .select_related("live_version")
        .only("id", "project_id", "status", "live_version__id", "live_version__created_at")
    )
    chosen = [
        journey
        for journey in journeys
        if (config := trigger_config(journey)).get("type") == SEGMENT
        and config.get("segment_id") is not None
        and str(config["segment_id"]) == str(segment_id)
    ]
    if not chosen:
        return 0
    definition = _definition(project, segment_id)
    if definition is None:
        return 0
    for journey in chosen:
        journey.project = project
        for chunk in _project_customer_chunks(project):
            reconcile_members(journey, definition, chunk, now=now, enter=False)
        # Users whose "within N days" edge passed before now were just
        # evaluated at now: the boundary scan goes on from here.
        TriggerCursor.objects.filter(journey=journey, scanned_until__lt=now).update(
            scanned_until=now
        )
    return len(chosen)


def _segment_redefined_receiver(
    sender: object, *, project: Project, segment_id: int, **kwargs: object
) -> None:
    try:
        on_segment_redefined(project, segment_id)
    except Exception:
        # After commit: the segment is saved; the members stay as they were.
        logger.exception("segment journeys on segment %s: re-recording failed", segment_id)


def _project_customer_chunks(project: Project, after: int = 0) -> Iterator[list[int]]:
    """The project's customer ids in ascending batches, by keyset (index
    (project, id)), so memory and each query stay small."""
    while True:
        chunk = list(
            Customer.objects.filter(project=project, pk__gt=after)
            .order_by("pk")
            .values_list("pk", flat=True)[:BATCH]
        )
        if not chunk:
            return
        yield chunk
        after = chunk[-1]


# --- Schedule trigger --------------------------------------------------------------------


def occurrences(config: dict, after: dt.datetime, until: dt.datetime) -> list[dt.datetime]:
    """The cron's occurrences in (after, until], in UTC, at most
    MAX_OCCURRENCES_PER_SCAN of them."""
    from croniter import croniter

    zone = zoneinfo.ZoneInfo(config.get("time_zone") or "UTC")
    found: list[dt.datetime] = []
    cron = croniter(config["cron"], after.astimezone(zone))
    while len(found) < MAX_OCCURRENCES_PER_SCAN:
        moment = cron.get_next(dt.datetime).astimezone(dt.UTC)
        if moment > until:
            break
        found.append(moment)
    return found


def scan_schedules(*, now: dt.datetime | None = None) -> int:
    """Run the due occurrences of every active schedule journey; how many users
    entered."""
    now = now or timezone.now()
    journeys = _live_journeys().select_related("project")
    entered = 0
    for journey, config in _of_kind(journeys, SCHEDULE):
        try:
            entered += run_schedule(journey, config, now=now)
        except Exception:
            logger.exception("schedule journey %s: scan failed", journey.pk)
    return entered


def run_schedule(journey: Journey, config: dict, *, now: dt.datetime) -> int:
    """Claim the journey's occurrences since the last scan (skipping those
    older than the catch-up window), finish any whose scanner died, and enter
    the users of each claimed one."""
    since = _cursor(journey, now)
    catch_up = dt.timedelta(minutes=config.get("catch_up_minutes", DEFAULT_CATCH_UP_MINUTES))
    due = occurrences(config, since, now)
    for moment in due:
        late = now - moment > catch_up
        state = ScheduleOccurrence.State.SKIPPED if late else ScheduleOccurrence.State.ENTERING
        try:
            with transaction.atomic():
                ScheduleOccurrence.objects.create(
                    journey=journey,
                    occurrence=moment,
                    state=state,
                    claimed_at=now,
                    finished_at=now if late else None,
                )
        except IntegrityError:
            continue  # another scanner claimed it
        if not late:
            _run_occurrence(journey, config, moment, now)
    if due:
        TriggerCursor.objects.filter(journey=journey, scanned_until=since).update(
            scanned_until=due[-1]
        )
    entered = 0
    for stale in ScheduleOccurrence.objects.filter(
        journey=journey,
        state=ScheduleOccurrence.State.ENTERING,
        claimed_at__lt=now - OCCURRENCE_STALE,
    ):
        # Take it over only if no one else did meanwhile.
        if ScheduleOccurrence.objects.filter(pk=stale.pk, claimed_at=stale.claimed_at).update(
            claimed_at=now
        ):
            _run_occurrence(journey, config, stale.occurrence, now)
    for row in ScheduleOccurrence.objects.filter(journey=journey, occurrence__in=due):
        entered += row.entered
    return entered


def _run_occurrence(journey: Journey, config: dict, moment: dt.datetime, now: dt.datetime) -> None:
    """Enter the occurrence's users (the segment's members, or everyone) in
    batches, from where the occurrence last got to."""
    project = journey.project
    occurrence = ScheduleOccurrence.objects.get(journey=journey, occurrence=moment)
    definition = None
    if config.get("segment_id") is not None:
        definition = _definition(project, config["segment_id"])
        if definition is None:
            _finish(occurrence, now)
            return
    entry_key = f"c{moment:%Y%m%d%H%M}"
    started = time.monotonic()
    for chunk in _project_customer_chunks(project, after=occurrence.last_customer_id):
        if not Journey.objects.filter(pk=journey.pk, status=Journey.Status.ACTIVE).exists():
            return  # paused or stopped: a resume's scan finishes it if still fresh
        chosen = chunk if definition is None else sorted(_members(project, definition, chunk, now))
        entered = 0
        for customer in Customer.objects.filter(pk__in=chosen).order_by("pk"):
            try:
                entered += _enter(journey, customer, entry_key=entry_key)
            except Exception:
                logger.exception("schedule journey %s: entry of %s failed", journey.pk, customer.pk)
        ScheduleOccurrence.objects.filter(pk=occurrence.pk).update(
            last_customer_id=chunk[-1],
            entered=F("entered") + entered,
            # The scan's clock moved on by the time spent (tests pass `now`).
            claimed_at=now + dt.timedelta(seconds=time.monotonic() - started),
        )
    _finish(occurrence, now)


def _finish(occurrence: ScheduleOccurrence, now: dt.datetime) -> None:
    ScheduleOccurrence.objects.filter(pk=occurrence.pk).update(
        state=ScheduleOccurrence.State.DONE, finished_at=now
    )


# --- The periodic task and the signal wiring -----------------------------------------------


def scan_triggers() -> dict[str, int]:
    """The every-minute task: schedule occurrences, then boundary scans.
    Safe to run twice at once (claims by insert, conditional cursors)."""
    return {"schedule": scan_schedules(), "boundary": scan_boundaries()}


def connect() -> None:
    """Listen to the lower apps' changes of users (call once, from ready())."""
    customers_changed.connect(
        _customers_changed_receiver,
        sender=Customer,
        dispatch_uid="journeys.triggers.customers_changed",
    )
    list_changed.connect(
        _list_changed_receiver, sender=OptOutChange, dispatch_uid="journeys.triggers.list_changed"
    )
    segment_redefined.connect(
        _segment_redefined_receiver,
        sender=Segment,
        dispatch_uid="journeys.triggers.segment_redefined",
    )


def _chunks(items: list, size: int) -> Iterator[list]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
