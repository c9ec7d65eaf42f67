"""The journey runtime (docs/journeys.md "Runs and steps", SPEC §10, §11).

- `do_enter_journey`: the re-entry policy, then a run at the trigger node,
  due now; the runner is woken once the entry commits.
- The runner (`run_due`): claims due runs in batches with a claim token (one
  conditional UPDATE), and takes their steps in rounds, ONE transaction per
  round for all the batch's runs (`commit_plans`): each run's UPDATE
  conditional on its step counter, state and version comes first (a lost
  one writes nothing of its step, the others go on), then the winners'
  effects (messages handed to the send core per outbox, webhook events per
  project), Step rows in bulk and counters summed. A run whose next node is
  due at once stays for the next round while its claim is held. Stale
  claims (a dead process, or older than the claim timeout) are released as
  dispatch releases its messages' claims. On PostgreSQL, helper runners
  (`JOURNEY_RUNNERS`) take batches beside the first.
- `on_events`: exit events take matching runs out at once (also from a delay
  or a wait, and while paused) and cancel their messages not yet handed to a
  gateway; a waited-for event moves a waiting run on by its `event` port (a
  paused journey's, on resume: `apply_events_after_pause`). The event and
  the timeout race through the same conditional UPDATE: exactly one wins.
- `wake_runner`: at most one pending runner task (`RunnerLease.pending`),
  enqueued after the caller's transaction commits; the periodic schedule
  (`journeys.run_due`, every minute) and the worker start-up catch the rest.
"""

from __future__ import annotations

import logging
import os
import socket
import time
import uuid
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings as django_settings
from django.db import IntegrityError, connection, transaction
from django.db.models import Count, Max, Min, Q
from django.utils import timezone

from audiences.models import Customer, Event
from dispatch.actions import do_enqueue_messages, send_inline, wakeups_deferred
from dispatch.counters import bump as bump_outbox
from dispatch.models import Message
from dispatch.pipeline import owner_is_dead, token_is_dead
from journeys import conditions, nodes
from journeys import counters as metrics
from journeys.models import Journey, JourneyVersion, Run, RunnerLease, Step
from projects.models import Project

logger = logging.getLogger(__name__)

RUN_TASK = "journeys.tasks.run_due"
LEASE = "runner"
LIVE = (Run.State.ACTIVE, Run.State.WAITING)
# Journeys whose runs the runner takes: active ones step, stopped ones end.
RUNNABLE = (Journey.Status.ACTIVE, Journey.Status.STOPPED)
# Runs claimed at once. Per batch the runner pays a claim, a read of the
# versions and a wake-up of the send chains, and per round one transaction:
# 500 cost 17 % less CPU per run than 200 (3-step journey, in process), and
# a round of 500 still commits in tens of milliseconds.
BATCH_SIZE = 500
# A graph is acyclic; a run takes at most one step per node in one go.
MAX_STEPS_IN_A_ROW = 200
# A run whose step raised is tried again this much later.
ERROR_RETRY_SECONDS = 30
END_METRICS = {
    Run.EndReason.END: metrics.EXITED_END,
    Run.EndReason.EXIT_NODE: metrics.EXITED_EXIT_NODE,
    Run.EndReason.EXIT_EVENT: metrics.EXITED_EXIT_EVENT,
    Run.EndReason.STOPPED: metrics.EXITED_STOPPED,
    Run.EndReason.MIGRATION_EXIT: metrics.EXITED_MIGRATION,
    Run.EndReason.LATE: "exited:late",
}
DEFAULT_REENTRY = "after_end"


def claim_timeout() -> timedelta:
    return timedelta(seconds=django_settings.DISPATCH_CLAIM_SECONDS)


# --- graphs ------------------------------------------------------------------------------


def node_map(graph: dict) -> dict[str, dict]:
    return {node["key"]: node for node in (graph or {}).get("nodes", []) if "key" in node}


def trigger_key(graph: dict) -> str | None:
    for node in (graph or {}).get("nodes", []):
        if node.get("kind") == "trigger":
            return node.get("key")
    return None


@dataclass
class Loaded:
    """Versions, journeys and projects read once per batch."""

    versions: dict[int, JourneyVersion] = field(default_factory=dict)
    graphs: dict[int, dict[str, dict]] = field(default_factory=dict)
    journeys: dict[int, Journey] = field(default_factory=dict)
    projects: dict[Any, Project] = field(default_factory=dict)
    cache: dict = field(default_factory=dict)

    def load(self, runs: Iterable[Run]) -> None:
        runs = list(runs)
        missing = {r.version_id for r in runs} - set(self.versions)
        for version in JourneyVersion.objects.filter(pk__in=missing):
            self.versions[version.pk] = version
            self.graphs[version.pk] = node_map(version.graph)
        wanted = {r.journey_id for r in runs}
        for journey in Journey.objects.filter(pk__in=wanted).select_related("project"):
            self.journeys[journey.pk] = journey
            self.projects[journey.project_id] = journey.project

    def settings(self, version_id: int) -> dict:
        return self.versions[version_id].settings or {}


# --- entry -------------------------------------------------------------------------------


def do_enter_journey(
    journey: Journey,
    customer: Customer,
    *,
    entry_key: str,
    entry_event: Event | None = None,
    now: datetime | None = None,
) -> Run | None:
    """Enter the user into the journey's live version at its trigger node,
    due now, unless the journey is not active or the re-entry policy says
    no. Idempotent per (journey, customer, entry_key): a repeat returns None.
    Wakes the runner once the caller's transaction commits."""
    now = now or timezone.now()
    if journey.status != Journey.Status.ACTIVE or journey.live_version_id is None:
        return None
    version = journey.live_version
    start = trigger_key(version.graph)
    if start is None:
        return None
    entry_data = dict(entry_event.data or {}) if entry_event is not None else {}
    reentry = (version.settings or {}).get("reentry") or {}
    mode = reentry.get("mode") or DEFAULT_REENTRY
    reentry_key = ""
    if mode == "keyed":
        value = conditions.data_value(entry_data, reentry.get("key_field") or "")
        if value is None:
            return None
        reentry_key = str(value)[:255]
    with transaction.atomic():
        # One entry decision at a time per user (PostgreSQL; SQLite's
        # IMMEDIATE transactions are one at a time anyway).
        if connection.features.has_select_for_update:
            list(Customer.objects.select_for_update().filter(pk=customer.pk).values_list("pk"))
        if not _may_enter(journey, customer, mode, reentry, reentry_key, now):
            return None
        try:
            with transaction.atomic():
                run = Run.objects.create(
                    project_id=journey.project_id,
                    journey=journey,
                    version=version,
                    customer=customer,
                    entry_key=entry_key[:100],
                    entry_event=entry_event,
                    entry_data=entry_data,
                    reentry_key=reentry_key,
                    node=start,
                    step=0,
                    state=Run.State.ACTIVE,
                    due_at=now,
                    started_at=now,
                )
        except IntegrityError:
            return None
        wake_runner()
        _bump_entry(journey.pk, version.pk, start)
    return run


