"""An outbox's counters and per-second buckets, bumped in the transaction
that moves its messages, so a rolled-back transition leaves no count behind.

The bucket is one `INSERT … ON CONFLICT DO UPDATE` per call (SQLite ≥ 3.24
and PostgreSQL both speak it): callers bump once per batch, and a batch of
delivery reports spread over several seconds bumps all its buckets in one
statement.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime

from django.db import connection
from django.db.models import F

from dispatch.models import OutboxStats, SendBucket

_TABLE = SendBucket._meta.db_table
_ROW = "(%s, %s, %s, %s, %s)"
# Buckets per statement: five parameters a row, under SQLite's default limit.
BUCKETS_PER_STATEMENT = 100


def _upsert(rows: int) -> str:
    return (
        f"INSERT INTO {_TABLE} (outbox_id, second, sent, delivered, failed) "
        f"VALUES {', '.join([_ROW] * rows)} "
        "ON CONFLICT (outbox_id, second) DO UPDATE SET "
        f"sent = {_TABLE}.sent + excluded.sent, "
        f"delivered = {_TABLE}.delivered + excluded.delivered, "
        f"failed = {_TABLE}.failed + excluded.failed"
    )


_UPSERT = _upsert(1)


def bump(outbox_id: int, **deltas: int) -> None:
    """Add to the outbox's counters (F() expressions: no lost updates)."""
    changes = {name: F(name) + value for name, value in deltas.items() if value}
    if changes:
        OutboxStats.objects.filter(pk=outbox_id).update(**changes)


def second_of(at: datetime) -> datetime:
    """The UTC second `at` falls in (a naive time is taken as UTC)."""
    if at.tzinfo is None:
        at = at.replace(tzinfo=UTC)
    return at.astimezone(UTC).replace(microsecond=0)


def bump_second(
    outbox_id: int, at: datetime, *, sent: int = 0, delivered: int = 0, failed: int = 0
) -> None:
    """Add to the outbox's bucket for the second of `at` (nothing when every
    delta is zero). A bucket kept per minute before the change (60 seconds
    wide, at second 0) takes what lands on its first second: it still covers
    that minute."""
    if not (sent or delivered or failed):
        return
    second = connection.ops.adapt_datetimefield_value(second_of(at))
    with connection.cursor() as cursor:
        cursor.execute(_UPSERT, [outbox_id, second, sent, delivered, failed])


def bump_seconds(deltas: Mapping[tuple[int, datetime], Mapping[str, int]]) -> None:
    """Add to many buckets at once: (outbox id, moment) → {"sent": n,
    "delivered": n, "failed": n}, moments taken to their UTC second. The
    keys must name distinct seconds (PostgreSQL refuses to update one row
    twice in a statement): aggregate by `second_of` first. Rows go in key
    order, so two concurrent batches lock their buckets in the same order."""
    adapt = connection.ops.adapt_datetimefield_value
    keyed = sorted(
        (outbox_id, second_of(at), d.get("sent", 0), d.get("delivered", 0), d.get("failed", 0))
        for (outbox_id, at), d in deltas.items()
        if d.get("sent") or d.get("delivered") or d.get("failed")
    )
    rows = [(outbox_id, adapt(second), *counts) for outbox_id, second, *counts in keyed]
    with connection.cursor() as cursor:
        for start in range(0, len(rows), BUCKETS_PER_STATEMENT):
            part = rows[start : start + BUCKETS_PER_STATEMENT]
            cursor.execute(_upsert(len(part)), [value for row in part for value in row])
