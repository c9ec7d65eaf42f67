"""Every main screen in a real browser, at a desktop (1366×768) and a phone
(390×844) size, in Korean and English: the page must not scroll sideways, no
element may stick out of its container, and the browser console must stay
clean (no CSP refusal, no missing asset, no script error). Each screen is
saved as a PNG: under MUNJA_SCREENSHOTS when set (`make screenshots` sets it
to docs/screenshots/), otherwise in the test's temporary folder."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from django.urls import reverse

from tests.support.browser import log_in
from tests.support.campaigns import segment_campaign
from tests.support.world import PASSWORD
from tests.test_stats import (  # noqa: F401 - fixtures
    acme,
    clock,
    converted,
    scripted,
    sent_campaign,
)

pytestmark = pytest.mark.browser

SIZES = {"desktop": (1366, 768), "phone": (390, 844)}

# Runs in the page (support/overflow.js): what sticks out sideways. An element may not reach past
# the viewport or past a parent that shows its overflow; a parent that clips
# or scrolls (a wide table on a phone) contains it by design.
OVERFLOW_JS = (Path(__file__).parent / "support" / "overflow.js").read_text().split("\n", 1)[1]


def screens(project_id, sent_id: int, draft_id: int, journey_id: int) -> list[tuple[str, str]]:
    p = [project_id]
    builder = reverse("journey_builder", args=[project_id, journey_id])
    return [
        ("dashboard", reverse("dashboard", args=p)),
        ("campaigns", reverse("campaigns", args=p)),
        ("compose", reverse("campaign_compose", args=[project_id, draft_id])),
        ("campaign", reverse("campaign_detail", args=[project_id, sent_id])),
        ("campaign-stats", reverse("campaign_stats", args=[project_id, sent_id])),
        ("journeys", reverse("journeys", args=p)),
        ("journey-builder", builder),
        ("journey-builder-trigger", builder + "?node=start"),
        ("journey-builder-wait", builder + "?node=wait"),
        ("journey-builder-send", builder + "?node=remind"),
        ("journey-builder-split", builder + "?node=split"),
        ("journey-builder-ab", builder + "?node=ab"),
        ("journey-builder-settings", builder + "?panel=settings"),
        ("journey-dryrun", reverse("journey_dryrun", args=[project_id, journey_id])),
        ("statistics", reverse("project_stats", args=p)),
        ("users", reverse("customers", args=p)),
        ("segments", reverse("segments", args=p)),
        ("segment-new", reverse("segment_new", args=p)),
        ("audience-files", reverse("audience_files", args=p)),
        ("optouts", reverse("optouts", args=p)),
        ("consent", reverse("consent", args=p)),
        ("channels", reverse("channels", args=p)),
        ("sms-settings", reverse("sms_settings", args=p)),
        ("members", reverse("members", args=p)),
        ("api-tokens", reverse("api_tokens", args=p)),
        ("audit-log", reverse("audit_log", args=p)),
        ("profile", reverse("my_profile", args=p)),
    ]


def screen_journey(project, actor):
    """A journey with a wait for an event, a condition split, an A/B split
    and a send (and a problem: the A/B percentages add up to 90) for the
    builder's screens."""
    from journeys.actions import do_create_journey, do_save_draft

    journey = do_create_journey(project, "장바구니 리마인드", actor)
    sender = project.sender_numbers.first()
    graph = {
        "nodes": [
            {
                "key": "start",
                "kind": "trigger",
                "config": {
                    "type": "event",
                    "event": "cart_abandoned",
                    "where": [{"field": "cart.total", "op": "gt", "value": 30000}],
                },
                "next": {"next": "wait"},
            },
            {
                "key": "wait",
                "kind": "wait_event",
                "config": {
                    "event": "purchase",
                    "where": [{"field": "channel", "op": "eq", "value": "app"}],
                    "match_field": "cartId",
                    "timeout_seconds": 3600,
                },
                "next": {"event": "end", "timeout": "split"},
            },
            {
                "key": "split",
                "kind": "split",
                "label": "큰 장바구니",
                "config": {
                    "branches": [
                        {
                            "label": "서울 VIP",
                            "segment": {
                                "match": "all",
                                "conditions": [
                                    {
                                        "kind": "attribute",
                                        "field": "country",
                                        "op": "eq",
                                        "value": "KR",
                                    }
                                ],
                            },
                            "entry_data": [
                                {"field": "total", "op": "gt", "value": 50000},
                                {"field": "cartId", "op": "eq", "value": "a-very-long-cart-id-1"},
                            ],
                        }
                    ]
                },
                "next": {"b0": "ab", "else": "end"},
            },
            {
                "key": "ab",
                "kind": "ab",
                "config": {"variants": [{"key": "a", "percent": 50}, {"key": "b", "percent": 40}]},
                "next": {"a": "remind", "b": "end"},
            },
            {
                "key": "remind",
                "kind": "send",
                "label": "장바구니 알림",
                "config": {
                    "sender_number_id": sender.pk if sender else None,
                    "body": "{{ name }}님, 장바구니에 상품이 남아 있어요",
                },
                "next": {"sent": "end"},
            },
            {"key": "end", "kind": "exit", "config": {}, "next": {}},
        ]
    }
    do_save_draft(journey, graph, {}, actor)
    return journey


def shots_dir(tmp_path: Path) -> Path:
    folder = Path(os.environ.get("MUNJA_SCREENSHOTS") or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def watch_console(page) -> list[str]:
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(f"script error: {e}"))
    page.on(
        "response",
        lambda r: errors.append(f"{r.status} {r.url}") if r.status >= 400 else None,
    )
    return errors