# The entries of one Track call (`entries_batched`): their counters, written
# once at the end, in the runner's order.
_entry_bumps: ContextVar[dict[tuple[int, int], list[metrics.Delta]] | None] = ContextVar(
    "journey_entry_bumps", default=None
)


def _bump_entry(journey_id: int, version_id: int, start: str, runs: int = 1) -> None:
    deltas = [(start, metrics.ENTERED, runs), (start, metrics.WAITING, runs)]
    pending = _entry_bumps.get()
    if pending is None:
        metrics.bump(journey_id, version_id, deltas)
    else:
        pending.setdefault((journey_id, version_id), []).extend(deltas)


@contextmanager
def entries_batched() -> Iterator[None]:
    """The entries made inside the block share ONE transaction (each entry
    still its own savepoint: a failed one costs only itself) and wake the
    runner once; their node counters are summed and written at the end,
    sorted by (journey, version, node, metric) as the runner writes its
    rounds', so an entry and a runner on PostgreSQL never wait on each
    other's counter rows in opposite orders (a deadlock)."""
    if _entry_bumps.get() is not None:
        yield
        return
    pending: dict[tuple[int, int], list[metrics.Delta]] = {}
    token = _entry_bumps.set(pending)
    try:
        with transaction.atomic():
            yield
            for (journey_id, version_id), deltas in sorted(pending.items()):
                metrics.bump(journey_id, version_id, deltas)
    finally:
        _entry_bumps.reset(token)


@dataclass(frozen=True)
class Entry:
    """One user to enter into a journey (see `enter_many`)."""

    journey: Journey
    customer_id: int
    entry_key: str
    entry_event: Event | None = None


def enter_many(entries: Iterable[Entry], now: datetime | None = None) -> int:
    """Enter many users at once (a Track call's events): the same rules as
    `do_enter_journey`, in the order given (a user's second entry in the
    batch sees the run of the first), but per journey one query decides the
    re-entry rule for all of its users and one multi-row INSERT writes their
    runs, one upsert their counters; all in ONE transaction, opened only when
    someone may enter (on SQLite it holds the one write lock: a statement per
    entry made every other writer wait for the Track call, see
    bench/journey_entry.py). If a journey's batch fails (its INSERT met an
    entry that raced in elsewhere, say), that journey's users are entered one
    at a time, each in a savepoint, so one bad entry costs only itself.
    Returns how many runs started."""
    now = now or timezone.now()
    groups: dict[int, list[Entry]] = {}
    for entry in entries:
        groups.setdefault(entry.journey.pk, []).append(entry)
    batches = [batch for _pk, group in sorted(groups.items()) if (batch := _entry_batch(group))]
    if not batches:
        return 0
    started = 0
    with entries_batched():
        if connection.features.has_select_for_update:
            # One entry decision at a time per user, as in do_enter_journey;
            # all of the call's users at once, in id order, so two calls
            # never wait on each other the opposite way round.
            ids = sorted({entry.customer_id for batch in batches for entry, _d, _k in batch.items})
            list(
                Customer.objects.select_for_update()
                .filter(pk__in=ids)
                .order_by("pk")
                .values_list("pk")
            )
        for batch in batches:
            try:
                with _entry_savepoint():
                    started += _enter_batch(batch, now)
            except Exception:
                logger.warning(
                    "journey %s: a batch of %d entries failed; one at a time",
                    batch.journey.pk,
                    len(batch.items),
                    exc_info=True,
                )
                started += _enter_one_by_one(batch, now)
    return started


@dataclass
class _EntryBatch:
    journey: Journey
    version: JourneyVersion
    start: str
    mode: str
    reentry: dict
    items: list[tuple[Entry, dict, str]]  # (entry, entry data, re-entry key)


def _entry_batch(group: list[Entry]) -> _EntryBatch | None:
    """What `do_enter_journey` checks before its transaction, for a group of
    one journey: None when the journey takes no entries."""
    journey = group[0].journey
    if journey.status != Journey.Status.ACTIVE or journey.live_version_id is None:
        return None
    version = journey.live_version
    start, reentry = _entry_rules(version)
    if start is None:
        return None
    mode = reentry.get("mode") or DEFAULT_REENTRY
    items = []
    for entry in group:
        data = dict(entry.entry_event.data or {}) if entry.entry_event is not None else {}
        key = ""
        if mode == "keyed":
            value = conditions.data_value(data, reentry.get("key_field") or "")
            if value is None:
                continue
            key = str(value)[:255]
        items.append((entry, data, key))
    return _EntryBatch(journey, version, start, mode, reentry, items) if items else None


# A published version never changes: its trigger node and re-entry rule are
# read once per process (a Track call's journey comes without its graph).
_ENTRY_RULES: dict[tuple[int, Any], tuple[str | None, dict]] = {}
_ENTRY_RULES_SIZE = 1000


def _entry_rules(version: JourneyVersion) -> tuple[str | None, dict]:
    """The version's trigger node key and re-entry settings."""
    key = (version.pk, version.created_at)
    rules = _ENTRY_RULES.get(key)
    if rules is None:
        full = JourneyVersion.objects.only("graph", "settings", "state").get(pk=version.pk)
        rules = (trigger_key(full.graph), (full.settings or {}).get("reentry") or {})
        if full.state != JourneyVersion.State.DRAFT:
            if len(_ENTRY_RULES) >= _ENTRY_RULES_SIZE:
                _ENTRY_RULES.clear()
            _ENTRY_RULES[key] = rules
    return rules


@dataclass
class _Past:
    """A user's earlier runs of one journey, as the re-entry rules read them."""

    runs: int = 0
    live: int = 0
    last_start: datetime | None = None
    live_keys: set[str] = field(default_factory=set)

    def allows(self, mode: str, reentry: dict, key: str, now: datetime) -> bool:
        if mode == "once":
            return not self.runs
        if mode == "keyed":
            return key not in self.live_keys
        if self.live:
            return False
        if mode == "cooldown":
            seconds = int(reentry.get("cooldown_seconds") or 0)
            return self.last_start is None or self.last_start <= now - timedelta(seconds=seconds)
        if mode == "max":
            return self.runs < int(reentry.get("max") or 1)
        return True  # after_end

    def entered(self, key: str, now: datetime) -> None:
        self.runs += 1
        self.live += 1
        self.last_start = now
        self.live_keys.add(key)


