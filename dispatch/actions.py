"""The send core's one way in, and the writes producers ask of an outbox.

A producer creates an outbox (`do_create_outbox`), renders each message and
hands it over as a `NewMessage` (`do_enqueue_messages`), seals the outbox
when it will add nothing more, and opens, pauses or closes it. No producer
writes message rows itself; the core tells producers what happened through
`dispatch.signals`.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import datetime
from typing import Any, NamedTuple

from django.db import connection, transaction
from django.utils import timezone

from console.lib.bulk import insert_rows
from dispatch.counters import bump
from dispatch.models import Message, Outbox, OutboxStats
from dispatch.pipeline import skip_queued
from projects.models import Project

Status = Message.Status
Reason = Message.SkipReason
SEND_TASK = "dispatch.tasks.send_outbox"

# Outboxes to wake when the innermost `wakeups_deferred()` block ends.
_deferred_wakeups: ContextVar[set[int] | None] = ContextVar("deferred_wakeups", default=None)


class NewMessage(NamedTuple):
    """One message a producer hands to an outbox. `skip_reason` set: the
    producer already knows it will not go (no consent, invalid number, a
    body that does not render); it is recorded and counted, never sent."""

    dedupe_key: str
    phone_number: str
    body: str
    title: str = ""
    kind: str = "SMS"
    bytes: int = 0
    customer_id: int | None = None
    time_zone: str = ""
    skip_reason: str = ""
    error_message: str = ""


def do_create_outbox(
    project: Project,
    *,
    producer_kind: str,
    producer_id: str = "",
    sender_number_id: int | None = None,
    is_promotional: bool = False,
    frequency_cap: int | None = None,
    counts_towards_cap: bool = True,
    ignores_optout_list: bool = False,
    never_at_night: bool = False,
    status: str = Outbox.Status.PAUSED,
    sealed: bool = False,
    linger_seconds: int = 0,
) -> Outbox:
    """An outbox with its counters. Paused by default: nothing goes until
    the producer opens it. `ignores_optout_list` (legally required
    informational messages only) is refused on a promotional outbox."""
    if is_promotional and ignores_optout_list:
        raise ValueError("a promotional outbox always skips opted-out numbers")
    outbox = Outbox.objects.create(
        project=project,
        producer_kind=producer_kind,
        producer_id=producer_id,
        sender_number_id=sender_number_id,
        is_promotional=is_promotional,
        frequency_cap=frequency_cap,
        counts_towards_cap=counts_towards_cap,
        ignores_optout_list=ignores_optout_list,
        never_at_night=never_at_night,
        status=status,
        sealed_at=timezone.now() if sealed else None,
        linger_seconds=linger_seconds,
    )
    OutboxStats.objects.create(outbox=outbox)
    return outbox


def do_update_outbox(outbox_id: int, **fields: Any) -> None:
    """Change the outbox's sending settings (sender, promotional flag, cap)."""
    allowed = {"sender_number_id", "is_promotional", "frequency_cap", "counts_towards_cap"}
    unknown = set(fields) - allowed
    if unknown:
        raise ValueError(f"do_update_outbox: unknown fields {sorted(unknown)}")
    if fields.get("is_promotional"):
        # Promotional messages always skip the opt-out list.
        fields["ignores_optout_list"] = False
    Outbox.objects.filter(pk=outbox_id).update(**fields)


_INSERT_COLUMNS = (
    "outbox_id",
    "dedupe_key",
    "project_id",
    "customer_id",
    "phone_number",
    "time_zone",
    "body",
    "title",
    "kind",
    "bytes",
    "status",
    "skip_reason",
    "provider_message_id",
    "attempts",
    "claim_token",
    "error_code",
    "error_message",
)


def _insert(rows: list[tuple]) -> int:
    """Insert message rows, ignoring dedupe keys already there; how many were new."""
    with connection.cursor() as cursor:
        return insert_rows(
            cursor, Message._meta.db_table, _INSERT_COLUMNS, rows, ignore_conflicts=True
        )


