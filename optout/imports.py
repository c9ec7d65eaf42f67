"""Reading an existing opt-out list to migrate it: a csv or xlsx file with a
`phoneNumber` column. Only reads and checks the file; applying it is
`optout.actions.do_import_optouts`.

Whole-file problems (too big, too many rows, not csv/xlsx, not UTF-8, no
`phoneNumber` column, an xlsx that unzips to far more than it weighs) raise
`ImportRejected` with a code and its values; `rejection_text()` puts them in
words (in the language active when it is called, so a stored refusal reads in
the reader's language). Nothing is applied. Problems with single rows are the
report's business, not this module's.
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
from console.lib.phone import suggest_e164

HEADER = "phoneNumber"
XLSX_MAGIC = tabular.ZIP_MAGIC
# An xlsx is a zip of XML: refuse zip bombs before anything unpacks them.
XLSX_MAX_RATIO = 20
XLSX_MAX_ENTRIES = 1000


class ImportRejected(ValueError):
    """The file as a whole cannot be read: `code` says why, `params` the values
    the message needs (str() is the message in the active language).

    `ImportRejected("text")` (a message only) is kept for callers that have
    no code for their problem; it is stored and shown as written.
    """

    def __init__(self, code_or_message: str, **params: object) -> None:
        if code_or_message in _rejections():
            self.code, self.params = code_or_message, params
        else:
            self.code, self.params = "file_refused", {"message": code_or_message}
        super().__init__(self.code)

    def __str__(self) -> str:
        return rejection_text(self.code, self.params)


def _rejections() -> dict[str, str]:
    # Looked up at render time, so each reader gets their own language.
    return {
        "file_refused": "%(message)s",
        "file_empty": _("%(name)s is empty."),
        "file_too_large": _("%(name)s is %(size)s; the limit is %(limit)s."),
        "too_many_rows": _(
            "%(name)s has %(rows)s rows; an import may hold at most %(limit)s. "
            "Split it into smaller files."
        ),
        "not_xlsx": _("%(name)s is not an xlsx workbook; save it as .xlsx or .csv."),
        "not_utf8": _(
            "%(name)s is not a UTF-8 text file; upload a csv saved as UTF-8, or an xlsx."
        ),
        "cp949": _(
            "%(name)s is encoded in CP949/EUC-KR; save it as CSV UTF-8 "
            "(Excel: Save As → CSV UTF-8) and upload it again."
        ),
        "not_csv": _("%(name)s is not a csv file."),
        "csv_unclosed_quote": _(
            'Row %(row)d, column %(column)d of %(name)s opens a quote (") that is never '
            "closed, so every row after it would be read as part of one cell. Close the "
            "quote or remove it, and upload the file again."
        ),
        "csv_field_too_large": _(
            "Row %(row)d of %(name)s has a cell longer than a csv cell may be (often a "
            "quote that is never closed)."
        ),
        "csv_unreadable": _("Row %(row)d of %(name)s cannot be read as csv."),
        "xlsx_damaged": _("%(name)s is a damaged xlsx file."),
        "xlsx_unpacks_too_large": _(
            "%(name)s unpacks to %(size)s; an xlsx may unpack to at most %(limit)s."
        ),
        "xlsx_unreadable": _("%(name)s could not be read as an xlsx workbook (%(error)s)."),
        "no_rows": _("%(name)s has no rows."),
        "no_phone_column": _("Row 1 of %(name)s has no %(header)s column (found: %(found)s)."),
        "phone_columns": _("Row 1 of %(name)s has %(count)d %(header)s columns; keep one."),
    }


_SIZES = ("size", "limit")


def rejection_text(code: str, params: dict) -> str:
    """The message for a refusal `code` with its `params`, in the active language."""
    template = _rejections().get(code)
    if template is None:
        return _("The file could not be imported (%(code)s).") % {"code": code}
    values = dict(params)
    if code in ("file_too_large", "xlsx_unpacks_too_large"):
        values.update({key: filesizeformat(values.get(key, 0)) for key in _SIZES})
    if code == "too_many_rows":
        values.update({key: f"{values.get(key, 0):,}" for key in ("rows", "limit")})
    if code == "no_phone_column" and not values.get("found"):
        values["found"] = _("nothing")
    values.setdefault("name", _("the file"))
    try:
        return template % values
    except (KeyError, TypeError, ValueError):
        return _("The file could not be imported (%(code)s).") % {"code": code}


@dataclass(frozen=True)
class ImportRow:
    """One data row: its row number as a spreadsheet shows it, and the cell."""

    row: int
    value: str


def read_numbers(upload: UploadedFile) -> list[ImportRow]:
    """The `phoneNumber` cells of every non-empty data row of a csv or xlsx."""
    name = upload.name or ""
    limit = settings.OPTOUT_IMPORT_MAX_BYTES
    check_size(name, upload.size)
    upload.seek(0)
    data = upload.read()
    if data.startswith(XLSX_MAGIC):
        rows = _xlsx_rows(data, name, limit)
    elif name.lower().endswith((".xlsx", ".xls", ".xlsm")):
        raise ImportRejected("not_xlsx", name=name)
    else:
        rows = _csv_rows(data, name)
    return _phone_column(rows, name)


def check_size(name: str, size: int | None) -> None:
    """Refuse an empty file or one over `OPTOUT_IMPORT_MAX_BYTES` before storing it."""
    limit = settings.OPTOUT_IMPORT_MAX_BYTES
    if not size:
        raise ImportRejected("file_empty", name=name)
    if size > limit:
        raise ImportRejected("file_too_large", name=name, size=size, limit=limit)


def _csv_rows(data: bytes, name: str) -> list[tuple[int, list[str]]]:
    if tabular.first_non_utf8_line([data.removeprefix(b"\xef\xbb\xbf")]) is not None:
        if not tabular.decodes_as([data], "cp949"):
            raise ImportRejected("not_utf8", name=name) from None
        raise ImportRejected("cp949", name=name) from None
    text = data.decode("utf-8-sig")
    if "\0" in text:
        raise ImportRejected("not_csv", name=name)
    try:
        return list(tabular.csv_rows(io.StringIO(text, newline="")))
    except tabular.CsvProblem as exc:
        raise ImportRejected(
            _CSV_PROBLEMS.get(exc.code, "csv_unreadable"),
            name=name,
            row=exc.row,
            column=exc.column,
        ) from None


_CSV_PROBLEMS = {
    tabular.CSV_UNCLOSED_QUOTE: "csv_unclosed_quote",
    tabular.CSV_FIELD_TOO_LARGE: "csv_field_too_large",
}


def _xlsx_rows(data: bytes, name: str, limit: int) -> list[tuple[int, list[str]]]:
    try:
        entries, unpacked = tabular.zip_figures(io.BytesIO(data))
    except zipfile.BadZipFile:
        raise ImportRejected("xlsx_damaged", name=name) from None
    if entries > XLSX_MAX_ENTRIES or unpacked > limit * XLSX_MAX_RATIO:
        raise ImportRejected(
            "xlsx_unpacks_too_large", name=name, size=unpacked, limit=limit * XLSX_MAX_RATIO
        )
    try:
        with tabular.xlsx_rows(io.BytesIO(data), stream_above=settings.XLSX_STREAM_BYTES) as sheet:
            # Cells are text as a person sees them: 821012345678, not 821012345678.0.
            return list(sheet.rows)
    except tabular.XlsxError as exc:
        raise ImportRejected("xlsx_unreadable", name=name, error=str(exc)) from None


def _phone_column(rows: list[tuple[int, list[str]]], name: str) -> list[ImportRow]:
    # Row 1 is the header: both readers number rows from 1, empty ones included.
    if not rows:
        raise ImportRejected("no_rows", name=name)
    header = [cell.strip() for cell in rows[0][1]]
    matches = [i for i, cell in enumerate(header) if cell.lower() == HEADER.lower()]
    if not matches:
        found = ", ".join(repr(cell) for cell in header if cell)
        raise ImportRejected("no_phone_column", name=name, header=HEADER, found=found)
    if len(matches) > 1:
        raise ImportRejected("phone_columns", name=name, count=len(matches), header=HEADER)
    column = matches[0]
    # Counted before any row is looked at: blank rows count too, so the limit
    # is a bound on the work, whatever the file holds.
    if len(rows) - 1 > settings.OPTOUT_IMPORT_MAX_ROWS:
        raise ImportRejected(
            "too_many_rows", name=name, rows=len(rows) - 1, limit=settings.OPTOUT_IMPORT_MAX_ROWS
        )
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


def row_problem_text(code: str, value: str) -> str:
    """Why a row's number was not imported, in the active language (the
    import stores only the code and the value)."""
    if code == "phone_missing":
        return _("The phone number is empty.")
    if code == "phone_not_e164":
        if value.startswith("+"):
            return _("'%(value)s' is not in E.164 format: only digits may follow the +.") % {
                "value": value
            }
        suggestion = suggest_e164(value)
        text = _("'%(value)s' is not in E.164 format (+ country code and number).") % {
            "value": value
        }
        if suggestion:
            text += " " + _("Write it as %(number)s.") % {"number": suggestion}
        return text
    return _("'%(value)s' is not a valid phone number.") % {"value": value}