def _past_runs(journey: Journey, customer_ids: list[int], mode: str) -> dict[int, _Past]:
    runs = Run.objects.filter(journey=journey, customer_id__in=customer_ids)
    past: dict[int, _Past] = {}
    if mode == "keyed":
        for customer_id, key in runs.filter(state__in=LIVE).values_list(
            "customer_id", "reentry_key"
        ):
            past.setdefault(customer_id, _Past()).live_keys.add(key)
        return past
    rows = runs.values("customer_id").annotate(
        n=Count("pk"), live=Count("pk", filter=Q(state__in=LIVE)), last=Max("started_at")
    )
    for row in rows:
        past[row["customer_id"]] = _Past(row["n"], row["live"], row["last"])
    return past


def _enter_batch(batch: _EntryBatch, now: datetime) -> int:
    customer_ids = sorted({entry.customer_id for entry, _data, _key in batch.items})
    past = _past_runs(batch.journey, customer_ids, batch.mode)
    runs = []
    at = connection.ops.adapt_datetimefield_value(now)
    project = _RUN_PROJECT.get_db_prep_save(batch.journey.project_id, connection)
    for entry, data, key in batch.items:
        before = past.setdefault(entry.customer_id, _Past())
        if not before.allows(batch.mode, batch.reentry, key, now):
            continue
        before.entered(key, now)
        event_id = entry.entry_event.pk if entry.entry_event is not None else None
        runs.append(
            (
                project,
                batch.journey.pk,
                batch.version.pk,
                entry.customer_id,
                entry.entry_key[:100],
                event_id,
                _ENTRY_DATA.get_db_prep_save(data, connection),
                key,
                batch.start,
                Run.State.ACTIVE.value,
                at,
                at,
            )
        )
    if not runs:
        return 0
    _insert_runs(runs)
    wake_runner()
    _bump_entry(batch.journey.pk, batch.version.pk, batch.start, len(runs))
    return len(runs)


# A new run's columns; the others take their defaults (step 0, no claim, …).
_RUN_COLUMNS = (
    "project_id",
    "journey_id",
    "version_id",
    "customer_id",
    "entry_key",
    "entry_event_id",
    "entry_data",
    "reentry_key",
    "node",
    "state",
    "due_at",
    "started_at",
)
_RUN_DEFAULTS = {
    "step": 0,
    "wait_event_type": "",
    "wait_match": "",
    "claim_token": "",
    "claimed_at": None,
    "ended_at": None,
    "end_reason": "",
}
_ENTRY_DATA = Run._meta.get_field("entry_data")
_RUN_PROJECT = Run._meta.get_field("project")
_RUNS_PER_STATEMENT = 250


def _insert_runs(rows: list[tuple]) -> None:
    """New runs (rows of `_RUN_COLUMNS`), a few hundred per statement: the
    ORM's bulk_create compiled them for longer than SQLite took to write
    them, inside the write lock (bench/journey_entry.py)."""
    columns = [*_RUN_COLUMNS, *_RUN_DEFAULTS]
    defaults = list(_RUN_DEFAULTS.values())
    one = "(" + ", ".join(["%s"] * len(columns)) + ")"
    quote = connection.ops.quote_name
    head = f"INSERT INTO {quote(_RUN_TABLE)} ({', '.join(quote(c) for c in columns)}) VALUES "
    with connection.cursor() as cursor:
        for start in range(0, len(rows), _RUNS_PER_STATEMENT):
            part = rows[start : start + _RUNS_PER_STATEMENT]
            cursor.execute(
                head + ", ".join([one] * len(part)),
                [value for row in part for value in (*row, *defaults)],
            )


def _enter_one_by_one(batch: _EntryBatch, now: datetime) -> int:
    customers = Customer.objects.in_bulk({entry.customer_id for entry, _d, _k in batch.items})
    started = 0
    for entry, _data, _key in batch.items:
        customer = customers.get(entry.customer_id)
        if customer is None:
            continue
        try:
            with _entry_savepoint():
                run = do_enter_journey(
                    batch.journey,
                    customer,
                    entry_key=entry.entry_key,
                    entry_event=entry.entry_event,
                    now=now,
                )
        except Exception:
            # One entry's failure must not cost the others theirs.
            logger.exception(
                "journey %s: entry %s of user %s failed",
                batch.journey.pk,
                entry.entry_key,
                entry.customer_id,
            )
            continue
        started += run is not None
    return started


@contextmanager
def _entry_savepoint() -> Iterator[None]:
    """A savepoint whose rollback also forgets the counter bumps the entries
    inside it left for `entries_batched` to write."""
    pending = _entry_bumps.get()
    kept = {key: list(deltas) for key, deltas in pending.items()} if pending is not None else None
    try:
        with transaction.atomic():
            yield
    except BaseException:
        if pending is not None and kept is not None:
            pending.clear()
            pending.update(kept)
        raise


def _may_enter(
    journey: Journey, customer: Customer, mode: str, reentry: dict, key: str, now: datetime
) -> bool:
    runs = Run.objects.filter(journey=journey, customer=customer)
    if mode == "once":
        return not runs.exists()
    if mode == "keyed":
        return not runs.filter(state__in=LIVE, reentry_key=key).exists()
    if runs.filter(state__in=LIVE).exists():
        return False
    if mode == "cooldown":
        seconds = int(reentry.get("cooldown_seconds") or 0)
        last = runs.aggregate(latest=Max("started_at"))["latest"]
        return last is None or last <= now - timedelta(seconds=seconds)
    if mode == "max":
        return runs.count() < int(reentry.get("max") or 1)
    return True  # after_end


# --- steps -------------------------------------------------------------------------------


def _step_bumps(
    node_key: str, outcome: nodes.Outcome, next_key: str | None, end_reason: str
) -> list[metrics.Delta]:
    deltas: list[metrics.Delta] = [(node_key, metrics.WAITING, -1)]
    if outcome.port:
        deltas.append((node_key, metrics.port(outcome.port), 1))
    deltas += [(node_key, metric, n) for metric, n in outcome.bumps]
    if end_reason:
        deltas.append((node_key, END_METRICS.get(end_reason, f"exited:{end_reason}"), 1))
    elif next_key:
        deltas += [(next_key, metrics.ENTERED, 1), (next_key, metrics.WAITING, 1)]
    return deltas


@dataclass
class Plan:
    """A step worked out for a run as last read, not yet written: the run's
    new fields (None: a hold, no step) and what the step writes with them."""

    run: Run
    node: dict
    outcome: nodes.Outcome
    seen_step: int
    seen_state: str
    fields: dict[str, Any] | None
    next_key: str | None = None
    end_reason: str = ""


