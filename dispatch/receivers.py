"""Signal receivers of the send core: delivery reports from channels (a
batch at a time), and worker start-up."""

from __future__ import annotations

import logging

from django.dispatch import receiver
from django_q.signals import post_spawn

from channels.gateways.base import DeliveryReport
from channels.signals import delivery_reports_received
from dispatch.reports import apply_delivery_reports

logger = logging.getLogger(__name__)


@receiver(delivery_reports_received, dispatch_uid="dispatch.delivery_reports")
def on_delivery_reports(sender: object, reports: list[DeliveryReport], **kwargs: object) -> int:
    return apply_delivery_reports(reports)


@receiver(post_spawn, dispatch_uid="dispatch.worker_started")
def reconcile_on_worker_start(sender: object, proc_name: str = "", **kwargs: object) -> None:
    """A worker (re)started: send tasks of its predecessor died with it.
    Enqueue the reconciler instead of waiting for the next minute's schedule."""
    from django.conf import settings
    from django_q.tasks import async_task

    if settings.Q_CLUSTER.get("sync"):
        return
    try:
        async_task("dispatch.tasks.reconcile_outboxes", restart=True)
    except Exception:
        logger.exception("could not enqueue the outbox reconciler")
