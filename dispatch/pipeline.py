"""The send pipeline of an outbox (SPEC §5, §10): the database is the ledger,
tasks only trigger the functions here, and every function is safe to run twice
or concurrently.

1. `send_batch`: claim up to N due queued messages of an open outbox with ONE
   conditional UPDATE (queued → sending, claim token), then at dispatch time
   re-check the sender, skip opted-out numbers, hold promotional messages at
   night and apply the frequency cap; one gateway call for the batch; mark
   sent / failed / back to queued with backoff. Every mark is conditional on
   the claim token.
2. `release_stale_claims`: `sending` rows whose owner process is dead, or that
   were claimed longer ago than the claim timeout, go back to `queued`; the
   gateway recognises the repeated reference.
3. Slots cap the parallel send chains of an outbox; `close_if_done` closes a
   sealed outbox with nothing left and tells its producer.
"""

from __future__ import annotations

import logging
import os
import socket
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, NamedTuple

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import Count, F, Min, Q
from django.utils import timezone
from django.utils.translation import gettext

from audiences.models import Customer
from channels.gateways import NoGatewayConfigured, default_gateway_for, get_backend
from channels.gateways.base import GatewayError, OutgoingSms, SendResult
from channels.models import Gateway
from channels.queries import SenderNotAllowed, sendable_sender
from console.lib import compliance
from dispatch import signals
from dispatch.counters import bump, bump_second
from dispatch.models import (
    DispatchSlot,
    Message,
    Outbox,
    RateWindow,
    SendingPolicy,
    message_reference,
)
from optout.queries import applies_to, opted_out_numbers
from projects.models import Project

logger = logging.getLogger(__name__)

Status = Message.Status
Reason = Message.SkipReason
MAX_ATTEMPTS = 10
BACKOFF_BASE_SECONDS = 1.0
BACKOFF_MAX_SECONDS = 120.0


def batch_size() -> int:
    return settings.DISPATCH_BATCH_SIZE


def claim_timeout() -> timedelta:
    return timedelta(seconds=settings.DISPATCH_CLAIM_SECONDS)


def backoff_seconds(attempts: int, retry_after: float | None = None) -> float:
    """Exponential backoff after `attempts` tries, never sooner than the
    provider asked (429 Retry-After)."""
    delay = min(BACKOFF_BASE_SECONDS * 2 ** max(attempts - 1, 0), BACKOFF_MAX_SECONDS)
    return max(delay, retry_after or 0.0)


# --- process identity (claim and slot owners) ---------------------------------

_HOST = socket.gethostname()


def process_owner() -> str:
    """`host:pid:nonce` — the nonce tells two tasks of one process apart."""
    return f"{_HOST}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def owner_is_dead(owner: str) -> bool:
    """Whether `owner`'s process is known to be gone: only answerable on its
    own host (elsewhere the claim timeout decides). A zombie counts as dead."""
    host, _sep, rest = owner.partition(":")
    pid = rest.partition(":")[0]
    if host != _HOST or not pid.isdigit():
        return False
    if not os.path.isdir("/proc/self"):
        # No procfs (macOS): only "no such process" is certain.
        try:
            os.kill(int(pid), 0)
        except ProcessLookupError:
            return True
        except OSError:
            return False
        return False
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as stat:
            return stat.read().rsplit(")", 1)[-1].split()[0] in ("Z", "X")
    except FileNotFoundError:
        return True
    except OSError:
        return False


# --- claims ------------------------------------------------------------------------


class ClaimedMessage(NamedTuple):
    """A claimed message as the batch needs it."""

    id: int
    dedupe_key: str
    phone_number: str
    body: str
    title: str
    kind: str
    time_zone: str
    customer_id: int | None


_CLAIMED_FIELDS = ClaimedMessage._fields


