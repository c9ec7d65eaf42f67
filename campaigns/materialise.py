"""A campaign as a producer of the send core: its audience becomes messages
of its outbox (SPEC §5, §10), and the outbox follows the campaign.

`materialise_chunk`: the next chunk of the audience (keyset-paged after the
campaign's cursor) is rendered with the template compiled once, wrapped by
the system when promotional, and handed to the outbox
(`dispatch.actions.do_enqueue_messages`); the messages and the new cursor
commit together, so a crash repeats at most the uncommitted chunk (whose
dedupe keys the outbox then ignores). When the audience is exhausted the
outbox is sealed: once empty it closes, and the campaign completes.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from audiences.models import AudienceFileRow, Customer
from audiences.segments import segment_queryset
from campaigns.models import Campaign
from campaigns.rendering import (
    CUSTOMER_FIELDS,
    Renderer,
    customer_context,
    customer_tags,
    file_row_context,
)
from dispatch.actions import NewMessage, do_enqueue_messages, do_seal_outbox, do_update_outbox
from dispatch.models import Message

Status = Message.Status
Reason = Message.SkipReason
_E164_DIGITS = set("0123456789")


def chunk_size() -> int:
    return settings.DISPATCH_CHUNK_SIZE


def sync_outbox(campaign: Campaign) -> None:
    """The outbox sends with the campaign's sender, promotional flag and cap
    (set when the campaign starts or resumes: they cannot change while it
    sends)."""
    do_update_outbox(
        campaign.outbox_id,
        sender_number_id=campaign.sender_number_id,
        is_promotional=campaign.is_promotional,
        frequency_cap=campaign.frequency_cap,
    )


class Recipient(NamedTuple):
    """One audience member read for materialisation."""

    key: int  # the audience cursor: a customer id or an audience-file row id
    customer_id: int | None
    phone_number: str
    time_zone: str
    context: dict[str, Any]
    consented: bool


# --- materialisation -------------------------------------------------------------


def _is_e164(number: str) -> bool:
    return (
        len(number) >= 8
        and len(number) <= 16
        and number[0] == "+"
        and number[1] != "0"
        and set(number[1:]) <= _E164_DIGITS
    )


def dedupe_key(phone_number: str) -> str:
    """A campaign message's key in its outbox: the recipient's E.164 digits
    without the "+" (so gateway references stay `c<outbox>-<digits>`); a
    number without "+" cannot be E.164 and is kept apart under its own
    spelling (it is skipped, never sent). The upgrade migration
    (campaigns 0006) keyed existing messages by the same rule."""
    if phone_number.startswith("+"):
        return phone_number[1:]
    return f"invalid:{phone_number}"[:64]


def _segment_chunk(
    campaign: Campaign, renderer: Renderer, after: int, size: int
) -> list[Recipient]:
    customers = list(
        segment_queryset(campaign.project, campaign.segment.definition)
        .filter(id__gt=after)
        .exclude(phone_number="")
        .order_by("id")
        .values_list(*CUSTOMER_FIELDS, "promotional_consent")[:size]
    )
    tags = customer_tags(c[0] for c in customers) if renderer.uses_tags else {}
    # CUSTOMER_FIELDS starts with id, user_id, phone_number, …, time_zone (7th).
    return [
        Recipient(c[0], c[0], c[2], c[6], customer_context(c[:-1], tags.get(c[0])), c[-1])
        for c in customers
    ]


def _file_chunk(campaign: Campaign, renderer: Renderer, after: int, size: int) -> list[Recipient]:
    records = list(
        AudienceFileRow.objects.filter(file_id=campaign.audience_file_id, id__gt=after)
        .order_by("id")
        .values_list("id", "phone_number", "values", "customer_id")[:size]
    )
    known = [customer_id for _id, _phone, _values, customer_id in records if customer_id]
    zones = (
        dict(Customer.objects.filter(id__in=known).values_list("id", "time_zone")) if known else {}
    )
    columns = renderer.columns
    return [
        Recipient(
            row_id,
            customer_id,
            phone,
            zones.get(customer_id, ""),
            file_row_context(columns, values, phone),
            True,  # the marketer confirmed the whole file's consent before the start
        )
        for row_id, phone, values, customer_id in records
    ]


def _message(campaign: Campaign, renderer: Renderer, recipient: Recipient) -> NewMessage:
    """The recipient's message, or a skipped one with the reason."""
    key = dedupe_key(recipient.phone_number)
    skipped = None
    if campaign.is_promotional and not recipient.consented:
        skipped = Reason.NO_CONSENT
    elif not _is_e164(recipient.phone_number):
        skipped = Reason.INVALID_NUMBER
    if skipped:
        return NewMessage(
            key,
            recipient.phone_number,
            "",
            customer_id=recipient.customer_id,
            time_zone=recipient.time_zone or "",
            skip_reason=skipped,
        )
    r = renderer.render(recipient.context, recipient.key)
    return NewMessage(
        key,
        recipient.phone_number,
        r.body,
        campaign.title if r.kind == "LMS" else "",
        r.kind,
        r.bytes,
        recipient.customer_id,
        recipient.time_zone or "",
        r.skip_reason,
        r.error[:255] if r.skip_reason == Reason.RENDER_ERROR else "",
    )


def materialise_chunk(campaign_id: int, *, size: int | None = None) -> int | None:
    """Turn the next chunk of the audience into messages of the campaign's
    outbox. Returns how many recipients were read, 0 when the audience is
    exhausted (the campaign is then marked materialised and its outbox
    sealed), None when the campaign is not sending/paused or another task
    advanced the cursor first."""
    size = size or chunk_size()
    campaign = Campaign.objects.select_related("project", "segment", "audience_file", "outbox").get(
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
    messages = [_message(campaign, renderer, recipient) for recipient in read]
    now = timezone.now()
    with transaction.atomic():
        # Taking the cursor first makes two materialisers of one campaign
        # (a task run twice) exclusive: the loser changes nothing. It also
        # refuses a campaign cancelled meanwhile.
        fields: dict[str, Any] = {"heartbeat_at": now}
        if read:
            fields["materialise_cursor"] = read[-1].key
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
        if messages:
            do_enqueue_messages(campaign.outbox, messages)
        else:
            do_seal_outbox(campaign.outbox_id)
    return len(read)
