"""The SVG chart geometry: heights in proportion on one scale, zeros draw
nothing, the line shares the bars' slots and scale."""

from __future__ import annotations

import pytest

from stats.charts import HEIGHT, bar_chart


def test_bars_are_proportional_and_a_zero_draws_nothing():
    chart = bar_chart(["a", "b", "c", "d"], [10, 0, 5, 20])
    assert [bar.label for bar in chart.bars] == ["a", "c", "d"]
    heights = {bar.label: bar.height for bar in chart.bars}
    plot = chart.bottom - chart.top
    assert heights["d"] == pytest.approx(plot)
    assert heights["a"] == pytest.approx(plot / 2, abs=0.01)
    assert heights["c"] == pytest.approx(plot / 4, abs=0.01)
    assert {round(bar.y + bar.height, 1) for bar in chart.bars} == {chart.bottom}
    assert chart.scale_max == 20


def test_the_line_uses_the_same_slots_and_scale():
    chart = bar_chart(["a", "b", "c"], [1, 2, 0], [0, 4, 2])
    points = [tuple(map(float, p.split(","))) for p in chart.line.split()]
    assert chart.scale_max == 4
    assert [y for _x, y in points] == pytest.approx(
        [chart.bottom, chart.top, (chart.top + chart.bottom) / 2]
    )
    bar_centres = [bar.x + bar.width / 2 for bar in chart.bars]
    assert [x for x, _y in points][:2] == pytest.approx(bar_centres, abs=0.02)
    assert chart.line_values == "0,4,2"


def test_an_empty_or_all_zero_series_draws_no_bars():
    assert bar_chart([], []).bars == []
    chart = bar_chart(["a", "b"], [0, 0], [0, 0])
    assert chart.bars == []
    assert all(float(p.split(",")[1]) == chart.bottom for p in chart.line.split())
    assert chart.height == HEIGHT
