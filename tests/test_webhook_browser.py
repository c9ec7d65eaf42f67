"""In a real browser: alice registers a webhook to a local receiver, reveals
the secret, sends a test event and sees it delivered in the log."""

from __future__ import annotations

import pytest

from console.lib.signing import verify
from tests.support.browser import log_in
from tests.support.world import PASSWORD
from webhooks.models import WebhookEndpoint

pytestmark = [pytest.mark.browser]


def test_alice_registers_a_webhook_sends_a_test_event_and_sees_it_in_the_log(page, world, receiver):
    log_in(page, "alice@acme.test", PASSWORD)
    page.goto(f"/p/{world.acme.id}/settings/sms/")
    page.fill("#id_url", receiver.url)
    page.click("button:has-text('Register webhook')")
    page.wait_for_selector("text=The webhook is registered.")
    secret = WebhookEndpoint.objects.get(project=world.acme).secret

    assert not page.is_visible("#secret-value")
    page.click("button:has-text('Reveal')")
    assert page.inner_text("#secret-value") == secret
    page.click("button:has-text('Hide')")
    assert not page.is_visible("#secret-value")

    page.click("button:has-text('Send test event')")
    page.wait_for_selector("text=A test event is on its way")
    row = page.locator("tr.webhook-event").first
    assert row.get_attribute("data-status") == "delivered"
    assert "test" in row.inner_text()
    assert page.locator("tr.webhook-attempt td.status-code").first.inner_text() == "200"

    [got] = receiver.received
    assert verify(secret, got.headers, got.body)
    assert got.payload["requestId"] == row.get_attribute("data-request-id")
