"""Queue tasks of the channels app: sending test SMS and reconciling them, and
polling delivery reports from providers that do not push them.

Tasks take ids and are safe to run twice (SPEC §10): a message is claimed by a
conditional UPDATE before the gateway is called, and the gateway receives the
message's deterministic reference so a repeat is recognised.

Backoff for transient gateway errors is ours (django-q2 retries have none): the
message goes back to `queued` with `next_attempt_at`, and a one-off django-q2
Schedule runs the task again then. The every-minute reconciler re-enqueues due
messages whose schedule or task was lost, and messages stuck in `sending`.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from django.conf import settings
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext
from django_q.models import Schedule
from django_q.tasks import async_task, schedule

from channels.delivery import handle_delivery_reports
from channels.gateways import NoGatewayConfigured, default_gateway_for, get_backend
from channels.gateways.base import GatewayError, OutgoingSms
from channels.models import ChannelTestMessage, Gateway
from console.lib.sms import sms_kind

logger = logging.getLogger(__name__)

TASK = "channels.tasks.send_test_sms"
MAX_ATTEMPTS = 5
BACKOFF_BASE_SECONDS = 5.0
BACKOFF_MAX_SECONDS = 600.0
# SMS up to 90 bytes in CP949; longer bodies go as LMS.

Status = ChannelTestMessage.Status


def backoff_seconds(attempts: int, retry_after: float | None = None) -> float:
    """Exponential backoff after `attempts` tries, never sooner than the
    provider asked for."""
    delay = min(BACKOFF_BASE_SECONDS * 2 ** max(attempts - 1, 0), BACKOFF_MAX_SECONDS)
    return max(delay, retry_after or 0.0)


def send_test_sms(message_id: str) -> str:
    """Send one queued test message. Returns what happened, for the task log."""
    now = timezone.now()
    claimed = (
        ChannelTestMessage.objects.filter(pk=message_id, status=Status.QUEUED)
        .filter(Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now))
        .update(status=Status.SENDING, claimed_at=now, attempts=F("attempts") + 1)
    )
    if not claimed:
        return "not claimed"
    message = ChannelTestMessage.objects.select_related("sender_number", "project", "gateway").get(
        pk=message_id
    )

    sender = message.sender_number
    if not sender.can_send:
        _finish_failed(
            message,
            "sender_not_approved",
            gettext("The sender number %(number)s is %(status)s and cannot send.")
            % {"number": sender.display_number, "status": sender.get_status_display()},
        )
        return "failed"
    if message.gateway is None:
        try:
            message.gateway = default_gateway_for(message.project)
        except NoGatewayConfigured as exc:
            _finish_failed(message, "no_gateway", str(exc))
            return "failed"
        ChannelTestMessage.objects.filter(pk=message.pk).update(gateway=message.gateway)

    sms = OutgoingSms(
        reference=message.client_reference,
        to=message.to,
        sender=sender.number,
        body=message.body,
        title=message.title,
        kind=sms_kind(message.body),
    )
    try:
        [result] = get_backend(message.gateway).send_batch([sms])
    except GatewayError as exc:
        if exc.permanent:
            _finish_failed(message, "gateway_refused", exc.message)
            return "failed"
        return _retry_later(message, exc.message, exc.retry_after)

    if result.accepted:
        _mark_sent(message, result.provider_message_id)
        return "sent"
    reason = result.error_message or result.error_code
    if result.permanent:
        _finish_failed(message, result.error_code, reason)
        return "failed"
    return _retry_later(message, reason, None)


def _mark_sent(message: ChannelTestMessage, provider_message_id: str) -> None:
    now = timezone.now()
    rows = ChannelTestMessage.objects.filter(pk=message.pk)
    updated = rows.filter(status=Status.SENDING).update(
        status=Status.SENT,
        provider_message_id=provider_message_id,
        sent_at=now,
        claimed_at=None,
        status_reason="",
        error_code="",
    )
    if not updated:
        # The delivery report overtook us (the console backend reports at
        # once); keep its final status, just record when it left.
        rows.filter(sent_at__isnull=True).update(sent_at=now)


def _finish_failed(message: ChannelTestMessage, code: str, reason: str) -> None:
    ChannelTestMessage.objects.filter(pk=message.pk, status=Status.SENDING).update(
        status=Status.FAILED,
        error_code=code[:50],
        status_reason=reason[:255],
        claimed_at=None,
        next_attempt_at=None,
    )


def _retry_later(message: ChannelTestMessage, reason: str, retry_after: float | None) -> str:
    attempts = ChannelTestMessage.objects.values_list("attempts", flat=True).get(pk=message.pk)
    if attempts >= MAX_ATTEMPTS:
        _finish_failed(
            message,
            "gave_up",
            gettext("Gave up after %(attempts)d attempts: %(reason)s")
            % {"attempts": attempts, "reason": reason},
        )
        return "failed"
    next_at = timezone.now() + timedelta(seconds=backoff_seconds(attempts, retry_after))
    updated = ChannelTestMessage.objects.filter(pk=message.pk, status=Status.SENDING).update(
        status=Status.QUEUED, claimed_at=None, next_attempt_at=next_at, status_reason=reason[:255]
    )
    if updated:
        schedule(TASK, str(message.pk), schedule_type=Schedule.ONCE, repeats=-1, next_run=next_at)
    logger.info("test SMS %s: transient failure (%s); retry at %s", message.pk, reason, next_at)
    return "retry"


def reconcile_test_messages() -> dict[str, int]:
    """Find test messages no live task owns and enqueue them again.

    - `sending` for longer than the queue timeout: the worker died after the
      claim. Sent again with the same reference, the carrier sees a repeat.
    - `queued` and overdue: the task or one-off schedule was lost (the Redis
      broker has no receipts).
    """
    now = timezone.now()
    stale = now - timedelta(seconds=settings.Q_CLUSTER["timeout"] + 30)
    overdue = now - timedelta(seconds=60)
    requeued = failed = 0
    for message in ChannelTestMessage.objects.filter(status=Status.SENDING, claimed_at__lt=stale):
        rows = ChannelTestMessage.objects.filter(
            pk=message.pk, status=Status.SENDING, claimed_at=message.claimed_at
        )
        if message.attempts >= MAX_ATTEMPTS:
            failed += rows.update(
                status=Status.FAILED,
                error_code="gave_up",
                status_reason=gettext("Gave up after %(attempts)d attempts.")
                % {"attempts": message.attempts},
                claimed_at=None,
            )
        elif rows.update(status=Status.QUEUED, claimed_at=None, next_attempt_at=None):
            async_task(TASK, str(message.pk))
            requeued += 1
    lost = ChannelTestMessage.objects.filter(status=Status.QUEUED).filter(
        Q(next_attempt_at__lt=overdue) | Q(next_attempt_at__isnull=True, created_at__lt=overdue)
    )
    for message_id in lost.values_list("pk", flat=True):
        async_task(TASK, str(message_id))
        requeued += 1
    return {"requeued": requeued, "failed": failed}


# A result can be written with an update time a little in the past: each poll
# reaches back this far before the last one (reports only move a message
# forward, so one seen twice changes nothing).
POLL_OVERLAP = timedelta(minutes=5)
# The first poll of a gateway looks back this far; no poll, even after a long
# outage, reaches further back than POLL_MAX_SPAN.
POLL_LOOKBACK = timedelta(hours=1)
POLL_MAX_SPAN = timedelta(hours=72)


def poll_delivery_reports() -> dict[str, int]:
    """Every minute: fetch the results each polling gateway recorded since its
    last poll and apply them as if the provider had pushed them. A gateway
    whose provider cannot answer keeps its cursor and is asked again next time."""
    now = timezone.now()
    applied: dict[str, int] = {}
    for gateway in Gateway.objects.all():
        backend = get_backend(gateway)
        if not backend.polls_delivery_reports:
            continue
        since = gateway.reports_polled_until or now - POLL_LOOKBACK
        start = max(since - POLL_OVERLAP, now - POLL_MAX_SPAN)
        try:
            reports = backend.poll_delivery_reports(start, now)
        except GatewayError as exc:
            logger.warning("polling delivery reports of %s failed: %s", gateway, exc.message)
            continue
        handle_delivery_reports(reports)
        Gateway.objects.filter(pk=gateway.pk).update(reports_polled_until=now)
        applied[gateway.name] = len(reports)
    return applied
