"""Conversions of journeys' goals (SPEC §11 settings: "a conversion goal as
in campaigns"), attributed with campaigns' right after a Track call commits
(conversions.attribution).

A journey version's settings may name one goal (docs/journeys.md):

    "conversion_goal": {"event": "purchase", "window_seconds": 86400,
                        "revenue_field": "amount", "quantity_field": ""}

A stored event of that name converts the run whose journey message (a send
node's, sent or delivered) is the user's latest one sent at or before the
event, at most the goal's window (of that message's version) before it. The
conversion belongs to that message's send node and version; a run converts
at most once (`INSERT … ON CONFLICT DO NOTHING`), and only the rows that
went in bump the node's `conversions` and `revenue_cents` counters, in the
same transaction.

Cost when no journey of the project has a goal: one query.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from conversions.actions import _insert_ignoring
from conversions.attribution import (
    INSERT_CHUNK,
    SENT_STATUSES,
    _data,
    _events,
    _select,
    revenue_of,
)
from conversions.models import MAX_WINDOW_SECONDS, MIN_WINDOW_SECONDS, JourneyConversion
from dispatch.models import Message
from journeys import counters
from journeys.models import Journey, JourneyVersion, SendNodeOutbox
from journeys.sending import CONVERSIONS, REVENUE_CENTS, run_of

GOAL_SETTING = "conversion_goal"


@dataclass(frozen=True)
class JourneyGoal:
    journey_id: int
    version_id: int
    event_name: str
    window: timedelta
    revenue_field: str
    quantity_field: str


@dataclass(frozen=True)
class _Sent:
    message_id: int
    sent_at: datetime
    version_id: int
    node: str
    run_id: int


def goal_of(settings: Any) -> dict[str, Any] | None:
    """A version's goal from its settings when it is one that can convert
    (journeys.graph validates it before publishing), else None."""
    goal = settings.get(GOAL_SETTING) if isinstance(settings, dict) else None
    if not isinstance(goal, dict):
        return None
    event, window = goal.get("event"), goal.get("window_seconds")
    if not isinstance(event, str) or not event.strip():
        return None
    if not isinstance(window, int) or not MIN_WINDOW_SECONDS <= window <= MAX_WINDOW_SECONDS:
        return None
    return goal


def _goals(project_id: object, since: datetime) -> dict[int, JourneyGoal]:
    """Version id → goal, for published (or retired) versions of journeys of
    the project that have not been stopped for longer than the longest
    window. Plain SQL, as campaigns' goals are read (it runs on every Track
    call; the ORM's query building cost more than the query)."""
    q = connection.ops.quote_name
    version, journey = JourneyVersion._meta, Journey._meta
    has_goal = (
        f"jsonb_typeof(v.{q('settings')} -> '{GOAL_SETTING}') = 'object'"
        if connection.vendor == "postgresql"
        else f"json_type(v.{q('settings')}, '$.{GOAL_SETTING}') = 'object'"
    )
    sql = (
        f"SELECT v.{q('id')}, v.{q('journey_id')}, v.{q('settings')} "
        f"FROM {q(version.db_table)} v JOIN {q(journey.db_table)} j "
        f"ON j.{q('id')} = v.{q('journey_id')} "
        f"WHERE j.{q('project_id')} = %s AND v.{q('state')} <> %s AND j.{q('status')} <> %s "
        f"AND (j.{q('stopped_at')} IS NULL OR j.{q('stopped_at')} >= %s) AND {has_goal}"
    )
    project = journey.get_field("project").get_db_prep_value(project_id, connection)
    params = [
        project,
        JourneyVersion.State.DRAFT,
        Journey.Status.DRAFT,
        connection.ops.adapt_datetimefield_value(since),
    ]
    found = {}
    for version_id, journey_id, settings in _select(sql, params):
        goal = goal_of(_data(settings))
        if goal is not None:
            found[version_id] = JourneyGoal(
                journey_id,
                version_id,
                goal["event"].strip(),
                timedelta(seconds=goal["window_seconds"]),
                str(goal.get("revenue_field") or ""),
                str(goal.get("quantity_field") or ""),
            )
    return found


