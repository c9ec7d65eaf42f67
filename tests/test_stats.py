"""Campaign statistics: the page, the API and the CSV show the counters of a
campaign sent through the real pipeline (dispatch, a gateway, delivery
reports) plus the conversion counters and buckets the conversions app keeps;
per-second send buckets are kept as the work happens and drawn per second,
minute, hour or day as the send's length needs; tenancy and roles."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from audiences.models import Customer
from campaigns.models import Campaign, Price
from channels import gateways
from channels.gateways import console as console_backend
from channels.gateways.base import DeliveryReport, GatewayBackend, SendResult
from channels.models import Gateway
from conversions.models import Basis, ConversionBucket, ConversionGoal
from dispatch import pipeline
from dispatch.models import Message, OutboxStats, SendBucket, message_reference
from dispatch.reports import apply_delivery_reports
from optout.actions import do_opt_out
from projects.models import Membership, Role
from stats.queries import campaign_statistics
from tests.support.campaigns import (
    add_customers,
    materialise_without_senders,
    phone,
    segment_campaign,
    sending_project,
)
from tests.support.world import PASSWORD

S = Message.Status
T0 = datetime(2026, 3, 2, 3, 0, tzinfo=UTC)  # 12:00 in Seoul


class ScriptedBackend(GatewayBackend):
    """Rejects numbers in `refuse` for good, accepts the rest and reports
    nothing: the test posts the delivery reports itself."""

    name = "scripted"
    refuse: set[str] = set()

    def send_batch(self, messages):
        return [
            SendResult(m.reference, False, "", "invalid_number", "No such number", permanent=True)
            if m.to in ScriptedBackend.refuse
            else SendResult(m.reference, True, f"p-{m.to}")
            for m in messages
        ]


class Clock:
    """A settable `timezone.now` for the dispatch phase, so batches land in
    chosen minutes."""

    def __init__(self, at: datetime) -> None:
        self.at = at

    def __call__(self) -> datetime:
        return self.at


@pytest.fixture
def clock(monkeypatch):
    fake = Clock(T0)
    monkeypatch.setattr(timezone, "now", fake)
    return fake


@pytest.fixture
def scripted(db, monkeypatch):
    monkeypatch.setitem(gateways.BACKENDS, "scripted", f"{__name__}.ScriptedBackend")
    ScriptedBackend.refuse = set()
    return Gateway.objects.create(name="Scripted", backend="scripted")


@pytest.fixture
def acme(world, scripted):
    """World's Acme, made able to send (approved sender, 080 number, gateway)."""
    project = sending_project("Acme stats", gateway=scripted)
    # Reuse the world's members on the sending project: alice admin, dave viewer.
    Membership.objects.create(project=project, user=world.alice, role=Role.ADMIN)
    Membership.objects.create(project=project, user=world.dave, role=Role.VIEWER)
    return project


def run_campaign(project, clock: Clock, batches: list[int], **fields) -> Campaign:
    """Start the campaign and send it in batches of the given sizes, one
    batch a minute from T0 (a 0 is a minute with nothing sent)."""
    campaign = segment_campaign(project, **fields)
    Campaign.objects.filter(pk=campaign.pk).update(status=Campaign.Status.SENDING, started_at=T0)
    materialise_without_senders(campaign, size=50)
    for minute, size in enumerate(batches):
        clock.at = T0 + timedelta(minutes=minute, seconds=10)
        if size:
            pipeline.send_batch(campaign.outbox_id, now=clock.at, limit=size)
    campaign.refresh_from_db()
    return campaign


def report(campaign: Campaign, number: str, status: str, at: datetime) -> int:
    return apply_delivery_reports(
        [
            DeliveryReport(
                "scripted",
                f"p-{number}",
                message_reference(campaign.outbox_id, number[1:]),
                status,
                "undeliverable" if status == "failed" else "",
                occurred_at=at,
            )
        ]
    )


