"""The compose screen as a new user meets it, in headless Chromium: an
auto-save the browser's own checks used to block without a word, the list
of what is missing shown once, and the browser's Back after the start."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from audiences.models import Customer, Segment
from campaigns.models import Campaign
from channels.models import OptOutNumber, SenderNumber
from tests.support.browser import log_in
from tests.support.campaigns import EVERYONE
from tests.support.world import PASSWORD

pytestmark = pytest.mark.browser


@pytest.fixture
def acme(world):
    SenderNumber.objects.create(
        project=world.acme,
        number="+8215881234",
        owner_type=SenderNumber.OwnerType.COMPANY,
        owner_name=world.acme.company_name,
        status=SenderNumber.Status.APPROVED,
        is_default=True,
    )
    OptOutNumber.objects.create(number="+82801234567", project=world.acme)
    Customer.objects.create(project=world.acme, user_id="kim", phone_number="+821011112222")
    Segment.objects.create(project=world.acme, name="Everyone", definition=EVERYONE)
    return world


def _new_campaign(page, world) -> Campaign:
    log_in(page, "carol@acme.test", PASSWORD)
    page.goto(f"/p/{world.acme.id}/campaigns/")
    page.click("#new-campaign")
    page.wait_for_selector("#step-audience")
    return Campaign.objects.get(project=world.acme)


def test_choosing_an_audience_with_an_empty_name_saves_it_and_says_what_was_not(page, acme):
    campaign = _new_campaign(page, acme)
    page.fill("#id_name", "")
    page.select_option("#id_audience", label="Everyone")
    page.wait_for_selector("#audience-status [data-saved=partial]")
    expect(page.locator("#id_name-errors")).to_have_text("This field is required.")
    expect(page.locator("#audience-status")).to_contain_text("Campaign name")
    campaign.refresh_from_db()
    assert campaign.segment is not None
    # The audience count follows the save.
    page.wait_for_selector("#audience-count [data-count='1']")

    page.fill("#id_name", "Spring sale")
    page.locator("#id_name").dispatch_event("change")
    page.wait_for_selector("#audience-status [data-saved=true]")
    expect(page.locator("#id_name-errors")).to_have_text("")
    campaign.refresh_from_db()
    assert campaign.name == "Spring sale"


def test_what_is_missing_is_shown_once_after_review(page, acme):
    _new_campaign(page, acme)
    page.wait_for_selector("#readiness [data-ready=false]")
    page.click("#review-button")
    page.wait_for_selector("#review-panel")
    expect(page.locator("text=Before it can go:")).to_have_count(1)
    expect(page.locator("#missing-parts")).to_contain_text("listed above")


def test_the_browsers_back_after_the_start_does_not_offer_to_send_again(page, acme):
    campaign = _new_campaign(page, acme)
    page.select_option("#id_audience", label="Everyone")
    page.wait_for_selector("#audience-status [data-saved=true]")
    page.fill("#id_body", "봄 세일")
    page.click("#save-content")
    page.wait_for_selector("#content-status [data-saved=true]")
    page.click("#review-button")
    page.wait_for_selector("#confirm-launch")

    # It starts (from this page or another): the page left behind is stale.
    page.goto(f"/p/{acme.acme.id}/campaigns/{campaign.pk}/")
    Campaign.objects.filter(pk=campaign.pk).update(status=Campaign.Status.SENDING)
    page.go_back()
    # Not served from the cache: the compose screen sends a started campaign to its page.
    page.wait_for_url(f"**/campaigns/{campaign.pk}/")
    expect(page.locator("#confirm-launch")).to_have_count(0)
    expect(page.locator("#campaign-progress")).to_have_attribute("data-status", "sending")


def test_an_auto_save_the_server_does_not_answer_says_it_was_not_saved(page, acme):
    _new_campaign(page, acme)
    page.route("**/compose/content/", lambda route: route.fulfill(status=500, body="boom"))
    page.fill("#id_body", "봄 세일")
    page.click("#save-content")
    expect(page.locator("#content-status [data-saved=false]")).to_contain_text(
        "Not saved (HTTP 500"
    )
    page.unroute("**/compose/content/")
    page.route("**/compose/goals/", lambda route: route.abort())
    page.fill("input[name=event_1]", "purchase")
    page.click("#save-goals")
    expect(page.locator("#goals-status [data-saved=false]")).to_contain_text(
        "the server could not be reached"
    )
