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

import codecs
import csv
import zipfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext as _

from console.lib.xlsx import XlsxError, cell_text, open_sheet, sheet_part_size

__all__ = ["CSV", "XLSX", "FileRefused", "Rows", "cell_text", "check_zip", "open_rows"]

CSV = "csv"
XLSX = "xlsx"
ZIP_MAGIC = b"PK\x03\x04"
OLE_MAGIC = b"\xd0\xcf\x11\xe0"  # legacy .xls, and password-protected xlsx
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
        if xlsx_reader(path) == "stream":
            with _xlsx_stream_rows(path) as rows:
                yield rows
        else:
            yield _xlsx_rows(path)
    else:
        check_utf8(path)
        with open(path, encoding="utf-8-sig", newline="") as handle:
            yield _csv_rows(handle, path.stat().st_size)


# --- CSV ---------------------------------------------------------------------------


def check_utf8(path: Path) -> None:
    """Refuse a csv that is not UTF-8, naming CP949/EUC-KR when it is that,
    with the row (line) of the first byte that is not UTF-8."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    lines = 0
    with open(path, "rb") as handle:
        while chunk := handle.read(_CHUNK):
            try:
                decoder.decode(chunk)
            except UnicodeDecodeError as exc:
                _refuse_encoding(path, lines + chunk.count(b"\n", 0, exc.start) + 1)
            lines += chunk.count(b"\n")
        try:
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            _refuse_encoding(path, lines + 1)


def _refuse_encoding(path: Path, row: int) -> None:
    how = _(
        "Save it as UTF-8: in Excel choose File › Save As › 'CSV UTF-8 (Comma delimited)'; "
        "in Numbers or Google Sheets export as CSV (always UTF-8)."
    )
    decoder = codecs.getincrementaldecoder("cp949")()
    with open(path, "rb") as handle:
        try:
            while chunk := handle.read(_CHUNK):
                decoder.decode(chunk)
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            raise FileRefused(
                "encoding_not_utf8",
                _("The file is not UTF-8 text (first unreadable byte on row %(row)d). %(how)s")
                % {"row": row, "how": how},
                row=row,
            ) from None
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
    reader = csv.reader(handle)
    raw = handle.buffer

    def rows() -> Iterator[tuple[int, list[str]]]:
        number = 0
        try:
            for number, cells in enumerate(reader, start=1):
                yield number, cells
        except csv.Error as exc:
            raise FileRefused(
                "csv_malformed",
                _("Row %(row)d cannot be read as CSV: %(reason)s.")
                % {"row": number + 1, "reason": exc},
                row=number + 1,
            ) from None

    return Rows(rows(), lambda: raw.tell() / size if size else 1.0)


# --- xlsx --------------------------------------------------------------------------


def check_zip(path: Path) -> None:
    """Refuse an xlsx whose zip declares too many entries or too much data,
    before anything is decompressed (zip bombs)."""
    try:
        with zipfile.ZipFile(path) as archive:
            entries = archive.infolist()
    except (zipfile.BadZipFile, OSError):
        raise FileRefused(
            "xlsx_unreadable", _("The file is not a readable .xlsx workbook.")
        ) from None
    if len(entries) > MAX_XLSX_ENTRIES:
        raise FileRefused(
            "xlsx_too_many_entries",
            _("The workbook has %(count)d parts; at most %(limit)d are accepted.")
            % {"count": len(entries), "limit": MAX_XLSX_ENTRIES},
        )
    total = sum(entry.file_size for entry in entries)
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
    return "stream" if sheet_part_size(path) > settings.XLSX_STREAM_BYTES else "calamine"


def _unreadable(exc: Exception) -> FileRefused:
    return FileRefused(
        "xlsx_unreadable",
        _("The workbook cannot be read: %(reason)s.") % {"reason": exc},
    )


@contextmanager
def _xlsx_stream_rows(path: Path) -> Iterator[Rows]:
    try:
        sheet = open_sheet(path)
    except XlsxError as exc:
        if exc.args and exc.args[0] == "the workbook has no sheet":
            raise FileRefused("file_empty", _("The workbook has no sheet.")) from None
        raise _unreadable(exc) from None

    def rows() -> Iterator[tuple[int, list[str]]]:
        try:
            yield from sheet.rows()
        except XlsxError as exc:
            raise _unreadable(exc) from None

    with sheet:
        yield Rows(
            rows(),
            sheet.done,
            sheet=sheet.name,
            sheet_count=len(sheet.names),
            reader="stream",
        )


def _xlsx_rows(path: Path) -> Rows:
    from python_calamine import CalamineError, CalamineWorkbook

    try:
        workbook = CalamineWorkbook.from_path(str(path))
        names = workbook.sheet_names
        if not names:
            raise FileRefused("file_empty", _("The workbook has no sheet."))
        sheet = workbook.get_sheet_by_index(0)
    except (CalamineError, OSError, ValueError) as exc:
        raise _unreadable(exc) from None
    # calamine's range starts at the first used column: pad rows so column
    # numbers are the sheet's. iter_rows() yields the empty rows above the
    # first used row too, so rows are numbered from 1.
    first_col = sheet.start[1] if sheet.height else 0
    total = max(sheet.height + (sheet.start[0] if sheet.height else 0), 1)
    position = [0]
    pad = [""] * first_col

    def rows() -> Iterator[tuple[int, list[str]]]:
        try:
            for number, values in enumerate(sheet.iter_rows(), start=1):
                if number % 4096 == 0:
                    position[0] = number
                cells = [v if v.__class__ is str else cell_text(v) for v in values]
                if first_col:
                    cells = pad + cells
                while cells and not cells[-1]:
                    cells.pop()
                yield number, cells
        except (CalamineError, ValueError, OverflowError) as exc:
            raise _unreadable(exc) from None
        position[0] = total

    return Rows(
        rows(),
        lambda: position[0] / total,
        sheet=names[0],
        sheet_count=len(names),
        reader="calamine",
    )
