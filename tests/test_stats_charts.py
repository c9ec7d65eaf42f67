"""The SVG chart geometry: heights in proportion on one scale, zeros draw
nothing, the line shares the bars' slots and scale; the time axis is
labelled at round times, by second, minute, hour or day as the span needs."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from stats.charts import HEIGHT, MAX_TICKS, bar_chart, time_chart, time_ticks


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


# --- the time axis ---------------------------------------------------------------------

SEOUL = ZoneInfo("Asia/Seoul")


def slots(start: datetime, step: timedelta, count: int) -> list[datetime]:
    return [start + i * step for i in range(count)]


def at(day: int, hour: int, minute: int = 0, second: int = 0) -> datetime:
    return datetime(2026, 12, day, hour, minute, second, tzinfo=SEOUL)


SECOND, MINUTE, HOUR, DAY = (
    timedelta(seconds=1),
    timedelta(minutes=1),
    timedelta(hours=1),
    timedelta(days=1),
)


def test_a_one_minute_send_is_labelled_with_its_minute_without_seconds():
    assert time_ticks([at(6, 4, 5)], MINUTE) == {0: "04:05"}


def test_a_few_minutes_are_labelled_on_even_minutes():
    # 04:03 … 04:09: seven slots are too many labels; every 2 minutes fits.
    assert time_ticks(slots(at(6, 4, 3), MINUTE, 7), MINUTE) == {
        1: "04:04",
        3: "04:06",
        5: "04:08",
    }


def test_three_hours_per_minute_are_labelled_every_half_hour():
    ticks = time_ticks(slots(at(6, 4, 0), MINUTE, 180), MINUTE)
    assert list(ticks.values()) == ["04:00", "04:30", "05:00", "05:30", "06:00", "06:30"]


def test_hours_across_days_are_labelled_twice_a_day_with_the_date_when_it_changes():
    ticks = time_ticks(slots(at(5, 0), HOUR, 72), HOUR)
    assert list(ticks.values()) == [
        "12-05 00:00",
        "12:00",
        "12-06 00:00",
        "12:00",
        "12-07 00:00",
        "12:00",
    ]


def test_a_send_past_midnight_names_the_new_day_once():
    # 23:40 … 00:19: every 10 minutes.
    ticks = time_ticks(slots(at(5, 23, 40), MINUTE, 40), MINUTE)
    assert list(ticks.values()) == ["12-05 23:40", "23:50", "12-06 00:00", "00:10"]


def test_thirty_days_are_labelled_by_date_on_mondays():
    ticks = time_ticks(slots(at(1, 0), DAY, 30), DAY)
    assert list(ticks.values()) == ["12-07", "12-14", "12-21", "12-28"]
    assert all(at(1, 0).replace(day=int(label[3:])).weekday() == 0 for label in ticks.values())


def test_a_send_of_80_seconds_is_labelled_every_15_seconds_with_seconds():
    # 04:05:07 … 04:06:26, one slot a second.
    ticks = time_ticks(slots(at(6, 4, 5, 7), SECOND, 80), SECOND)
    assert list(ticks.values()) == ["04:05:15", "04:05:30", "04:05:45", "04:06:00", "04:06:15"]


def test_five_second_steps_are_labelled_on_round_seconds_and_the_date_when_it_changes():
    # 23:59:00 … 00:07:55 in 5-second steps (108 slots): every 2 minutes.
    ticks = time_ticks(slots(at(5, 23, 59), 5 * SECOND, 108), 5 * SECOND)
    assert list(ticks.values()) == ["12-06 00:00:00", "00:02:00", "00:04:00", "00:06:00"]


def test_the_chart_titles_slots_under_a_minute_with_their_second():
    moments = slots(datetime(2026, 12, 5, 19, 3, 58, tzinfo=UTC), SECOND, 5)  # 04:03:58 in Seoul
    with timezone.override(SEOUL):
        chart = time_chart(moments, SECOND, [1, 0, 2, 0, 1], [0, 1, 0, 2, 0])
    assert [bar.label for bar in chart.bars] == [
        "2026-12-06 04:03:58",
        "2026-12-06 04:04:00",
        "2026-12-06 04:04:02",
    ]
    assert [m.label for m in chart.markers][1] == "2026-12-06 04:03:59"
    assert [tick.label for tick in chart.ticks] == [
        "04:03:58",
        "04:03:59",
        "04:04:00",
        "04:04:01",
        "04:04:02",
    ]


def test_markers_shrink_with_narrow_slots_but_stay_visible():
    assert bar_chart(["a", "b"], [1, 2], [2, 1]).marker_radius == 4
    dense = bar_chart([str(i) for i in range(120)], [1] * 120, [1] * 120)
    assert 1.5 <= dense.marker_radius < 4


@pytest.mark.parametrize(
    ("step", "count"),
    [(SECOND, n) for n in (1, 2, 7, 59, 61, 120)]
    + [(timedelta(seconds=s), 120) for s in (2, 5, 10, 15, 30)]
    + [(MINUTE, n) for n in (1, 2, 6, 7, 13, 59, 61, 360)]
    + [(timedelta(minutes=m), 360) for m in (2, 5, 10, 30)]
    + [(HOUR, n) for n in (1, 5, 25, 72)]
    + [(DAY, n) for n in (1, 3, 30, 90, 400)]
    + [(timedelta(days=3), 200)],
)
def test_every_axis_has_one_to_six_labels_at_round_times_with_seconds_only_under_a_minute(
    step, count
):
    start = at(6, 0) if step >= DAY else at(6, 9, 17, 3 if step < MINUTE else 0)
    moments = slots(start, step, count)
    ticks = time_ticks(moments, step)
    assert 1 <= len(ticks) <= MAX_TICKS
    for i, label in ticks.items():
        if step >= DAY:
            assert label == f"{moments[i]:%m-%d}"
        elif step < MINUTE:
            assert label.endswith(f"{moments[i]:%H:%M:%S}")
        else:
            assert not re.search(r"\d:\d\d:\d\d", label)
            assert label.endswith(f"{moments[i]:%H:%M}")


def test_the_chart_puts_the_labels_under_their_slots():
    moments = slots(datetime(2026, 12, 5, 19, 3, tzinfo=UTC), MINUTE, 7)  # 04:03 in Seoul
    with timezone.override(SEOUL):
        chart = time_chart(moments, MINUTE, [1] * 7)
    assert [tick.label for tick in chart.ticks] == ["04:04", "04:06", "04:08"]
    centres = [bar.x + bar.width / 2 for bar in chart.bars]
    assert [tick.x for tick in chart.ticks] == pytest.approx(centres[1::2][:3], abs=0.02)
    assert chart.bars[0].label == "2026-12-06 04:03"


def test_a_label_at_either_end_of_the_plot_stays_inside_the_chart():
    # 04:04:01 … 04:06:00: the last slot is labelled.
    moments = slots(datetime(2026, 12, 5, 19, 4, 1, tzinfo=UTC), SECOND, 120)
    with timezone.override(SEOUL):
        chart = time_chart(moments, SECOND, [1] * 120)
    last = chart.ticks[-1]
    assert last.label == "04:06:00"
    assert last.text_x + len(last.label) * 6.5 / 2 <= chart.width
    assert last.text_x < last.x  # moved in from the slot's centre
    middle = chart.ticks[1]
    assert middle.text_x == middle.x