def claim(outbox_id: int, limit: int, owner: str, now: datetime) -> str | None:
    """Claim up to `limit` due queued messages of an open outbox with one
    conditional UPDATE. Returns the claim token when anything was claimed."""
    token = _token_for(owner)
    due = Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now)
    candidates = (
        Message.objects.filter(
            outbox_id=outbox_id, status=Status.QUEUED, outbox__status=Outbox.Status.OPEN
        )
        .filter(due)
        .order_by("id")
        # PostgreSQL: concurrent senders take the next free rows instead of
        # queueing on the same ones and then claiming nothing (READ
        # COMMITTED re-checks `queued` after the winner commits). SQLite has
        # one writer at a time (IMMEDIATE transactions) and ignores this.
        .select_for_update(skip_locked=True, of=("self",))
        .values_list("id", flat=True)[:limit]
    )
    with transaction.atomic():
        # Ids first, then the UPDATE: a LIMIT … FOR UPDATE subquery inside
        # `id IN (…)` may be run more than once by PostgreSQL and claim
        # more than `limit` rows.
        ids = list(candidates)
        claimed = ids and Message.objects.filter(pk__in=ids, status=Status.QUEUED).update(
            status=Status.SENDING,
            claim_token=token,
            claimed_at=now,
            attempts=F("attempts") + 1,
        )
    return token if claimed else None


def _token_for(owner: str) -> str:
    """A claim token that names the owning process in 32 characters
    (`pid:hosthash:nonce`), so a claim of a dead process is released at once."""
    return f"{os.getpid()}:{_host_tag()}:{uuid.uuid4().hex[:12]}"


def _host_tag() -> str:
    return uuid.uuid5(uuid.NAMESPACE_DNS, _HOST).hex[:8]


def token_is_dead(token: str) -> bool:
    pid, _sep, rest = token.partition(":")
    host_tag = rest.partition(":")[0]
    if host_tag != _host_tag() or not pid.isdigit():
        return False
    return owner_is_dead(f"{_HOST}:{pid}:x")


def release_stale_claims(outbox_id: int, now: datetime | None = None) -> int:
    """Return to `queued` the messages claimed by a dead process, or claimed
    longer ago than the claim timeout. Sending them again is safe: the gateway
    sees the same reference."""
    now = now or timezone.now()
    sending = Message.objects.filter(outbox_id=outbox_id, status=Status.SENDING)
    released = sending.filter(claimed_at__lt=now - claim_timeout()).update(
        status=Status.QUEUED, claim_token="", claimed_at=None
    )
    for token in set(sending.values_list("claim_token", flat=True).distinct()):
        if token and token_is_dead(token):
            released += sending.filter(claim_token=token).update(
                status=Status.QUEUED, claim_token="", claimed_at=None
            )
    if released:
        logger.info("outbox %s: %d stale claims back to queued", outbox_id, released)
    return released


# --- rate limits -------------------------------------------------------------------


def _take(key: str, window_start: datetime, limit: int, wanted: int) -> int:
    """Up to `wanted` of what remains of `limit` in this window (0: wait)."""
    with transaction.atomic():
        try:
            with transaction.atomic():
                RateWindow.objects.get_or_create(
                    key=key, defaults={"window_start": window_start, "count": 0}
                )
        except IntegrityError:
            pass
        window = RateWindow.objects.select_for_update().get(key=key)
        granted = max(0, min(wanted, limit - window.count))
        if granted:
            RateWindow.objects.filter(pk=window.pk).update(count=F("count") + granted)
        return granted


def _give_back(key: str, amount: int) -> None:
    if amount > 0:
        RateWindow.objects.filter(key=key, count__gte=amount).update(count=F("count") - amount)


# Of each rate window, the share other producers leave to journeys while the
# project has an open journey outbox, so a large campaign cannot starve them.
JOURNEY_RATE_SHARE = 0.1


