"""Server-rendered SVG charts: the geometry of bars and a line, computed here
and drawn by templates/stats/_chart.html with SVG attributes only (no
script, no inline style), so the charts pass the console's strict CSP and
need no JavaScript library.

Heights are proportional to the values on one scale from 0 to the largest
value of the chart; a zero draws no bar.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.utils import timezone

WIDTH = 720
HEIGHT = 220
LEFT = 48  # room for the y-axis labels
RIGHT = 8
TOP = 12
BOTTOM = 24  # room for the x-axis labels
BAR_FILL = 0.8  # share of its slot a bar fills
# A send of one or two minutes has one or two slots: a bar as wide as the
# plot reads as a block, not a bar.
MAX_BAR_WIDTH = 48
# A point of the line is a ring of this radius at most; in narrow slots it
# shrinks with them (to MIN_MARKER_RADIUS), so 120 points read as a line
# with dots, not as a chain of overlapping rings.
MARKER_RADIUS = 4
MIN_MARKER_RADIUS = 1.5
MAX_TICKS = 6
# The width of a character of an axis label (11 px digits), to keep labels
# inside the chart.
TICK_CHAR_WIDTH = 6.5
# The spaces between two labels of a time axis, in seconds: round times on
# the clock (every 10 seconds, every 5 minutes, every 3 hours, every week…).
TICK_SECONDS = (
    *(1, 2, 5, 10, 15, 30),
    *(60 * m for m in (1, 2, 5, 10, 15, 30)),
    *(3600 * h for h in (1, 2, 3, 6, 12)),
    *(86400 * d for d in (1, 2, 7, 14, 28, 56, 91, 182, 364)),
)


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    value: int | float
    label: str


@dataclass(frozen=True)
class Marker:
    """A point of the line, drawn as a focusable mark with its value, so a
    single point (a one-minute send) is still visible and readable."""

    x: float
    y: float
    value: int | float
    label: str


@dataclass(frozen=True)
class Tick:
    """An axis label under the slot centred at `x`, written centred at
    `text_x`: the same, or moved in so a label at either end of the plot
    stays inside the chart."""

    x: float
    label: str
    text_x: float = 0.0


@dataclass(frozen=True)
class Chart:
    width: int
    height: int
    left: int
    top: int
    bottom: float  # y of the baseline
    right: float  # x of the right end of the plot
    scale_max: int | float
    bars: list[Bar]
    line: str  # polyline points, "" without a line
    line_values: str  # the line's values, comma-separated (for readers and tests)
    first_label: str
    last_label: str
    markers: tuple[Marker, ...] = ()
    ticks: tuple[Tick, ...] = ()
    marker_radius: float = MARKER_RADIUS

    @property
    def middle(self) -> float:
        return (self.top + self.bottom) / 2


def _fmt(value: float) -> str:
    return f"{value:.2f}".rstrip("0").rstrip(".")


def bar_chart(
    labels: Sequence[str],
    bars: Sequence[int | float],
    line: Sequence[int | float] | None = None,
    *,
    ticks: Mapping[int, str] | None = None,
    width: int = WIDTH,
    height: int = HEIGHT,
) -> Chart:
    """Bars for `bars` and, optionally, a polyline for `line` (same slots,
    same scale), one slot per label. `labels` name each slot in full (the
    values' titles); `ticks` (slot → a shorter label) are written under the
    axis, by default the labels of at most MAX_TICKS evenly spaced slots."""
    count = len(labels)
    plot_width = width - LEFT - RIGHT
    plot_height = height - TOP - BOTTOM
    baseline = TOP + plot_height
    largest = max([*bars, *(line or []), 0])
    slot = plot_width / count if count else plot_width
    drawn = []
    for i, (label, value) in enumerate(zip(labels, bars, strict=True)):
        if value <= 0 or largest <= 0:
            continue
        bar_height = plot_height * value / largest
        bar_width = max(min(slot * BAR_FILL, MAX_BAR_WIDTH), 0.5)
        drawn.append(
            Bar(
                x=round(LEFT + i * slot + (slot - bar_width) / 2, 2),
                y=round(baseline - bar_height, 2),
                width=round(bar_width, 2),
                height=round(bar_height, 2),
                value=value,
                label=label,
            )
        )
    points = ""
    markers: list[Marker] = []
    if line is not None and count:
        coordinates = [
            (
                LEFT + (i + 0.5) * slot,
                baseline - (plot_height * v / largest if largest > 0 else 0),
            )
            for i, v in enumerate(line)
        ]
        points = " ".join(f"{_fmt(x)},{_fmt(y)}" for x, y in coordinates)
        markers = [
            Marker(round(x, 2), round(y, 2), value, label)
            for (x, y), value, label in zip(coordinates, line, labels, strict=True)
        ]
    if ticks is None:
        every = max(1, -(-count // MAX_TICKS))
        ticks = {i: labels[i] for i in range(0, count, every)}
    axis = []
    for i in sorted(ticks):
        if i < count:
            x = LEFT + (i + 0.5) * slot
            half = len(ticks[i]) * TICK_CHAR_WIDTH / 2
            text_x = min(max(x, half + 1), width - half - 1)
            axis.append(Tick(round(x, 2), ticks[i], round(text_x, 2)))
    return Chart(
        width=width,
        height=height,
        left=LEFT,
        top=TOP,
        bottom=baseline,
        right=width - RIGHT,
        scale_max=largest,
        bars=drawn,
        line=points,
        line_values=",".join(_fmt(v) for v in (line or [])),
        first_label=labels[0] if labels else "",
        last_label=labels[-1] if labels else "",
        markers=tuple(markers),
        ticks=tuple(axis),
        marker_radius=round(max(MIN_MARKER_RADIUS, min(MARKER_RADIUS, slot * 0.3)), 2),
    )


def _on_the_clock(moment: datetime, seconds: int) -> bool:
    """Whether a local `moment` is a round time for labels `seconds` apart:
    a multiple of them since midnight, or for whole days, since a Monday
    (day 1 of the calendar was a Monday, so weekly labels fall on Mondays)."""
    if seconds < 86400:
        of_day = moment.hour * 3600 + moment.minute * 60 + moment.second
        return moment.microsecond == 0 and of_day % seconds == 0
    days = seconds // 86400
    midnight = (moment.hour, moment.minute, moment.second) == (0, 0, 0)
    return midnight and (moment.date().toordinal() - 1) % days == 0


def time_ticks(moments: Sequence[datetime], step: timedelta) -> dict[int, str]:
    """Where a time axis is labelled and with what, for slots starting at
    the local `moments`, `step` apart: at most MAX_TICKS labels on round
    times at the narrowest spacing that fits (every 15 seconds of a
    one-minute send, every 15 minutes of a few hours, every 6 hours across
    days, every week of a quarter). Daily steps show the date; shorter ones
    the time of day, with seconds only when the step is under a minute, and
    the date on the first label and wherever the date changes when the
    series spans days."""
    if not moments:
        return {}
    step_seconds = max(1, round(step.total_seconds()))
    chosen: list[int] = []
    for seconds in TICK_SECONDS:
        if seconds % step_seconds:
            continue
        chosen = [i for i, m in enumerate(moments) if _on_the_clock(m, seconds)]
        if 0 < len(chosen) <= MAX_TICKS:
            break
    else:
        every = -(-len(moments) // MAX_TICKS)
        chosen = list(range(0, len(moments), every))
    if step_seconds >= 86400:
        return {i: f"{moments[i]:%m-%d}" for i in chosen}
    clock = "%H:%M:%S" if step_seconds < 60 else "%H:%M"
    days_apart = moments[0].date() != moments[-1].date()
    labels: dict[int, str] = {}
    shown_date = None
    for i in chosen:
        moment = moments[i]
        if days_apart and moment.date() != shown_date:
            labels[i] = moment.strftime(f"%m-%d {clock}")
            shown_date = moment.date()
        else:
            labels[i] = moment.strftime(clock)
    return labels


def time_chart(
    moments: Sequence[datetime],
    step: timedelta,
    bars: Sequence[int | float],
    line: Sequence[int | float] | None = None,
) -> Chart:
    """A bar chart over time, in the current time zone: each slot titled
    with its date and time (the date alone for daily steps, with seconds for
    steps under a minute), the axis labelled by `time_ticks`."""
    local = [timezone.localtime(m) for m in moments]
    if step >= timedelta(days=1):
        full = "%Y-%m-%d"
    elif step < timedelta(minutes=1):
        full = "%Y-%m-%d %H:%M:%S"
    else:
        full = "%Y-%m-%d %H:%M"
    return bar_chart([m.strftime(full) for m in local], bars, line, ticks=time_ticks(local, step))
