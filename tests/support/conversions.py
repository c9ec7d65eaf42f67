"""Rows the conversion and click tests need: campaigns whose messages were
sent at a known moment, goals on them, and Track calls that commit."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.utils import timezone

from audiences.actions import do_track
from audiences.models import Customer
from audiences.track import EventItem, TrackBatch
from campaigns.models import Campaign
from channels.gateways import console as console_backend
from channels.models import Gateway
from conversions.models import ConversionGoal
from dispatch.models import Message
from tests.support.campaigns import add_customers, segment_campaign, sending_project

HOUR = timedelta(hours=1)


def acme_sending_to_console():
    """Acme with an approved sender, an 080 number and the console gateway
    (its outbox emptied)."""
    console_backend.outbox.clear()
    gateway = Gateway.objects.create(name="Test console", backend="console")
    return sending_project("Acme", gateway=gateway)


def an_hour_ago(days: int = 0) -> datetime:
    """A whole hour in the past (so `+ minutes` stays inside one bucket)."""
    return (timezone.now() - timedelta(days=days, hours=2)).replace(
        minute=0, second=0, microsecond=0
    )


def customers(project, count: int, *, start: int = 0) -> list[Customer]:
    add_customers(project, count, start=start)
    return list(
        Customer.objects.filter(
            project=project, user_id__in=[f"u{i}" for i in range(start, start + count)]
        ).order_by("id")
    )


def sent_campaign(
    project,
    recipients: list[Customer],
    sent_at: datetime,
    *,
    status: str = Message.Status.SENT,
    goals: list[dict[str, Any]] | None = None,
    **fields: Any,
) -> Campaign:
    """A started campaign with one message per recipient in `status`, sent
    (when sent or delivered) at `sent_at`, and its goals."""
    campaign = segment_campaign(project, **fields)
    Campaign.objects.filter(pk=campaign.pk).update(
        status=Campaign.Status.SENDING, started_at=sent_at - timedelta(minutes=1)
    )
    was_sent = status in (Message.Status.SENT, Message.Status.DELIVERED)
    Message.objects.bulk_create(
        Message(
            outbox_id=campaign.outbox_id,
            dedupe_key=customer.phone_number[1:],
            project=project,
            customer_id=customer.pk,
            phone_number=customer.phone_number,
            body="hello",
            status=status,
            skip_reason=Message.SkipReason.OPTED_OUT if status == Message.Status.SKIPPED else "",
            sent_at=sent_at if was_sent else None,
        )
        for customer in recipients
    )
    for position, goal in enumerate(goals or [], start=1):
        ConversionGoal.objects.create(campaign=campaign, position=position, **goal)
    campaign.refresh_from_db()
    return campaign


def goal(event_name: str = "purchase", window: timedelta = HOUR, **fields: Any) -> dict[str, Any]:
    return {"event_name": event_name, "window_seconds": int(window.total_seconds()), **fields}


def track(capture, project, *events: tuple[str, str, datetime, dict]) -> None:
    """One Track call of (user id, event, time, data) events, committed (the
    attribution runs on commit, as in a request)."""
    batch = TrackBatch(
        events=[
            EventItem(index=i, user_id=u, type=t, data=d, created_at=at)
            for i, (u, t, at, d) in enumerate(events)
        ]
    )
    with capture(execute=True):
        do_track(project, batch)