def plan_step(
    run: Run,
    node: dict,
    outcome: nodes.Outcome,
    loaded: Loaded,
    now: datetime,
    *,
    token: str = "",
    customer: Customer | None = None,
) -> Plan:
    """The run's next position after `outcome` (reads only). `token` (the
    runner's claim): keep the claim when the next node is due at once; a
    node that goes at once is due when this step was due. Without it (an
    event's step) it is due now."""
    plan = Plan(run, node, outcome, run.step, run.state, None)
    if outcome.hold_until is not None:
        return plan
    project = loaded.projects[run.project_id]
    graph = loaded.graphs[run.version_id]
    end_reason = outcome.end_reason
    next_key = None
    if not end_reason:
        next_key = (node.get("next") or {}).get(outcome.port)
        if not next_key or next_key not in graph:
            end_reason = Run.EndReason.END
            next_key = None
    if end_reason:
        plan.fields = {
            "step": run.step + 1,
            "state": Run.State.ENDED,
            "ended_at": now,
            "end_reason": end_reason,
            "due_at": None,
            "wait_event_type": "",
            "wait_match": "",
            "claim_token": "",
            "claimed_at": None,
        }
    else:
        scheduled = run.due_at if (run.due_at is not None and token) else now
        arrival = nodes.arrival(graph[next_key], run, project, now, customer, scheduled)
        goes_on = bool(token) and arrival.state == Run.State.ACTIVE and arrival.due_at <= now
        plan.fields = {
            "step": run.step + 1,
            "node": next_key,
            "state": arrival.state,
            "due_at": arrival.due_at,
            "wait_event_type": arrival.wait_event_type,
            "wait_match": arrival.wait_match,
            "claim_token": token if goes_on else "",
            "claimed_at": now if goes_on else None,
        }
    plan.next_key, plan.end_reason = next_key, end_reason
    return plan


def commit_step(
    run: Run,
    node: dict,
    outcome: nodes.Outcome,
    loaded: Loaded,
    now: datetime,
    *,
    token: str = "",
    customer: Customer | None = None,
) -> bool:
    """Write one step of `run` (as last read: its `step` and `state` are what
    the conditional UPDATE checks). Returns whether this step won; the run
    object then holds the new position. See `plan_step` for `token`."""
    plan = plan_step(run, node, outcome, loaded, now, token=token, customer=customer)
    return bool(commit_plans([plan], now))


def commit_plans(plans: list[Plan], now: datetime) -> list[Plan]:
    """Write the steps of many runs in ONE transaction; returns those that
    won. Each run's UPDATE is conditional on its own step counter, state and
    version (as read): a run another worker (or an event, or a move between
    versions) got to first is left out, its effects not written, and the
    others commit. Then, for the winners only: their effects (the messages
    of each outbox handed to the send core in one call, the webhook events
    of each project published at once, cancelled messages), their Step rows
    in bulk, and the node counters summed per (version, node, metric). A
    hold moves the run's due time (conditional the same way), no step."""
    won: list[Plan] = []
    with transaction.atomic(), connection.cursor() as cursor:
        steps = []
        for plan in plans:
            run = plan.run
            if plan.fields is None:
                # The version too: a move between versions (journeys.versions)
                # changes a waiting run's version and node without a step.
                Run.objects.filter(
                    pk=run.pk, step=plan.seen_step, state=plan.seen_state, version_id=run.version_id
                ).update(due_at=plan.outcome.hold_until, claim_token="", claimed_at=None)
            elif len(plans) == 1:
                if _advance(
                    cursor, run.pk, plan.seen_step, plan.seen_state, run.version_id, plan.fields
                ):
                    won.append(plan)
            else:
                steps.append(plan)
        if steps:
            advanced = _advance_many(cursor, steps)
            won += [plan for plan in steps if plan.run.pk in advanced]
        if won:
            # Effects first: they may add to the step's detail.
            _write_effects(won)
            _insert_steps(cursor, won, now)
            deltas: dict[tuple[int, int], list[metrics.Delta]] = {}
            for plan in won:
                key = (plan.run.journey_id, plan.run.version_id)
                deltas.setdefault(key, []).extend(
                    _step_bumps(plan.node["key"], plan.outcome, plan.next_key, plan.end_reason)
                )
            for (journey_id, version_id), items in sorted(deltas.items()):
                metrics.bump(journey_id, version_id, items)
    for plan in plans:
        if plan.fields is None:
            plan.run.due_at, plan.run.claim_token = plan.outcome.hold_until, ""
    for plan in won:
        for name, value in plan.fields.items():
            setattr(plan.run, name, value)
    return won


def _write_effects(won: list[Plan]) -> None:
    """The winners' effects, in the steps' order; messages and webhook
    events gathered per outbox and per project, written where the first of
    them would have been."""
    messages: dict[int, tuple[Any, list]] = {}
    events: dict[Any, tuple[Project, list[tuple[dict, str]]]] = {}
    for plan in won:
        number = plan.seen_step + 1
        for effect in plan.outcome.effects:
            if isinstance(effect, nodes.Enqueue):
                messages.setdefault(effect.outbox.pk, (effect.outbox, []))[1].append(effect.message)
            elif isinstance(effect, nodes.Publish):
                events.setdefault(effect.project.pk, (effect.project, []))[1].append(
                    (effect.data, effect.ordering_key)
                )
            else:
                effect(number)
    # In a fixed order, so concurrent runners lock the outboxes' stats rows
    # (and then the counters) the same way round.
    for _pk, (outbox, batch) in sorted(messages.items()):
        do_enqueue_messages(outbox, batch)
    if events:
        from webhooks.events import publish_many

        for project, items in events.values():
            publish_many(project, nodes.WEBHOOK_TYPE, items)


# The hot path in SQL: the ORM's compilation of these statements cost more
# than running them (profiled in bench/journey_throughput.py).
_RUN_TABLE = Run._meta.db_table
_STEP_TABLE = Step._meta.db_table
_DATETIME_FIELDS = {"due_at", "claimed_at", "ended_at"}


def _advance(
    cursor: Any,
    run_id: int,
    seen_step: int,
    seen_state: str,
    seen_version: int,
    fields: dict[str, Any],
) -> bool:
    """UPDATE the run WHERE its step counter, state and version are as seen."""
    ops = connection.ops
    names = list(fields)
    values = [
        ops.adapt_datetimefield_value(fields[n]) if n in _DATETIME_FIELDS else fields[n]
        for n in names
    ]
    assignments = ", ".join(f"{n} = %s" for n in names)
    sql = (
        f"UPDATE {_RUN_TABLE} SET {assignments} "
        "WHERE id = %s AND step = %s AND state = %s AND version_id = %s"
    )
    cursor.execute(sql, [*values, run_id, seen_step, seen_state, seen_version])
    return cursor.rowcount == 1


# Every column a step may set, in the order `_advance_many` binds them.
_STEP_FIELDS = (
    "step",
    "node",
    "state",
    "due_at",
    "wait_event_type",
    "wait_match",
    "claim_token",
    "claimed_at",
    "ended_at",
    "end_reason",
)
_PG_TYPES = {
    "id": "bigint",
    "seen_step": "integer",
    "seen_version": "bigint",
    "step": "integer",
    "due_at": "timestamptz",
    "claimed_at": "timestamptz",
    "ended_at": "timestamptz",
}
_ADVANCE_ROWS_PER_STATEMENT = 200


