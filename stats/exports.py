"""A campaign's statistics as CSV: totals, goals, then both series, each a
block with its own header row, blocks separated by an empty row. Every cell
goes through the shared neutraliser (a campaign or event name may start with
`=`); times are ISO 8601 in UTC."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

from console.lib.spreadsheet import neutralise

BOM = "\ufeff"


def _when(value: datetime | None) -> str:
    return value.astimezone(UTC).isoformat() if value else ""


def _rate(value: float | None) -> str:
    return "" if value is None else f"{value:.6f}"


def rows(stats: dict[str, Any]) -> Iterator[list[object]]:
    yield ["metric", "value"]
    for key in ("campaignId", "name", "status"):
        yield [key, stats[key]]
    yield ["startedAt", _when(stats["startedAt"])]
    yield ["finishedAt", _when(stats["finishedAt"])]
    for key in ("recipients", "queued", "sent", "sentSms", "sentLms", "delivered", "failed"):
        yield [key, stats[key]]
    for reason, count in stats["skipped"].items():
        yield [f"skipped.{reason}", count]
    for key in (
        "skippedTotal",
        "heldNightTime",
        "optoutsAfterSend",
        "clicks",
        "clickedRecipients",
        "conversions",
        "revenue",
        "clickConversions",
        "clickRevenue",
    ):
        yield [key, stats[key]]
    yield ["conversionRate", _rate(stats["conversionRate"])]
    yield ["cost", stats["cost"]["amount"] or ""]
    yield ["costCurrency", stats["cost"]["currency"]]
    yield []
    yield [
        "goal",
        "eventName",
        "windowSeconds",
        "basis",
        "conversions",
        "revenue",
        "conversionRate",
    ]
    for goal in stats["goals"]:
        for basis in ("send", "click"):
            numbers = goal[basis]
            yield [
                goal["position"],
                goal["eventName"],
                goal["windowSeconds"],
                basis,
                numbers["conversions"],
                numbers["revenue"],
                _rate(numbers["conversionRate"]),
            ]
    yield []
    step = stats["sendSeries"]["stepSeconds"]
    yield [f"sendSeries (UTC, {step} s steps)", "sent", "delivered", "failed"]
    for point in stats["sendSeries"]["points"]:
        yield [_when(point["at"]), point["sent"], point["delivered"], point["failed"]]
    yield []
    yield [
        f"conversionSeries (per {stats['conversionSeries']['step']})",
        "conversions",
        "revenue",
        "clickConversions",
        "clickRevenue",
    ]
    for point in stats["conversionSeries"]["points"]:
        yield [
            _when(point["at"]),
            point["conversions"],
            point["revenue"],
            point["clickConversions"],
            point["clickRevenue"],
        ]


def csv_text(stats: dict[str, Any]) -> str:
    """The whole file (a few hundred rows at most), UTF-8 BOM first so Excel
    reads Hangul names correctly."""
    buffer = io.StringIO()
    buffer.write(BOM)
    writer = csv.writer(buffer)
    for row in rows(stats):
        writer.writerow([neutralise(cell) for cell in row])
    return buffer.getvalue()


def filename(stats: dict[str, Any]) -> str:
    return f"campaign-{stats['campaignId']}-statistics.csv"
