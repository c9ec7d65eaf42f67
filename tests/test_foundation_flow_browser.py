"""The foundation's acceptance flow in headless Chromium, with every real part
running: the live console, a django-q2 cluster subprocess and the sandbox
carrier subprocess.

Log in, switch language, register a sender number and see it pending; staff
approve it in the Django admin; see it approved; send a test SMS and watch it
go from queued to delivered.
"""

from __future__ import annotations

import pytest

from channels.actions import (
    do_add_optout_pool_numbers,
    do_assign_optout_number,
    do_set_project_gateway,
    sandbox_gateway,
)
from dispatch.models import Message
from tests.support.browser import DELIVERY_TIMEOUT_MS, log_in
from tests.support.sender_numbers import PDF_BYTES
from tests.support.world import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.processes, pytest.mark.usefixtures("document_store")]


def _switch_language(page, code: str) -> None:
    page.select_option("#language-switcher", code)
    page.wait_for_selector(f"html[lang={code}]")


def test_register_approve_and_send_a_test_sms_that_reaches_delivered(
    page, world, qcluster, sandbox_carrier
):
    do_add_optout_pool_numbers(["+82801234567"], world.staff)
    do_assign_optout_number(world.acme, world.staff)
    # Set explicitly: an earlier transactional test's flush removes the
    # gateways the data migration seeded.
    do_set_project_gateway(world.acme, sandbox_gateway(), world.staff)
    channels_url = f"/p/{world.acme.id}/channels/"

    log_in(page, "alice@acme.test", PASSWORD)
    _switch_language(page, "ko")
    page.goto(channels_url)
    assert page.locator("html").get_attribute("lang") == "ko"
    _switch_language(page, "en")
    assert "080-123-4567" in page.locator("#optout-number").inner_text()

    page.click("text=Register a sender number")
    page.fill("#id_number", "+8215881234")
    page.check("input[name=owner_type][value=company]")
    page.fill("#id_owner_name", "Acme Corp")
    for field in ("#id_telecom_certificate", "#id_business_registration"):
        page.set_input_files(
            field, files=[{"name": "doc.pdf", "mimeType": "application/pdf", "buffer": PDF_BYTES}]
        )
    page.click("button[type=submit]:has-text('Register')")
    page.wait_for_url(f"**{channels_url}")
    row = page.locator("tr.sender-number[data-number='+8215881234']")
    assert row.locator("[data-status]").get_attribute("data-status") == "pending"
    # A pending number cannot be chosen for a test SMS.
    assert page.locator("#id_sender_number option").count() == 0

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
    page.goto(channels_url)
    row = page.locator("tr.sender-number[data-number='+8215881234']")
    assert row.locator("[data-status]").get_attribute("data-status") == "approved"

    page.select_option("#id_sender_number", label="1588-1234")
    page.fill("#id_to", "+821099998888")
    page.fill("#id_body", "Munja test 문자")
    page.click("button[type=submit]:has-text('Send test SMS')")
    status = page.locator(".test-sms [data-status]").first
    # The page refreshes the status by itself (htmx polling) until it is final.
    try:
        page.wait_for_selector(".test-sms [data-status=delivered]", timeout=DELIVERY_TIMEOUT_MS)
    except Exception:
        rows = list(Message.objects.values())
        pytest.fail(
            f"never delivered: {rows}\ncarrier: {sandbox_carrier.messages()}\n"
            f"qcluster:\n{qcluster.process.output()[-3000:]}"
        )
    assert status.get_attribute("data-status") == "delivered"

    message = Message.objects.get(outbox__producer_kind="test")
    assert message.status == "delivered"
    accepted = sandbox_carrier.messages(message.reference)
    assert [(m["to"], m["from"], m["text"]) for m in accepted] == [
        ("+821099998888", "+8215881234", "Munja test 문자")
    ]
