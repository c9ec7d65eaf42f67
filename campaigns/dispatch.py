"""The send pipeline of a campaign (SPEC §5, §10): the database is the ledger,
tasks only trigger the functions here, and every function is safe to run twice
or concurrently.

1. `materialise_chunk`: the next chunk of the audience (keyset-paged after the
   campaign's cursor) becomes Message rows, rendered with the template compiled
   once, wrapped by the system when promotional; rows and the new cursor commit
   together, so a crash repeats at most the uncommitted chunk.
2. `send_batch`: claim up to N due queued messages with ONE conditional UPDATE
   (queued → sending, claim token), then at dispatch time skip opted-out
   numbers, hold promotional messages at night, apply the frequency cap and
   re-check the sender; one gateway call for the batch; mark sent / failed /
   back to queued with backoff. Every mark is conditional on the claim token.
3. `release_stale_claims`: `sending` rows whose owner process is dead, or that
   were claimed longer ago than the claim timeout, go back to `queued`; the
   gateway recognises the repeated reference.
"""

from __future__ import annotations

import logging
import os
import socket
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import Count, F, Min, Q
from django.utils import timezone
from django.utils.translation import gettext

from audiences.models import AudienceFileRow, Customer
from audiences.segments import segment_queryset
from campaigns.models import (
    Campaign,
    CampaignStats,
    DispatchSlot,
    Message,
    RateWindow,
    SendingPolicy,
    message_reference,
)
from campaigns.rendering import (
    CUSTOMER_FIELDS,
    Renderer,
    customer_context,
    customer_tags,
    file_row_context,
)
from channels.gateways import NoGatewayConfigured, default_gateway_for, get_backend
from channels.gateways.base import GatewayError, OutgoingSms
from channels.models import Gateway
from channels.queries import SenderNotAllowed, sendable_sender
from console.lib import compliance
from console.lib.bulk import insert_rows
from optout.queries import applies_to, opted_out_numbers
from projects.models import Project
from stats.counters import bump_minute

logger = logging.getLogger(__name__)

Status = Message.Status
Reason = Message.SkipReason
MAX_ATTEMPTS = 10
BACKOFF_BASE_SECONDS = 1.0
BACKOFF_MAX_SECONDS = 120.0
_E164_DIGITS = set("0123456789")


def batch_size() -> int:
    return settings.DISPATCH_BATCH_SIZE


def chunk_size() -> int:
    return settings.DISPATCH_CHUNK_SIZE


def claim_timeout() -> timedelta:
    return timedelta(seconds=settings.DISPATCH_CLAIM_SECONDS)


def backoff_seconds(attempts: int, retry_after: float | None = None) -> float:
    """Exponential backoff after `attempts` tries, never sooner than the
    provider asked (429 Retry-After)."""
    delay = min(BACKOFF_BASE_SECONDS * 2 ** max(attempts - 1, 0), BACKOFF_MAX_SECONDS)
    return max(delay, retry_after or 0.0)


def bump(campaign_id: int, **deltas: int) -> None:
    """Add to the campaign's counters (F() expressions: no lost updates)."""
    changes = {name: F(name) + value for name, value in deltas.items() if value}
    if changes:
        CampaignStats.objects.filter(pk=campaign_id).update(**changes)


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


# --- materialisation -------------------------------------------------------------


def _is_e164(number: str) -> bool:
    return (
        len(number) >= 8
        and len(number) <= 16
        and number[0] == "+"
        and number[1] != "0"
        and set(number[1:]) <= _E164_DIGITS
    )


def _segment_chunk(campaign: Campaign, renderer: Renderer, after: int, size: int):
    customers = list(
        segment_queryset(campaign.project, campaign.segment.definition)
        .filter(id__gt=after)
        .exclude(phone_number="")
        .order_by("id")
        .values_list(*CUSTOMER_FIELDS, "promotional_consent")[:size]
    )
    tags = customer_tags(c[0] for c in customers) if renderer.uses_tags else {}
    return [
        (c[0], c[0], c[2], c[6], customer_context(c[:-1], tags.get(c[0])), c[-1]) for c in customers
    ]


def _file_chunk(campaign: Campaign, renderer: Renderer, after: int, size: int):
    records = list(
        AudienceFileRow.objects.filter(file_id=campaign.audience_file_id, id__gt=after)
        .order_by("id")
        .values_list("id", "phone_number", "values", "customer_id")[:size]
    )
    known = [r[3] for r in records if r[3] is not None]
    zones = (
        dict(Customer.objects.filter(id__in=known).values_list("id", "time_zone")) if known else {}
    )
    columns = renderer.columns
    return [
        (
            row_id,
            customer_id,
            phone,
            zones.get(customer_id, ""),
            file_row_context(columns, values, phone),
            True,  # the marketer confirmed the whole file's consent before the start
        )
        for row_id, phone, values, customer_id in records
    ]