@pytest.fixture
def sent_campaign(acme, clock):
    """12 customers (one with a name long enough for an LMS), one opted out
    before the send, one refused by the gateway; reports: 8 delivered, 1
    failed, 1 still unreported. Sent over 4 minutes with a silent minute."""
    add_customers(acme, 12)
    Customer.objects.filter(project=acme, phone_number=phone(11)).update(name="가" * 60)
    do_opt_out(acme, [phone(5)], "console", None)
    ScriptedBackend.refuse = {phone(7)}
    campaign = run_campaign(acme, clock, [4, 0, 6, 2], name="Spring sale", is_promotional=True)
    for i in (0, 1, 2, 3, 4, 6, 8, 9):
        report(campaign, phone(i), "delivered", T0 + timedelta(minutes=5))
    report(campaign, phone(10), "failed", T0 + timedelta(minutes=6))
    clock.at = T0 + timedelta(hours=1)
    return campaign


def add_goal(campaign, position, event, **counters) -> ConversionGoal:
    return ConversionGoal.objects.create(
        campaign=campaign, position=position, event_name=event, window_seconds=86400, **counters
    )


def add_bucket(goal, hour: datetime, conversions: int, revenue: str, basis=Basis.SEND):
    ConversionBucket.objects.create(
        goal=goal, basis=basis, hour=hour, conversions=conversions, revenue=Decimal(revenue)
    )


@pytest.fixture
def converted(sent_campaign):
    """Two goals with counters, and the hourly buckets those counters came from."""
    purchase = add_goal(
        sent_campaign,
        1,
        "purchase",
        conversions=3,
        revenue=Decimal("45000"),
        click_conversions=1,
        click_revenue=Decimal("15000"),
    )
    signup = add_goal(sent_campaign, 2, "signup", conversions=2, revenue=Decimal("0"))
    add_bucket(purchase, T0, 1, "15000")
    add_bucket(purchase, T0 + timedelta(hours=2), 2, "30000")
    add_bucket(purchase, T0 + timedelta(hours=2), 1, "15000", basis=Basis.CLICK)
    add_bucket(signup, T0 + timedelta(hours=1), 2, "0")
    OutboxStats.objects.filter(pk=sent_campaign.outbox_id).update(
        clicks=5, clicked_recipients=3, optouts_after_send=1
    )
    return sent_campaign


def truth(campaign: Campaign) -> dict[str, int]:
    """The numbers counted from the messages themselves (what the counters
    must agree with)."""
    messages = Message.objects.filter(outbox_id=campaign.outbox_id)
    return {
        "recipients": messages.count(),
        "sent": messages.filter(sent_at__isnull=False).count(),
        "sentLms": messages.filter(sent_at__isnull=False, kind="LMS").count(),
        "delivered": messages.filter(status=S.DELIVERED).count(),
        "failed": messages.filter(status=S.FAILED).count(),
        "skippedTotal": messages.filter(status=S.SKIPPED).count(),
    }


def logged_in(user) -> Client:
    client = Client()
    assert client.login(username=user.username, password=PASSWORD)
    return client


# --- counters and buckets ------------------------------------------------------------


def test_the_pipeline_counts_what_the_messages_say(sent_campaign):
    expected = truth(sent_campaign)
    assert expected == {
        "recipients": 12,
        "sent": 10,
        "sentLms": 1,
        "delivered": 8,
        "failed": 2,
        "skippedTotal": 1,
    }
    stats = campaign_statistics(sent_campaign)
    assert {key: stats[key] for key in expected} == expected
    assert stats["skipped"]["opted_out"] == 1


def test_send_buckets_are_kept_per_second_as_the_work_happens(sent_campaign):
    buckets = {
        b.second: (b.sent, b.delivered, b.failed, b.width)
        for b in SendBucket.objects.filter(outbox_id=sent_campaign.outbox_id)
    }
    # Batches at 0:10 (4 sent), 2:10 (6 claimed, 1 refused by the gateway:
    # failed, 1 opted out: skipped) and 3:10 (2 sent); reports at 5:00 and 6:00.
    assert buckets == {
        T0 + timedelta(seconds=10): (4, 0, 0, 1),
        T0 + timedelta(minutes=2, seconds=10): (4, 0, 1, 1),
        T0 + timedelta(minutes=3, seconds=10): (2, 0, 0, 1),
        T0 + timedelta(minutes=5): (0, 8, 0, 1),
        T0 + timedelta(minutes=6): (0, 0, 1, 1),
    }
    # Each sent message sits in the bucket of its sent_at second.
    by_second: dict[datetime, int] = {}
    for sent_at in Message.objects.filter(
        outbox_id=sent_campaign.outbox_id, sent_at__isnull=False
    ).values_list("sent_at", flat=True):
        second = sent_at.replace(microsecond=0)
        by_second[second] = by_second.get(second, 0) + 1
    assert by_second == {s: v[0] for s, v in buckets.items() if v[0]}