def journey_reserve(outbox: Outbox) -> float:
    """The share of the rate limits this outbox must leave unused: none for
    a journey's own outbox or a project without an open journey outbox."""
    share = float(getattr(settings, "DISPATCH_JOURNEY_RATE_SHARE", JOURNEY_RATE_SHARE))
    if share <= 0 or outbox.producer_kind == "journey":
        return 0.0
    journeys = Outbox.objects.filter(
        project_id=outbox.project_id, producer_kind="journey", status=Outbox.Status.OPEN
    )
    return share if journeys.exists() else 0.0


def _leaving(limit: int, reserve: float) -> int:
    """`limit` less the reserved share (rounded down, so a tiny limit keeps it all)."""
    return limit - int(limit * reserve)


def acquire_rate(
    project: Project, gateway: Gateway, wanted: int, now: datetime, *, reserve: float = 0.0
) -> tuple[int, Callable[[int], None]]:
    """How many messages may go now under the project's per-minute and the
    gateway's per-second limits, shared by all workers. Returns (granted,
    give_back) where give_back(n) returns what a smaller claim did not use.
    `reserve`: the share of both limits this caller may not take (left to
    journeys, `journey_reserve`)."""
    minute = now.replace(second=0, microsecond=0)
    second = now.replace(microsecond=0)
    project_key = f"p:{project.pk.hex}:{minute:%Y%m%d%H%M}"
    gateway_key = f"g:{gateway.pk}:{second:%Y%m%d%H%M%S}"
    project_limit = _leaving(project.send_rate_per_minute, reserve)
    granted = _take(project_key, minute, project_limit, wanted)
    if granted:
        gateway_limit = _leaving(gateway.messages_per_second, reserve)
        gateway_granted = _take(gateway_key, second, gateway_limit, granted)
        _give_back(project_key, granted - gateway_granted)
        granted = gateway_granted

    def give_back(unused: int) -> None:
        _give_back(project_key, unused)
        _give_back(gateway_key, unused)

    return granted, give_back


# --- one batch ---------------------------------------------------------------------


@dataclass
class BatchOutcome:
    claimed: int = 0
    sent: int = 0
    failed: int = 0
    retrying: int = 0
    skipped: int = 0
    held: int = 0
    rate_limited: bool = False


def frequency_cap(outbox: Outbox) -> tuple[int, int]:
    """(cap, window in hours) for the outbox: its own cap, else the project's."""
    policy = SendingPolicy.objects.filter(project_id=outbox.project_id).first()
    window = policy.frequency_window_hours if policy else 24
    cap = outbox.frequency_cap
    if cap is None:
        cap = policy.frequency_cap if policy else 0
    return cap, window


def _skip(outbox_id: int, token: str, ids: list[int], reason: str) -> int:
    if not ids:
        return 0
    n = Message.objects.filter(pk__in=ids, claim_token=token, status=Status.SENDING).update(
        status=Status.SKIPPED, skip_reason=reason, claim_token="", claimed_at=None
    )
    bump(outbox_id, queued=-n, **{f"skipped_{reason}": n})
    return n


