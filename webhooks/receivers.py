"""Worker start-up: a delivery run of the predecessor may have died with it."""

from __future__ import annotations

import logging
from datetime import timedelta

from django.dispatch import receiver
from django.utils import timezone
from django_q.signals import post_spawn

logger = logging.getLogger(__name__)


@receiver(post_spawn, dispatch_uid="webhooks.worker_started")
def deliver_on_worker_start(sender: object, proc_name: str = "", **kwargs: object) -> None:
    """A worker (re)started. On the Redis broker a task the dead cluster had
    taken is gone, and with it a queued delivery run (whose queued-marker
    then keeps new triggers away until it expires) or a running one (whose
    claims turn stale only after django-q2's timeout). So: start a run for
    what is due now, and make sure one runs once those claims are stale,
    without waiting for the minute's reconciler."""
    from django.conf import settings

    from webhooks import delivery, tasks

    if settings.Q_CLUSTER.get("sync"):
        return
    try:
        tasks.reconcile_webhook_events()
        tasks.schedule_retry(timezone.now() + delivery.claim_stale_after() + timedelta(seconds=1))
    except Exception:
        logger.exception("could not start webhook delivery at worker start")
