"""Conversions attributed as events arrive (SPEC §8).

`attribute_events` runs right after a Track call's transaction commits (on
`audiences.signals.events_tracked`). For each stored event whose name is a
goal of a campaign of the same project, it looks for the user's message in
that campaign that was sent (status sent or delivered, `sent_at` set) with

    sent_at <= event time <= sent_at + window            (send basis)
    first click <= event time <= first click + window    (click basis)

and records at most one conversion per (goal, basis, user) with
`INSERT … ON CONFLICT DO NOTHING RETURNING`; only the rows that went in bump
the goal's counters and the hourly buckets, in the same transaction.

Cost when nothing can match: one query (the project's goals on campaigns
that have sent within the longest window), and one for journeys' goals
(conversions.journey_goals). Campaigns that finished more than 30 days (the
longest window) before the oldest event are not read.
"""

from __future__ import annotations

import json
import math
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from audiences.models import Event
from campaigns.models import Campaign
from conversions.models import (
    MAX_WINDOW_SECONDS,
    Basis,
    Conversion,
    ConversionBucket,
    ConversionGoal,
    FirstClick,
    TrackedLink,
)
from dispatch.models import Message

SENT_STATUSES = (Message.Status.SENT, Message.Status.DELIVERED)
# Revenue is a DecimalField(18, 2): anything at or above this is not an amount.
MAX_REVENUE = Decimal(10) ** 16
CENT = Decimal("0.01")
# Rows per INSERT: 8 parameters each, well under SQLite's limit.
INSERT_CHUNK = 500


@dataclass(frozen=True)
class _Goal:
    id: int
    campaign_id: int
    event_name: str
    window: timedelta
    revenue_field: str
    quantity_field: str
    has_links: bool


def _number(value: object) -> Decimal | None:
    """A finite number from event data (numbers, or text that is one)."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | Decimal):
        number = Decimal(value)
    elif isinstance(value, float):
        if not math.isfinite(value):
            return None
        number = Decimal(repr(value))
    elif isinstance(value, str):
        try:
            number = Decimal(value.strip())
        except InvalidOperation:
            return None
    else:
        return None
    return number if number.is_finite() else None


def revenue_of(data: object, amount_field: str, quantity_field: str = "") -> Decimal:
    """data[amount] × data[quantity] (when the goal names a quantity field
    and the event has it), rounded to cents. Anything that is not a number,
    negative, or absurdly large is 0: a bad event never breaks attribution."""
    if not amount_field or not isinstance(data, Mapping):
        return Decimal(0)
    amount = _number(data.get(amount_field))
    if amount is None:
        return Decimal(0)
    if quantity_field and quantity_field in data:
        quantity = _number(data.get(quantity_field))
        if quantity is None:
            return Decimal(0)
        amount *= quantity
    if amount < 0 or amount >= MAX_REVENUE:
        return Decimal(0)
    return amount.quantize(CENT)


def _select(sql: str, params: list[object]) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def _moment(value: object) -> datetime:
    """A datetime column as a raw cursor returns it (text on SQLite)."""
    if not isinstance(value, datetime):
        value = datetime.fromisoformat(str(value))
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def _in(values: Iterable[object]) -> str:
    return ", ".join(["%s"] * len(list(values)))


# The reads below run on every Track call, so they are plain SQL: the ORM's
# query building and per-row converters cost more than the queries.
def _active_goals(project_id: object, since: datetime) -> list[_Goal]:
    """Goals of campaigns that started and had not finished before `since`,
    and whether their campaign has tracked links (else no click basis)."""
    q = connection.ops.quote_name
    goal, campaign, link = ConversionGoal._meta, Campaign._meta, TrackedLink._meta
    sql = (
        f"SELECT g.{q('id')}, g.{q('campaign_id')}, g.{q('event_name')}, "
        f"g.{q('window_seconds')}, g.{q('revenue_field')}, g.{q('quantity_field')}, "
        f"EXISTS (SELECT 1 FROM {q(link.db_table)} l "
        f"WHERE l.{q('outbox_id')} = c.{q('outbox_id')}) "
        f"FROM {q(goal.db_table)} g JOIN {q(campaign.db_table)} c "
        f"ON c.{q('id')} = g.{q('campaign_id')} "
        f"WHERE c.{q('project_id')} = %s AND c.{q('started_at')} IS NOT NULL "
        f"AND (c.{q('finished_at')} IS NULL OR c.{q('finished_at')} >= %s)"
    )
    project = campaign.get_field("project").get_db_prep_value(project_id, connection)
    rows = _select(sql, [project, connection.ops.adapt_datetimefield_value(since)])
    return [
        _Goal(gid, cid, name, timedelta(seconds=window), amount, quantity, bool(links))
        for gid, cid, name, window, amount, quantity, links in rows
    ]


def _events(project_id: object, event_ids: list[int], names: set[str]) -> list[tuple]:
    """(id, customer id, name, data, time) of the events with these names,
    oldest first."""
    q = connection.ops.quote_name
    event = Event._meta
    sql = (
        f"SELECT {q('id')}, {q('customer_id')}, {q('type')}, {q('data')}, {q('created_at')} "
        f"FROM {q(event.db_table)} WHERE {q('id')} IN ({_in(event_ids)}) "
        f"AND {q('project_id')} = %s AND {q('type')} IN ({_in(names)})"
    )
    project = event.get_field("project").get_db_prep_value(project_id, connection)
    rows = [
        (event_id, customer_id, name, data, _moment(at))
        for event_id, customer_id, name, data, at in _select(sql, [*event_ids, project, *names])
    ]
    rows.sort(key=lambda row: (row[4], row[0]))
    return rows


def _data(value: object) -> object:
    """An event's data as a raw cursor returns it (JSON text, or decoded)."""
    if isinstance(value, str | bytes):
        try:
            return json.loads(value)
        except ValueError:
            return None
    return value