def test_a_report_that_overtakes_the_sent_mark_counts_sent_and_delivered_in_its_second(
    world, clock
):
    console_backend.outbox.clear()
    gateway = Gateway.objects.create(name="Console for stats", backend="console")
    project = sending_project("Console stats", gateway=gateway)
    add_customers(project, 3)
    campaign = run_campaign(project, clock, [3])
    bucket = SendBucket.objects.get(outbox_id=campaign.outbox_id)
    assert (bucket.second, bucket.sent, bucket.delivered) == (T0 + timedelta(seconds=10), 3, 3)
    stats = OutboxStats.objects.get(pk=campaign.outbox_id)
    assert (stats.sent, stats.delivered) == (3, 3)
    console_backend.outbox.clear()


def test_a_repeated_report_bumps_no_bucket(sent_campaign):
    before = list(
        SendBucket.objects.filter(outbox_id=sent_campaign.outbox_id).values_list("delivered")
    )
    assert report(sent_campaign, phone(0), "delivered", T0 + timedelta(minutes=9)) == 0
    assert (
        list(SendBucket.objects.filter(outbox_id=sent_campaign.outbox_id).values_list("delivered"))
        == before
    )


# --- the page ------------------------------------------------------------------------


def page_numbers(html: str) -> dict[str, str]:
    return dict(re.findall(r'data-stat="(\w+)">([^<]*)<', html))


def test_the_statistics_page_shows_the_counters(converted, world):
    Price.objects.create(kind="SMS", amount=Decimal("8.40"))
    Price.objects.create(kind="LMS", amount=Decimal("25.00"))
    response = logged_in(world.alice).get(
        f"/p/{converted.project_id}/campaigns/{converted.pk}/stats"
    )
    assert response.status_code == 200
    html = response.content.decode()
    shown = page_numbers(html)
    expected = truth(converted)
    for key in ("recipients", "sent", "delivered", "failed", "skippedTotal"):
        assert shown[key] == str(expected[key]), key
    assert (shown["clicks"], shown["clickedRecipients"], shown["optoutsAfterSend"]) == (
        "5",
        "3",
        "1",
    )
    assert shown["conversions"] == "5"  # send-based: 3 purchases + 2 sign-ups
    assert shown["conversionRate"] == "62.50 %"  # 5 / 8 delivered
    assert shown["revenue"] == "₩45,000"
    # 9 SMS × 8.40 + 1 LMS × 25.00 = 100.60, written in whole won.
    assert shown["cost"] == "₩101"
    assert 'data-skipped="opted_out">1<' in html
    purchase_click = re.search(
        r'data-goal="purchase" data-basis="click">.*?data-field="conversions">(\d+)<', html, re.S
    )
    assert purchase_click[1] == "1"
    assert "Conversion rate = conversions ÷ delivered messages." in html


def test_the_cost_says_prices_not_set_when_a_needed_price_is_missing(sent_campaign, world):
    Price.objects.create(kind="SMS", amount=Decimal("8.40"))  # the LMS price is missing
    html = (
        logged_in(world.alice)
        .get(f"/p/{sent_campaign.project_id}/campaigns/{sent_campaign.pk}/stats")
        .content.decode()
    )
    assert "Prices not set" in html
    assert campaign_statistics(sent_campaign)["cost"]["amount"] is None


def test_the_charts_are_drawn_from_the_buckets(converted, world):
    html = (
        logged_in(world.dave)
        .get(f"/p/{converted.project_id}/campaigns/{converted.pk}/stats")
        .content.decode()
    )
    send_chart = html.split('id="send-chart"')[1].split("</figure>")[0]
    bars = [int(v) for v in re.findall(r'<rect class="bar"[^>]*data-value="(\d+)"', send_chart)]
    assert bars == [4, 4, 2]  # 0:10, 2:10 and 3:10; silent steps draw nothing
    # 0:10 to 6:00 in 5-second steps: the 8 deliveries of 5:00 are the 59th point.
    delivered = re.search(r'data-values="([^"]*)"', send_chart)[1].split(",")
    assert len(delivered) == 71
    assert {i: v for i, v in enumerate(delivered) if v != "0"} == {58: "8"}
    assert "One bar per 5 seconds" in send_chart
    conversion_chart = html.split('id="conversion-chart"')[1].split("</figure>")[0]
    values = re.findall(r'<rect class="bar"[^>]*data-value="(\d+)"', conversion_chart)
    assert values == ["1", "2", "2"]  # hours 0, 1, 2 (send-based)


