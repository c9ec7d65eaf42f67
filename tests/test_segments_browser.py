"""In a real browser: carol builds a segment, the live count changes as she
adds conditions, and she saves it."""

from __future__ import annotations

import pytest

from audiences.models import Customer, CustomerTag, Segment
from tests.support.browser import log_in
from tests.support.world import PASSWORD

pytestmark = pytest.mark.browser


def test_carol_builds_a_segment_with_a_live_count(page, world):
    for user_id, country, plan in [
        ("ann", "KR", "gold"),
        ("ben", "US", "gold"),
        ("cho", "KR", "free"),
    ]:
        customer = Customer.objects.create(project=world.acme, user_id=user_id, country=country)
        CustomerTag.objects.create(customer=customer, key="plan", value=plan)
    Customer.objects.create(project=world.bolt, user_id="zed", country="KR")

    log_in(page, "carol@acme.test", PASSWORD)
    page.goto(f"/p/{world.acme.id}/segments/")
    page.click("text=New segment")
    total = page.locator(".segment-total")
    page.wait_for_selector(".segment-total[data-count='3']")

    page.click(".segment-add-condition")  # country is KR by default
    page.fill(".segment-condition >> nth=0 >> .segment-value", "KR")
    page.wait_for_selector(".segment-total[data-count='2']")
    assert set(
        page.locator(".segment-preview [data-user-id]").evaluate_all(
            "rows => rows.map(r => r.dataset.userId)"
        )
    ) == {"ann", "cho"}

    page.click(".segment-group > .segment-tools .segment-add-condition")
    second = page.locator(".segment-condition").nth(1)
    second.locator(".segment-kind").select_option("tag")
    second = page.locator(".segment-condition").nth(1)
    second.locator(".segment-tag-key").fill("plan")
    second.locator(".segment-value").fill("gold")
    page.wait_for_selector(".segment-total[data-count='1']")
    assert "1 user matches" in total.inner_text()

    page.locator(".segment-match").first.select_option("any")
    page.wait_for_selector(".segment-total[data-count='3']")

    page.fill("#id_name", "Gold or Korea")
    page.click("#segment-save")
    page.wait_for_selector("text=Segment Gold or Korea is saved.")
    segment = Segment.objects.get(project=world.acme)
    assert segment.definition == {
        "match": "any",
        "conditions": [
            {"kind": "attribute", "field": "country", "op": "eq", "value": "KR"},
            {"kind": "tag", "key": "plan", "op": "eq", "value": "gold"},
        ],
    }
    page.goto(f"/p/{world.acme.id}/segments/")
    page.wait_for_selector("tr.segment[data-name='Gold or Korea'] .segment-count:text('3')")
