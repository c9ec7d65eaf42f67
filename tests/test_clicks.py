"""Tracked links: per-recipient short links rendered into the body (and its
byte count), the redirect that records clicks, and refusals of anything
that is not a link the marketer wrote."""

from __future__ import annotations

import re

import pytest
from django.conf import settings

from campaigns.actions import do_create_campaign
from campaigns.materialise import materialise_chunk
from campaigns.models import Campaign
from campaigns.rendering import Renderer
from console.lib import links, liquid
from console.lib.sms import cp949_length
from conversions.models import Click, FirstClick, TrackedLink
from dispatch.models import Message, OutboxStats
from tests.support.campaigns import file_campaign, segment_campaign
from tests.support.conversions import (
    acme_sending_to_console,
    customers,
)

SALE = "https://shop.example/sale?utm=sms"
BODY = '{{ name }}님 봄 세일 {{ "' + SALE + '" | track }} 쿠폰'
LINK = re.compile(re.escape(settings.PUBLIC_URL) + r"/l/([0-9A-Za-z]+)")


@pytest.fixture
def acme(db):
    return acme_sending_to_console()


def materialised(campaign: Campaign) -> Campaign:
    Campaign.objects.filter(pk=campaign.pk).update(status=Campaign.Status.SENDING)
    while materialise_chunk(campaign.pk, size=3):
        pass
    return campaign


def codes(campaign: Campaign) -> dict[int | None, str]:
    """customer id → the code in their message."""
    return {
        m.customer_id: LINK.search(m.body)[1]
        for m in Message.objects.filter(outbox_id=campaign.outbox_id).order_by("id")
    }


def stats(campaign: Campaign) -> tuple[int, int]:
    s = OutboxStats.objects.get(pk=campaign.outbox_id)
    return s.clicks, s.clicked_recipients


def test_each_recipient_gets_their_own_short_link_counted_in_the_bytes(acme):
    people = customers(acme, 5)
    campaign = materialised(segment_campaign(acme, body=BODY))
    found = codes(campaign)
    assert set(found) == {p.pk for p in people}
    assert len(set(found.values())) == 5
    assert all(len(code) == links.CODE_LENGTH for code in found.values())
    assert TrackedLink.objects.filter(outbox_id=campaign.outbox_id).count() == 1
    for message in Message.objects.filter(outbox_id=campaign.outbox_id):
        assert SALE not in message.body
        assert message.bytes == cp949_length(message.body)


def test_following_a_link_redirects_to_the_stored_url_and_counts_clicks(acme, client):
    people = customers(acme, 3)
    campaign = materialised(segment_campaign(acme, body=BODY))
    found = codes(campaign)
    first = client.get(f"/l/{found[people[0].pk]}")
    assert first.status_code == 302
    assert first["Location"] == SALE
    assert stats(campaign) == (1, 1)
    client.get(f"/l/{found[people[0].pk]}")
    assert stats(campaign) == (2, 1)  # the same recipient again: one more click only
    client.get(f"/l/{found[people[2].pk]}")
    assert stats(campaign) == (3, 2)
    message = Message.objects.get(outbox_id=campaign.outbox_id, customer_id=people[0].pk)
    assert Click.objects.filter(outbox_id=campaign.outbox_id, message_id=message.pk).count() == 2
    assert FirstClick.objects.get(message_id=message.pk).customer_id == people[0].pk


def test_a_head_request_redirects_without_counting(acme, client):
    customers(acme, 1)
    campaign = materialised(segment_campaign(acme, body=BODY))
    (code,) = codes(campaign).values()
    response = client.head(f"/l/{code}")
    assert response.status_code == 302
    assert stats(campaign) == (0, 0)


def test_forged_unknown_and_preview_codes_are_404_never_a_redirect(acme, client):
    customers(acme, 2)
    campaign = materialised(segment_campaign(acme, body=BODY))
    code = next(iter(codes(campaign).values()))
    secret = links.secret_from(settings.SECRET_KEY)
    link_id, key = links.decode(secret, code)
    flipped = code[:-1] + ("A" if code[-1] != "A" else "B")
    other_key = code[:4] + links.encode(secret, link_id, key + 1)[4:10] + code[10:]
    forged = [
        flipped,  # a wrong MAC
        other_key,  # another recipient's key under this code's MAC
        links.encode(b"not our secret" * 3, link_id, key),
        links.encode(secret, link_id + 1000, key),  # a genuine MAC, no such link
        links.PREVIEW_CODE,
        "0" + code,  # a leading zero: not the canonical form
        "javascript:alert(1)",
        "x",
    ]
    for candidate in forged:
        response = client.get(f"/l/{candidate}")
        assert response.status_code == 404, candidate
        assert "Location" not in response
    assert stats(campaign) == (0, 0)


def test_a_click_on_a_file_audience_message_finds_the_recipient_by_row(acme, client):
    people = customers(acme, 2)
    rows = [(p.phone_number, {"coupon": f"C{i}"}) for i, p in enumerate(people)]
    campaign = file_campaign(acme, rows, body='{{ coupon }} {{ "https://a.example/" | track }}')
    materialised(campaign)
    message = Message.objects.filter(outbox_id=campaign.outbox_id).order_by("id").last()
    response = client.get(f"/l/{LINK.search(message.body)[1]}")
    assert response.status_code == 302
    assert response["Location"] == "https://a.example/"
    assert FirstClick.objects.get().message_id == message.pk
    assert stats(campaign) == (1, 1)


@pytest.mark.parametrize(
    "body",
    [
        "{{ url | track }}",
        '{{ "https://a.example/" | upcase | track }}',
        '{{ "javascript:alert(1)" | track }}',
        '{{ "ftp://files.example/x" | track }}',
        '{{ "//a.example/" | track }}',
        '{% assign u = "https://a.example/" %}{{ u | track }}',
    ],
)
def test_only_a_literal_http_url_can_be_tracked(acme, body):
    with pytest.raises(liquid.TemplateProblem) as problem:
        liquid.compile_template(body)
    assert "track" in problem.value.message
    with pytest.raises(liquid.TemplateProblem):
        do_create_campaign(
            acme, name="x", audience=_segment(acme), sender_number="+8215881234", body=body
        )


def _segment(project):
    from audiences.models import Segment

    return Segment.objects.create(
        project=project, name="All", definition={"match": "all", "conditions": []}
    )


def test_a_preview_shows_a_fake_link_as_long_as_the_real_one(acme):
    people = customers(acme, 1)
    campaign = segment_campaign(acme, body=BODY)
    context = {"name": "고객0"}
    preview = Renderer.for_campaign(campaign).render(context)
    assert links.PREVIEW_CODE in preview.body
    materialised(campaign)
    real = Message.objects.get(outbox_id=campaign.outbox_id, customer_id=people[0].pk)
    assert preview.bytes == real.bytes
    assert len(preview.body) == len(real.body)
    assert preview.kind == real.kind


def test_codes_round_trip_and_keep_their_length():
    secret = links.secret_from("k" * 40)
    for link_id, key in [(1, 0), (62**4 - 1, links.MAX_KEY), (123456, 98765)]:
        code = links.encode(secret, link_id, key)
        assert len(code) == links.CODE_LENGTH
        assert links.decode(secret, code) == (link_id, key)
    longer = links.encode(secret, 62**4, 5)
    assert len(longer) == links.CODE_LENGTH + 1
    assert links.decode(secret, longer) == (62**4, 5)