def test_the_page_reads_counters_and_buckets_never_messages_or_conversions(converted, world):
    client = logged_in(world.alice)
    url = f"/p/{converted.project_id}/campaigns/{converted.pk}/stats"
    client.get(url)
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200
    sql = " ".join(q["sql"] for q in queries.captured_queries)
    assert Message._meta.db_table not in sql
    assert '"conversions_conversion"' not in sql
    # Session, user, membership, session save, the list of projects in the
    # header; then campaign, counters, goals, prices and the two bucket tables.
    assert len(queries.captured_queries) <= 14


def test_viewers_see_the_statistics_and_the_export(converted, world):
    client = logged_in(world.dave)
    base = f"/p/{converted.project_id}"
    assert client.get(f"{base}/campaigns/{converted.pk}/stats").status_code == 200
    assert client.get(f"{base}/campaigns/{converted.pk}/stats.csv").status_code == 200
    assert client.get(f"{base}/stats/").status_code == 200


def test_another_projects_campaign_is_not_found(converted, world):
    bob = logged_in(world.bob)
    assert bob.get(f"/p/{converted.project_id}/campaigns/{converted.pk}/stats").status_code == 404
    assert (
        bob.get(f"/p/{converted.project_id}/campaigns/{converted.pk}/stats.csv").status_code == 404
    )
    # Bob's own project id with Acme's campaign id: still not found.
    assert bob.get(f"/p/{world.bolt.id}/campaigns/{converted.pk}/stats").status_code == 404
    assert bob.get(f"/p/{world.bolt.id}/campaigns/{converted.pk}/stats.csv").status_code == 404


# --- API -----------------------------------------------------------------------------


def token_for(project) -> str:
    from projects.actions import do_create_api_token

    return do_create_api_token(project, "stats", None)[1]


def test_the_api_gives_the_same_numbers_and_series(converted, world):
    token = token_for(converted.project)
    response = Client().get(
        f"/v1/projects/{converted.project_id}/campaigns/{converted.pk}/stats",
        HTTP_AUTHORIZATION=f"Bearer {token}",
    )
    assert response.status_code == 200
    body = response.json()
    expected = truth(converted)
    assert {key: body[key] for key in expected} == expected
    assert body["skipped"]["opted_out"] == 1
    assert (body["conversions"], body["clickConversions"]) == (5, 1)
    assert (body["revenue"], body["clickRevenue"]) == ("45000.00", "15000.00")
    assert body["conversionRate"] == pytest.approx(5 / 8)
    assert body["cost"] == {
        "amount": None,
        "currency": "",
        "sms": 9,
        "lms": 1,
        "pricesSet": False,
    }
    purchase = body["goals"][0]
    assert (purchase["eventName"], purchase["send"]["conversions"]) == ("purchase", 3)
    assert purchase["click"] == {
        "conversions": 1,
        "revenue": "15000.00",
        "conversionRate": pytest.approx(1 / 8),
    }
    assert body["sendSeries"]["stepSeconds"] == 5
    points = body["sendSeries"]["points"]
    assert len(points) == 71
    assert {
        datetime.fromisoformat(p["at"]) - T0: (p["sent"], p["delivered"], p["failed"])
        for p in points
        if p["sent"] or p["delivered"] or p["failed"]
    } == {
        timedelta(seconds=10): (4, 0, 0),
        timedelta(minutes=2, seconds=10): (4, 0, 1),
        timedelta(minutes=3, seconds=10): (2, 0, 0),
        timedelta(minutes=5): (0, 8, 0),
        timedelta(minutes=6): (0, 0, 1),
    }
    series = body["conversionSeries"]
    assert series["step"] == "hour"
    assert [(p["conversions"], p["clickConversions"]) for p in series["points"]] == [
        (1, 0),
        (2, 0),
        (2, 1),
    ]


