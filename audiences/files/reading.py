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

from audiences.files.messages import describe
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
    """The file cannot be read at all; `code` and `params` say why, `row`
    and `column` where. `message` words it in the active language
    (audiences.files.messages); validation stores the code and parameters."""

    def __init__(self, code: str, row: int = 1, column: int = 1, **params: object) -> None:
        super().__init__(code)
        self.code = code
        self.row = row
        self.column = column
        self.params = params

    @property
    def message(self) -> str:
        return describe(self.code, self.params, row=self.row, column=self.column)


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
        raise FileRefused("file_type", kind="xls")
    if head.startswith(ZIP_MAGIC):
        if not lower.endswith(".xlsx"):
            raise FileRefused("file_type", kind="zip")
        return XLSX
    if lower.endswith(".xlsx"):
        raise FileRefused("file_type", kind="not_xlsx")
    if not lower.endswith((".csv", ".txt")):
        raise FileRefused("file_type", kind="extension")
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
    cp949 = tabular.decodes_as(_chunks(path), "cp949")
    raise FileRefused("encoding_cp949" if cp949 else "encoding_not_utf8", row=row)


def _csv_rows(handle, size: int) -> Rows:
    raw = handle.buffer
    rows = tabular.csv_rows(handle, refuse=_csv_refused)
    return Rows(rows, lambda: raw.tell() / size if size else 1.0)


def _csv_refused(problem: tabular.CsvProblem) -> FileRefused:
    params: dict[str, object] = {}
    if problem.code == tabular.CSV_FIELD_TOO_LARGE:
        params["limit"] = f"{csv.field_size_limit():,}"
    elif problem.code == tabular.CSV_MALFORMED:
        params["reason"] = problem.reason
    return FileRefused(problem.code, row=problem.row, column=problem.column, **params)


# --- xlsx --------------------------------------------------------------------------


def check_zip(path: Path) -> None:
    """Refuse an xlsx whose zip declares too many entries or too much data,
    before anything is decompressed (zip bombs)."""
    try:
        entries, total = tabular.zip_figures(path)
    except (zipfile.BadZipFile, OSError):
        raise FileRefused("xlsx_unreadable") from None
    if entries > MAX_XLSX_ENTRIES:
        raise FileRefused("xlsx_too_many_entries", count=entries, limit=MAX_XLSX_ENTRIES)
    limit = settings.AUDIENCE_FILE_MAX_UNCOMPRESSED_BYTES
    if total > limit:
        raise FileRefused("xlsx_too_large_uncompressed", size=total, limit=limit)


def xlsx_reader(path: Path) -> str:
    """Which reader an xlsx gets: "stream" when its first sheet's XML is
    larger than settings.XLSX_STREAM_BYTES, else "calamine"."""
    return tabular.xlsx_reader(path, settings.XLSX_STREAM_BYTES)


def _unreadable(exc: Exception) -> FileRefused:
    return FileRefused("xlsx_unreadable", reason=str(exc))


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
        raise FileRefused("file_empty", what="no_sheet") from None
    except XlsxError as exc:
        raise _unreadable(exc) from None
