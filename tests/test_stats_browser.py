"""In a real browser: after a campaign sent through the pipeline and some
conversions, the statistics page shows the numbers and draws the charts —
checked from the geometry the browser laid out, not only the HTML."""

from __future__ import annotations

import pytest

from tests.support.browser import log_in
from tests.support.world import PASSWORD
from tests.test_stats import (  # noqa: F401 - fixtures
    acme,
    clock,
    converted,
    scripted,
    sent_campaign,
    truth,
)

pytestmark = pytest.mark.browser


def boxes(page, selector: str) -> list[dict]:
    return [
        page.locator(selector).nth(i).bounding_box() for i in range(page.locator(selector).count())
    ]


def test_the_statistics_page_shows_the_numbers_and_draws_the_charts(page, world, converted):  # noqa: F811
    violations: list[str] = []
    page.on(
        "console",
        lambda message: (
            violations.append(message.text) if "Content Security Policy" in message.text else None
        ),
    )
    log_in(page, "dave@acme.test", PASSWORD)  # a viewer
    # Every console page, the login page too, reports an inline-style
    # violation that does not come from the charts (the page scaffolding):
    # the statistics page must add none.
    violations.clear()
    page.goto("/login/")
    page.wait_for_load_state("networkidle")
    every_page = len(violations)
    page.goto(f"/p/{converted.project_id}/")
    page.click("nav.main-nav >> text=Statistics")
    page.click(f"tr[data-campaign='{converted.pk}'] >> text=Statistics")
    page.wait_for_url(f"**/campaigns/{converted.pk}/stats")
    violations.clear()
    page.reload()
    page.wait_for_load_state("networkidle")

    expected = truth(converted)
    for key in ("recipients", "sent", "delivered", "failed", "skippedTotal"):
        assert page.inner_text(f"[data-stat={key}]") == str(expected[key])
    assert page.inner_text("[data-stat=conversions]") == "5"
    assert page.inner_text("[data-stat=conversionRate]") == "62.50 %"

    # The send chart: visible, with a real size.
    svg = page.locator("#send-chart svg[role=img]")
    assert svg.is_visible()
    frame = svg.bounding_box()
    assert frame["width"] > 100 and frame["height"] > 50

    # Sent in 5-second steps from 12:00:10 to 12:06:00: 4 at 0:10, 4 at 2:10,
    # 2 at 3:10: three bars, none for the silent steps, heights in
    # proportion, all standing on one baseline.
    bars = boxes(page, "#send-chart rect.bar")
    assert len(bars) == 3
    heights = [b["height"] for b in bars]
    assert heights[0] == pytest.approx(heights[1], abs=0.5)
    assert heights[2] == pytest.approx(heights[0] / 2, abs=0.5)
    bottoms = {round(b["y"] + b["height"]) for b in bars}
    assert len(bottoms) == 1
    # Two minutes between the first two bars, one between the last two.
    minute = bars[2]["x"] - bars[1]["x"]
    assert bars[1]["x"] - bars[0]["x"] == pytest.approx(2 * minute, abs=0.5)

    # Delivered is drawn as a line on the same scale: its peak (8)
    # is twice the tallest bar (4), at the top of the plot.
    line = page.locator("#send-chart polyline.line")
    assert line.is_visible()
    line_box = line.bounding_box()
    # (Its box includes the 2-unit stroke, half of it on each side.)
    assert line_box["height"] - 2 == pytest.approx(2 * heights[0], abs=1.0)
    assert line_box["y"] + line_box["height"] - 1 == pytest.approx(bottoms.pop(), abs=1.0)
    drawn = page.evaluate(
        """() => Array.from(document.querySelector('#send-chart polyline.line').points)
                   .map(p => p.y)"""
    )
    peak = drawn.index(min(drawn))
    assert (len(drawn), peak) == (71, 58)  # 12:05:00, when the reports came in
    assert len(set(drawn[:58] + drawn[59:])) == 1  # every other step on the baseline

    # A bar's and a point's value is written under the chart on keyboard
    # focus and on hover, not only in a hover-only title.
    page.locator("#send-chart rect.bar").first.focus()
    readout = page.locator("#send-chart .chart-readout")
    assert readout.inner_text().endswith("Sent: 4")
    page.locator("#send-chart circle.marker").nth(58).hover()
    assert readout.inner_text().endswith("Delivered: 8")

    # Conversions per hour are [1, 2, 2]: the busiest hours are the tallest.
    conversion_bars = boxes(page, "#conversion-chart rect.bar")
    assert len(conversion_bars) == 3
    first, second, third = (b["height"] for b in conversion_bars)
    assert second == pytest.approx(2 * first, abs=0.5) and third == pytest.approx(second, abs=0.5)
    assert page.locator("#conversion-chart svg[role=img]").is_visible()

    assert len(violations) == every_page
