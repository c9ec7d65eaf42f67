"""The consent history as csv, cells neutralised like every other export
(optout.exports.neutralise: no spreadsheet evaluates a cell)."""

from __future__ import annotations

import csv
from collections.abc import Iterator

from django.db.models import QuerySet
from django.utils import timezone

from optout.exports import neutralise

HEADER = [
    "userId",
    "phoneNumber",
    "field",
    "old",
    "new",
    "consentAt",
    "changedAt",
    "source",
    "by",
]


class _Echo:
    def write(self, value: str) -> str:
        return value


def _when(moment: object) -> str:
    return timezone.localtime(moment).isoformat(timespec="seconds") if moment else ""


def _flag(value: bool | None) -> str:
    return "" if value is None else ("true" if value else "false")


def csv_lines(changes: QuerySet) -> Iterator[str]:
    """The csv, line by line, for a streaming response (UTF-8 with a BOM so
    Excel reads Hangul correctly)."""
    writer = csv.writer(_Echo())
    yield "\ufeff" + writer.writerow(HEADER)
    rows = changes.select_related("customer").iterator(chunk_size=2000)
    for change in rows:
        row = [
            change.customer.user_id,
            change.customer.phone_number,
            change.field,
            _flag(change.old),
            _flag(change.new),
            _when(change.consent_at),
            _when(change.changed_at),
            change.source,
            change.actor_label,
        ]
        yield writer.writerow([neutralise(cell) for cell in row])
