"""Open an uploaded audience file and yield its rows as lists of strings.

Whole-file problems (wrong type, not UTF-8, zip bomb, unreadable) raise
FileRefused before any row is read. xlsx cells become the strings a person
sees: formulas their cached values, whole numbers without `.0`, dates ISO.
"""

from __future__ import annotations

import codecs
import csv
import zipfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from pathlib import Path

from django.conf import settings
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext as _

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


def cell_text(value: object) -> str:
    """An xlsx cell as the text a person sees in it."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() and abs(value) < 1e16 else repr(value)
    if isinstance(value, datetime):
        return value.isoformat(sep=" ") if value.time() != time(0) else value.date().isoformat()
    if isinstance(value, (date, time)):
        return value.isoformat()
    if isinstance(value, timedelta):
        return str(value)
    return "" if value is None else str(value)


def _xlsx_rows(path: Path) -> Rows:
    from python_calamine import CalamineError, CalamineWorkbook

    check_zip(path)
    try:
        workbook = CalamineWorkbook.from_path(str(path))
        names = workbook.sheet_names
        if not names:
            raise FileRefused("file_empty", _("The workbook has no sheet."))
        sheet = workbook.get_sheet_by_index(0)
    except (CalamineError, OSError, ValueError) as exc:
        raise FileRefused(
            "xlsx_unreadable",
            _("The workbook cannot be read: %(reason)s.") % {"reason": exc},
        ) from None
    # calamine's range starts at the first used cell; keep row and column
    # numbers as the user sees them.
    first_row, first_col = sheet.start if sheet.height else (0, 0)
    total = max(sheet.height, 1)
    position = [0]
    pad = [""] * first_col

    def rows() -> Iterator[tuple[int, list[str]]]:
        number = first_row
        for number, values in enumerate(sheet.iter_rows(), start=first_row + 1):
            if number % 4096 == 0:
                position[0] = number - first_row
            cells = [v if v.__class__ is str else cell_text(v) for v in values]
            yield number, (pad + cells) if first_col else cells
        position[0] = total

    result = Rows(rows(), lambda: position[0] / total, sheet=names[0], sheet_count=len(names))
    return result