def _sent_messages(
    goals: dict[int, JourneyGoal], customer_ids: set[int], since: datetime
) -> dict[int, list[_Sent]]:
    """Customer id → their journey messages sent since `since` from the send
    nodes of these versions, oldest first. As campaigns' attribution does,
    the query names only the customers and the time; outbox and status are
    checked here, on the few rows of these users."""
    nodes = {
        outbox_id: (version_id, node)
        for version_id, node, outbox_id in SendNodeOutbox.objects.filter(
            version_id__in=list(goals)
        ).values_list("version_id", "node", "outbox_id")
    }
    if not nodes:
        return {}
    rows = Message.objects.filter(customer_id__in=customer_ids, sent_at__gte=since).values_list(
        "id", "outbox_id", "customer_id", "sent_at", "status", "dedupe_key"
    )
    found: dict[int, list[_Sent]] = defaultdict(list)
    for message_id, outbox_id, customer_id, sent_at, status, key in rows:
        run_id = run_of(key)
        if outbox_id not in nodes or status not in SENT_STATUSES or run_id is None:
            continue
        version_id, node = nodes[outbox_id]
        found[customer_id].append(_Sent(message_id, sent_at, version_id, node, run_id))
    for messages in found.values():
        messages.sort(key=lambda m: (m.sent_at, m.message_id))
    return found


def attribute_journey_events(project_id: object, event_ids: list[int]) -> int:
    """Attribute stored events of a project to its journeys' goals; safe to
    run twice. Returns how many conversions were recorded."""
    horizon = timedelta(seconds=MAX_WINDOW_SECONDS)
    goals = _goals(project_id, timezone.now() - horizon)
    if not goals:
        return 0
    names = {goal.event_name for goal in goals.values()}
    events = _events(project_id, event_ids, names)
    if not events:
        return 0
    messages = _sent_messages(goals, {e[1] for e in events}, events[0][4] - horizon)
    if not messages:
        return 0
    rows: dict[tuple[int, int], list[object]] = {}
    for event_id, customer_id, name, data, at in events:
        # The latest message of each journey that was sent before the event
        # and whose version's goal this event meets within its window.
        latest: dict[int, _Sent] = {}
        for sent in messages.get(customer_id, []):
            goal = goals[sent.version_id]
            if goal.event_name == name and sent.sent_at <= at <= sent.sent_at + goal.window:
                latest[goal.journey_id] = sent
        for journey_id, sent in latest.items():
            if (journey_id, sent.run_id) in rows:
                continue  # the earliest event of the call wins (events are in time order)
            goal = goals[sent.version_id]
            amount = revenue_of(_data(data), goal.revenue_field, goal.quantity_field)
            rows[(journey_id, sent.run_id)] = [
                sent.run_id,
                journey_id,
                sent.version_id,
                sent.node,
                customer_id,
                sent.message_id,
                event_id,
                at,
                amount,
            ]
    return _record(list(rows.values())) if rows else 0


def _record(rows: list[list[Any]]) -> int:
    """Insert the conversions; bump the nodes' counters for the new ones."""
    names = [
        "run_id",
        "journey",
        "version",
        "node",
        "customer_id",
        "message_id",
        "event_id",
        "converted_at",
        "revenue",
    ]
    by_run = {row[0]: row for row in rows}
    with transaction.atomic():
        inserted = [
            run_id
            for start in range(0, len(rows), INSERT_CHUNK)
            for (run_id,) in _insert_ignoring(
                JourneyConversion, names, rows[start : start + INSERT_CHUNK]
            )
        ]
        deltas: dict[tuple[int, int], list[tuple[str, str, int]]] = defaultdict(list)
        for run_id in inserted:
            _run, journey_id, version_id, node, *_rest, revenue = by_run[run_id]
            cents = int(Decimal(revenue) * 100)
            deltas[(journey_id, version_id)] += [
                (node, CONVERSIONS, 1),
                (node, REVENUE_CENTS, cents),
            ]
        for (journey_id, version_id), changes in deltas.items():
            counters.bump(journey_id, version_id, changes)
    return len(inserted)