_INSERT_COLUMNS = (
    "campaign_id",
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
    """Insert message rows, ignoring recipients already there; how many were new."""
    with connection.cursor() as cursor:
        return insert_rows(
            cursor, Message._meta.db_table, _INSERT_COLUMNS, rows, ignore_conflicts=True
        )


def materialise_chunk(campaign_id: int, *, size: int | None = None) -> int | None:
    """Turn the next chunk of the audience into messages. Returns how many
    recipients were read, 0 when the audience is exhausted (the campaign is
    then marked materialised), None when the campaign is not sending/paused
    or another task advanced the cursor first."""
    size = size or chunk_size()
    campaign = Campaign.objects.select_related("project", "segment", "audience_file").get(
        pk=campaign_id
    )
    if campaign.status not in (Campaign.Status.SENDING, Campaign.Status.PAUSED):
        return None
    if campaign.is_materialised:
        return 0
    renderer = Renderer.for_campaign(campaign, sending=True)
    after = campaign.materialise_cursor
    read = (_file_chunk if campaign.audience_file_id else _segment_chunk)(
        campaign, renderer, after, size
    )
    queued_rows, skipped_rows = [], []
    counts: dict[str, int] = {}
    project_id = Message._meta.get_field("project").get_db_prep_value(
        campaign.project_id, connection
    )
    needs_consent = campaign.is_promotional
    for key, customer_id, phone, tz, context, consented in read:
        r = None
        if needs_consent and not consented:
            status, reason, body, size_bytes, kind = Status.SKIPPED, Reason.NO_CONSENT, "", 0, "SMS"
        elif not _is_e164(phone):
            status, reason, body, size_bytes, kind = (
                Status.SKIPPED,
                Reason.INVALID_NUMBER,
                "",
                0,
                "SMS",
            )
        else:
            r = renderer.render(context, key)
            status, reason, body, size_bytes, kind = (
                r.status,
                r.skip_reason,
                r.body,
                r.bytes,
                r.kind,
            )
        error = r.error[:255] if r is not None and reason == Reason.RENDER_ERROR else ""
        row = (
            campaign.pk,
            project_id,
            customer_id,
            phone,
            tz or "",
            body,
            campaign.title if kind == "LMS" else "",
            kind,
            size_bytes,
            status,
            reason,
            "",
            0,
            "",
            "render_error" if error else "",
            error,
        )
        (queued_rows if status == Status.QUEUED else skipped_rows).append(row)
        if reason:
            counts[reason] = counts.get(reason, 0) + 1
    now = timezone.now()
    with transaction.atomic():
        # Taking the cursor first makes two materialisers of one campaign
        # (a task run twice) exclusive: the loser changes nothing. It also
        # refuses a campaign cancelled meanwhile.
        fields: dict[str, Any] = {"heartbeat_at": now}
        if read:
            fields["materialise_cursor"] = read[-1][0]
        else:
            fields["materialised_at"] = now
        won = Campaign.objects.filter(
            pk=campaign.pk,
            materialise_cursor=after,
            materialised_at__isnull=True,
            status__in=[Campaign.Status.SENDING, Campaign.Status.PAUSED],
        ).update(**fields)
        if not won:
            return None
        queued = _insert(queued_rows)
        skipped = _insert(skipped_rows)
        if skipped:
            # Counted per reason only when every skipped row was new (the
            # usual case); duplicates of a phone number are rare.
            by_reason = {f"skipped_{k}": v for k, v in counts.items()}
            if sum(by_reason.values()) != skipped:
                by_reason = {"skipped_invalid_number": skipped}
            bump(campaign.pk, **by_reason)
        bump(campaign.pk, recipients=queued + skipped, queued=queued)
    return len(read)


# --- claims ------------------------------------------------------------------------


def claim(campaign_id: int, limit: int, owner: str, now: datetime) -> str | None:
    """Claim up to `limit` due queued messages of a sending campaign with one
    conditional UPDATE. Returns the claim token when anything was claimed."""
    token = _token_for(owner)
    due = Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now)
    candidates = (
        Message.objects.filter(
            campaign_id=campaign_id,
            status=Status.QUEUED,
            campaign__status=Campaign.Status.SENDING,
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


def release_stale_claims(campaign_id: int, now: datetime | None = None) -> int:
    """Return to `queued` the messages claimed by a dead process, or claimed
    longer ago than the claim timeout. Sending them again is safe: the gateway
    sees the same reference."""
    now = now or timezone.now()
    sending = Message.objects.filter(campaign_id=campaign_id, status=Status.SENDING)
    released = sending.filter(claimed_at__lt=now - claim_timeout()).update(
        status=Status.QUEUED, claim_token="", claimed_at=None
    )
    for token in set(sending.values_list("claim_token", flat=True).distinct()):
        if token and token_is_dead(token):
            released += sending.filter(claim_token=token).update(
                status=Status.QUEUED, claim_token="", claimed_at=None
            )
    if released:
        logger.info("campaign %s: %d stale claims back to queued", campaign_id, released)
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


def acquire_rate(project: Project, gateway: Gateway, wanted: int, now: datetime):
    """How many messages may go now under the project's per-minute and the
    gateway's per-second limits, shared by all workers. Returns (granted,
    give_back) where give_back(n) returns what a smaller claim did not use."""
    minute = now.replace(second=0, microsecond=0)
    second = now.replace(microsecond=0)
    project_key = f"p:{project.pk.hex}:{minute:%Y%m%d%H%M}"
    gateway_key = f"g:{gateway.pk}:{second:%Y%m%d%H%M%S}"
    granted = _take(project_key, minute, project.send_rate_per_minute, wanted)
    if granted:
        gateway_granted = _take(gateway_key, second, gateway.messages_per_second, granted)
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


def _frequency_cap(campaign: Campaign) -> tuple[int, int]:
    policy = SendingPolicy.objects.filter(project_id=campaign.project_id).first()
    window = policy.frequency_window_hours if policy else 24
    cap = campaign.frequency_cap
    if cap is None:
        cap = policy.frequency_cap if policy else 0
    return cap, window


def _skip(campaign_id: int, token: str, ids: list[int], reason: str) -> int:
    if not ids:
        return 0
    n = Message.objects.filter(pk__in=ids, claim_token=token, status=Status.SENDING).update(
        status=Status.SKIPPED, skip_reason=reason, claim_token="", claimed_at=None
    )
    bump(campaign_id, queued=-n, **{f"skipped_{reason}": n})
    return n


def send_batch(
    campaign_id: int, *, owner: str = "", now: datetime | None = None, limit: int | None = None
) -> BatchOutcome:
    """Claim and send one batch of the campaign. Safe to run concurrently."""
    now = now or timezone.now()
    outcome = BatchOutcome()
    campaign = Campaign.objects.select_related("project").get(pk=campaign_id)
    if campaign.status != Campaign.Status.SENDING:
        return outcome
    project = campaign.project
    try:
        gateway = default_gateway_for(project)
    except NoGatewayConfigured as exc:
        _pause(campaign, str(exc))
        return outcome
    wanted = limit or batch_size()
    granted, give_back = acquire_rate(project, gateway, wanted, now)
    if not granted:
        outcome.rate_limited = True
        return outcome
    token = claim(campaign_id, granted, owner or process_owner(), now)
    rows = (
        list(
            Message.objects.filter(
                campaign_id=campaign_id, status=Status.SENDING, claim_token=token
            )
            .order_by("id")
            .values_list("id", "phone_number", "body", "title", "kind", "time_zone", "customer_id")
        )
        if token
        else []
    )
    give_back(granted - len(rows))
    if not rows:
        return outcome
    outcome.claimed = len(rows)

    # The sender is checked again: it may have been suspended since the start.
    try:
        sender = sendable_sender(project, campaign.sender_number_id)
    except SenderNotAllowed as exc:
        outcome.skipped += _skip(campaign_id, token, [r[0] for r in rows], Reason.UNAPPROVED_SENDER)
        _refuse_sender(campaign, str(exc))
        return outcome

    # Opt-outs are read now, not when the audience was materialised: a number
    # that opted out mid-campaign gets nothing more.
    if applies_to(project, campaign.is_promotional):
        out = opted_out_numbers(project, [r[1] for r in rows])
        if out:
            ids = [r[0] for r in rows if r[1] in out]
            outcome.skipped += _skip(campaign_id, token, ids, Reason.OPTED_OUT)
            rows = [r for r in rows if r[1] not in out]

    if campaign.is_promotional and rows:
        rows, held = _hold_night_time(campaign, token, rows, now)
        outcome.held = held

    cap, window_hours = _frequency_cap(campaign)
    if cap and rows:
        recent = dict(
            Message.objects.filter(
                project_id=campaign.project_id,
                phone_number__in=[r[1] for r in rows],
                sent_at__gte=now - timedelta(hours=window_hours),
            )
            .exclude(campaign_id=campaign_id)
            .values("phone_number")
            .annotate(n=Count("id"))
            .values_list("phone_number", "n")
        )
        capped = {phone for phone, n in recent.items() if n >= cap}
        if capped:
            ids = [r[0] for r in rows if r[1] in capped]
            outcome.skipped += _skip(campaign_id, token, ids, Reason.FREQUENCY_CAP)
            rows = [r for r in rows if r[1] not in capped]
    if not rows:
        return outcome

    batch = [
        OutgoingSms(
            reference=message_reference(campaign_id, phone, None),
            to=phone,
            sender=sender.number,
            body=body,
            title=title,
            kind=kind,
        )
        for _id, phone, body, title, kind, _tz, _cid in rows
    ]
    ids = [r[0] for r in rows]
    try:
        results = get_backend(gateway).send_batch(batch)
    except GatewayError as exc:
        if exc.permanent:
            outcome.failed += _fail(campaign_id, token, ids, "gateway_refused", exc.message)
        else:
            f, r = _retry(campaign, token, ids, exc.message, exc.retry_after)
            outcome.failed += f
            outcome.retrying += r
        return outcome
    _record_results(campaign, token, rows, results, outcome)
    return outcome


def _hold_night_time(campaign: Campaign, token: str, rows: list[tuple], now: datetime):
    """Promotional messages wait until 08:00 in the recipient's zone unless
    the recipient gave night-time consent (SPEC §5)."""
    default_zone = campaign.project.time_zone or "Asia/Seoul"
    releases = {}
    for zone in {r[5] or default_zone for r in rows}:
        try:
            releases[zone] = compliance.night_release_at(now, zone)
        except Exception:
            releases[zone] = compliance.night_release_at(now, default_zone)
    night = [r for r in rows if releases[r[5] or default_zone] is not None]
    if not night:
        return rows, 0
    consenting = set(
        Customer.objects.filter(
            id__in=[r[6] for r in night if r[6] is not None], night_consent=True
        ).values_list("id", flat=True)
    )
    held_rows = [r for r in night if r[6] not in consenting]
    held = 0
    by_release: dict[datetime, list[int]] = {}
    for r in held_rows:
        by_release.setdefault(releases[r[5] or default_zone], []).append(r[0])
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
    bump(campaign.pk, held_night_time=held)
    held_ids = {r[0] for r in held_rows}
    return [r for r in rows if r[0] not in held_ids], held


def _record_results(campaign, token, rows, results, outcome: BatchOutcome) -> None:
    now = timezone.now()
    accepted, permanent, transient = [], [], []
    accepted_lms = []
    for row, result in zip(rows, results, strict=True):
        if result.accepted:
            entry = (row[0], result.provider_message_id or "")
            (accepted_lms if row[4] == "LMS" else accepted).append(entry)
        elif result.permanent:
            permanent.append((row[0], result))
        else:
            transient.append((row[0], result.error_message or result.error_code))
    if accepted or accepted_lms:
        with transaction.atomic():
            marked = {
                kind: _mark_sent(entries, token, now)
                for kind, entries in (("SMS", accepted), ("LMS", accepted_lms))
                if entries
            }
            total = sum(marked.values())
            bump(campaign.pk, sent=total, sent_lms=marked.get("LMS", 0), queued=-total)
            bump_minute(campaign.pk, now, sent=total)
        outcome.sent += total
    for message_id, result in permanent:
        outcome.failed += _fail(
            campaign.pk,
            token,
            [message_id],
            result.error_code or "rejected",
            result.error_message or result.error_code,
        )
    if transient:
        f, r = _retry(campaign, token, [t[0] for t in transient], transient[0][1], None)
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


def _fail(campaign_id: int, token: str, ids: list[int], code: str, message: str) -> int:
    with transaction.atomic():
        n = Message.objects.filter(pk__in=ids, claim_token=token, status=Status.SENDING).update(
            status=Status.FAILED,
            error_code=code[:50],
            error_message=(message or "")[:255],
            claim_token="",
            claimed_at=None,
            next_attempt_at=None,
        )
        bump(campaign_id, failed=n, queued=-n)
        bump_minute(campaign_id, timezone.now(), failed=n)
    return n


def _retry(
    campaign: Campaign, token: str, ids: list[int], reason: str, retry_after: float | None
) -> tuple[int, int]:
    """Back to queued with our own backoff; failed after MAX_ATTEMPTS."""
    rows = Message.objects.filter(pk__in=ids, claim_token=token, status=Status.SENDING)
    failed = 0
    exhausted = list(rows.filter(attempts__gte=MAX_ATTEMPTS).values_list("id", flat=True))
    if exhausted:
        failed = _fail(
            campaign.pk,
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
    logger.info("campaign %s: %d messages retry later (%s)", campaign.pk, retrying, reason)
    return failed, retrying


def _pause(campaign: Campaign, reason: str) -> None:
    Campaign.objects.filter(pk=campaign.pk, status=Campaign.Status.SENDING).update(
        status=Campaign.Status.PAUSED, status_reason=reason[:255]
    )


def _refuse_sender(campaign: Campaign, reason: str) -> None:
    """The sender may no longer send: every message not yet out is skipped and
    the campaign ends with the reason."""
    with transaction.atomic():
        n = Message.objects.filter(campaign_id=campaign.pk, status=Status.QUEUED).update(
            status=Status.SKIPPED, skip_reason=Reason.UNAPPROVED_SENDER
        )
        bump(campaign.pk, queued=-n, skipped_unapproved_sender=n)
        Campaign.objects.filter(
            pk=campaign.pk, status__in=[Campaign.Status.SENDING, Campaign.Status.PAUSED]
        ).update(
            status=Campaign.Status.COMPLETED,
            finished_at=timezone.now(),
            status_reason=reason[:255],
        )


# --- progress ------------------------------------------------------------------------


def pending_work(campaign_id: int) -> dict[str, Any]:
    """What is left: queued (and when the next is due), in flight."""
    queued = Message.objects.filter(campaign_id=campaign_id, status=Status.QUEUED)
    return {
        "queued": queued.exists(),
        "next_due": queued.aggregate(at=Min("next_attempt_at"))["at"],
        "due_now": queued.filter(
            Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=timezone.now())
        ).exists(),
        "sending": Message.objects.filter(campaign_id=campaign_id, status=Status.SENDING).exists(),
    }


def finish_if_done(campaign_id: int) -> bool:
    """Completed once materialised with nothing queued or in flight."""
    campaign = Campaign.objects.get(pk=campaign_id)
    if campaign.status != Campaign.Status.SENDING or not campaign.is_materialised:
        return False
    if Message.objects.filter(
        campaign_id=campaign_id, status__in=[Status.QUEUED, Status.SENDING]
    ).exists():
        return False
    return bool(
        Campaign.objects.filter(pk=campaign_id, status=Campaign.Status.SENDING).update(
            status=Campaign.Status.COMPLETED, finished_at=timezone.now()
        )
    )


# --- slots ---------------------------------------------------------------------------


def take_slot(campaign_id: int, slot: int, owner: str, now: datetime) -> bool:
    """Hold sender slot `slot` of the campaign: free, silent for longer than
    the claim timeout, or held by a dead process."""
    DispatchSlot.objects.bulk_create(
        [DispatchSlot(campaign_id=campaign_id, slot=slot)], ignore_conflicts=True
    )
    rows = DispatchSlot.objects.filter(campaign_id=campaign_id, slot=slot)
    if rows.filter(Q(owner="") | Q(renewed_at__lt=now - claim_timeout()) | Q(owner=owner)).update(
        owner=owner, renewed_at=now
    ):
        return True
    current = rows.values_list("owner", flat=True).first() or ""
    return bool(
        current
        and owner_is_dead(current)
        and rows.filter(owner=current).update(owner=owner, renewed_at=now)
    )


def renew_slot(campaign_id: int, slot: int, owner: str) -> bool:
    now = timezone.now()
    return bool(
        DispatchSlot.objects.filter(campaign_id=campaign_id, slot=slot, owner=owner).update(
            renewed_at=now
        )
    )


def live_senders(campaign_id: int, now: datetime) -> bool:
    """Whether any send task of the campaign renewed its slot lately."""
    return (
        DispatchSlot.objects.filter(campaign_id=campaign_id, renewed_at__gte=now - claim_timeout())
        .exclude(owner="")
        .exists()
    )


def free_slot(campaign_id: int, slot: int, owner: str) -> None:
    DispatchSlot.objects.filter(campaign_id=campaign_id, slot=slot, owner=owner).update(
        owner="", renewed_at=None
    )