def _advance_many(cursor: Any, plans: list[Plan]) -> set[int]:
    """`_advance` for many runs in one statement: an UPDATE … FROM a VALUES
    list, each row conditional on its own run's step counter, state and
    version as seen; returns the ids of the runs it changed (RETURNING:
    PostgreSQL, SQLite ≥ 3.35). A live run keeps `ended_at` NULL and
    `end_reason` empty; an ended one keeps its node."""
    ops = connection.ops
    names = ("id", "seen_step", "seen_state", "seen_version", *_STEP_FIELDS)
    if connection.vendor == "postgresql":
        cast = [f"%s::{_PG_TYPES.get(n, 'text')}" for n in names]
        one = "(" + ", ".join(cast) + ")"
    else:
        one = "(" + ", ".join(["%s"] * len(names)) + ")"
    assignments = ", ".join(f"{n} = v.{n}" for n in _STEP_FIELDS)
    won: set[int] = set()
    for start in range(0, len(plans), _ADVANCE_ROWS_PER_STATEMENT):
        part = plans[start : start + _ADVANCE_ROWS_PER_STATEMENT]
        params: list[Any] = []
        for plan in part:
            run, fields = plan.run, plan.fields or {}
            row = {"node": run.node, "ended_at": None, "end_reason": "", **fields}
            params += [run.pk, plan.seen_step, plan.seen_state, run.version_id]
            params += [
                ops.adapt_datetimefield_value(row[n]) if n in _DATETIME_FIELDS else row[n]
                for n in _STEP_FIELDS
            ]
        sql = (
            f"WITH v ({', '.join(names)}) AS (VALUES {', '.join([one] * len(part))}) "
            f"UPDATE {_RUN_TABLE} SET {assignments} FROM v "
            f"WHERE {_RUN_TABLE}.id = v.id AND {_RUN_TABLE}.step = v.seen_step "
            f"AND {_RUN_TABLE}.state = v.seen_state AND {_RUN_TABLE}.version_id = v.seen_version "
            f"RETURNING {_RUN_TABLE}.id"
        )
        cursor.execute(sql, params)
        won.update(row[0] for row in cursor.fetchall())
    return won


_DETAIL = Step._meta.get_field("detail")
_STEP_COLUMNS = "(run_id, number, version_id, node, kind, port, detail, at)"
_STEP_ROWS_PER_STATEMENT = 250


def _insert_steps(cursor: Any, won: list[Plan], now: datetime) -> None:
    """The Step rows of the winners, a few hundred per statement."""
    at = connection.ops.adapt_datetimefield_value(now)
    rows = [
        [
            plan.run.pk,
            plan.seen_step + 1,
            plan.run.version_id,
            plan.node["key"],
            plan.node.get("kind", ""),
            plan.outcome.port,
            _DETAIL.get_db_prep_save(plan.outcome.detail, connection),
            at,
        ]
        for plan in won
    ]
    one = "(" + ", ".join(["%s"] * 8) + ")"
    for start in range(0, len(rows), _STEP_ROWS_PER_STATEMENT):
        part = rows[start : start + _STEP_ROWS_PER_STATEMENT]
        sql = f"INSERT INTO {_STEP_TABLE} {_STEP_COLUMNS} VALUES " + ", ".join([one] * len(part))
        cursor.execute(sql, [value for row in part for value in row])


def cancel_queued_messages(run_id: int) -> int:
    """Skip (cancelled) the run's messages the core has not handed to a
    gateway yet: those of its send steps still `queued`. Call inside the
    step's transaction. Returns how many."""
    cancelled = 0
    sends = Step.objects.filter(run_id=run_id, kind="send", port="sent").values_list(
        "detail", flat=True
    )
    for detail in sends:
        outbox_id, key = detail.get("outbox"), detail.get("dedupe_key")
        if not outbox_id or not key:
            continue
        n = Message.objects.filter(
            outbox_id=outbox_id, dedupe_key=key, status=Message.Status.QUEUED
        ).update(status=Message.Status.SKIPPED, skip_reason=Message.SkipReason.CANCELLED)
        if n:
            bump_outbox(outbox_id, queued=-n, skipped_cancelled=n)
            cancelled += n
    return cancelled


def _leave(run: Run, reason: str, detail: dict) -> nodes.Outcome:
    """An outcome that ends the run where it is and cancels its queued messages."""
    outcome = nodes.Outcome("", {"exit": reason, **detail}, end_reason=reason)

    def cancel(_step: int) -> None:
        n = cancel_queued_messages(run.pk)
        if n:
            outcome.detail["cancelled_messages"] = n

    outcome.effects.append(cancel)
    return outcome


# --- the runner --------------------------------------------------------------------------


def _host_tag() -> str:
    return uuid.uuid5(uuid.NAMESPACE_DNS, socket.gethostname()).hex[:8]


def new_token() -> str:
    """A claim token naming its process, in dispatch's format
    (`pid:hosttag:nonce`), so `token_is_dead` recognises a dead claimer."""
    return f"{os.getpid()}:{_host_tag()}:{uuid.uuid4().hex[:12]}"


def _runnable_journeys() -> list[int]:
    return list(Journey.objects.filter(status__in=RUNNABLE).values_list("pk", flat=True))


def claim(limit: int, now: datetime, token: str) -> list[Run]:
    """Claim up to `limit` due runs of active or stopped journeys."""
    journeys = _runnable_journeys()
    if not journeys:
        return []
    candidates = (
        Run.objects.filter(state__in=LIVE, due_at__lte=now, claim_token="", journey_id__in=journeys)
        .order_by("due_at")
        .select_for_update(skip_locked=True, of=("self",))
        .values_list("pk", flat=True)[:limit]
    )
    with transaction.atomic():
        ids = list(candidates)
        if not ids:
            return []
        Run.objects.filter(pk__in=ids, claim_token="").update(claim_token=token, claimed_at=now)
    return list(Run.objects.filter(pk__in=ids, claim_token=token).select_related("customer"))


def release_stale_claims(now: datetime | None = None) -> int:
    """Claims of a dead process, or older than the claim timeout, go back."""
    now = now or timezone.now()
    claimed = Run.objects.filter(state__in=LIVE).exclude(claim_token="")
    released = claimed.filter(claimed_at__lt=now - claim_timeout()).update(
        claim_token="", claimed_at=None
    )
    for token in set(claimed.values_list("claim_token", flat=True).distinct()):
        if token and token_is_dead(token):
            released += claimed.filter(claim_token=token).update(claim_token="", claimed_at=None)
    if released:
        logger.info("journeys: %d stale run claims released", released)
    return released


