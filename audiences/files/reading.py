"""Open an uploaded audience file and yield its rows as lists of strings.

Whole-file problems (wrong type, not UTF-8, zip bomb, unreadable) raise
FileRefused before any row is read. xlsx cells become the strings a person
sees: formulas their cached values, whole numbers without `.0`, dates ISO.

An xlsx is read by python-calamine, or — when its first sheet's XML is larger
than settings.XLSX_STREAM_BYTES — by the streaming reader in
console/lib/xlsx.py, which gives the same rows without holding the sheet in
memory. Either way an xlsx row ends at its last non-empty cell (trailing
empty cells are dropped) and rows are numbered from 1 as the sheet shows them.
"""

from __future__ import annotations

import csv
import zipfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext as _

from console.lib import tabular
from console.lib.tabular import NoSheet, XlsxError, cell_text

__all__ = ["CSV", "XLSX", "FileRefused", "Rows", "cell_text", "check_zip", "open_rows"]

CSV = "csv"
XLSX = "xlsx"
ZIP_MAGIC = tabular.ZIP_MAGIC
OLE_MAGIC = tabular.OLE_MAGIC
MAX_XLSX_ENTRIES = 1_000
_CHUNK = 1 << 20


class FileRefused(Exception):
    """The file cannot be read at all; `code` and `message` say why, `row`
    where (for an encoding problem)."""

    def __init__(self, code: str, message: str, row: int = 1, column: int = 1) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.row = row
        self.column = column


@dataclass
class Rows:
    """The rows of the file: (1-based row number, cells). `done()` is the
    fraction read so far, for the progress bar."""

    rows: Iterator[tuple[int, list[str]]]
    done: Callable[[], float]
    sheet: str = ""
    sheet_count: int = 0
    notes: list[str] = field(default_factory=list)
    reader: str = CSV  # csv, calamine or stream


def detect_format(name: str, head: bytes) -> str:
    """csv or xlsx by the file's content; the name only has to agree."""
    lower = (name or "").lower()
    if head.startswith(OLE_MAGIC):
        raise FileRefused(
            "file_type",
            _(
                "This is an old Excel (.xls) or password-protected workbook. "
                "Save it as .xlsx without a password, or as CSV UTF-8."
            ),
        )
    if head.startswith(ZIP_MAGIC):
        if not lower.endswith(".xlsx"):
            raise FileRefused(
                "file_type", _("The file is a zip archive; upload a .csv or .xlsx file.")
            )
        return XLSX
    if lower.endswith(".xlsx"):
        raise FileRefused("file_type", _("The file is named .xlsx but is not an Excel workbook."))
    if not lower.endswith((".csv", ".txt")):
        raise FileRefused("file_type", _("Upload a .csv or .xlsx file."))
    return CSV


@contextmanager
def open_rows(path: Path, fmt: str) -> Iterator[Rows]:
    if fmt == XLSX:
        check_zip(path)
        with _xlsx_rows(path) as rows:
            yield rows
    else:
        check_utf8(path)
        with open(path, encoding="utf-8-sig", newline="") as handle:
            yield _csv_rows(handle, path.stat().st_size)


# --- CSV ---------------------------------------------------------------------------


def check_utf8(path: Path) -> None:
    """Refuse a csv that is not UTF-8, naming CP949/EUC-KR when it is that,
    with the row (line) of the first byte that is not UTF-8."""
    row = tabular.first_non_utf8_line(_chunks(path))
    if row is not None:
        _refuse_encoding(path, row)


def _chunks(path: Path) -> Iterator[bytes]:
    with open(path, "rb") as handle:
        while chunk := handle.read(_CHUNK):
            yield chunk


