"""Queue tasks of the channels app: polling delivery reports from providers
that do not push them. Tasks take ids (or nothing) and are safe to run twice
(SPEC §10). Sending is the send core's (`dispatch.tasks`), test SMS included.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from django.utils import timezone

from channels.delivery import handle_delivery_reports
from channels.gateways import get_backend
from channels.gateways.base import GatewayError
from channels.models import Gateway

logger = logging.getLogger(__name__)


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
