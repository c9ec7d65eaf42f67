"""Delivering webhook events: claim the due ones, POST them signed, record the
outcome and schedule the retry.

The database is the ledger (SPEC §10). A run claims a batch with one
conditional UPDATE stamped with its own token, so of two runs racing for an
event exactly one gets it; only the run whose token is on the event may record
its outcome. A claim older than the queue's task timeout belongs to a run that
django-q2 has killed and may be taken over.

Order per `ordering_key`: an event is due only while no earlier event (lower
id) of the same project and key is still pending, so a batch holds at most the
head of each key and the next event of a key waits for the head to be
delivered or given up. Events with an empty key (test events) are unordered.

HTTP calls of a batch run in threads; all database work stays in the calling
thread.
"""

from __future__ import annotations

import json
import logging
import random
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from urllib.parse import urlsplit

import requests
from django.conf import settings
from django.db import transaction
from django.db.models import Exists, F, OuterRef, Q
from django.utils import timezone

from console.lib.signing import sign
from webhooks import addresses, messages
from webhooks.models import WebhookAttempt, WebhookEndpoint, WebhookEvent

logger = logging.getLogger(__name__)

Status = WebhookEvent.Status

BATCH_SIZE = 16
# Every event of a batch is sent at once, so a batch lasts at most about one
# timeout even when the receiver hangs.
SEND_THREADS = BATCH_SIZE
BACKOFF_CAP_SECONDS = 6 * 3600.0
EXCERPT_CHARS = 500
_READ_LIMIT = 4096
USER_AGENT = "Munja-Webhooks/1"


@dataclass
class AttemptResult:
    """One attempt's outcome. A failure is an error code and its parameters
    (webhooks.messages words them for whoever reads the log)."""

    status_code: int | None
    excerpt: str
    error_code: str
    duration_ms: int
    error_params: dict = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


def max_age() -> timedelta:
    return timedelta(hours=settings.WEBHOOK_MAX_AGE_HOURS)


def claim_stale_after() -> timedelta:
    """A claim older than this belongs to a run django-q2 has killed."""
    return timedelta(seconds=settings.Q_CLUSTER["timeout"] + 30)


def backoff_delay(attempts: int) -> float:
    """Seconds before the next try after `attempts` failed ones: exponential,
    capped, with ±25 % jitter so many events retrying together spread out."""
    base = settings.WEBHOOK_BACKOFF_SECONDS * 2 ** max(attempts - 1, 0)
    return min(base, BACKOFF_CAP_SECONDS) * random.uniform(0.75, 1.25)


def encode_body(event: WebhookEvent) -> bytes:
    return json.dumps(event.payload(), ensure_ascii=False, separators=(",", ":")).encode()


def signed_headers(endpoint: WebhookEndpoint, event: WebhookEvent, body: bytes) -> dict:
    """Standard Webhooks headers; during a rotation's grace period the
    signature header carries one signature per secret (space-separated)."""
    now = timezone.now()
    timestamp = int(now.timestamp())
    msg_id = str(event.request_id)
    signatures = [sign(s, msg_id, timestamp, body) for s in endpoint.signing_secrets(now)]
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": " ".join(signatures),
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
    }