def test_the_api_answers_404_for_another_projects_campaign(converted, world):
    # Bolt's token on Bolt's own path with Acme's campaign id.
    response = Client().get(
        f"/v1/projects/{world.bolt.id}/campaigns/{converted.pk}/stats",
        HTTP_AUTHORIZATION=f"Bearer {world.bolt_token}",
    )
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"
    response = Client().get(
        f"/v1/projects/{world.bolt.id}/campaigns/{converted.pk}/stats.csv",
        HTTP_AUTHORIZATION=f"Bearer {world.bolt_token}",
    )
    assert response.status_code == 404


def test_the_schema_documents_the_statistics_endpoints(db):
    paths = Client().get("/v1/schema").json()["paths"]
    stats = paths["/v1/projects/{projectId}/campaigns/{campaignId}/stats"]["get"]
    assert stats["operationId"] == "getCampaignStats"
    assert "/v1/projects/{projectId}/campaigns/{campaignId}/stats.csv" in paths


# --- CSV -----------------------------------------------------------------------------


def csv_rows(content: bytes) -> list[list[str]]:
    text = content.decode("utf-8")
    assert text.startswith("\ufeff")
    return list(csv.reader(io.StringIO(text[1:])))


def test_the_csv_has_the_totals_goals_and_series(converted, world):
    response = logged_in(world.alice).get(
        f"/p/{converted.project_id}/campaigns/{converted.pk}/stats.csv"
    )
    assert response["Content-Type"].startswith("text/csv")
    rows = csv_rows(response.content)
    metrics = {row[0]: row[1] for row in rows if len(row) == 2}
    expected = truth(converted)
    for key, value in expected.items():
        assert metrics[key] == str(value), key
    assert metrics["skipped.opted_out"] == "1"
    assert metrics["conversions"] == "5"
    assert metrics["conversionRate"] == "0.625000"
    goals = [row for row in rows if row[:2] == ["1", "purchase"]]
    assert [row[3:5] for row in goals] == [["send", "3"], ["click", "1"]]
    start = next(i for i, row in enumerate(rows) if row and row[0].startswith("sendSeries"))
    series = []
    for row in rows[start + 1 :]:
        if not row:
            break
        series.append(row[1:])
    # 5-second steps from 0:10 to 6:00; the reports came in at 5:00.
    assert series[0] == ["4", "0", "0"] and series[58] == ["0", "8", "0"] and len(series) == 71


def test_the_csv_neutralises_cells_a_spreadsheet_would_run(acme, clock, world):
    add_customers(acme, 1)
    campaign = run_campaign(acme, clock, [1], name='=HYPERLINK("http://evil.test")')
    add_goal(campaign, 1, "@SUM(A1)", conversions=1)
    add_goal(campaign, 2, "+cmd|' /C calc'!A0")
    add_goal(campaign, 3, "-2+3")
    add_goal(campaign, 4, "\tx")
    add_goal(campaign, 5, "\rx")
    rows = csv_rows(
        logged_in(world.alice).get(f"/p/{acme.id}/campaigns/{campaign.pk}/stats.csv").content
    )
    cells = [cell for row in rows for cell in row]
    assert '\'=HYPERLINK("http://evil.test")' in cells
    for event in ("@SUM(A1)", "+cmd|' /C calc'!A0", "-2+3", "\tx", "\rx"):
        assert "'" + event in cells
        assert event not in cells
    # Plain numbers stay numbers.
    assert ["sent", "1"] in rows


# --- series shapes -------------------------------------------------------------------


def test_a_long_send_is_drawn_in_wider_steps(acme, clock):
    add_customers(acme, 1)
    campaign = run_campaign(acme, clock, [1])
    SendBucket.objects.create(outbox_id=campaign.outbox_id, second=T0 + timedelta(hours=10), sent=7)
    series = campaign_statistics(campaign)["sendSeries"]
    assert series["stepSeconds"] == 600  # 10 hours in at most 120 points
    assert len(series["points"]) <= 120
    assert sum(p["sent"] for p in series["points"]) == 8
    assert series["points"][-1]["sent"] == 7


