"""The dashboard: 30-day cards against the 30 days before, sends per day,
campaigns under way with night holds, and the needs-attention list — all
from counters and buckets, never from message rows."""

from __future__ import annotations

import re
from datetime import timedelta

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone, translation

from campaigns.models import Campaign
from channels.models import SenderNumber
from console.templatetags.munja_format import change, count, money, percent
from dispatch.models import Message, OutboxStats
from tests.support.campaigns import segment_campaign
from tests.support.sender_numbers import sender_in
from tests.test_stats import (  # noqa: F401 - fixtures
    T0,
    acme,
    clock,
    converted,
    logged_in,
    scripted,
    sent_campaign,
)
from webhooks.models import WebhookEvent


def dashboard(user, project) -> str:
    return logged_in(user).get(f"/p/{project.id}/").content.decode()


def test_the_dashboard_reads_counters_and_buckets_never_messages(converted, world):  # noqa: F811
    client = logged_in(world.alice)
    url = f"/p/{converted.project_id}/"
    client.get(url)
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200
    sql = " ".join(q["sql"] for q in queries.captured_queries)
    assert Message._meta.db_table not in sql
    assert '"conversions_conversion"' not in sql


def test_the_cards_compare_the_last_30_days_with_the_30_before(converted, world, clock):  # noqa: F811
    clock.at = T0 + timedelta(days=1)
    old = segment_campaign(converted.project, name="Old one")
    Campaign.objects.filter(pk=old.pk).update(
        status=Campaign.Status.COMPLETED, started_at=T0 - timedelta(days=40)
    )
    OutboxStats.objects.filter(pk=old.outbox_id).update(sent=1000, delivered=990, clicks=4)
    html = dashboard(world.dave, converted.project)
    cards = dict(re.findall(r'data-total="(\w+)">([^<]*)<', html))
    assert cards["sent"] == "10"
    assert cards["deliveryRate"] == "80.00 %"
    sent_card = html.split('data-total="sent"')[1].split('class="metric"')[0]
    assert "change-down" in sent_card and "-99.0 %" in sent_card
    # Sends per day: the 10 sent yesterday (in Seoul), nothing since.
    chart = html.split('id="sends-chart"')[1].split("</figure>")[0]
    bars = re.findall(r'class="bar"[^>]*data-value="(\d+)" data-label="([^"]+)"', chart)
    assert bars == [("10", "2026-03-02")]


def test_needs_attention_names_sender_numbers_webhooks_and_missing_numbers(world, document_store):
    project = world.acme
    sender_in(project, world.alice, world.staff, SenderNumber.Status.PENDING, "+8225551234")
    sender_in(project, world.alice, world.staff, SenderNumber.Status.REJECTED, "+8225551235")
    WebhookEvent.objects.create(project=project, type="x", data={}, status="failed")
    html = dashboard(world.alice, project)
    found = re.findall(r'data-attention="([\w-]+)"', html)
    assert found == [
        "no-approved-sender",
        "sender-pending",
        "sender-rejected",
        "no-optout-number",
        "webhooks-failing",
    ]
    assert "1 sender number is waiting for review." in html
    # A viewer sees the failing webhooks but gets no link to settings it cannot open.
    viewer = dashboard(world.dave, project)
    item = viewer.split('data-attention="webhooks-failing"')[1].split("</li>")[0]
    assert "/settings/sms/" not in item


def test_a_promotional_campaign_held_at_night_says_until_when(acme, world, clock):  # noqa: F811
    clock.at = T0 + timedelta(hours=10)  # 22:00 in Seoul
    campaign = segment_campaign(acme, name="Night sale", is_promotional=True)
    Campaign.objects.filter(pk=campaign.pk).update(status=Campaign.Status.SENDING, started_at=T0)
    OutboxStats.objects.filter(pk=campaign.outbox_id).update(
        recipients=10, queued=3, held_night_time=3
    )
    html = dashboard(world.alice, acme)
    row = html.split(f'data-under-way="{campaign.pk}"')[1].split("</li>")[0]
    assert 'value="70"' in row  # 7 of 10 done
    assert "3 held for the night until 08:00" in row
    assert 'data-attention="night-hold"' in html


def test_amounts_show_with_their_currency_and_counts_with_separators(settings):
    settings.CURRENCY = "KRW"
    with translation.override("en"):
        assert money("45000.00") == "₩45,000"
        assert money("12.5", "USD") == "$12.50"
        assert money("1234567.891", "EUR") == "€1,234,567.89"
        assert money("100.60") == "₩101"  # rounded, not cut
        assert count(1234567) == "1,234,567"
        assert percent(0.125) == "12.50 %"
        assert percent(2 / 3) == "66.67 %"
    with translation.override("ko"):
        assert money("45000.00") == "45,000원"
        assert money(None) == "–"
    assert change(110, 100) == {"direction": "up", "text": "+10.0 %"}
    assert change(0, 0) is None
    assert change(5, 0) == {"direction": "up", "text": ""}


def test_dates_are_written_one_way_in_each_language():
    from django.utils.formats import date_format

    moment = timezone.make_aware(timezone.datetime(2026, 12, 6, 4, 5))
    for language in ("ko", "en"):
        with translation.override(language):
            assert date_format(moment, "SHORT_DATETIME_FORMAT") == "2026-12-06 04:05"
            assert date_format(moment, "DATETIME_FORMAT") == "2026-12-06 04:05:00"


def test_a_project_page_names_the_projects_time_zone_once(client, world):
    world.acme.time_zone = "Europe/London"
    world.acme.save()
    client.force_login(world.alice)
    html = client.get(f"/p/{world.acme.id}/audit/").content.decode()
    assert html.count("Europe/London") == 1
    assert 'id="time-zone-note"' in html