def attribute_events(project_id: object, event_ids: Iterable[int]) -> int:
    """Attribute stored events of a project to its campaigns' goals and its
    journeys' (conversions.journey_goals). Safe to run twice (the unique
    constraints make repeats no-ops). Returns how many conversions were
    recorded."""
    from conversions.journey_goals import attribute_journey_events

    event_ids = list(event_ids)
    if not event_ids:
        return 0
    return _attribute_campaign_events(project_id, event_ids) + attribute_journey_events(
        project_id, event_ids
    )


def _attribute_campaign_events(project_id: object, event_ids: list[int]) -> int:
    horizon = timedelta(seconds=MAX_WINDOW_SECONDS)
    # The cheap first look, before reading the events: any goal at all.
    goals = _active_goals(project_id, timezone.now() - horizon)
    if not goals:
        return 0
    names = {g.event_name for g in goals}
    events = _events(project_id, event_ids, names)
    if not events:
        return 0
    oldest = events[0][4]
    goals = [g for g in goals if g.event_name in {e[2] for e in events}]
    by_name: dict[str, list[_Goal]] = defaultdict(list)
    for goal in goals:
        by_name[goal.event_name].append(goal)
    messages = _sent_messages(
        {g.campaign_id for g in goals},
        {e[1] for e in events},
        oldest - horizon,
        with_clicks={g.campaign_id for g in goals if g.has_links},
    )
    if not messages:
        return 0
    rows = []
    for event_id, customer_id, name, data, at in events:
        for goal in by_name[name]:
            message = messages.get((goal.campaign_id, customer_id))
            if message is None:
                continue
            message_id, sent_at, clicked_at = message
            starts = [(Basis.SEND, sent_at)]
            if clicked_at is not None:
                starts.append((Basis.CLICK, clicked_at))
            for basis, start in starts:
                if start <= at <= start + goal.window:
                    revenue = revenue_of(_data(data), goal.revenue_field, goal.quantity_field)
                    rows.append((goal, basis, customer_id, message_id, event_id, at, revenue))
    return _record(rows) if rows else 0


def _sent_messages(
    campaign_ids: set[int], customer_ids: set[int], since: datetime, *, with_clicks: set[int]
) -> dict[tuple[int, int], tuple[int, datetime, datetime | None]]:
    """(campaign, customer) → (message id, sent_at, first click or None) of
    the sent messages. The query names only the customers and the time:
    given `campaign_id IN … AND status IN …` too, SQLite prefers the claim
    index (campaign, status, id) and reads whole campaigns (0.7 s instead of
    12 ms for 67 users in 10 campaigns of 100,000); campaign and status are
    checked here instead, on the few rows of these users."""
    found: dict[tuple[int, int], tuple[int, datetime, datetime | None]] = {}
    # Messages belong to the campaigns' outboxes.
    campaign_of = dict(Campaign.objects.filter(pk__in=campaign_ids).values_list("outbox_id", "pk"))
    q = connection.ops.quote_name
    sql = (
        f"SELECT {q('id')}, {q('outbox_id')}, {q('customer_id')}, {q('sent_at')}, "
        f"{q('status')} FROM {q(Message._meta.db_table)} "
        f"WHERE {q('customer_id')} IN ({_in(customer_ids)}) AND {q('sent_at')} >= %s"
    )
    rows = _select(sql, [*customer_ids, connection.ops.adapt_datetimefield_value(since)])
    rows = [row for row in rows if row[1] in campaign_of and row[4] in SENT_STATUSES and row[3]]
    for message_id, campaign_id, customer_id, sent_at, _status in sorted(
        ((row[0], campaign_of[row[1]], row[2], _moment(row[3]), row[4]) for row in rows),
        key=_by_sent_at,
    ):
        found.setdefault((campaign_id, customer_id), (message_id, sent_at, None))
    clickable = [m[0] for (campaign_id, _c), m in found.items() if campaign_id in with_clicks]
    if clickable:
        clicks = dict(
            FirstClick.objects.filter(message_id__in=clickable).values_list(
                "message_id", "clicked_at"
            )
        )
        if clicks:
            found = {
                key: (mid, sent_at, clicks.get(mid)) for key, (mid, sent_at, _c) in found.items()
            }
    return found