def send_batch(
    outbox_id: int, *, owner: str = "", now: datetime | None = None, limit: int | None = None
) -> BatchOutcome:
    """Claim and send one batch of the outbox. Safe to run concurrently."""
    now = now or timezone.now()
    outcome = BatchOutcome()
    outbox = Outbox.objects.select_related("project").get(pk=outbox_id)
    if outbox.status != Outbox.Status.OPEN:
        return outcome
    project = outbox.project
    try:
        gateway = default_gateway_for(project)
    except NoGatewayConfigured as exc:
        pause_outbox(outbox_id, str(exc))
        return outcome
    wanted = limit or batch_size()
    granted, give_back = acquire_rate(
        project, gateway, wanted, now, reserve=journey_reserve(outbox)
    )
    if not granted:
        outcome.rate_limited = True
        return outcome
    token = claim(outbox_id, granted, owner or process_owner(), now)
    rows = (
        [
            ClaimedMessage._make(row)
            for row in Message.objects.filter(
                outbox_id=outbox_id, status=Status.SENDING, claim_token=token
            )
            .order_by("id")
            .values_list(*_CLAIMED_FIELDS)
        ]
        if token
        else []
    )
    give_back(granted - len(rows))
    if not rows:
        return outcome
    outcome.claimed = len(rows)

    # The sender is checked again: it may have been suspended since the start.
    try:
        sender = sendable_sender(project, outbox.sender_number_id)
    except SenderNotAllowed as exc:
        outcome.skipped += _skip(outbox_id, token, [r.id for r in rows], Reason.UNAPPROVED_SENDER)
        refuse_sender(outbox_id, str(exc))
        return outcome

    # Opt-outs are read now, not when the message was enqueued: a number
    # that opted out meanwhile gets nothing more.
    # Legally required notices (ignores_optout_list) reach listed numbers.
    if applies_to(project, outbox.is_promotional) and not outbox.ignores_optout_list:
        out = opted_out_numbers(project, [r.phone_number for r in rows])
        if out:
            ids = [r.id for r in rows if r.phone_number in out]
            outcome.skipped += _skip(outbox_id, token, ids, Reason.OPTED_OUT)
            rows = [r for r in rows if r.phone_number not in out]

    if (outbox.is_promotional or outbox.never_at_night) and rows:
        rows, held = _hold_night_time(outbox, token, rows, now)
        outcome.held = held

    if outbox.counts_towards_cap and rows:
        cap, window_hours = frequency_cap(outbox)
        if cap:
            rows = _apply_frequency_cap(outbox, token, rows, cap, window_hours, now, outcome)
    if not rows:
        return outcome

    batch = [
        OutgoingSms(
            reference=message_reference(outbox_id, r.dedupe_key),
            to=r.phone_number,
            sender=sender.number,
            body=r.body,
            title=r.title,
            kind=r.kind,
        )
        for r in rows
    ]
    ids = [r.id for r in rows]
    try:
        results = get_backend(gateway).send_batch(batch)
    except GatewayError as exc:
        if exc.permanent:
            outcome.failed += _fail(outbox_id, token, ids, "gateway_refused", exc.message)
        else:
            f, r = _retry(outbox_id, token, ids, exc.message, exc.retry_after)
            outcome.failed += f
            outcome.retrying += r
        return outcome
    _record_results(outbox_id, token, rows, results, outcome)
    return outcome


def _apply_frequency_cap(
    outbox: Outbox,
    token: str,
    rows: list[ClaimedMessage],
    cap: int,
    window_hours: int,
    now: datetime,
    outcome: BatchOutcome,
) -> list[ClaimedMessage]:
    """Skip numbers that already had `cap` messages of other counted
    outboxes of the project within the window."""
    recent = dict(
        Message.objects.filter(
            project_id=outbox.project_id,
            phone_number__in=[r.phone_number for r in rows],
            sent_at__gte=now - timedelta(hours=window_hours),
            outbox__counts_towards_cap=True,
        )
        .exclude(outbox_id=outbox.pk)
        .values("phone_number")
        .annotate(n=Count("id"))
        .values_list("phone_number", "n")
    )
    capped = {phone for phone, n in recent.items() if n >= cap}
    if not capped:
        return rows
    ids = [r.id for r in rows if r.phone_number in capped]
    outcome.skipped += _skip(outbox.pk, token, ids, Reason.FREQUENCY_CAP)
    return [r for r in rows if r.phone_number not in capped]


