"""Files offered for download: the error report, the corrected file, samples.

Spreadsheet apps run a cell that starts with `= + - @`, a tab or NUL as a
formula, so every exported free-text cell that starts so gets a `'` in front
(OWASP "CSV injection"). A plain number (`+821012345678`, `-5`, `3.5`) is
left alone: it evaluates to itself and carries no formula, and phone numbers
must stay exactly E.164 to be uploaded again. CSV has no cell types, so
Excel still shows `+821012345678` as the number 821012345678 if the file is
opened by double-click; the console says to import the column as text, and
the xlsx sample stores phone numbers as text cells in a text-formatted column,
which no spreadsheet app converts. CSV files start with a UTF-8 BOM so Excel
reads Korean correctly.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from pathlib import Path

from django.utils.translation import gettext as _

from audiences.files.messages import with_messages
from audiences.files.reading import FileRefused, open_rows
from audiences.files.validation import MAX_STORED_ERRORS, PHONE_COLUMN
from audiences.models import AudienceFile
from console.lib.liquid import template_variables
from console.lib.phone import check_e164, suggest_e164
from console.lib.spreadsheet import neutralise

BOM = "\ufeff"
SAMPLE_PHONE = "+821012345678"


def _csv_lines(rows: Iterator[list[object]]) -> Iterator[str]:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    yield BOM
    for count, row in enumerate(rows, start=1):
        writer.writerow([neutralise(cell) for cell in row])
        if count % 1000 == 0:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


def error_report(audience_file: AudienceFile) -> Iterator[str]:
    """The stored errors as CSV: row, column, column name, code, message."""
    columns = audience_file.columns

    def rows() -> Iterator[list[object]]:
        yield ["row", "column", "columnName", "code", "message"]
        for error in with_messages(audience_file.errors):
            index = error["column"] - 1
            name = columns[index] if 0 <= index < len(columns) else ""
            yield [error["row"], error["column"], name, error["code"], error["message"]]
        if audience_file.error_count > len(audience_file.errors):
            yield [
                "",
                "",
                "",
                "more_errors",
                _("%(shown)d of %(total)d errors are listed; fix these and upload again.")
                % {"shown": MAX_STORED_ERRORS, "total": audience_file.error_count},
            ]

    return _csv_lines(rows())


def corrected_rows(audience_file: AudienceFile) -> Iterator[list[str]]:
    """The file's rows with every national-format number that has a known
    E.164 form rewritten to it; everything else as it was."""
    with open_rows(Path(audience_file.file.path), audience_file.format) as source:
        try:
            for number, cells in source.rows:
                if number > 1 and cells and cells[0] and check_e164(cells[0]) is not None:
                    fixed = suggest_e164(cells[0].strip())
                    if fixed:
                        cells = [fixed, *cells[1:]]
                yield cells
        except FileRefused:
            # A file problem found only at the end (a quote never closed) is
            # in the error report already; the rows as read are given back
            # rather than a download cut off mid-stream.
            return


def corrected_file(audience_file: AudienceFile) -> Iterator[str]:
    return _csv_lines(corrected_rows(audience_file))


def sample_columns(body: str) -> list[str]:
    return [PHONE_COLUMN] + [name for name in template_variables(body) if name != PHONE_COLUMN]


def _sample_values(columns: list[str]) -> list[str]:
    return [SAMPLE_PHONE] + [_("(%(name)s)") % {"name": name} for name in columns[1:]]


def sample_csv(body: str) -> Iterator[str]:
    columns = sample_columns(body)
    return _csv_lines(iter([columns, _sample_values(columns)]))


def sample_xlsx(body: str) -> bytes:
    from openpyxl import Workbook
    from openpyxl.cell.cell import TYPE_STRING

    columns = sample_columns(body)
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "Audience"
    sheet.append([neutralise(name) for name in columns])
    sheet.append([SAMPLE_PHONE] + [neutralise(v) for v in _sample_values(columns)[1:]])
    # Text cells in a text-formatted column: no app turns +8210… into a number.
    phone = sheet.cell(row=2, column=1)
    phone.data_type = TYPE_STRING
    sheet.column_dimensions["A"].number_format = "@"
    sheet.column_dimensions["A"].width = 18
    for row in range(1, 3):
        sheet.cell(row=row, column=1).number_format = "@"
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()
