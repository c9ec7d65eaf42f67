"""An outbox's counters and per-minute buckets, bumped in the transaction
that moves its messages, so a rolled-back transition leaves no count behind.

The bucket is one `INSERT … ON CONFLICT DO UPDATE` per call (SQLite ≥ 3.24
and PostgreSQL both speak it): callers bump once per batch.
"""

from __future__ import annotations

from datetime import UTC, datetime

from django.db import connection
from django.db.models import F

from dispatch.models import OutboxStats, SendBucket

_TABLE = SendBucket._meta.db_table
_UPSERT = (
    f"INSERT INTO {_TABLE} (outbox_id, minute, sent, delivered, failed) "
    "VALUES (%s, %s, %s, %s, %s) "
    "ON CONFLICT (outbox_id, minute) DO UPDATE SET "
    f"sent = {_TABLE}.sent + excluded.sent, "
    f"delivered = {_TABLE}.delivered + excluded.delivered, "
    f"failed = {_TABLE}.failed + excluded.failed"
)


def bump(outbox_id: int, **deltas: int) -> None:
    """Add to the outbox's counters (F() expressions: no lost updates)."""
    changes = {name: F(name) + value for name, value in deltas.items() if value}
    if changes:
        OutboxStats.objects.filter(pk=outbox_id).update(**changes)


def minute_of(at: datetime) -> datetime:
    """The UTC minute `at` falls in (a naive time is taken as UTC)."""
    if at.tzinfo is None:
        at = at.replace(tzinfo=UTC)
    return at.astimezone(UTC).replace(second=0, microsecond=0)


def bump_minute(
    outbox_id: int, at: datetime, *, sent: int = 0, delivered: int = 0, failed: int = 0
) -> None:
    """Add to the outbox's bucket for the minute of `at` (nothing when every
    delta is zero)."""
    if not (sent or delivered or failed):
        return
    minute = connection.ops.adapt_datetimefield_value(minute_of(at))
    with connection.cursor() as cursor:
        cursor.execute(_UPSERT, [outbox_id, minute, sent, delivered, failed])