def _hold_night_time(
    outbox: Outbox, token: str, rows: list[ClaimedMessage], now: datetime
) -> tuple[list[ClaimedMessage], int]:
    """Promotional messages wait until 08:00 in the recipient's zone unless
    the recipient gave night-time consent (SPEC §5); those of a
    `never_at_night` outbox wait whatever the consent."""
    default_zone = outbox.project.time_zone or "Asia/Seoul"
    releases = {}
    for zone in {r.time_zone or default_zone for r in rows}:
        try:
            releases[zone] = compliance.night_release_at(now, zone)
        except Exception:
            releases[zone] = compliance.night_release_at(now, default_zone)
    night = [r for r in rows if releases[r.time_zone or default_zone] is not None]
    if not night:
        return rows, 0
    consenting = (
        set()
        if outbox.never_at_night
        else set(
            Customer.objects.filter(
                id__in=[r.customer_id for r in night if r.customer_id is not None],
                night_consent=True,
            ).values_list("id", flat=True)
        )
    )
    held_rows = [r for r in night if r.customer_id not in consenting]
    held = 0
    by_release: dict[datetime, list[int]] = {}
    for r in held_rows:
        by_release.setdefault(releases[r.time_zone or default_zone], []).append(r.id)
    for release, ids in by_release.items():
        held += Message.objects.filter(pk__in=ids, claim_token=token, status=Status.SENDING).update(
            status=Status.QUEUED,
            claim_token="",
            claimed_at=None,
            next_attempt_at=release,
            held_until=release,
            # A hold is not an attempt.
            attempts=F("attempts") - 1,
        )
    bump(outbox.pk, held_night_time=held)
    held_ids = {r.id for r in held_rows}
    return [r for r in rows if r.id not in held_ids], held


def _record_results(
    outbox_id: int,
    token: str,
    rows: list[ClaimedMessage],
    results: list[SendResult],
    outcome: BatchOutcome,
) -> None:
    now = timezone.now()
    accepted: list[tuple[int, str]] = []
    accepted_lms: list[tuple[int, str]] = []
    permanent: list[tuple[int, SendResult]] = []
    transient: list[tuple[int, str]] = []
    for row, result in zip(rows, results, strict=True):
        if result.accepted:
            entry = (row.id, result.provider_message_id or "")
            (accepted_lms if row.kind == "LMS" else accepted).append(entry)
        elif result.permanent:
            permanent.append((row.id, result))
        else:
            transient.append((row.id, result.error_message or result.error_code))
    if accepted or accepted_lms:
        with transaction.atomic():
            marked = {
                kind: _mark_sent(entries, token, now)
                for kind, entries in (("SMS", accepted), ("LMS", accepted_lms))
                if entries
            }
            total = sum(marked.values())
            bump(outbox_id, sent=total, sent_lms=marked.get("LMS", 0), queued=-total)
            bump_second(outbox_id, now, sent=total)
        outcome.sent += total
    for message_id, result in permanent:
        outcome.failed += _fail(
            outbox_id,
            token,
            [message_id],
            result.error_code or "rejected",
            result.error_message or result.error_code,
        )
    if transient:
        f, r = _retry(outbox_id, token, [t[0] for t in transient], transient[0][1], None)
        outcome.failed += f
        outcome.retrying += r


# Rows per "mark sent" statement (two parameters a row).
MARK_ROWS_PER_STATEMENT = 500


def _mark_sent(entries: list[tuple[int, str]], token: str, now: datetime) -> int:
    """Mark (message id, provider id) pairs sent, each only if still claimed
    by `token`: one UPDATE … FROM (VALUES …) per 500 rows instead of a
    statement per row (which PostgreSQL plans and executes one by one).
    SQLite names a VALUES list's columns column1, column2; PostgreSQL is
    told the same names."""
    table = Message._meta.db_table
    alias = " AS v(column1, column2)" if connection.vendor == "postgresql" else " AS v"
    marked = 0
    with connection.cursor() as cursor:
        for start in range(0, len(entries), MARK_ROWS_PER_STATEMENT):
            part = entries[start : start + MARK_ROWS_PER_STATEMENT]
            values = ", ".join(["(%s, %s)"] * len(part))
            sql = (
                f"UPDATE {table} SET status = 'sent', provider_message_id = v.column2, "
                "sent_at = %s, claim_token = '', claimed_at = NULL, error_code = '', "
                f"error_message = '' FROM (VALUES {values}){alias} "
                f"WHERE {table}.id = v.column1 AND {table}.claim_token = %s "
                f"AND {table}.status = 'sending'"
            )
            params = [now, *(value for entry in part for value in entry), token]
            cursor.execute(sql, params)
            marked += max(cursor.rowcount, 0)
    return marked