def check(page, errors: list[str], folder: Path, shot: str, *, full_page: bool = True) -> list[str]:
    page.wait_for_load_state("networkidle")
    problems = [f"{shot}: {p}" for p in page.evaluate(OVERFLOW_JS)]
    problems += [f"{shot}: console: {e}" for e in errors]
    errors.clear()
    page.screenshot(path=str(folder / f"{shot}.png"), full_page=full_page)
    return problems


@pytest.mark.parametrize("size", list(SIZES))
@pytest.mark.parametrize("language", ["ko", "en"])
def test_every_main_screen_fits_and_keeps_the_console_clean(
    browser,
    live_server,
    world,
    converted,  # noqa: F811
    clock,  # noqa: F811
    tmp_path,
    language,
    size,
):
    draft = segment_campaign(converted.project, name="Autumn preview")
    journey = screen_journey(converted.project, world.alice)
    width, height = SIZES[size]
    context = browser.new_context(
        base_url=live_server.url,
        viewport={"width": width, "height": height},
        locale="ko-KR" if language == "ko" else "en-US",
    )
    context.set_default_timeout(20000)
    folder = shots_dir(tmp_path)
    problems: list[str] = []
    try:
        page = context.new_page()
        errors = watch_console(page)
        page.goto("/login/")
        problems += check(page, errors, folder, f"{language}-{size}-login")
        log_in(page, "alice@acme.test", PASSWORD)
        for name, url in screens(converted.project_id, converted.pk, draft.pk, journey.pk):
            page.goto(url)
            assert page.locator("html").get_attribute("lang") == language
            problems += check(page, errors, folder, f"{language}-{size}-{name}")
        # Typing in the composer live-updates the preview through htmx: no
        # console error (CSP, htmx) while it does.
        page.goto(reverse("campaign_compose", args=[converted.project_id, draft.pk]))
        page.wait_for_load_state("networkidle")
        page.locator("#id_body").press_sequentially("{{ name }}님, 봄 세일 20% 할인", delay=20)
        page.wait_for_timeout(600)
        problems += check(page, errors, folder, f"{language}-{size}-compose-typed")
        # The row headings of the consent counts stay on one line (the
        # table scrolls inside its card on a phone).
        page.goto(reverse("consent", args=[converted.project_id]))
        heading = page.locator("#notice-counts tbody th").first.bounding_box()
        assert heading["height"] < 2 * 24, heading
        if size == "phone":
            # The sidebar folds into a menu that the toggle opens.
            page.goto(reverse("dashboard", args=[converted.project_id]))
            # The sends per day scroll inside their card, starting at today.
            scrolled, end = page.evaluate(
                """() => { const c = document.querySelector('#sends-chart .chart-plot');
                           return [c.scrollLeft, c.scrollWidth - c.clientWidth]; }"""
            )
            assert end > 0 and scrolled == pytest.approx(end, abs=1)
            assert not page.locator("#sidebar").is_visible()
            page.click(".menu-toggle")
            page.wait_for_selector("#sidebar.show")
            assert page.locator("#sidebar a[aria-current=page]").is_visible()
            # The open menu covers the screen, not the page: shoot the screen.
            problems += check(page, errors, folder, f"{language}-{size}-menu", full_page=False)
    finally:
        context.close()
    assert not problems, "\n".join(problems)


def test_the_sidebar_marks_the_current_page_and_hides_admin_entries_from_a_viewer(
    page,
    world,
    converted,  # noqa: F811
):
    log_in(page, "dave@acme.test", PASSWORD)  # a viewer
    page.goto(reverse("campaign_stats", args=[converted.project_id, converted.pk]))
    current = page.locator("nav.main-nav a[aria-current=page]")
    assert current.count() == 1
    assert current.inner_text() == "Campaigns"
    labels = page.locator("nav.main-nav a").all_inner_texts()
    assert "Channels" in labels
    for admin_only in ("SMS settings", "Members", "API tokens", "Audit log"):
        assert admin_only not in labels
    page.goto(reverse("dashboard", args=[converted.project_id]))
    assert page.locator("nav.main-nav a[aria-current=page]").inner_text() == "Dashboard"


def test_staff_review_a_sender_number_on_its_admin_page_in_korean(
    browser, live_server, world, document_store, tmp_path
):
    from channels.models import SenderNumber
    from tests.support.sender_numbers import register

    sender = register(world.acme, world.alice)
    context = browser.new_context(base_url=live_server.url, locale="ko-KR")
    context.set_default_timeout(20000)
    folder = shots_dir(tmp_path)
    try:
        page = context.new_page()
        errors = watch_console(page)
        log_in(page, world.staff.email, PASSWORD)
        page.goto(reverse("admin:channels_sendernumber_change", args=[sender.pk]))
        problems = check(page, errors, folder, "ko-desktop-admin-sender-number")
        assert page.locator("#review-approve").is_visible()
        assert (
            page.locator("a[href*='/documents/']").count() >= 1 or "certificate" in page.content()
        )
        page.fill("#sender-review textarea[name=reason]", "사업자등록증이 흐립니다")
        page.click("#review-reject")
        page.wait_for_load_state("networkidle")
        sender.refresh_from_db()
        assert sender.status == SenderNumber.Status.REJECTED
        problems += check(page, errors, folder, "ko-desktop-admin-sender-number-rejected")
    finally:
        context.close()
    assert not problems, "\n".join(problems)
