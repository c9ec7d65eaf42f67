"""Every write of conversions besides attribution (conversions.attribution):
tracked links (of any producer's outbox), clicks, and opt-outs after a
send. Counters move in the same transaction as the rows that justify them,
so statistics never scan."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from audiences.models import AudienceFileRow
from campaigns.models import Campaign
from campaigns.rules import Action, sources
from console.lib import links
from conversions.attribution import SENT_STATUSES
from conversions.models import (
    MAX_GOALS_PER_CAMPAIGN,
    Click,
    ConversionGoal,
    FirstClick,
    OptOutAfterSend,
    TrackedLink,
)
from dispatch.counters import bump
from dispatch.models import Message
from journeys.sending import JOURNEY_PRODUCER, journey_message
from projects.actions import record_audit
from projects.models import Project

OPTOUT_AFTER_SEND = timedelta(days=7)
CHUNK = 500


class ConversionEvent(StrEnum):
    """Audit log actions of conversions (past tense, like the rest)."""

    GOALS_CHANGED = "conversion_goals.changed"


class GoalsProblem(ValueError):
    """Goals that cannot be set as asked; the message says why."""


@transaction.atomic
def do_set_campaign_goals(campaign: Campaign, actor: object, goals: list[dict[str, Any]]) -> None:
    """Replace the campaign's conversion goals (up to 5, validated by the
    compose step's form) while it may still be edited: nothing has been
    counted yet. The goals are this app's; the campaign is only read."""
    if len(goals) > MAX_GOALS_PER_CAMPAIGN:
        raise GoalsProblem(
            _("A campaign has at most %(count)d conversion goals.")
            % {"count": MAX_GOALS_PER_CAMPAIGN}
        )
    # Locks the campaign row so a start cannot slip in between the check and
    # the new goals.
    editable = Campaign.objects.select_for_update().filter(
        pk=campaign.pk, status__in=sources(Action.EDIT)
    )
    if not editable.exists():
        raise GoalsProblem(_("The campaign has already started; it can no longer be changed."))
    ConversionGoal.objects.filter(campaign=campaign).delete()
    ConversionGoal.objects.bulk_create(
        ConversionGoal(campaign=campaign, position=position, **goal)
        for position, goal in enumerate(goals, start=1)
    )
    record_audit(
        campaign.project,
        actor,
        ConversionEvent.GOALS_CHANGED,
        campaign.name,
        campaign_id=campaign.pk,
        goals=[goal["event_name"] for goal in goals],
    )


def link_ids_for_outbox(outbox_id: int, urls: list[str]) -> dict[str, int]:
    """The TrackedLink ids of an outbox's literal URLs, created on first use
    (registered with campaigns.rendering: called when a campaign's body, or
    a journey send node's, is compiled for sending). Safe to run
    concurrently."""
    TrackedLink.objects.bulk_create(
        [TrackedLink(outbox_id=outbox_id, url=url) for url in urls], ignore_conflicts=True
    )
    return dict(
        TrackedLink.objects.filter(outbox_id=outbox_id, url__in=urls).values_list("url", "id")
    )


def _campaign_message(outbox_id: int, key: int) -> tuple[int, int | None] | None:
    """(message id, customer id) of the recipient `key` of a campaign's
    outbox (the audience key its renderer had: an audience-file row id,
    else a customer id)."""
    audience_file_id = (
        Campaign.objects.filter(outbox_id=outbox_id).values_list("audience_file_id", flat=True)
    ).first()
    messages = Message.objects.filter(outbox_id=outbox_id)
    if audience_file_id is not None:
        phone = (
            AudienceFileRow.objects.filter(pk=key, file_id=audience_file_id)
            .values_list("phone_number", flat=True)
            .first()
        )
        if phone is None:
            return None
        messages = messages.filter(phone_number=phone)
    else:
        messages = messages.filter(customer_id=key)
    return messages.values_list("id", "customer_id").first()


# How each producer's renderer keys a recipient in its links.
_MESSAGE_OF: dict[str, Callable[[int, int], tuple[int, int | None] | None]] = {
    "campaign": _campaign_message,
    JOURNEY_PRODUCER: journey_message,
}