def sweep_stopped(now: datetime | None = None) -> int:
    """Runs of stopped journeys become due at once: the runner ends them."""
    now = now or timezone.now()
    stopped = list(
        Journey.objects.filter(status=Journey.Status.STOPPED).values_list("pk", flat=True)
    )
    if not stopped:
        return 0
    return Run.objects.filter(journey_id__in=stopped, state__in=LIVE, due_at__gt=now).update(
        due_at=now
    )


def _release(run: Run, token: str, *, retry_at: datetime | None = None) -> None:
    fields: dict[str, Any] = {"claim_token": "", "claimed_at": None}
    if retry_at is not None:
        fields["due_at"] = retry_at
    Run.objects.filter(pk=run.pk, claim_token=token).update(**fields)


def _release_all(runs: list[Run], token: str) -> None:
    if runs:
        Run.objects.filter(pk__in=[r.pk for r in runs], claim_token=token).update(
            claim_token="", claimed_at=None
        )


def _outcome(run: Run, journey: Journey, loaded: Loaded, now: datetime) -> tuple[dict, Any]:
    """The node the run is at and what executing it gives (reads only)."""
    node = loaded.graphs.get(run.version_id, {}).get(run.node)
    if journey.status == Journey.Status.STOPPED:
        return node or {"key": run.node, "kind": ""}, _leave(run, Run.EndReason.STOPPED, {})
    if node is None:
        outcome = nodes.Outcome("", {"error": "node not in the version"}, end_reason="end")
        return {"key": run.node, "kind": ""}, outcome
    ctx = nodes.Context(
        run=run,
        node=node,
        project=loaded.projects[run.project_id],
        settings=loaded.settings(run.version_id),
        now=now,
        customer=run.customer,
        cache=loaded.cache,
    )
    return node, nodes.execute(ctx)


def _failed(run: Run, token: str, now: datetime) -> None:
    logger.exception("journeys: run %s failed a step at %s", run.pk, run.node)
    _release(run, token, retry_at=now + timedelta(seconds=ERROR_RETRY_SECONDS))


def _commit_round(plans: list[Plan], token: str, now: datetime) -> tuple[list[Plan], set[int]]:
    """One transaction for the round's steps; if it raises, each step alone
    (the one that raises is tried again later, the others go on). Returns
    the winners and the ids of the runs that failed."""
    details = [dict(plan.outcome.detail) for plan in plans]
    try:
        return commit_plans(plans, now), set()
    except Exception:
        if len(plans) == 1:
            _failed(plans[0].run, token, now)
            return [], {plans[0].run.pk}
        logger.warning("journeys: a batch of %d steps failed; one at a time", len(plans))
    won: list[Plan] = []
    failed: set[int] = set()
    for plan, detail in zip(plans, details, strict=True):
        plan.outcome.detail = detail  # an effect may have added to it
        try:
            won += commit_plans([plan], now)
        except Exception:
            _failed(plan.run, token, now)
            failed.add(plan.run.pk)
    return won, failed


def take_batch_steps(
    runs: list[Run],
    loaded: Loaded,
    token: str,
    now: datetime | None = None,
    outboxes: set[int] | None = None,
) -> int:
    """Steps of claimed runs while they stay due, in rounds: each round
    takes the next step of every run still going, in one transaction
    (`commit_plans`), so a run goes trigger → split → A/B → send → exit in
    one pass of five rounds. Returns how many steps won; releases the
    claims of the runs that stop (a lost step, a hold, a journey that no
    longer runs); a run whose step raised is due again later."""
    taken = 0
    fixed = now
    going = list(runs)
    stopped: list[Run] = []
    for _ in range(MAX_STEPS_IN_A_ROW):
        if not going:
            break
        now = fixed or timezone.now()
        plans: list[Plan] = []
        for run in going:
            journey = loaded.journeys.get(run.journey_id)
            if journey is None or journey.status not in RUNNABLE:
                stopped.append(run)
                continue
            try:
                node, outcome = _outcome(run, journey, loaded, now)
                plans.append(
                    plan_step(run, node, outcome, loaded, now, token=token, customer=run.customer)
                )
            except Exception:
                _failed(run, token, now)
        if not plans:
            going = []
            break
        won, failed = _commit_round(plans, token, now)
        taken += len(won)
        if outboxes is not None:
            outboxes.update(
                effect.outbox.pk
                for plan in won
                for effect in plan.outcome.effects
                if isinstance(effect, nodes.Enqueue)
            )
        winners = {id(plan) for plan in won}
        going = []
        for plan in plans:
            if id(plan) in winners:
                if plan.run.claim_token == token:
                    going.append(plan.run)
            elif plan.run.pk not in failed:
                stopped.append(plan.run)
    _release_all(stopped + going, token)
    return taken


def take_steps(run: Run, loaded: Loaded, token: str, now: datetime | None = None) -> int:
    """Steps of one claimed run while it stays due; returns how many won."""
    return take_batch_steps([run], loaded, token, now)


@dataclass
class Pass:
    claimed: int = 0
    steps: int = 0


def run_batch(
    now: datetime | None = None, *, limit: int = BATCH_SIZE, token: str = "", send: bool = False
) -> Pass:
    """Claim one batch of due runs and take their steps. `send` (the runner
    task's loop): also send the batch's messages whose outbox has no live
    send chain (`dispatch.actions.send_inline`)."""
    token = token or new_token()
    result = Pass()
    runs = claim(limit, now or timezone.now(), token)
    if not runs:
        return result
    result.claimed = len(runs)
    loaded = Loaded()
    loaded.load(runs)
    # The send nodes' outboxes are woken once for the batch; one whose send
    # chains are not alive (queued behind a large campaign's tasks, say) is
    # sent from here, so a journey's message does not wait for their turn.
    outboxes: set[int] = set()
    with wakeups_deferred():
        result.steps += take_batch_steps(runs, loaded, token, now, outboxes)
        for outbox_id in sorted(outboxes) if send else ():
            try:
                send_inline(outbox_id)
            except Exception:
                logger.exception("journeys: sending outbox %s from the runner failed", outbox_id)
    return result


def run_due(now: datetime | None = None, *, limit: int = BATCH_SIZE) -> Pass:
    """Batches until nothing is due at `now` (tests and the task's inner loop)."""
    total = Pass()
    sweep_stopped(now)
    while True:
        result = run_batch(now, limit=limit)
        if not result.claimed:
            return total
        total.claimed += result.claimed
        total.steps += result.steps


def next_due() -> datetime | None:
    """When the next run of a runnable journey is due."""
    journeys = _runnable_journeys()
    if not journeys:
        return None
    return Run.objects.filter(state__in=LIVE, journey_id__in=journeys).aggregate(at=Min("due_at"))[
        "at"
    ]