def do_enqueue_messages(outbox: Outbox, messages: Iterable[NewMessage]) -> dict[str, int]:
    """Write the messages into the outbox in bulk (a repeated dedupe key is
    ignored: running a producer step twice enqueues nothing twice), count
    them, and after commit wake the outbox's senders. Returns how many were
    queued and skipped. Runs inside the caller's transaction, so a
    producer's own bookkeeping (a cursor) commits with the rows."""
    project_id = Message._meta.get_field("project").get_db_prep_value(outbox.project_id, connection)
    queued_rows, skipped_rows = [], []
    counts: dict[str, int] = {}
    for m in messages:
        row = (
            outbox.pk,
            m.dedupe_key,
            project_id,
            m.customer_id,
            m.phone_number,
            m.time_zone or "",
            m.body,
            m.title,
            m.kind,
            m.bytes,
            Status.SKIPPED if m.skip_reason else Status.QUEUED,
            m.skip_reason,
            "",
            0,
            "",
            m.skip_reason if m.error_message else "",
            m.error_message[:255],
        )
        if m.skip_reason:
            skipped_rows.append(row)
            counts[m.skip_reason] = counts.get(m.skip_reason, 0) + 1
        else:
            queued_rows.append(row)
    with transaction.atomic():
        queued = _insert(queued_rows) if queued_rows else 0
        skipped = _insert(skipped_rows) if skipped_rows else 0
        if skipped:
            # Counted per reason only when every skipped row was new (the
            # usual case); repeated keys are rare.
            by_reason = {f"skipped_{k}": v for k, v in counts.items()}
            if sum(by_reason.values()) != skipped:
                by_reason = {"skipped_invalid_number": skipped}
            bump(outbox.pk, **by_reason)
        bump(outbox.pk, recipients=queued + skipped, queued=queued)
        if queued:
            outbox_id = outbox.pk
            pending = _deferred_wakeups.get()
            if pending is not None:
                transaction.on_commit(lambda: pending.add(outbox_id))
            else:
                transaction.on_commit(lambda: wake_senders(outbox_id))
    return {"queued": queued, "skipped": skipped}


@contextmanager
def wakeups_deferred() -> Iterator[None]:
    """Inside the block, an enqueue that commits wakes its outbox's senders
    once when the block ends instead of after its own commit. For a producer
    that commits one message per transaction (the journey runner takes each
    step in its own): a wake-up costs two queries, and an enqueued task when
    no chain is alive, so a batch of steps pays it once per outbox, not once
    per message. Nested blocks defer to the outermost."""
    if _deferred_wakeups.get() is not None:
        yield
        return
    pending: set[int] = set()
    token = _deferred_wakeups.set(pending)
    try:
        yield
    finally:
        _deferred_wakeups.reset(token)

        def wake() -> None:
            for outbox_id in sorted(pending):
                wake_senders(outbox_id)

        # Inside a caller's transaction: after it commits (the enqueues'
        # own callbacks, registered earlier, fill `pending` first).
        transaction.on_commit(wake)


def wake_senders(outbox_id: int, *, force: bool = False) -> bool:
    """Enqueue the outbox's send chains unless one is alive, each slot's
    only if none is queued for it yet (`force`: both even then; the slots
    keep the chains from doubling). Producers call this after every commit
    of work, so without the queued mark each would add tasks while the
    chains wait for a worker, and those would queue ahead of whatever is
    enqueued next (docs/journey-runtime.md). Returns whether any task was
    enqueued."""
    from django.conf import settings
    from django_q.tasks import async_task

    from dispatch.pipeline import live_senders, mark_queued

    if not Outbox.objects.filter(pk=outbox_id, status=Outbox.Status.OPEN).exists():
        return False
    now = timezone.now()
    if not force and live_senders(outbox_id, now):
        return False
    enqueued = False
    for slot in range(settings.DISPATCH_SENDERS):
        if mark_queued(outbox_id, slot, now, force=force):
            async_task(SEND_TASK, outbox_id, slot)
            enqueued = True
    return enqueued