def do_follow_link(code: str, *, record: bool = True, now: datetime | None = None) -> str | None:
    """Where a short link goes, recording the click: a Click row, the
    outbox's `clicks` and, on the recipient's first click, its
    `clicked_recipients` (a campaign's or a journey send node's). None for a
    code that is not genuine or a link that does not exist — never a URL
    that was not stored as the marketer wrote it."""
    pair = links.decode(links.secret_from(settings.SECRET_KEY), code)
    if pair is None:
        return None
    link_id, key = pair
    link = (
        TrackedLink.objects.filter(pk=link_id)
        .values_list("url", "outbox_id", "outbox__producer_kind")
        .first()
    )
    if link is None:
        return None
    url, outbox_id, producer = link
    if not url.lower().startswith(("http://", "https://")):
        return None
    if not record:
        return url
    message_of = _MESSAGE_OF.get(producer)
    message = message_of(outbox_id, key) if message_of else None
    if message is None:
        return url  # a genuine code whose message is gone: still the stored URL
    message_id, customer_id = message
    now = now or timezone.now()
    with transaction.atomic():
        Click.objects.create(
            link_id=link_id, outbox_id=outbox_id, message_id=message_id, clicked_at=now
        )
        first = _insert_ignoring(
            FirstClick,
            ["message_id", "outbox", "customer_id", "clicked_at"],
            [[message_id, outbox_id, customer_id, now]],
        )
        bump(outbox_id, clicks=1, clicked_recipients=len(first))
    return url


def _insert_ignoring(model, names: list[str], rows: list[list[object]]) -> list[tuple]:
    """INSERT … ON CONFLICT DO NOTHING RETURNING the first column: the rows
    that went in (both SQLite 3.35+ and PostgreSQL)."""
    if not rows:
        return []
    meta = model._meta
    fields = [meta.get_field(name) for name in names]
    quote = connection.ops.quote_name
    one = "(" + ", ".join(["%s"] * len(fields)) + ")"
    sql = (
        f"INSERT INTO {quote(meta.db_table)} ({', '.join(quote(f.column) for f in fields)}) "
        f"VALUES {', '.join([one] * len(rows))} ON CONFLICT DO NOTHING "
        f"RETURNING {quote(fields[0].column)}"
    )
    params = [
        f.get_db_prep_save(v, connection) for row in rows for f, v in zip(fields, row, strict=True)
    ]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def do_count_optouts_after_send(
    project: Project | object, numbers: Iterable[str], at: datetime | None = None
) -> int:
    """Numbers that just opted out: bump `optouts_after_send` of every
    campaign of the project that sent to one of them in the 7 days before,
    at most once per campaign and number. Returns how many were counted."""
    at = at or timezone.now()
    project_id = getattr(project, "pk", project)
    numbers = list(dict.fromkeys(numbers))
    counted: Counter[int] = Counter()
    outbox_of: dict[int, int] = {}
    with transaction.atomic():
        for start in range(0, len(numbers), CHUNK):
            pairs = set(
                Message.objects.filter(
                    project_id=project_id,
                    phone_number__in=numbers[start : start + CHUNK],
                    status__in=SENT_STATUSES,
                    sent_at__gte=at - OPTOUT_AFTER_SEND,
                    sent_at__lte=at,
                ).values_list("outbox_id", "phone_number")
            )
            # Only campaigns' outboxes count (not test SMS).
            campaigns = dict(
                Campaign.objects.filter(outbox_id__in={o for o, _p in pairs}).values_list(
                    "pk", "outbox_id"
                )
            )
            outbox_of.update(campaigns)
            by_outbox = {outbox: campaign for campaign, outbox in campaigns.items()}
            rows = [
                [by_outbox[outbox_id], phone, at]
                for outbox_id, phone in sorted(pairs)
                if outbox_id in by_outbox
            ]
            for chunk_start in range(0, len(rows), CHUNK):
                inserted = _insert_ignoring(
                    OptOutAfterSend,
                    ["campaign", "phone_number", "opted_out_at"],
                    rows[chunk_start : chunk_start + CHUNK],
                )
                counted.update(campaign_id for (campaign_id,) in inserted)
        for campaign_id, n in counted.items():
            bump(outbox_of[campaign_id], optouts_after_send=n)
    return sum(counted.values())


def do_copy_conversion_goals(original: Campaign, copy: Campaign) -> int:
    """Give a duplicated campaign the goals of its original (not their counts)."""
    from conversions.models import ConversionGoal  # appended: leaves the import block alone

    goals = ConversionGoal.objects.bulk_create(
        ConversionGoal(
            campaign=copy,
            position=goal.position,
            event_name=goal.event_name,
            window_seconds=goal.window_seconds,
            revenue_field=goal.revenue_field,
            quantity_field=goal.quantity_field,
        )
        for goal in ConversionGoal.objects.filter(campaign=original).order_by("position")
    )
    return len(goals)