def has_due(now: datetime | None = None) -> bool:
    journeys = _runnable_journeys()
    return (
        bool(journeys)
        and Run.objects.filter(
            state__in=LIVE,
            journey_id__in=journeys,
            due_at__lte=now or timezone.now(),
            claim_token="",
        ).exists()
    )


# --- events ------------------------------------------------------------------------------


def _exit_event_matches(exit_event: dict, event: Event, run: Run) -> bool:
    if event.type != exit_event.get("event"):
        return False
    if not conditions.data_matches(exit_event.get("where") or [], event.data or {}):
        return False
    field_name = exit_event.get("match_field")
    if field_name:
        value = conditions.data_value(event.data or {}, field_name)
        return value is not None and value == conditions.data_value(run.entry_data, field_name)
    return True


def on_events(project: Project, events: list[Event]) -> None:
    """Exit events and waited-for events of freshly tracked events (call
    after the events committed). One query when no user of the events is
    in a journey."""
    events = [e for e in events if e.customer_id is not None]
    if not events:
        return
    runs = list(
        Run.objects.filter(
            project_id=project.pk,
            customer_id__in={e.customer_id for e in events},
            state__in=LIVE,
        ).select_related("customer")
    )
    if not runs:
        return
    loaded = Loaded()
    loaded.load(runs)
    woke = False
    events = sorted(events, key=lambda e: (e.created_at, e.pk))
    with wakeups_deferred():
        for event in events:
            for run in runs:
                if run.customer_id != event.customer_id or run.state == Run.State.ENDED:
                    continue
                if run.entry_event_id == event.pk:
                    continue
                journey = loaded.journeys[run.journey_id]
                if journey.status == Journey.Status.ACTIVE:
                    woke |= _apply_event(run, event, loaded)
                elif journey.status == Journey.Status.PAUSED:
                    # Exit events take runs out even while paused; a waited-for
                    # event waits for the resume (apply_events_after_pause).
                    _apply_event(run, event, loaded, exits_only=True)
    if woke:
        wake_runner()


def _apply_event(run: Run, event: Event, loaded: Loaded, *, exits_only: bool = False) -> bool:
    """Exit or move on one run for one event; True when the run moved on to
    a node the runner must now take."""
    settings = loaded.settings(run.version_id)
    node = loaded.graphs[run.version_id].get(run.node) or {"key": run.node, "kind": ""}
    now = timezone.now()
    for exit_event in settings.get("exit_events") or []:
        if _exit_event_matches(exit_event, event, run):
            _commit_fresh(
                run, node, _leave(run, Run.EndReason.EXIT_EVENT, {"event": event.pk}), loaded, now
            )
            return False
    if exits_only:
        return False
    if (
        run.state == Run.State.WAITING
        and run.wait_event_type == event.type
        and node.get("kind") == "wait_event"
        and nodes.event_matches_wait(node, run, event.type, event.data or {})
    ):
        return _commit_fresh(run, node, nodes.event_step(event.pk), loaded, now)
    return False


def apply_events_after_pause(journey: Journey, since: datetime) -> int:
    """For a paused journey about to resume: each run waiting for an event
    takes its `event` port if a matching event arrived since the pause and
    before its timeout (the event came first, even when the timeout has
    passed by now); the earliest such event wins. Call before the journey is
    active again, so the runner, which takes the timeouts, is not racing
    (it would lose anyway: the same conditional UPDATE). Returns how many
    runs moved on."""
    from django.db.models import Exists, OuterRef

    arrived = Event.objects.filter(
        project_id=journey.project_id,
        customer_id=OuterRef("customer_id"),
        type=OuterRef("wait_event_type"),
        created_at__gte=since,
    )
    waiting = (
        Run.objects.filter(journey=journey, state=Run.State.WAITING)
        .exclude(wait_event_type="")
        .filter(Exists(arrived))
        .select_related("customer")
        .order_by("pk")
    )
    moved = 0
    last = 0
    while True:
        runs = list(waiting.filter(pk__gt=last)[:BATCH_SIZE])
        if not runs:
            return moved
        last = runs[-1].pk
        loaded = Loaded()
        loaded.load(runs)
        events: dict[int, list[Event]] = {}
        for event in Event.objects.filter(
            project_id=journey.project_id,
            customer_id__in={r.customer_id for r in runs},
            type__in={r.wait_event_type for r in runs},
            created_at__gte=since,
        ).order_by("created_at", "pk"):
            events.setdefault(event.customer_id, []).append(event)
        now = timezone.now()
        with wakeups_deferred():
            for run in runs:
                node = loaded.graphs[run.version_id].get(run.node) or {}
                if node.get("kind") != "wait_event":
                    continue
                for event in events.get(run.customer_id, []):
                    if run.due_at is not None and event.created_at > run.due_at:
                        break  # the timeout came first
                    if event.pk == run.entry_event_id or not nodes.event_matches_wait(
                        node, run, event.type, event.data or {}
                    ):
                        continue
                    moved += _commit_fresh(run, node, nodes.event_step(event.pk), loaded, now)
                    break


def _commit_fresh(
    run: Run, node: dict, outcome: nodes.Outcome, loaded: Loaded, now: datetime
) -> bool:
    """A step taken outside the runner: against the run as read, so a runner
    (a timeout) that took the step first makes this one lose, and the other
    way round."""
    try:
        return commit_step(run, node, outcome, loaded, now, customer=run.customer)
    except Exception:
        logger.exception("journeys: event step of run %s failed", run.pk)
        return False


# --- wake-up -----------------------------------------------------------------------------


class _Wake:
    """One on-commit wake-up per transaction, however many runs it enters."""

    def __call__(self) -> None:
        wake_now()


def wake_runner() -> None:
    """Make sure a runner task will look at due runs: after the caller's
    transaction commits, set the pending flag and enqueue a task only if
    none is pending (one UPDATE that matches nothing in the usual case)."""
    conn = transaction.get_connection()
    if conn.in_atomic_block:
        for _savepoints, callback, _robust in conn.run_on_commit:
            if isinstance(callback, _Wake):
                return
        transaction.on_commit(_Wake())
    else:
        wake_now()


def runner_count() -> int:
    """Runners that may work at once: `JOURNEY_RUNNERS` on PostgreSQL (the
    claims skip each other's runs), one on SQLite (one writer at a time)."""
    if connection.vendor != "postgresql":
        return 1
    return max(1, int(getattr(django_settings, "JOURNEY_RUNNERS", 1)))


def helper_leases() -> list[str]:
    """The leases of the runners beside the first ("runner-2", …)."""
    return [f"{LEASE}-{n}" for n in range(2, runner_count() + 1)]


def _lease(name: str = LEASE) -> Any:
    rows = RunnerLease.objects.filter(name=name)
    if not rows.exists():
        RunnerLease.objects.bulk_create([RunnerLease(name=name)], ignore_conflicts=True)
    return rows


