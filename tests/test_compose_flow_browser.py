"""Issue 4's acceptance flow in headless Chromium, with every real part
running: the live console, a django-q2 cluster subprocess and the sandbox
carrier subprocess.

Upload a file audience → write a body with its variables → see the preview
and the byte count → send a test and see it delivered → schedule a few
seconds ahead in Asia/Seoul → the campaign starts on time → its page shows
the progress until every message is delivered.
"""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from campaigns.models import Campaign
from channels.actions import (
    do_add_optout_pool_numbers,
    do_assign_optout_number,
    do_set_project_gateway,
    sandbox_gateway,
)
from channels.models import SenderNumber
from dispatch.models import Message
from projects.models import Membership
from tests.support.browser import DELIVERY_TIMEOUT_MS, log_in
from tests.support.world import PASSWORD
from tests.test_audience_files_support import csv_bytes, file_store  # noqa: F401

pytestmark = [pytest.mark.browser, pytest.mark.processes, pytest.mark.usefixtures("file_store")]

ROWS = [
    ["phoneNumber", "name", "coupon"],
    ["+821011110001", "Kim", "A-100"],
    ["+821011110002", "Lee", "B-200"],
    ["+821011110003", "Park", "C-300"],
]
BODY = "{{ name }}님, 쿠폰 {{ coupon }} 을 받으세요"


def _diagnose(qcluster, sandbox_carrier) -> str:
    return (
        f"campaigns: {list(Campaign.objects.values('status', 'status_reason', 'started_at'))}\n"
        f"messages (tests too): "
        f"{list(Message.objects.values('outbox_id', 'phone_number', 'status', 'error_message'))}\n"
        f"carrier: {sandbox_carrier.messages()}\n"
        f"qcluster:\n{qcluster.process.output()[-3000:]}"
    )


def test_file_audience_to_delivered_campaign_through_compose(
    page, world, qcluster, sandbox_carrier
):
    acme = world.acme
    do_add_optout_pool_numbers(["+82801234567"], world.staff)
    do_assign_optout_number(acme, world.staff)
    do_set_project_gateway(acme, sandbox_gateway(), world.staff)
    SenderNumber.objects.create(
        project=acme,
        number="+8215881234",
        owner_type=SenderNumber.OwnerType.COMPANY,
        owner_name=acme.company_name,
        status=SenderNumber.Status.APPROVED,
        is_default=True,
    )
    Membership.objects.filter(project=acme, user=world.carol).update(phone_number="+821099990000")
    page.on("dialog", lambda dialog: dialog.accept())

    log_in(page, "carol@acme.test", PASSWORD)
    # The file audience.
    page.goto(f"/p/{acme.id}/audience-files/")
    page.set_input_files(
        "#audience-file",
        files=[{"name": "vip.csv", "mimeType": "text/csv", "buffer": csv_bytes(ROWS)}],
    )
    page.click("button:has-text('Upload and validate')")
    page.wait_for_selector("#file-status[data-status=valid]")

    # A new campaign from the list, then the compose steps.
    page.click("nav >> text=Campaigns")
    page.click("#new-campaign")
    page.wait_for_selector("#step-audience")
    page.fill("#id_name", "VIP coupons")
    page.select_option("#id_audience", label="vip.csv (3 rows)")
    page.wait_for_selector("#audience-status [data-saved=true]")
    page.wait_for_selector("#audience-count [data-count='3']")

    page.fill("#id_body", BODY)
    page.wait_for_selector("#preview-body:has-text('Kim님, 쿠폰 A-100 을 받으세요')")
    size = len("Kim님, 쿠폰 A-100 을 받으세요".encode("cp949"))
    assert page.locator("#preview-bytes").get_attribute("data-bytes") == str(size)
    assert page.locator("#preview-kind").get_attribute("data-kind") == "SMS"
    assert page.locator("#undefined-variables").count() == 0
    # Another row of the file.
    page.fill("#preview-recipient", "3")
    page.wait_for_selector("#preview-body:has-text('Lee님, 쿠폰 B-200')")
    page.click("#save-content")
    page.wait_for_selector("#content-status [data-saved=true]")
    campaign = Campaign.objects.get(project=acme)
    assert campaign.body == BODY

    # Test send to carol's own phone, with row 3's data; watch it delivered.
    page.check("input[name=member][data-phone='+821099990000']")
    page.click("#send-test")
    try:
        page.wait_for_selector(".test-send [data-status=delivered]", timeout=DELIVERY_TIMEOUT_MS)
    except Exception:
        pytest.fail("the test send was never delivered\n" + _diagnose(qcluster, sandbox_carrier))
    test = Message.objects.get(outbox__producer_kind="test")
    assert (test.phone_number, test.body) == ("+821099990000", "Lee님, 쿠폰 B-200 을 받으세요")
    assert not Message.objects.filter(outbox_id=campaign.outbox_id).exists()

    # Schedule ~40 s ahead in Asia/Seoul, review the summary and confirm (the
    # margin covers a loaded machine: the time must still be ahead at confirm).
    at = (timezone.now() + timedelta(seconds=40)).replace(microsecond=0)
    local = at.astimezone(ZoneInfo("Asia/Seoul")).strftime("%Y-%m-%dT%H:%M:%S")
    page.check("input[name=when][value=later]")
    page.fill("#id_send_at", local)
    page.select_option("#id_time_zone", "Asia/Seoul")
    page.click("#review-button")
    page.wait_for_selector("#summary")
    assert "3 recipients" in page.locator("#summary").inner_text()
    page.click("#confirm-launch")
    page.wait_for_url(f"**/campaigns/{campaign.pk}/")
    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.SCHEDULED
    assert campaign.scheduled_at == at
    assert campaign.time_zone == "Asia/Seoul"

    # The campaign page follows it by itself: started, progress, delivered.
    try:
        page.wait_for_selector(
            "#campaign-progress[data-status=sending], #campaign-progress[data-status=completed]",
            timeout=DELIVERY_TIMEOUT_MS,
        )
        page.wait_for_selector("[data-counter=delivered]:text-is('3')", timeout=DELIVERY_TIMEOUT_MS)
    except Exception:
        pytest.fail("the campaign did not deliver\n" + _diagnose(qcluster, sandbox_carrier))
    campaign.refresh_from_db()
    assert at <= campaign.started_at <= at + timedelta(seconds=5)
    assert page.locator("#progress-percent").inner_text() == "100%"
    page.wait_for_selector("#campaign-progress[data-status=completed]", timeout=DELIVERY_TIMEOUT_MS)
    delivered = sorted(
        (m["to"], m["text"])
        for m in sandbox_carrier.messages()
        if m["reference"].startswith(f"c{campaign.outbox_id}-")
    )
    assert delivered == [
        ("+821011110001", "Kim님, 쿠폰 A-100 을 받으세요"),
        ("+821011110002", "Lee님, 쿠폰 B-200 을 받으세요"),
        ("+821011110003", "Park님, 쿠폰 C-300 을 받으세요"),
    ]