def _by_sent_at(row: tuple) -> datetime:
    return row[3]


def _record(rows: list[tuple[Any, ...]]) -> int:
    """Insert the conversions; bump counters and buckets for the new ones."""
    conversion = Conversion._meta
    fields = [
        conversion.get_field(name)
        for name in (
            "goal",
            "campaign",
            "basis",
            "customer_id",
            "message_id",
            "event_id",
            "converted_at",
            "revenue",
        )
    ]
    quote = connection.ops.quote_name
    placeholders = ", ".join(["%s"] * len(fields))
    sql = (
        f"INSERT INTO {quote(conversion.db_table)} ({', '.join(quote(f.column) for f in fields)}) "
        f"VALUES {{values}} ON CONFLICT DO NOTHING RETURNING "
        f"{quote(fields[0].column)}, {quote(fields[2].column)}, {quote(fields[3].column)}"
    )
    keyed: dict[tuple[int, str, int], tuple[_Goal, datetime, Decimal]] = {}
    values: list[list[object]] = []
    # Prepared by hand: ints and text as they are, each time and amount once
    # (get_db_prep_save per value cost more than the INSERT itself).
    times: dict[datetime, object] = {}
    for goal, basis, customer_id, message_id, event_id, at, revenue in rows:
        key = (goal.id, str(basis), customer_id)
        if key in keyed:
            continue  # the earliest event of the call wins (events are in time order)
        keyed[key] = (goal, at, revenue)
        if at not in times:
            times[at] = connection.ops.adapt_datetimefield_value(at)
        values.append(
            [
                goal.id,
                goal.campaign_id,
                key[1],
                customer_id,
                message_id,
                event_id,
                times[at],
                connection.ops.adapt_decimalfield_value(revenue, 18, 2),
            ]
        )
    inserted = []
    with transaction.atomic():
        with connection.cursor() as cursor:
            for start in range(0, len(values), INSERT_CHUNK):
                chunk = values[start : start + INSERT_CHUNK]
                cursor.execute(
                    sql.format(values=", ".join([f"({placeholders})"] * len(chunk))),
                    [param for row in chunk for param in row],
                )
                inserted += [(*keyed[(g, b, c)], b) for g, b, c in cursor.fetchall()]
        if inserted:
            _bump(inserted)
    return len(inserted)


def _bump(inserted: list[tuple[_Goal, datetime, Decimal, str]]) -> None:
    totals: dict[tuple[int, str], list] = defaultdict(lambda: [0, Decimal(0)])
    buckets: dict[tuple[int, str, datetime], list] = defaultdict(lambda: [0, Decimal(0)])
    for goal, at, revenue, basis in inserted:
        for table, key in ((totals, (goal.id, basis)), (buckets, (goal.id, basis, _hour(at)))):
            table[key][0] += 1
            table[key][1] += revenue
    quote = connection.ops.quote_name
    goals = quote(ConversionGoal._meta.db_table)
    with connection.cursor() as cursor:
        for (goal_id, basis), (n, revenue) in totals.items():
            count, amount = (
                ("click_conversions", "click_revenue")
                if basis == Basis.CLICK
                else ("conversions", "revenue")
            )
            count, amount = quote(count), quote(amount)
            cursor.execute(
                f"UPDATE {goals} SET {count} = {count} + %s, {amount} = {amount} + %s "
                f"WHERE {quote('id')} = %s",
                [n, connection.ops.adapt_decimalfield_value(revenue, 18, 2), goal_id],
            )
    bucket = ConversionBucket._meta
    goal_col, basis_col, hour_col, n_col, revenue_col = (
        quote(bucket.get_field(name).column)
        for name in ("goal", "basis", "hour", "conversions", "revenue")
    )
    table = quote(bucket.db_table)
    sql = (
        f"INSERT INTO {table} ({goal_col}, {basis_col}, {hour_col}, {n_col}, {revenue_col}) "
        f"VALUES (%s, %s, %s, %s, %s) ON CONFLICT ({goal_col}, {basis_col}, {hour_col}) "
        f"DO UPDATE SET {n_col} = {table}.{n_col} + EXCLUDED.{n_col}, "
        f"{revenue_col} = {table}.{revenue_col} + EXCLUDED.{revenue_col}"
    )
    hour_field = bucket.get_field("hour")
    with connection.cursor() as cursor:
        cursor.executemany(
            sql,
            [
                (
                    goal_id,
                    basis,
                    hour_field.get_db_prep_save(hour, connection),
                    n,
                    connection.ops.adapt_decimalfield_value(revenue, 18, 2),
                )
                for (goal_id, basis, hour), (n, revenue) in buckets.items()
            ],
        )


def _hour(at: datetime) -> datetime:
    return at.replace(minute=0, second=0, microsecond=0)