def wake_now(*, force: bool = False, lease: str = LEASE) -> bool:
    """Set the pending flag and enqueue the runner when no task is pending
    (or the pending one is stale: no live owner for a claim timeout).
    `lease`: a helper runner's ("runner-2", …) instead of the first's."""
    from django_q.tasks import async_task

    now = timezone.now()
    stale = now - claim_timeout()
    due = Q(pending=False) | (
        Q(woken_at__lt=stale) & (Q(owner="") | Q(renewed_at__lt=stale) | Q(renewed_at=None))
    )
    rows = _lease(lease)
    if not force and not rows.filter(due).update(pending=True, woken_at=now):
        return False
    if force:
        rows.update(pending=True, woken_at=now)
    if lease == LEASE:
        async_task(RUN_TASK)
    else:
        async_task(RUN_TASK, lease=lease)
    return True


def wake_helpers() -> int:
    """Enqueue the helper runners that are not pending yet; how many."""
    return sum(wake_now(lease=name) for name in helper_leases())


def take_lease(owner: str, now: datetime, lease: str = LEASE) -> bool:
    """Hold the lease: free, held by a dead or silent owner, or handed over
    (`hand_over`: the owner works on only until a runner task starts)."""
    rows = _lease(lease)
    free = (
        Q(owner="")
        | Q(owner=owner)
        | Q(renewed_at__lt=now - claim_timeout())
        | Q(successor_at__isnull=False)
    )
    taking = {"owner": owner, "renewed_at": now, "pending": True, "successor_at": None}
    if rows.filter(free).update(**taking):
        return True
    current = rows.values_list("owner", flat=True).first() or ""
    return bool(current and owner_is_dead(current) and rows.filter(owner=current).update(**taking))


def hand_over(owner: str, lease: str = LEASE) -> bool:
    """Enqueue the owner's successor while it still works: the send core's
    long tasks see a runner waiting (`runner_waits`) and free a worker, and
    the successor takes the lease over when it starts, so the journeys do
    not pause while it waits in the queue. False when the lease was lost."""
    from django_q.tasks import async_task

    now = timezone.now()
    if not RunnerLease.objects.filter(name=lease, owner=owner).update(
        successor_at=now, woken_at=now, pending=True
    ):
        return False
    if lease == LEASE:
        async_task(RUN_TASK)
    else:
        async_task(RUN_TASK, lease=lease)
    return True


def renew_lease(owner: str, lease: str = LEASE) -> bool:
    return bool(
        RunnerLease.objects.filter(name=lease, owner=owner).update(renewed_at=timezone.now())
    )


def give_up_lease(owner: str, *, keep_pending: bool = False, lease: str = LEASE) -> bool:
    """Release the lease; unless `keep_pending` (a successor is enqueued),
    also clear the pending flag and look once more: a run that became due
    while the flag was still set got no task of its own. Returns True when
    this runner took the lease back to go on."""
    fields: dict[str, Any] = {"owner": "", "renewed_at": None}
    if not keep_pending:
        fields["pending"] = False
        fields["successor_at"] = None
    RunnerLease.objects.filter(name=lease, owner=owner).update(**fields)
    if keep_pending or not has_due():
        return False
    return take_lease(owner, timezone.now(), lease)


def idle_grace() -> float:
    """Seconds an idle runner waits for more before it leaves (0 when tasks
    run inline)."""
    if django_settings.Q_CLUSTER.get("sync"):
        return 0.0
    return float(getattr(django_settings, "JOURNEY_IDLE_SECONDS", 2.0))


def run_until_idle(owner: str, budget: float, lease: str = LEASE, *, overtime: float = 0.0) -> str:
    """The runner task's loop: batches while anything is due, housekeeping
    every claim timeout, then waits briefly for more. Returns "idle",
    "continues" (budget spent, work left), "handed over" (budget spent, its
    successor enqueued: `overtime` > 0), or "lease lost" (also when the
    successor took over).

    With `overtime`, a runner whose budget is spent enqueues its successor
    (`hand_over`) and works on for up to `overtime` seconds more, until the
    successor starts and takes the lease: there is no gap while the
    successor waits for a worker behind queued tasks.

    The first runner (`LEASE`) wakes the helper runners (PostgreSQL,
    `JOURNEY_RUNNERS` > 1) when a batch came back full: more is due than
    one batch. A helper leaves as soon as a batch finds nothing to claim."""
    deadline = time.monotonic() + budget
    housekeeping_at = 0.0
    helpers_at = 0.0
    last_work = time.monotonic()
    token = new_token()
    helper = lease != LEASE
    handed = False
    while time.monotonic() < deadline or (overtime > 0 and not handed):
        if time.monotonic() >= deadline:
            if not hand_over(owner, lease):
                return "lease lost"
            handed, deadline = True, deadline + overtime
        if not renew_lease(owner, lease):
            return "lease lost"
        if not helper and time.monotonic() >= housekeeping_at:
            release_stale_claims()
            sweep_stopped()
            housekeeping_at = time.monotonic() + claim_timeout().total_seconds() / 2
        result = run_batch(limit=BATCH_SIZE, token=token, send=True)
        if result.claimed:
            last_work = time.monotonic()
            if not helper and result.claimed >= BATCH_SIZE and time.monotonic() >= helpers_at:
                wake_helpers()
                helpers_at = time.monotonic() + 1.0
            continue
        if helper:
            return "idle"
        upcoming = next_due()
        now = timezone.now()
        if upcoming is not None and upcoming <= now:
            # Due but claimed by another runner (or a stale claim).
            if django_settings.Q_CLUSTER.get("sync"):
                return "idle"
            time.sleep(0.1)
            continue
        wait = (upcoming - now).total_seconds() if upcoming is not None else None
        if wait is not None and wait < min(deadline - time.monotonic(), 10.0):
            time.sleep(max(wait, 0.02))
            continue
        if time.monotonic() - last_work < idle_grace():
            time.sleep(0.1)
            continue
        if upcoming is not None:
            wake_at(upcoming)
        return "idle"
    return "handed over" if handed else "continues"


def runner_waits(after: float = 0.5) -> bool:
    """Whether a runner task is queued and has waited `after` seconds for a
    worker (the send core's long tasks then hand theirs on: dispatch.handover)."""
    since = timezone.now() - timedelta(seconds=after)
    return RunnerLease.objects.filter(
        Q(Q(woken_at__lt=since) | Q(woken_at=None), pending=True, owner="")
        | Q(successor_at__lt=since)
    ).exists()


def wake_at(when: datetime) -> None:
    """A one-off schedule for the next due run (on top of the minute's)."""
    from django_q.models import Schedule
    from django_q.tasks import schedule

    name = f"journeys-run-{int(when.timestamp())}"
    if Schedule.objects.filter(name=name).exists():
        return
    schedule(RUN_TASK, name=name, schedule_type=Schedule.ONCE, repeats=-1, next_run=when)