def _fail(outbox_id: int, token: str, ids: list[int], code: str, message: str) -> int:
    with transaction.atomic():
        n = Message.objects.filter(pk__in=ids, claim_token=token, status=Status.SENDING).update(
            status=Status.FAILED,
            error_code=code[:50],
            error_message=(message or "")[:255],
            claim_token="",
            claimed_at=None,
            next_attempt_at=None,
        )
        bump(outbox_id, failed=n, queued=-n)
        bump_second(outbox_id, timezone.now(), failed=n)
    return n


def _retry(
    outbox_id: int, token: str, ids: list[int], reason: str, retry_after: float | None
) -> tuple[int, int]:
    """Back to queued with our own backoff; failed after MAX_ATTEMPTS."""
    rows = Message.objects.filter(pk__in=ids, claim_token=token, status=Status.SENDING)
    failed = 0
    exhausted = list(rows.filter(attempts__gte=MAX_ATTEMPTS).values_list("id", flat=True))
    if exhausted:
        failed = _fail(
            outbox_id,
            token,
            exhausted,
            "gave_up",
            gettext("Gave up after %(attempts)d attempts: %(reason)s")
            % {"attempts": MAX_ATTEMPTS, "reason": reason},
        )
    retrying = 0
    by_attempts = rows.values("attempts").annotate(n=Count("id"))
    for group in by_attempts:
        attempts = group["attempts"]
        next_at = timezone.now() + timedelta(seconds=backoff_seconds(attempts, retry_after))
        retrying += rows.filter(attempts=attempts).update(
            status=Status.QUEUED,
            claim_token="",
            claimed_at=None,
            next_attempt_at=next_at,
            error_message=(reason or "")[:255],
        )
    logger.info("outbox %s: %d messages retry later (%s)", outbox_id, retrying, reason)
    return failed, retrying


# --- the outbox's own status ------------------------------------------------------


def pause_outbox(outbox_id: int, reason: str) -> bool:
    """Pause an open outbox (no gateway to send with) and tell its producer."""
    won = Outbox.objects.filter(pk=outbox_id, status=Outbox.Status.OPEN).update(
        status=Outbox.Status.PAUSED, status_reason=reason[:255]
    )
    if won:
        signals.outbox_paused.send(sender=Outbox, outbox_id=outbox_id, reason=reason)
    return bool(won)


def skip_queued(outbox_id: int, reason: str) -> int:
    """Skip every queued message of the outbox (counted per reason)."""
    with transaction.atomic():
        n = Message.objects.filter(outbox_id=outbox_id, status=Status.QUEUED).update(
            status=Status.SKIPPED, skip_reason=reason
        )
        bump(outbox_id, queued=-n, **{f"skipped_{reason}": n})
    return n


def refuse_sender(outbox_id: int, reason: str) -> None:
    """The sender may no longer send: every message not yet out is skipped,
    the outbox closes and its producer hears why."""
    with transaction.atomic():
        skip_queued(outbox_id, Reason.UNAPPROVED_SENDER)
        won = Outbox.objects.filter(
            pk=outbox_id, status__in=[Outbox.Status.OPEN, Outbox.Status.PAUSED]
        ).update(status=Outbox.Status.CLOSED, status_reason=reason[:255], closed_at=timezone.now())
    if won:
        signals.sender_refused.send(sender=Outbox, outbox_id=outbox_id, reason=reason)


# --- progress ------------------------------------------------------------------------


def pending_work(outbox_id: int) -> dict[str, Any]:
    """What is left: queued (and when the next is due), in flight."""
    queued = Message.objects.filter(outbox_id=outbox_id, status=Status.QUEUED)
    return {
        "queued": queued.exists(),
        "next_due": queued.aggregate(at=Min("next_attempt_at"))["at"],
        "due_now": queued.filter(
            Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=timezone.now())
        ).exists(),
        "sending": Message.objects.filter(outbox_id=outbox_id, status=Status.SENDING).exists(),
    }


