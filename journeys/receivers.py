"""Signal receivers of the journeys app: tracked events (exit events,
waited-for events, then event triggers), and worker start-up."""

from __future__ import annotations

import logging

from django.dispatch import receiver
from django_q.signals import post_spawn

from audiences.models import Event
from audiences.signals import events_tracked
from projects.models import Project

logger = logging.getLogger(__name__)


@receiver(events_tracked, dispatch_uid="journeys.events_tracked")
def on_events_tracked(sender: object, project: Project, event_ids: list[int], **kwargs) -> None:
    """Runs first (an exit event must not meet a run its own batch starts),
    then the triggers enter users."""
    from journeys import runtime

    events: list[Event] | None = None
    try:
        events = list(Event.objects.filter(pk__in=event_ids))
        runtime.on_events(project, events)
    except Exception:
        # The Track call has committed: a failure here must not fail it.
        logger.exception("journeys: events %s could not move runs", event_ids[:10])
    try:
        from journeys.triggers import on_events_tracked as enter_by_events
    except ImportError:
        return
    try:
        # The entries of one Track call in one transaction, opened only when
        # someone enters (runtime.enter_many).
        enter_by_events(project, event_ids, events)
    except Exception:
        logger.exception("journeys: events %s could not enter journeys", event_ids[:10])


@receiver(post_spawn, dispatch_uid="journeys.worker_started")
def run_on_worker_start(sender: object, proc_name: str = "", **kwargs: object) -> None:
    """A worker (re)started: the runner of its predecessor died with it."""
    from django.conf import settings
    from django_q.tasks import async_task

    if settings.Q_CLUSTER.get("sync"):
        return
    try:
        async_task("journeys.tasks.run_due", restart=True)
    except Exception:
        logger.exception("could not enqueue the journey runner")
