"""What conversions does when lower apps report something: events tracked
(attribution) and numbers opted out (opt-outs after a send)."""

from __future__ import annotations

import logging

from audiences.signals import events_tracked
from campaigns.signals import campaign_duplicated
from conversions.actions import do_copy_conversion_goals, do_count_optouts_after_send
from conversions.attribution import attribute_events
from optout.signals import numbers_opted_out

logger = logging.getLogger("conversions")

ATTRIBUTE_TASK = "conversions.tasks.attribute_events"


def attribute_tracked_events(sender: object, *, project, event_ids: list[int], **kwargs) -> None:
    """Attribute a Track call's events right after it commits, in the same
    request (docs/conversions.md says why inline). The events are stored
    whatever happens here: a failure is retried from the task queue instead
    of failing the Track call, which would make the client send them again."""
    try:
        attribute_events(project.pk, event_ids)
    except Exception:
        logger.exception("attribution of %d events failed; retrying from the queue", len(event_ids))
        try:
            from django_q.tasks import async_task

            async_task(ATTRIBUTE_TASK, str(project.pk), event_ids)
        except Exception:
            logger.exception("could not enqueue the attribution of %d events", len(event_ids))


def count_optouts_after_send(sender: object, *, project, numbers: list[str], at, **kwargs) -> None:
    try:
        do_count_optouts_after_send(project, numbers, at)
    except Exception:
        logger.exception("opt-outs after send of %d numbers not counted", len(numbers))


def copy_conversion_goals(sender: object, *, original, copy, **kwargs) -> None:
    # No try/except: inside the duplicating transaction, a failure undoes the copy.
    do_copy_conversion_goals(original, copy)


def connect() -> None:
    events_tracked.connect(attribute_tracked_events, dispatch_uid="conversions.attribute")
    numbers_opted_out.connect(count_optouts_after_send, dispatch_uid="conversions.optouts")
    campaign_duplicated.connect(copy_conversion_goals, dispatch_uid="conversions.duplicate")