def close_if_done(outbox_id: int) -> bool:
    """Close a sealed, open outbox with nothing queued or in flight, and tell
    its producer (once: the conditional UPDATE has one winner)."""
    if not Outbox.objects.filter(
        pk=outbox_id, status=Outbox.Status.OPEN, sealed_at__isnull=False
    ).exists():
        return False
    if Message.objects.filter(
        outbox_id=outbox_id, status__in=[Status.QUEUED, Status.SENDING]
    ).exists():
        return False
    won = Outbox.objects.filter(
        pk=outbox_id, status=Outbox.Status.OPEN, sealed_at__isnull=False
    ).update(status=Outbox.Status.CLOSED, closed_at=timezone.now())
    if won:
        signals.outbox_closed.send(sender=Outbox, outbox_id=outbox_id, reason="")
    return bool(won)


# --- slots ---------------------------------------------------------------------------


def take_slot(
    outbox_id: int, slot: int, owner: str, now: datetime, *, started: bool = False
) -> bool:
    """Hold sender slot `slot` of the outbox: free, silent for longer than
    the claim timeout, or held by a dead process. `started`: the caller is
    the slot's queued task, which is no longer queued, taken or not."""
    DispatchSlot.objects.bulk_create(
        [DispatchSlot(outbox_id=outbox_id, slot=slot)], ignore_conflicts=True
    )
    rows = DispatchSlot.objects.filter(outbox_id=outbox_id, slot=slot)
    taking: dict[str, Any] = {"owner": owner, "renewed_at": now}
    if started:
        taking["queued_at"] = None
    if rows.filter(Q(owner="") | Q(renewed_at__lt=now - claim_timeout()) | Q(owner=owner)).update(
        **taking
    ):
        return True
    current = rows.values_list("owner", flat=True).first() or ""
    if current and owner_is_dead(current) and rows.filter(owner=current).update(**taking):
        return True
    if started:
        rows.update(queued_at=None)
    return False


def mark_queued(outbox_id: int, slot: int, now: datetime, *, force: bool = False) -> bool:
    """Note that a task for the slot is being enqueued, unless one was
    enqueued less than a claim timeout ago and has not started (`force`:
    note it anyway). Returns whether the caller should enqueue it. Two
    producers racing for a slot's first row may both enqueue; the slot
    itself keeps their tasks from working side by side."""
    rows = DispatchSlot.objects.filter(outbox_id=outbox_id, slot=slot)
    if not force:
        rows = rows.filter(Q(queued_at=None) | Q(queued_at__lt=now - claim_timeout()))
    if rows.update(queued_at=now):
        return True
    if DispatchSlot.objects.filter(outbox_id=outbox_id, slot=slot).exists():
        return False
    DispatchSlot.objects.bulk_create(
        [DispatchSlot(outbox_id=outbox_id, slot=slot, queued_at=now)], ignore_conflicts=True
    )
    return True


def renew_slot(outbox_id: int, slot: int, owner: str) -> bool:
    now = timezone.now()
    return bool(
        DispatchSlot.objects.filter(outbox_id=outbox_id, slot=slot, owner=owner).update(
            renewed_at=now
        )
    )


def live_senders(outbox_id: int, now: datetime) -> bool:
    """Whether any send task of the outbox renewed its slot lately."""
    return (
        DispatchSlot.objects.filter(outbox_id=outbox_id, renewed_at__gte=now - claim_timeout())
        .exclude(owner="")
        .exists()
    )


def free_slot(outbox_id: int, slot: int, owner: str) -> None:
    DispatchSlot.objects.filter(outbox_id=outbox_id, slot=slot, owner=owner).update(
        owner="", renewed_at=None
    )