def test_wider_steps_start_at_round_times_on_the_project_clock(acme, clock):
    add_customers(acme, 1)
    campaign = run_campaign(acme, clock, [])
    for minutes, sent in ((7, 3), (8, 2), (29 * 60 + 1, 5)):  # 12:07, 12:08, 17:01 a day later
        SendBucket.objects.create(
            outbox_id=campaign.outbox_id, second=T0 + timedelta(minutes=minutes), sent=sent
        )
    series = campaign_statistics(campaign)["sendSeries"]
    assert series["stepSeconds"] == 900  # 29 hours in at most 120 points
    local = [timezone.localtime(p["at"], acme_zone(acme)) for p in series["points"]]
    assert (local[0].hour, local[0].minute) == (12, 0)
    assert all(m.minute % 15 == 0 and m.second == 0 for m in local)
    assert (series["points"][0]["sent"], series["points"][-1]["sent"]) == (5, 5)
    assert (local[-1].hour, local[-1].minute) == (17, 0)


def test_conversions_are_per_day_when_the_span_is_over_72_hours(acme, clock):
    add_customers(acme, 1)
    campaign = run_campaign(acme, clock, [1])
    goal = add_goal(campaign, 1, "purchase", conversions=3)
    add_bucket(goal, T0 + timedelta(hours=1), 1, "10")
    # T0 is 12:00 in Seoul; +20 h is 08:00 the next day there.
    add_bucket(goal, T0 + timedelta(hours=20), 1, "10")
    add_bucket(goal, T0 + timedelta(days=4), 1, "10")
    series = campaign_statistics(campaign)["conversionSeries"]
    assert series["step"] == "day"
    assert [p["conversions"] for p in series["points"]] == [1, 1, 0, 0, 1]
    assert timezone.localtime(series["points"][0]["at"], acme_zone(acme)).hour == 0


def acme_zone(project):
    from zoneinfo import ZoneInfo

    return ZoneInfo(project.time_zone)


# --- project statistics and dashboard --------------------------------------------------


def test_the_dashboard_shows_the_last_campaigns_and_30_day_totals(converted, world, clock):
    clock.at = T0 + timedelta(days=1)
    old = segment_campaign(converted.project, name="Old one")
    Campaign.objects.filter(pk=old.pk).update(
        status=Campaign.Status.COMPLETED, started_at=T0 - timedelta(days=40)
    )
    OutboxStats.objects.filter(pk=old.outbox_id).update(sent=1000, delivered=990)
    add_goal(old, 1, "purchase", conversions=50, revenue=Decimal("1"))
    html = logged_in(world.dave).get(f"/p/{converted.project_id}/").content.decode()
    totals = dict(re.findall(r'data-total="(\w+)">([^<]*)<', html))
    expected = truth(converted)
    assert (totals["campaigns"], totals["sent"], totals["delivered"], totals["failed"]) == (
        "1",
        str(expected["sent"]),
        str(expected["delivered"]),
        str(expected["failed"]),
    )
    # Money with its currency and no decimals for won; counts with separators.
    assert (totals["conversions"], totals["revenue"]) == ("5", "₩45,000")
    rows = re.findall(r'class="campaign-row" data-campaign="(\d+)"', html)
    assert rows == [str(old.pk), str(converted.pk)]  # newest first, both listed
    row = html.split(f'data-campaign="{converted.pk}"')[1].split("</tr>")[0]
    assert 'data-field="conversions">5<' in row
    assert f"/campaigns/{converted.pk}/stats" in row
    # The old campaign (40 days ago) is the previous period the cards compare with.
    assert 'data-total="sent">10<' in html
    assert "vs previous period" in html
    # The sender numbers and the 080 number stay on the dashboard.
    assert 'id="sender-numbers"' in html and 'id="optout-number"' in html


def test_the_statistics_page_lists_campaigns_and_totals_for_a_period(converted, world, clock):
    clock.at = T0 + timedelta(days=10)
    client = logged_in(world.alice)
    html = client.get(f"/p/{converted.project_id}/stats/?days=30").content.decode()
    assert 'data-total="sent">10<' in html
    html = client.get(f"/p/{converted.project_id}/stats/?days=7").content.decode()
    assert 'data-total="sent">0<' in html
    assert f'data-campaign="{converted.pk}"' in html
    assert "Statistics" in client.get(f"/p/{converted.project_id}/").content.decode()


