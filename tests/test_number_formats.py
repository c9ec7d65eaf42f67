"""Counts and money are written one way on every screen: thousands
separators, and an amount always with its currency (KRW in whole won:
"₩10,080" in English, "10,080원" in Korean). Pages are rendered with large
numbers and read back."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from django.test import Client
from django.utils import timezone

from audiences.models import AudienceFile
from campaigns.models import Campaign, Price
from dispatch.models import OutboxStats
from optout.models import OptOut, OptOutImport
from projects.models import Membership, Role
from tests.support.campaigns import add_customers, segment_campaign, sending_project
from tests.support.world import PASSWORD
from webhooks.models import WebhookEvent

LANGUAGES = ["en", "ko"]


def client_for(user, language: str) -> Client:
    client = Client(headers={"accept-language": language})
    assert client.login(username=user.username, password=PASSWORD)
    return client


@pytest.fixture
def figures(world):
    """A project whose one campaign is over a million recipients into its send."""
    project = sending_project("Acme figures")
    Membership.objects.create(project=project, user=world.carol, role=Role.MARKETER)
    campaign = segment_campaign(project, name="Big send")
    Campaign.objects.filter(pk=campaign.pk).update(
        status=Campaign.Status.SENDING, started_at=timezone.now()
    )
    OutboxStats.objects.filter(pk=campaign.outbox_id).update(
        recipients=1_234_567,
        queued=34_567,
        sent=1_200_000,
        delivered=1_100_000,
        failed=5_432,
        held_night_time=23_456,
        skipped_opted_out=4_321,
    )
    Price.objects.create(kind="SMS", amount=Decimal("8.40"), currency="KRW")
    Price.objects.create(kind="LMS", amount=Decimal("25.00"), currency="KRW")
    campaign.refresh_from_db()
    return project, campaign, world.carol


def text_of(html: str, element_id: str) -> str:
    match = re.search(rf'id="{element_id}"[^>]*>(.*?)</', html, re.S)
    assert match, f"no #{element_id}"
    return re.sub(r"\s+", " ", match[1]).strip()


def counters(html: str) -> dict[str, str]:
    return dict(re.findall(r'data-counter="(\w+)"[^>]*>([^<]*)<', html))


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_campaign_list_and_progress_write_counts_with_separators(figures, language):
    project, campaign, carol = figures
    client = client_for(carol, language)
    listing = client.get(f"/p/{project.id}/campaigns/").content.decode()
    row = listing.split(f'data-campaign-id="{campaign.pk}"')[1].split("</tr>")[0]
    assert "1,234,567" in row
    assert "23,456" in row  # held until morning
    detail = client.get(f"/p/{project.id}/campaigns/{campaign.pk}/").content.decode()
    assert counters(detail) == {
        "recipients": "1,234,567",
        "queued": "34,567",
        "sent": "1,200,000",
        "delivered": "1,100,000",
        "failed": "5,432",
        "held": "23,456",
        "skipped": counters(detail)["skipped"],
    }
    assert counters(detail)["skipped"].startswith("4,321")


@pytest.mark.parametrize(("language", "cost"), [("en", "₩10,080,000"), ("ko", "10,080,000원")])
def test_statistics_and_dashboard_write_counts_and_money_with_separators(figures, language, cost):
    project, campaign, carol = figures
    client = client_for(carol, language)
    stats = client.get(f"/p/{project.id}/campaigns/{campaign.pk}/stats").content.decode()
    shown = dict(re.findall(r'data-stat="(\w+)">([^<]*)<', stats))
    assert shown["recipients"] == "1,234,567"
    assert shown["sent"] == "1,200,000"
    assert shown["skippedTotal"] == "4,321"
    assert shown["cost"] == cost  # 1,200,000 SMS × 8.40, in whole won
    cost_card = stats.split('id="stats-cost"')[1].split("</div>")[0]
    assert "(1,200,000 SMS" in cost_card or "SMS 1,200,000" in cost_card
    dashboard = client.get(f"/p/{project.id}/").content.decode()
    cards = dict(re.findall(r'data-total="(\w+)">([^<]*)<', dashboard))
    assert cards["sent"] == "1,200,000"
    assert cards["cost"] == cost
    under_way = dashboard.split('id="campaigns-under-way"')[1].split("</section>")[0]
    assert "1,200,000" in under_way and "1,234,567" in under_way


@pytest.mark.parametrize(("language", "amount"), [("en", "₩10,080"), ("ko", "10,080원")])
def test_the_audience_size_and_cost_estimate_have_separators_and_the_currency(
    figures, language, amount
):
    project, _campaign, carol = figures
    add_customers(project, 1_200)
    campaign = segment_campaign(project, name="Estimate", body="짧은 문자")
    client = client_for(carol, language)
    base = f"/p/{project.id}/campaigns/{campaign.pk}/compose/"
    count = client.get(base + "audience/count/", headers={"hx-request": "true"}).content.decode()
    assert 'data-count="1200"' in count
    assert "1,200" in count
    preview = client.post(
        base + "preview/",
        {"body": "짧은 문자", "title": "", "recipient": ""},
        headers={"hx-request": "true"},
    ).content.decode()
    estimate = text_of(preview, "cost-estimate")
    assert "1,200" in estimate
    assert estimate.endswith(amount)  # 1,200 × 8.40
    assert "KRW" not in estimate


@pytest.mark.parametrize("language", LANGUAGES)
def test_lists_and_reports_of_opt_outs_files_and_webhooks_have_separators(figures, language, world):
    project, _campaign, carol = figures
    OptOut.objects.bulk_create(
        OptOut(project=project, phone_number=f"+8210{20000000 + i}", source="console")
        for i in range(1_001)
    )
    report = OptOutImport.objects.create(
        project=project,
        name="old-list.csv",
        file="x.csv",
        status=OptOutImport.Status.DONE,
        progress=100,
        rows=12_345,
        added=12_000,
        already_present=1_234,
        duplicate_count=1_111,
        invalid_count=0,
    )
    audience = AudienceFile.objects.create(
        project=project,
        name="members.csv",
        format="csv",
        status=AudienceFile.Status.VALID,
        rows=23_456,
        columns=["phoneNumber"],
        matched_customers=12_345,
    )
    WebhookEvent.objects.bulk_create(
        WebhookEvent(project=project, type="optout.changed", data={}, status="failed")
        for _ in range(1_002)
    )
    client = client_for(carol, language)
    optouts = client.get(f"/p/{project.id}/optouts/").content.decode()
    assert "1,001" in text_of(optouts, "optout-entries")
    imported = client.get(f"/p/{project.id}/optouts/import/{report.id}/").content.decode()
    assert text_of(imported, "report-rows") == "12,345"
    assert text_of(imported, "report-added") == "12,000"
    assert text_of(imported, "report-present") == "1,234"
    assert text_of(imported, "report-duplicates") == "1,111"
    imports = client.get(f"/p/{project.id}/optouts/import/").content.decode()
    assert '<td class="num">12,000</td>' in imports
    files = client.get(f"/p/{project.id}/audience-files/").content.decode()
    assert "23,456" in files
    detail = client.get(f"/p/{project.id}/audience-files/{audience.id}/").content.decode()
    summary = detail.split('id="summary"')[1].split("</section>")[0]
    assert "23,456" in summary and "12,345" in summary
    Membership.objects.create(project=project, user=world.alice, role=Role.ADMIN)
    admin = client_for(world.alice, language)
    settings_page = admin.get(f"/p/{project.id}/settings/sms/").content.decode()
    assert "(1,002)" in settings_page
    dashboard = admin.get(f"/p/{project.id}/").content.decode()
    attention = dashboard.split('data-attention="webhooks-failing"')[1].split("</li>")[0]
    assert "1,002" in attention
