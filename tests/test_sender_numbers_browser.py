"""In a real browser: alice registers a sender number with a PDF, staff
approve it in the Django admin, alice sees it approved."""

from __future__ import annotations

import pytest

from tests.support.browser import log_in
from tests.support.sender_numbers import (
    PDF_BYTES,
    PNG_BYTES,
)
from tests.support.world import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("document_store")]


def test_alice_registers_staff_approve_alice_sees_it_approved(page, world):
    log_in(page, "alice@acme.test", PASSWORD)
    page.goto(f"/p/{world.acme.id}/channels/")
    page.click("text=Register a sender number")
    page.fill("#id_number", "+8225551234")
    page.check("input[name=owner_type][value=company]")
    page.fill("#id_owner_name", "Acme Corp")
    page.set_input_files(
        "#id_telecom_certificate",
        files=[{"name": "telecom.pdf", "mimeType": "application/pdf", "buffer": PDF_BYTES}],
    )
    page.set_input_files(
        "#id_business_registration",
        files=[{"name": "business.png", "mimeType": "image/png", "buffer": PNG_BYTES}],
    )
    page.click("button[type=submit]:has-text('Register')")
    page.wait_for_url(f"**/p/{world.acme.id}/channels/")
    row = page.locator("tr.sender-number[data-number='+8225551234']")
    assert row.locator("[data-status]").get_attribute("data-status") == "pending"
    assert "Pending review" in row.inner_text()

    page.context.clear_cookies()
    page.goto("/admin/login/")
    page.fill("#id_username", "staff@munja.test")
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    page.goto("/admin/channels/sendernumber/?status__exact=pending")
    page.locator("input[name=_selected_action]").first.check()
    page.select_option("select[name=action]", "approve")
    page.click("button[name=index]")
    page.wait_for_selector("text=is now Approved")

    page.context.clear_cookies()
    log_in(page, "alice@acme.test", PASSWORD)
    page.goto(f"/p/{world.acme.id}/channels/")
    row = page.locator("tr.sender-number[data-number='+8225551234']")
    assert row.locator("[data-status]").get_attribute("data-status") == "approved"
    # Now it can be chosen for a test SMS.
    assert page.locator("#id_sender_number option").count() == 1
