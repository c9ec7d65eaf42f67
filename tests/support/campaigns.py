"""Rows the campaign tests need: a project with an approved sender, its 080
number, customers in a segment, and campaigns over them."""

from __future__ import annotations

import json
from typing import Any

from audiences.models import AudienceFile, AudienceFileRow, Customer, Segment
from campaigns.actions import do_create_campaign
from campaigns.models import Campaign
from channels.models import Gateway, OptOutNumber, SenderNumber, SmsChannel
from tests.support.processes import make_project

EVERYONE: dict[str, Any] = {"match": "all", "conditions": []}


def phone(i: int) -> str:
    return f"+8210{10000000 + i:08d}"


def sending_project(name: str = "Acme", *, gateway: Gateway | None = None, rate: int = 600000):
    """A project with an approved sender, an 080 number and (optionally) a gateway."""
    project = make_project(name)
    project.send_rate_per_minute = rate
    project.save(update_fields=["send_rate_per_minute"])
    SenderNumber.objects.create(
        project=project,
        number="+8215881234",
        owner_type=SenderNumber.OwnerType.COMPANY,
        owner_name=project.company_name,
        status=SenderNumber.Status.APPROVED,
        is_default=True,
    )
    OptOutNumber.objects.create(number=f"+8280{abs(hash(name)) % 10**7:07d}", project=project)
    if gateway is not None:
        SmsChannel.objects.update_or_create(project=project, defaults={"gateway": gateway})
    return project


def add_customers(project, count: int, *, start: int = 0, **fields: Any) -> None:
    """`count` customers with phone numbers, consenting to promotions unless
    `promotional_consent=False` is given."""
    fields.setdefault("promotional_consent", True)
    Customer.objects.bulk_create(
        [
            Customer(
                project=project, user_id=f"u{i}", phone_number=phone(i), name=f"고객{i}", **fields
            )
            for i in range(start, start + count)
        ],
        batch_size=2000,
    )


def segment_campaign(project, *, body: str = "{{ name }}님 안녕하세요", **fields: Any) -> Campaign:
    segment, _ = Segment.objects.get_or_create(
        project=project, name="Everyone", defaults={"definition": EVERYONE}
    )
    return do_create_campaign(
        project,
        name=fields.pop("name", "Spring sale"),
        audience=segment,
        sender_number=fields.pop("sender_number", "+8215881234"),
        body=body,
        **fields,
    )


def valid_file(project, rows: list[tuple[str, dict[str, str]]], *, name: str = "list.csv"):
    """A valid audience file with these (phone, variables) rows, as validation
    would have stored it."""
    columns = ["phoneNumber", *(rows[0][1] if rows else {})]
    audience = AudienceFile.objects.create(
        project=project,
        name=name,
        format="csv",
        status=AudienceFile.Status.VALID,
        rows=len(rows),
        columns=columns,
    )
    AudienceFileRow.objects.bulk_create(
        AudienceFileRow(
            file=audience,
            row_number=i + 2,
            phone_number=number,
            values=json.dumps([variables[c] for c in columns[1:]], ensure_ascii=False),
        )
        for i, (number, variables) in enumerate(rows)
    )
    return audience


def file_campaign(project, rows, *, body: str = "{{ coupon }}", **fields: Any) -> Campaign:
    return do_create_campaign(
        project,
        name=fields.pop("name", "File send"),
        audience=valid_file(project, rows),
        sender_number=fields.pop("sender_number", "+8215881234"),
        body=body,
        **fields,
    )


def materialise_without_senders(campaign: Campaign, size: int | None = None) -> None:
    """Every chunk of the audience, without waking the senders: an enqueue
    wakes an open outbox's senders after commit, and tasks run inline in
    tests (in a test without an outer transaction, a live-server test, they
    would send everything at once, at the real time)."""
    from campaigns.materialise import materialise_chunk
    from dispatch.models import Outbox

    outbox = Outbox.objects.filter(pk=campaign.outbox_id)
    status = outbox.values_list("status", flat=True).get()
    outbox.update(status=Outbox.Status.PAUSED)
    while materialise_chunk(campaign.pk, size=size):
        pass
    outbox.update(status=status)


def materialised_campaign(count: int) -> Campaign:
    """A sending campaign of `count` customers of a project sending to the
    console gateway, every message enqueued (a test's own transaction keeps
    the senders from running)."""
    from campaigns.materialise import materialise_chunk

    gateway = Gateway.objects.create(name="Test console", backend="console")
    project = sending_project("Acme", gateway=gateway)
    add_customers(project, count)
    campaign = segment_campaign(project)
    Campaign.objects.filter(pk=campaign.pk).update(status=Campaign.Status.SENDING)
    while materialise_chunk(campaign.pk, size=1000):
        pass
    campaign.refresh_from_db()
    return campaign