def _refuse_encoding(path: Path, row: int) -> None:
    how = _(
        "Save it as UTF-8: in Excel choose File › Save As › 'CSV UTF-8 (Comma delimited)'; "
        "in Numbers or Google Sheets export as CSV (always UTF-8)."
    )
    if not tabular.decodes_as(_chunks(path), "cp949"):
        raise FileRefused(
            "encoding_not_utf8",
            _("The file is not UTF-8 text (first unreadable byte on row %(row)d). %(how)s")
            % {"row": row, "how": how},
            row=row,
        )
    raise FileRefused(
        "encoding_cp949",
        _(
            "The file is encoded in CP949/EUC-KR (Korean Windows), not UTF-8 "
            "(first seen on row %(row)d). %(how)s"
        )
        % {"row": row, "how": how},
        row=row,
    )


def _csv_rows(handle, size: int) -> Rows:
    raw = handle.buffer

    def rows() -> Iterator[tuple[int, list[str]]]:
        try:
            yield from tabular.csv_rows(handle)
        except tabular.CsvProblem as exc:
            raise FileRefused(
                exc.code, csv_problem_message(exc), row=exc.row, column=exc.column
            ) from None

    return Rows(rows(), lambda: raw.tell() / size if size else 1.0)


def csv_problem_message(problem: tabular.CsvProblem) -> str:
    """What the person who made the file should fix, in their language."""
    if problem.code == tabular.CSV_UNCLOSED_QUOTE:
        return _(
            "Row %(row)d, column %(column)d opens a quote (\") that is never closed, so "
            "everything after it would be read as one cell. Close the quote or remove it."
        ) % {"row": problem.row, "column": problem.column}
    if problem.code == tabular.CSV_FIELD_TOO_LARGE:
        return _(
            "Row %(row)d has a cell longer than %(limit)s characters (often a quote that "
            "is never closed)."
        ) % {"row": problem.row, "limit": f"{csv.field_size_limit():,}"}
    return _("Row %(row)d cannot be read as CSV: %(reason)s.") % {
        "row": problem.row,
        "reason": problem.reason,
    }


# --- xlsx --------------------------------------------------------------------------


def check_zip(path: Path) -> None:
    """Refuse an xlsx whose zip declares too many entries or too much data,
    before anything is decompressed (zip bombs)."""
    try:
        entries, total = tabular.zip_figures(path)
    except (zipfile.BadZipFile, OSError):
        raise FileRefused(
            "xlsx_unreadable", _("The file is not a readable .xlsx workbook.")
        ) from None
    if entries > MAX_XLSX_ENTRIES:
        raise FileRefused(
            "xlsx_too_many_entries",
            _("The workbook has %(count)d parts; at most %(limit)d are accepted.")
            % {"count": entries, "limit": MAX_XLSX_ENTRIES},
        )
    limit = settings.AUDIENCE_FILE_MAX_UNCOMPRESSED_BYTES
    if total > limit:
        raise FileRefused(
            "xlsx_too_large_uncompressed",
            _(
                "The workbook unpacks to %(size)s; the limit is %(limit)s. "
                "Remove other sheets or upload the list as CSV UTF-8."
            )
            % {"size": filesizeformat(total), "limit": filesizeformat(limit)},
        )


def xlsx_reader(path: Path) -> str:
    """Which reader an xlsx gets: "stream" when its first sheet's XML is
    larger than settings.XLSX_STREAM_BYTES, else "calamine"."""
    return tabular.xlsx_reader(path, settings.XLSX_STREAM_BYTES)


def _unreadable(exc: Exception) -> FileRefused:
    return FileRefused(
        "xlsx_unreadable",
        _("The workbook cannot be read: %(reason)s.") % {"reason": exc},
    )


@contextmanager
def _xlsx_rows(path: Path) -> Iterator[Rows]:
    try:
        with tabular.xlsx_rows(path, stream_above=settings.XLSX_STREAM_BYTES) as sheet:

            def rows() -> Iterator[tuple[int, list[str]]]:
                try:
                    yield from sheet.rows
                except XlsxError as exc:
                    raise _unreadable(exc) from None

            yield Rows(
                rows(),
                sheet.done,
                sheet=sheet.sheet,
                sheet_count=sheet.sheet_count,
                reader=sheet.reader,
            )
    except NoSheet:
        raise FileRefused("file_empty", _("The workbook has no sheet.")) from None
    except XlsxError as exc:
        raise _unreadable(exc) from None
