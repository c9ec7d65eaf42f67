"""Reading an existing opt-out list to migrate it: a csv or xlsx file with a
`phoneNumber` column. Only reads and checks the file; applying it is
`optout.actions.do_import_optouts`.

Whole-file problems (too big, not csv/xlsx, not UTF-8, no `phoneNumber`
column, an xlsx that unzips to far more than it weighs) raise
`ImportRejected` with a message that says what to fix; nothing is applied.
Problems with single rows are the report's business, not this module's.
"""

from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext as _

from console.lib import tabular

HEADER = "phoneNumber"
XLSX_MAGIC = tabular.ZIP_MAGIC
# An xlsx is a zip of XML: refuse zip bombs before anything unpacks them.
XLSX_MAX_RATIO = 20
XLSX_MAX_ENTRIES = 1000


class ImportRejected(ValueError):
    """The file as a whole cannot be read; the message says why."""


@dataclass(frozen=True)
class ImportRow:
    """One data row: its row number as a spreadsheet shows it, and the cell."""

    row: int
    value: str


def read_numbers(upload: UploadedFile) -> list[ImportRow]:
    """The `phoneNumber` cells of every non-empty data row of a csv or xlsx."""
    name = upload.name or _("the file")
    limit = settings.OPTOUT_IMPORT_MAX_BYTES
    if not upload.size:
        raise ImportRejected(_("%(name)s is empty.") % {"name": name})
    if upload.size > limit:
        raise ImportRejected(
            _("%(name)s is %(size)s; the limit is %(limit)s.")
            % {"name": name, "size": filesizeformat(upload.size), "limit": filesizeformat(limit)}
        )
    upload.seek(0)
    data = upload.read()
    if data.startswith(XLSX_MAGIC):
        rows = _xlsx_rows(data, name, limit)
    elif name.lower().endswith((".xlsx", ".xls", ".xlsm")):
        raise ImportRejected(
            _("%(name)s is not an xlsx workbook; save it as .xlsx or .csv.") % {"name": name}
        )
    else:
        rows = _csv_rows(data, name)
    return _phone_column(rows, name)


def _csv_rows(data: bytes, name: str) -> list[tuple[int, list[str]]]:
    if tabular.first_non_utf8_line([data.removeprefix(b"\xef\xbb\xbf")]) is not None:
        if not tabular.decodes_as([data], "cp949"):
            raise ImportRejected(
                _("%(name)s is not a UTF-8 text file; upload a csv saved as UTF-8, or an xlsx.")
                % {"name": name}
            ) from None
        raise ImportRejected(
            _(
                "%(name)s is encoded in CP949/EUC-KR; save it as CSV UTF-8 "
                "(Excel: Save As → CSV UTF-8) and upload it again."
            )
            % {"name": name}
        ) from None
    text = data.decode("utf-8-sig")
    if "\0" in text:
        raise ImportRejected(_("%(name)s is not a csv file.") % {"name": name})
    try:
        return list(tabular.csv_rows(io.StringIO(text, newline="")))
    except tabular.CsvProblem as exc:
        raise ImportRejected(
            _csv_problem_message(exc) % {"name": name, "row": exc.row, "column": exc.column}
        ) from None


def _csv_problem_message(problem: tabular.CsvProblem) -> str:
    if problem.code == tabular.CSV_UNCLOSED_QUOTE:
        return _(
            "Row %(row)d, column %(column)d of %(name)s opens a quote (\") that is never "
            "closed, so every row after it would be read as part of one cell. Close the "
            "quote or remove it, and upload the file again."
        )
    if problem.code == tabular.CSV_FIELD_TOO_LARGE:
        return _(
            "Row %(row)d of %(name)s has a cell longer than a csv cell may be (often a "
            "quote that is never closed)."
        )
    return _("Row %(row)d of %(name)s cannot be read as csv.")


def _xlsx_rows(data: bytes, name: str, limit: int) -> list[tuple[int, list[str]]]:
    try:
        entries, unpacked = tabular.zip_figures(io.BytesIO(data))
    except zipfile.BadZipFile:
        raise ImportRejected(_("%(name)s is a damaged xlsx file.") % {"name": name}) from None
    if entries > XLSX_MAX_ENTRIES or unpacked > limit * XLSX_MAX_RATIO:
        raise ImportRejected(
            _("%(name)s unpacks to %(size)s; an xlsx may unpack to at most %(limit)s.")
            % {
                "name": name,
                "size": filesizeformat(unpacked),
                "limit": filesizeformat(limit * XLSX_MAX_RATIO),
            }
        )
    try:
        with tabular.xlsx_rows(io.BytesIO(data), stream_above=settings.XLSX_STREAM_BYTES) as sheet:
            # Cells are text as a person sees them: 821012345678, not 821012345678.0.
            return list(sheet.rows)
    except tabular.XlsxError as exc:
        raise ImportRejected(
            _("%(name)s could not be read as an xlsx workbook (%(error)s).")
            % {"name": name, "error": exc}
        ) from None


def _phone_column(rows: list[tuple[int, list[str]]], name: str) -> list[ImportRow]:
    # Row 1 is the header: both readers number rows from 1, empty ones included.
    if not rows:
        raise ImportRejected(_("%(name)s has no rows.") % {"name": name})
    header = [cell.strip() for cell in rows[0][1]]
    matches = [i for i, cell in enumerate(header) if cell.lower() == HEADER.lower()]
    if not matches:
        found = ", ".join(repr(cell) for cell in header if cell) or _("nothing")
        raise ImportRejected(
            _("Row 1 of %(name)s has no %(header)s column (found: %(found)s).")
            % {"name": name, "header": HEADER, "found": found}
        )
    if len(matches) > 1:
        raise ImportRejected(
            _("Row 1 of %(name)s has %(count)d %(header)s columns; keep one.")
            % {"name": name, "count": len(matches), "header": HEADER}
        )
    column = matches[0]
    numbers = []
    for row_number, row in rows[1:]:
        if not any(cell.strip() for cell in row):
            continue
        value = row[column].strip() if column < len(row) else ""
        # Our own csv export writes '+8210… so spreadsheets keep it as text.
        if value.startswith("'+"):
            value = value[1:]
        numbers.append(ImportRow(row_number, value))
    return numbers