def send_inline(outbox_id: int, *, max_batches: int = 4) -> int:
    """Send the outbox's due messages in this process when none of its send
    chains is alive: for a producer whose messages must not wait for a
    chain's turn in the queue (the journey runner, while a large campaign's
    tasks hold the workers: docs/journey-runtime.md). Holds the outbox's
    first slot meanwhile, so its chains and this never double up beyond the
    slots; a crash mid-batch leaves claims the core releases as any dead
    sender's. When nothing is left queued, the deferred wake-up of the
    outbox's chains (`wakeups_deferred`) is dropped; messages that wait for
    a retry (a 5xx, a 429) keep it, so a chain sends them when they fall
    due instead of the minute's reconciler. Returns how many messages were
    claimed."""
    from dispatch.pipeline import (
        free_slot,
        live_senders,
        process_owner,
        send_batch,
        take_slot,
    )

    now = timezone.now()
    if live_senders(outbox_id, now):
        return 0
    owner = process_owner()
    if not take_slot(outbox_id, 0, owner, now):
        return 0
    claimed = 0
    try:
        for _ in range(max_batches):
            outcome = send_batch(outbox_id, owner=owner)
            claimed += outcome.claimed
            if not outcome.claimed:
                break
    finally:
        free_slot(outbox_id, 0, owner)
    pending = _deferred_wakeups.get()
    if (
        pending is not None
        and not Message.objects.filter(outbox_id=outbox_id, status=Message.Status.QUEUED).exists()
    ):
        pending.discard(outbox_id)
    return claimed


def do_open_outbox(outbox_id: int, *, sealed_at: datetime | None = None) -> bool:
    """Let the outbox's due messages go, and wake its senders after commit."""
    fields: dict[str, Any] = {"status": Outbox.Status.OPEN, "status_reason": ""}
    if sealed_at is not None:
        fields["sealed_at"] = sealed_at
    opened = Outbox.objects.filter(
        pk=outbox_id, status__in=[Outbox.Status.OPEN, Outbox.Status.PAUSED]
    ).update(**fields)
    if opened:
        transaction.on_commit(lambda: wake_senders(outbox_id, force=True))
    return bool(opened)


def do_seal_outbox(outbox_id: int) -> bool:
    """The producer will add nothing more: once empty, the outbox closes."""
    return bool(
        Outbox.objects.filter(pk=outbox_id, sealed_at__isnull=True).update(sealed_at=timezone.now())
    )


def do_pause_outbox(outbox_id: int, reason: str = "") -> bool:
    """Hold the outbox's messages (a batch already claimed still goes)."""
    return bool(
        Outbox.objects.filter(pk=outbox_id, status=Outbox.Status.OPEN).update(
            status=Outbox.Status.PAUSED, status_reason=reason[:255]
        )
    )


def do_discard_outbox(outbox_id: int) -> bool:
    """Delete an outbox that never held a message (a producer's draft that is
    deleted), with its counters; False when it has messages: those stay."""
    with transaction.atomic():
        if Message.objects.filter(outbox_id=outbox_id).exists():
            return False
        deleted, _by_model = Outbox.objects.filter(pk=outbox_id).delete()
    return bool(deleted)


def do_close_outbox(outbox_id: int, *, skip_reason: str = Reason.CANCELLED) -> int:
    """Nothing more goes: close the outbox and skip what is still queued.
    Returns how many messages were skipped."""
    with transaction.atomic():
        Outbox.objects.filter(pk=outbox_id).exclude(status=Outbox.Status.CLOSED).update(
            status=Outbox.Status.CLOSED, closed_at=timezone.now()
        )
        return skip_queued(outbox_id, skip_reason)
