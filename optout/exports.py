"""The opt-out list as csv or xlsx, safe to open in a spreadsheet.

Every phone number starts with `+`, which Excel, LibreOffice and Google
Sheets read as the start of a formula (or a number, dropping the `+`). So:

- csv: any cell starting with `= + - @`, a tab, CR or NUL gets a leading `'`,
  the spreadsheet convention for "this is text" (OWASP's advice for CSV
  injection). `+821012345678` is written `'+821012345678`; the import accepts
  that form, so an export can be imported again.
- xlsx: every cell is written as a typed string, never a formula, with the
  "quote prefix" flag set on cells that start with one of those characters —
  exactly what Excel stores when a person types `'+8210…`. The cell's value
  stays the number itself.
"""

from __future__ import annotations

import csv
import tempfile
from collections.abc import Iterable, Iterator

from django.db.models import QuerySet
from django.utils import timezone
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\0")
HEADER = ["phoneNumber", "source", "optedOutAt", "optedOutBy"]


def neutralise(value: str) -> str:
    """A csv cell that no spreadsheet evaluates."""
    return "'" + value if value.startswith(FORMULA_STARTS) else value


def _rows(entries: QuerySet) -> Iterator[list[str]]:
    rows = entries.select_related("created_by").order_by("id").iterator(chunk_size=2000)
    for entry in rows:
        by = entry.created_by.email if entry.created_by else ""
        yield [
            entry.phone_number,
            entry.source,
            timezone.localtime(entry.created_at).isoformat(timespec="seconds"),
            by,
        ]


class _Echo:
    def write(self, value: str) -> str:
        return value


def csv_lines(entries: QuerySet) -> Iterator[str]:
    """The csv, line by line, for a streaming response (UTF-8 with a BOM so
    Excel reads Hangul correctly)."""
    writer = csv.writer(_Echo())
    yield "\ufeff" + writer.writerow(HEADER)
    for row in _rows(entries):
        yield writer.writerow([neutralise(cell) for cell in row])


def write_xlsx(entries: QuerySet) -> tempfile.SpooledTemporaryFile:
    """The xlsx in a temporary file, rewound, ready to stream."""
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("Opt-outs")
    sheet.column_dimensions["A"].width = 18
    sheet.column_dimensions["C"].width = 26
    sheet.append(HEADER)
    for row in _rows(entries):
        sheet.append(list(_xlsx_cells(sheet, row)))
    # Handed to the response, which closes it once sent.
    output = tempfile.SpooledTemporaryFile(max_size=8 * 1024 * 1024)  # noqa: SIM115
    workbook.save(output)
    output.seek(0)
    return output


def _xlsx_cells(sheet: object, row: Iterable[str]) -> Iterator[WriteOnlyCell]:
    for value in row:
        cell = WriteOnlyCell(sheet, value=value)
        # openpyxl turns a string starting with "=" into a formula: undo that.
        cell.data_type = "s"
        if value.startswith(FORMULA_STARTS):
            cell.number_format = "@"
            cell.quotePrefix = True
        yield cell
