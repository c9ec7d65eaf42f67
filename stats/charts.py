"""Server-rendered SVG charts: the geometry of bars and a line, computed here
and drawn by templates/stats/_chart.html with SVG attributes only (no
script, no inline style), so the charts pass the console's strict CSP and
need no JavaScript library.

Heights are proportional to the values on one scale from 0 to the largest
value of the chart; a zero draws no bar.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

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
MAX_TICKS = 6


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
    x: float
    label: str


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
    tick_labels: Sequence[str] | None = None,
    width: int = WIDTH,
    height: int = HEIGHT,
) -> Chart:
    """Bars for `bars` and, optionally, a polyline for `line` (same slots,
    same scale), one slot per label. `labels` name each slot in full (the
    values' titles); `tick_labels`, shorter, are written under at most
    MAX_TICKS evenly spaced slots."""
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
    ticks: list[Tick] = []
    if count:
        names = tick_labels if tick_labels is not None else labels
        every = max(1, -(-count // MAX_TICKS))
        ticks = [Tick(round(LEFT + (i + 0.5) * slot, 2), names[i]) for i in range(0, count, every)]
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
        ticks=tuple(ticks),
    )