def post_event(url: str, headers: dict, body: bytes) -> AttemptResult:
    """One POST, to the address the receiver's host resolves to *now*,
    checked against the address policy (webhooks.addresses) and pinned for
    the connection. Never follows a redirect (a 3xx is a failed attempt);
    reads at most a few KB of the answer, and only when the operator keeps
    answers in the log (settings.WEBHOOK_LOG_RESPONSE_BODY)."""
    started = time.monotonic()
    status_code, excerpt, code, params = None, "", "", {}
    try:
        parts = urlsplit(url)
        port = parts.port or (443 if parts.scheme == "https" else 80)
        address = addresses.resolve(parts.hostname or "", port)
        with (
            addresses.pinned_session(address) as session,
            session.post(
                url,
                data=body,
                headers=headers,
                timeout=settings.WEBHOOK_TIMEOUT_SECONDS,
                allow_redirects=False,
                stream=True,
            ) as response,
        ):
            status_code = response.status_code
            if settings.WEBHOOK_LOG_RESPONSE_BODY:
                raw = response.raw.read(_READ_LIMIT, decode_content=True) or b""
                excerpt = raw.decode(response.encoding or "utf-8", errors="replace")
                excerpt = excerpt[:EXCERPT_CHARS]
            if response.is_redirect or 300 <= status_code < 400:
                code = messages.REDIRECT
                params = {"location": response.headers.get("location", "?")[:300]}
            elif not 200 <= status_code < 300:
                code, params = messages.HTTP_STATUS, {"code": status_code}
    except addresses.ReceiverRefused as refused:
        code, params = refused.code, refused.params
    except requests.Timeout:
        code = messages.TIMEOUT
        params = {"seconds": f"{settings.WEBHOOK_TIMEOUT_SECONDS:g}"}
    except requests.ConnectionError as exc:
        code, params = messages.CONNECT_FAILED, {"reason": _reason(exc)}
    except (requests.RequestException, ValueError) as exc:
        code, params = messages.REQUEST_FAILED, {"reason": _reason(exc)}
    duration_ms = int((time.monotonic() - started) * 1000)
    return AttemptResult(status_code, excerpt, code, duration_ms, params)


def _reason(exc: Exception) -> str:
    # requests nests the useful part (e.g. "Connection refused") deep inside.
    inner = exc
    while inner.__context__ is not None and inner.__context__ is not inner:
        inner = inner.__context__
    text = str(inner) or exc.__class__.__name__
    return text[:300]


# --- claiming ------------------------------------------------------------------


def due_events(now: datetime, project_id: object = None, due_by: datetime | None = None):
    """Pending events that may be attempted now, oldest first. `due_by` (a
    run's start) keeps a run from retrying an event it has just failed."""
    earlier_pending = WebhookEvent.objects.filter(
        project_id=OuterRef("project_id"),
        ordering_key=OuterRef("ordering_key"),
        status=Status.PENDING,
        id__lt=OuterRef("id"),
    )
    events = (
        WebhookEvent.objects.filter(status=Status.PENDING)
        .filter(Exists(WebhookEndpoint.objects.filter(project_id=OuterRef("project_id"))))
        .filter(Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=due_by or now))
        .filter(Q(claimed_at__isnull=True) | Q(claimed_at__lt=now - claim_stale_after()))
        .filter(Q(ordering_key="") | ~Exists(earlier_pending))
    )
    if project_id is not None:
        events = events.filter(project_id=project_id)
    return events.order_by("id")


def projects_with_due_events(now: datetime) -> list:
    """Projects with pending events that may be due by `now` and an endpoint
    to send them to, in a stable order. Cheaper than `due_events()` (no
    per-event ordering check): over a million pending events of one project
    it is one index scan; each project's own run applies the full check."""
    return list(
        WebhookEvent.objects.filter(status=Status.PENDING)
        .filter(Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now))
        .filter(Exists(WebhookEndpoint.objects.filter(project_id=OuterRef("project_id"))))
        .values_list("project_id", flat=True)
        .distinct()
        .order_by("project_id")
    )


def claim_batch(
    project_id: object = None, limit: int = BATCH_SIZE, due_by: datetime | None = None
) -> tuple[str, list]:
    """Claim up to `limit` due events for this run; returns (token, events)."""
    now = timezone.now()
    token = uuid.uuid4().hex
    ids = list(due_events(now, project_id, due_by).values_list("id", flat=True)[:limit])
    if not ids:
        return token, []
    WebhookEvent.objects.filter(id__in=ids, status=Status.PENDING).filter(
        Q(claimed_at__isnull=True) | Q(claimed_at__lt=now - claim_stale_after())
    ).update(claimed_at=now, claimed_by=token)
    claimed = list(
        WebhookEvent.objects.filter(claimed_by=token, status=Status.PENDING)
        .select_related("project__webhook_endpoint")
        .order_by("id")
    )
    return token, claimed


# --- one batch --------------------------------------------------------------------