def test_a_bucket_second_is_the_utc_second_of_the_moment():
    from zoneinfo import ZoneInfo

    from dispatch.counters import second_of

    seoul = datetime(2026, 3, 2, 12, 0, 59, 999, tzinfo=ZoneInfo("Asia/Seoul"))
    assert second_of(seoul) == T0 + timedelta(seconds=59)
    assert second_of(datetime(2026, 3, 2, 3, 0, 30, 500)) == T0 + timedelta(seconds=30)  # naive


# --- the time axis adapts to the send's length -------------------------------------------


def chart_html(client: Client, campaign: Campaign) -> str:
    html = client.get(f"/p/{campaign.project_id}/campaigns/{campaign.pk}/stats").content.decode()
    return html.split('id="send-chart"')[1].split("</figure>")[0]


def test_a_short_send_is_drawn_per_second_with_labels_on_round_seconds(acme, clock, world):
    add_customers(acme, 24)
    campaign = run_campaign(acme, clock, [])
    for k in range(8):  # 3 messages every 5 seconds from 12:00:00
        clock.at = T0 + timedelta(seconds=5 * k)
        pipeline.send_batch(campaign.outbox_id, now=clock.at, limit=3)
    # One batch of reports spread over 8 seconds, 3 s after each send.
    numbers = [
        number
        for number in Message.objects.filter(outbox_id=campaign.outbox_id)
        .order_by("sent_at", "id")
        .values_list("phone_number", flat=True)
    ]
    assert (
        apply_delivery_reports(
            DeliveryReport(
                "scripted",
                f"p-{number}",
                message_reference(campaign.outbox_id, number[1:]),
                "delivered",
                "",
                occurred_at=T0 + timedelta(seconds=3 + 5 * (i // 3)),
            )
            for i, number in enumerate(numbers)
        )
        == 24
    )
    series = campaign_statistics(campaign)["sendSeries"]
    assert series["stepSeconds"] == 1
    assert len(series["points"]) == 39  # 12:00:00 … 12:00:38
    sent = [p["sent"] for p in series["points"]]
    delivered = [p["delivered"] for p in series["points"]]
    assert sent == [3 if i % 5 == 0 else 0 for i in range(39)]
    assert delivered == [3 if i % 5 == 3 else 0 for i in range(39)]

    chart = chart_html(logged_in(world.dave), campaign)
    assert "One bar per second" in chart
    bars = re.findall(r'<rect class="bar"[^>]*data-value="(\d+)" data-label="([^"]*)"', chart)
    assert bars == [("3", f"2026-03-02 12:00:{5 * k:02d}") for k in range(8)]
    ticks = re.findall(r'<text class="tick"[^>]*>([^<]*)<', chart)
    assert ticks == ["12:00:00", "12:00:10", "12:00:20", "12:00:30"]
    # Both series, each bar and each point focusable with its value.
    assert re.search(r'data-values="([^"]*)"', chart)[1] == ",".join(map(str, delivered))
    markers = re.findall(r'<circle class="marker"[^>]*tabindex="0"><title>([^<]*)<', chart)
    assert len(markers) == 39
    assert markers[3] == "2026-03-02 12:00:03 · Delivered: 3"
    assert re.findall(r'tabindex="0"><title>([^<]*Sent[^<]*)<', chart)[0] == (
        "2026-03-02 12:00:00 · Sent: 3"
    )


def test_a_send_counted_per_minute_before_the_change_stays_per_minute(acme, clock):
    add_customers(acme, 1)
    campaign = run_campaign(acme, clock, [])
    # Minute buckets of the old kind: a short send drawn in its two minutes.
    for minute, sent in ((0, 5), (1, 2)):
        SendBucket.objects.create(
            outbox_id=campaign.outbox_id, second=T0 + timedelta(minutes=minute), width=60, sent=sent
        )
    series = campaign_statistics(campaign)["sendSeries"]
    assert series["stepSeconds"] == 60
    assert [p["sent"] for p in series["points"]] == [5, 2]
    # A send going on across the upgrade: its new per-second buckets join
    # the minutes, never drawn finer than the old ones were counted.
    from dispatch.counters import bump_second

    bump_second(campaign.outbox_id, T0 + timedelta(minutes=1), delivered=4)  # the old row
    bump_second(campaign.outbox_id, T0 + timedelta(minutes=1, seconds=30), delivered=1)
    bump_second(campaign.outbox_id, T0 + timedelta(minutes=2, seconds=5), sent=1)
    series = campaign_statistics(campaign)["sendSeries"]
    assert series["stepSeconds"] == 60
    assert [(p["sent"], p["delivered"]) for p in series["points"]] == [(5, 0), (2, 5), (1, 0)]
    assert SendBucket.objects.filter(outbox_id=campaign.outbox_id).count() == 4


def series_of_buckets(campaign, moments: list[tuple[datetime, int]]) -> dict[str, Any]:
    for at, sent in moments:
        SendBucket.objects.create(outbox_id=campaign.outbox_id, second=at, sent=sent)
    return campaign_statistics(campaign)["sendSeries"]


def test_a_send_over_days_is_drawn_per_hour_on_the_local_clock(acme, clock):
    acme.time_zone = "Asia/Kolkata"  # UTC+05:30: local hours are not UTC hours
    acme.save()
    add_customers(acme, 1)
    campaign = run_campaign(acme, clock, [])
    # 08:50 and 09:10 in Kolkata (the same UTC hour), and three days later.
    series = series_of_buckets(
        campaign,
        [
            (T0 + timedelta(minutes=20), 2),
            (T0 + timedelta(minutes=40), 3),
            (T0 + timedelta(days=3), 7),
        ],
    )
    assert series["stepSeconds"] == 3600
    local = [timezone.localtime(p["at"], acme_zone(acme)) for p in series["points"]]
    assert all((m.minute, m.second) == (0, 0) for m in local)
    assert (local[0].hour, local[1].hour) == (8, 9)
    assert [p["sent"] for p in series["points"][:2]] == [2, 3]
    assert series["points"][-1]["sent"] == 7
    assert sum(p["sent"] for p in series["points"]) == 12


def test_a_send_over_months_is_drawn_per_day_by_the_projects_calendar(acme, clock, world):
    add_customers(acme, 1)
    campaign = run_campaign(acme, clock, [])
    # 12:00 in Seoul; 23:30 UTC the same UTC day is 08:30 the next day in
    # Seoul; 100 days later.
    series = series_of_buckets(
        campaign,
        [
            (T0, 1),
            (T0 + timedelta(hours=20, minutes=30), 2),
            (T0 + timedelta(days=100), 4),
        ],
    )
    assert series["stepSeconds"] == 86400
    assert len(series["points"]) == 101
    local = [timezone.localtime(p["at"], acme_zone(acme)) for p in series["points"]]
    assert all((m.hour, m.minute) == (0, 0) for m in local)
    assert [p["sent"] for p in series["points"][:2]] == [1, 2]
    assert series["points"][-1]["sent"] == 4
    chart = chart_html(logged_in(world.dave), campaign)
    assert "One bar per day" in chart
    ticks = re.findall(r'<text class="tick"[^>]*>([^<]*)<', chart)
    assert 1 <= len(ticks) <= 6 and all(re.fullmatch(r"\d\d-\d\d", t) for t in ticks)


@pytest.mark.parametrize(
    ("span", "step"),
    [
        (1, 1),
        (80, 1),  # a 1,000,000-recipient send here
        (120, 1),
        (121, 2),
        (600, 5),
        (3600, 30),
        (7200, 60),
        (6 * 3600, 300),
        (3 * 86400, 3600),
        (30 * 86400, 6 * 3600),
        (120 * 86400, 86400),
        (400 * 86400, 4 * 86400),
    ],
)
def test_the_step_is_the_narrowest_round_one_for_at_most_120_points(span, step):
    from stats.queries import send_step_seconds

    assert send_step_seconds(span) == step
    assert send_step_seconds(span, finest=60) == max(step, 60)


def test_the_dashboard_sums_the_seconds_per_day(sent_campaign):
    from stats.queries import sends_per_day

    days = sends_per_day(sent_campaign.project)
    assert sum(d["sent"] for d in days) == 10
    assert sum(d["delivered"] for d in days) == 8
    assert [d["day"] for d in days if d["sent"]] == [
        timezone.localtime(T0, acme_zone(sent_campaign.project)).date()
    ]
