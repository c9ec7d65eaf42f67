"""In a real browser: a user's consent changes through the Track API; carol
sees the history and the pending result notice on the user's page; the
notice goes through the send core and is shown delivered; alice edits the
reminder text and the preview refuses a text without the company name."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from channels.gateways import console as console_backend
from channels.models import Gateway, OptOutNumber, SenderNumber, SmsChannel
from consent import sending
from consent.models import Notice
from tests.support.browser import log_in
from tests.support.world import PASSWORD
from tests.test_consent_faults import daytime_zone

pytestmark = pytest.mark.browser

PHONE = "+821012345678"


def make_acme_send(world) -> None:
    """An approved sender, an 080 number (notices on by default) and a gateway
    that delivers at once."""
    SenderNumber.objects.create(
        project=world.acme,
        number="+8215881234",
        owner_type=SenderNumber.OwnerType.COMPANY,
        owner_name=world.acme.company_name,
        status=SenderNumber.Status.APPROVED,
        is_default=True,
    )
    OptOutNumber.objects.create(number="+8280123456", project=world.acme)
    gateway, _ = Gateway.objects.get_or_create(name="Consent console", backend="console")
    SmsChannel.objects.update_or_create(project=world.acme, defaults={"gateway": gateway})


def test_a_consent_change_is_shown_notified_and_delivered(page, world):
    make_acme_send(world)
    console_backend.outbox.clear()
    zone = daytime_zone(datetime.now(UTC))
    body = {
        "userAttributes": [
            {"userId": "u1", "phoneNumber": PHONE, "timeZone": zone, "promotionalConsent": True}
        ]
    }
    response = page.request.post(
        reverse("api_track", args=[world.acme.id]),
        data=json.dumps(body),
        headers={
            "Authorization": f"Bearer {world.acme_token}",
            "Content-Type": "application/json",
        },
    )
    assert response.ok, response.text()

    log_in(page, "carol@acme.test", PASSWORD)
    page.goto(reverse("customer", args=[world.acme.id, "u1"]))
    history = page.locator("#consent-history tr.consent-change[data-field='promotional']")
    expect(history).to_have_count(1)
    assert history.get_attribute("data-new") == "true"
    assert "Track API" in history.inner_text()
    pending = page.locator("#consent-notices tr.consent-notice[data-kind='result']")
    expect(pending).to_have_attribute("data-state", "due")

    # Its 10:00 comes: the minute task's hand-over, at that time; the send
    # core sends it (tasks run inline here) and the carrier delivers.
    notice = Notice.objects.get(customer__user_id="u1")
    assert sending.hand_over(world.acme, notice.due_at) == 1
    (sms,) = console_backend.outbox
    assert sms.to == PHONE and world.acme.company_name in sms.body
    sending.sync_outcomes()
    page.reload()
    expect(pending).to_have_attribute("data-state", "delivered")

    # The consent page lists it as sent and counts it.
    page.goto(reverse("consent", args=[world.acme.id]))
    expect(page.locator("#sent-notices tr.consent-notice[data-state='delivered']")).to_have_count(1)
    expect(
        page.locator("#notice-counts tr[data-kind='result'] td[data-state='delivered']")
    ).to_have_text("1")
    expect(page.locator("#notice-statistics td[data-stat='delivered']")).to_have_text("1")


def test_the_reminder_preview_refuses_a_text_without_the_company_name(page, world):
    make_acme_send(world)
    log_in(page, "alice@acme.test", PASSWORD)
    page.goto(reverse("consent", args=[world.acme.id]))
    reminder = page.locator("fieldset[data-kind='reminder']")
    expect(reminder.locator("[data-preview='reminder']")).to_contain_text(world.acme.company_name)
    reminder.locator("textarea").fill(
        "{{ consent_date }}에 수신에 동의하셨습니다. 철회: {{ withdraw }}"
    )
    page.click("button[name=preview]")
    problems = page.locator("[data-problems='reminder']")
    expect(problems).to_contain_text("company name")
    expect(page.locator("[data-preview='reminder']")).to_have_count(0)
    # Saving is refused too: the saved text is still the default.
    page.click("button[name=save]")
    expect(page.locator("[data-problems='reminder']")).to_be_visible()
    from consent.models import NoticeSettings

    assert not NoticeSettings.objects.filter(project=world.acme).exists()