def deliver_batch(project_id: object = None, due_by: datetime | None = None) -> dict[str, int]:
    """Claim one batch, send it, record every outcome. Returns counts."""
    token, events = claim_batch(project_id, due_by=due_by)
    counts = {"claimed": len(events), "delivered": 0, "retry": 0, "failed": 0}
    if not events:
        return counts
    jobs = []
    for event in events:
        endpoint = event.project.webhook_endpoint
        body = encode_body(event)
        jobs.append((event, endpoint.url, signed_headers(endpoint, event, body), body))
    with ThreadPoolExecutor(max_workers=min(SEND_THREADS, len(jobs))) as pool:
        results = list(pool.map(lambda job: post_event(job[1], job[2], job[3]), jobs))
    for (event, url, _headers, _body), result in zip(jobs, results, strict=True):
        counts[record_attempt(event, token, url, result)] += 1
    return counts


def record_attempt(event: WebhookEvent, token: str, url: str, result: AttemptResult) -> str:
    """Store the attempt and move the event on: delivered, retry later, or
    failed once it is older than the maximum age. Returns which."""
    now = timezone.now()
    mine = WebhookEvent.objects.filter(pk=event.pk, claimed_by=token, status=Status.PENDING)
    fields: dict[str, object] = {
        "attempts": F("attempts") + 1,
        "claimed_at": None,
        "claimed_by": "",
    }
    next_at = None
    if result.ok:
        outcome = "delivered"
        fields.update(
            status=Status.DELIVERED,
            delivered_at=now,
            next_attempt_at=None,
            last_error="",
            last_error_code="",
            last_error_params={},
        )
    else:
        code, params = result.error_code, result.error_params
        if not code:
            code, params = messages.HTTP_STATUS, {"code": result.status_code}
        deadline = event.created_at + max_age()
        if now >= deadline:
            outcome = "failed"
            fields.update(status=Status.FAILED, next_attempt_at=None)
            code, params = (
                messages.GAVE_UP,
                {
                    "hours": f"{settings.WEBHOOK_MAX_AGE_HOURS:g}",
                    "cause": {"code": code, "params": params},
                },
            )
        else:
            outcome = "retry"
            # The last try falls at the deadline, so an event is retried for
            # the whole maximum age and not a backoff step less.
            next_at = min(now + timedelta(seconds=backoff_delay(event.attempts + 1)), deadline)
            fields["next_attempt_at"] = next_at
        fields.update(last_error="", last_error_code=code, last_error_params=params)
    with transaction.atomic():
        if not mine.update(**fields):
            # Another run took the event over (our claim went stale); its
            # outcome counts, ours is only logged.
            logger.warning("webhook event %s: claim lost before recording", event.pk)
        WebhookAttempt.objects.create(
            event=event,
            url=url,
            status_code=result.status_code,
            response_excerpt=result.excerpt,
            error_code=result.error_code,
            error_params=result.error_params,
            duration_ms=result.duration_ms,
            next_attempt_at=next_at,
        )
    return outcome


def fail_events_without_endpoint(now: datetime) -> int:
    """Events older than the maximum age whose project never registered an
    endpoint are marked failed (shown in the log) instead of waiting forever."""
    return (
        WebhookEvent.objects.filter(status=Status.PENDING, created_at__lt=now - max_age())
        .exclude(Exists(WebhookEndpoint.objects.filter(project_id=OuterRef("project_id"))))
        .update(
            status=Status.FAILED,
            last_error_code=messages.NO_ENDPOINT,
            last_error_params={"hours": f"{settings.WEBHOOK_MAX_AGE_HOURS:g}"},
        )
    )


def next_retry_at(project_id: object = None) -> datetime | None:
    """When a delivery run must look again, if ever: the earliest waiting
    retry, or the moment the oldest claim turns stale (an attempt clears its
    claim, so a claim that old belongs to a run that died with its worker —
    on the Redis broker nothing else would start one for it)."""
    pending = WebhookEvent.objects.filter(status=Status.PENDING)
    if project_id is not None:
        pending = pending.filter(project_id=project_id)
    retry = (
        pending.filter(next_attempt_at__isnull=False)
        .order_by("next_attempt_at")
        .values_list("next_attempt_at", flat=True)
        .first()
    )
    claimed = (
        pending.filter(claimed_at__isnull=False)
        .order_by("claimed_at")
        .values_list("claimed_at", flat=True)
        .first()
    )
    times = [t for t in (retry, claimed and claimed + claim_stale_after()) if t is not None]
    return min(times) if times else None
