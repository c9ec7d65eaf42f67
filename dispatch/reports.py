"""Delivery reports applied to messages in batches: one read and one UPDATE
statement per batch for the rows, the counters once per batch per outbox.

Reports only move a message forward (a repeat, or a report for a message
already final, changes nothing). A report may overtake the sender's own
"sent" mark: from `sending` (or `queued`, after a crash) it counts as sent
too, and the sender's later mark — conditional on `sending` — finds nothing.
The rows are read under the write lock (SQLite: IMMEDIATE transactions;
PostgreSQL: FOR UPDATE), and each UPDATE row is conditional on the status
read, so the race with the sender's mark has one winner per message.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext

from channels.gateways.base import DeliveryReport
from dispatch.counters import bump, bump_seconds, second_of
from dispatch.models import Message, Outbox, message_reference, parse_reference

logger = logging.getLogger(__name__)

S = Message.Status
_FORWARD_FROM = (S.QUEUED, S.SENDING, S.SENT)
# Rows per statement: seven parameters a row, under SQLite's default limit.
ROWS_PER_STATEMENT = 1000


def apply_delivery_reports(reports: Iterable[DeliveryReport]) -> int:
    """Apply the reports that name a message of an outbox; how many moved."""
    wanted: dict[tuple[int, str], DeliveryReport] = {}
    for report in reports:
        parsed = parse_reference(report.reference)
        if parsed is not None:
            # The first report of a message in the batch wins; a later one
            # for the same message would only move it "back" or repeat it.
            wanted.setdefault(parsed, report)
    if not wanted:
        return 0
    by_outbox: dict[int, list[str]] = {}
    for outbox_id, key in wanted:
        by_outbox.setdefault(outbox_id, []).append(key)
    moved = 0
    with transaction.atomic():
        current = []
        for outbox_id, keys in by_outbox.items():
            for start in range(0, len(keys), ROWS_PER_STATEMENT):
                # By the unique (outbox, dedupe_key) index only: with the
                # status in the query too, SQLite prefers the claim index
                # (outbox, status) and reads every sent row of the outbox.
                current += [
                    row
                    for row in Message.objects.filter(
                        outbox_id=outbox_id,
                        dedupe_key__in=keys[start : start + ROWS_PER_STATEMENT],
                    )
                    .select_for_update()
                    .values_list("pk", "outbox_id", "dedupe_key", "status")
                    if row[3] in _FORWARD_FROM
                ]
        changes = []
        counts: dict[int, dict[str, int]] = {}
        seconds: dict[tuple[int, datetime], dict[str, int]] = {}
        now = timezone.now()
        for pk, outbox_id, key, status in current:
            report = wanted[(outbox_id, key)]
            when = report.occurred_at or now
            delivered = report.status == "delivered"
            counter = "delivered" if delivered else "failed"
            changes.append(
                (
                    pk,
                    S.DELIVERED if delivered else S.FAILED,
                    when,
                    report.provider_message_id or "",
                    "" if delivered else (report.error_code or "undeliverable")[:50],
                    "" if delivered else (report.error_message or report.error_code)[:255],
                    status,
                )
            )
            total = counts.setdefault(outbox_id, {})
            bucket = seconds.setdefault((outbox_id, second_of(when)), {})
            total[counter] = total.get(counter, 0) + 1
            bucket[counter] = bucket.get(counter, 0) + 1
            if status != S.SENT:
                # Overtaken: the sender has not marked it sent yet (or crashed first).
                total["sent"] = total.get("sent", 0) + 1
                total["queued"] = total.get("queued", 0) - 1
                bucket["sent"] = bucket.get("sent", 0) + 1
        for start in range(0, len(changes), ROWS_PER_STATEMENT):
            moved += _update(changes[start : start + ROWS_PER_STATEMENT])
        for outbox_id, deltas in counts.items():
            bump(outbox_id, **deltas)
        bump_seconds(seconds)
    return moved


def _update(changes: list[tuple]) -> int:
    """One UPDATE … FROM (VALUES …) for the rows, each conditional on the
    status it was read in."""
    table = Message._meta.db_table
    pg = connection.vendor == "postgresql"
    alias = (
        " AS v(column1, column2, column3, column4, column5, column6, column7)" if pg else " AS v"
    )
    row = "(%s, %s, %s::timestamptz, %s, %s, %s, %s)" if pg else "(%s, %s, %s, %s, %s, %s, %s)"
    values = ", ".join([row] * len(changes))
    adapt = connection.ops.adapt_datetimefield_value
    params = [
        value
        for pk, status, when, provider_id, code, message, previous in changes
        for value in (pk, status, adapt(when), provider_id, code, message, previous)
    ]
    sql = (
        f"UPDATE {table} SET status = v.column2, "
        f"sent_at = COALESCE({table}.sent_at, v.column3), "
        f"delivered_at = CASE WHEN v.column2 = 'delivered' THEN v.column3 "
        f"ELSE {table}.delivered_at END, "
        f"provider_message_id = CASE WHEN v.column4 <> '' THEN v.column4 "
        f"ELSE {table}.provider_message_id END, "
        f"error_code = CASE WHEN v.column2 = 'failed' THEN v.column5 ELSE {table}.error_code END, "
        f"error_message = CASE WHEN v.column2 = 'failed' THEN v.column6 "
        f"ELSE {table}.error_message END, "
        "claim_token = '', claimed_at = NULL "
        f"FROM (VALUES {values}){alias} "
        f"WHERE {table}.id = v.column1 AND {table}.status = v.column7"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return max(cursor.rowcount, 0)


# Closed outboxes are looked at for this long after the window, so a sweep
# that did not run for a while (the cluster was down) still finds theirs.
SWEEP_SLACK = timedelta(days=7)


def report_window() -> timedelta:
    return timedelta(hours=settings.DISPATCH_REPORT_WINDOW_HOURS)


def expire_missing_reports(now: datetime | None = None) -> int:
    """Messages the gateway accepted whose delivery report has not come
    within the report window count as failed (`no_report`), as Korean
    providers count a message without a result after 72 hours. Applied as
    failed reports, so the counters (and a journey's send-node figures)
    follow, and a late report changes nothing. Looks only at outboxes old
    enough to hold such a message that are open or closed recently enough
    (`Outbox.closed_at`); per outbox by the claim index, a batch at a time.
    Returns how many messages it ended."""
    now = now or timezone.now()
    window = report_window()
    cutoff = now - window
    outboxes = Outbox.objects.filter(created_at__lt=cutoff).filter(
        Q(closed_at__isnull=True) | Q(closed_at__gte=cutoff - SWEEP_SLACK)
    )
    error = gettext("No delivery report within %(hours)d hours") % {
        "hours": settings.DISPATCH_REPORT_WINDOW_HOURS
    }
    ended = 0
    for outbox_id in outboxes.values_list("pk", flat=True):
        while True:
            keys = list(
                Message.objects.filter(outbox_id=outbox_id, status=S.SENT, sent_at__lt=cutoff)
                .order_by()
                .values_list("dedupe_key", flat=True)[:ROWS_PER_STATEMENT]
            )
            if not keys:
                break
            moved = apply_delivery_reports(
                DeliveryReport(
                    gateway_backend="",
                    provider_message_id="",
                    reference=message_reference(outbox_id, key),
                    status="failed",
                    error_code="no_report",
                    error_message=error,
                    occurred_at=now,
                )
                for key in keys
            )
            ended += moved
            if len(keys) < ROWS_PER_STATEMENT or not moved:
                break  # (none moved: a row no report can name; never loop on it)
    if ended:
        logger.warning("%d sent messages had no delivery report after %s: failed", ended, window)
    return ended
