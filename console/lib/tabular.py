"""Reading uploaded csv and xlsx files: the pure parts that audience files
(audiences/files/reading.py) and the opt-out list import (optout/imports.py)
share. No Django imports and no user-facing wording: each caller turns these
facts and `XlsxError`s into its own messages.

- `ZIP_MAGIC` / `OLE_MAGIC`: what a workbook starts with;
- `zip_figures`: entries and declared uncompressed size, read before anything
  is decompressed (zip bombs);
- `first_non_utf8_line` / `decodes_as`: the encoding checks that name
  CP949/EUC-KR files;
- `xlsx_rows`: the first sheet's rows as text, by python-calamine or — when
  the sheet's XML is larger than `stream_above` — by the streaming reader of
  console/lib/xlsx.py; both give the same rows (tests/test_xlsx_stream.py).
"""

from __future__ import annotations

import codecs
import os
import zipfile
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import IO

from console.lib.xlsx import NoSheet, XlsxError, cell_text, open_sheet, sheet_part_size

__all__ = [
    "OLE_MAGIC",
    "ZIP_MAGIC",
    "NoSheet",
    "SheetRows",
    "XlsxError",
    "cell_text",
    "decodes_as",
    "first_non_utf8_line",
    "xlsx_reader",
    "xlsx_rows",
    "zip_figures",
]

ZIP_MAGIC = b"PK\x03\x04"
OLE_MAGIC = b"\xd0\xcf\x11\xe0"  # legacy .xls, and password-protected xlsx

Source = str | os.PathLike | IO[bytes]


def zip_figures(source: Source) -> tuple[int, int]:
    """(number of entries, declared uncompressed bytes) of a zip archive;
    zipfile.BadZipFile or OSError when it is not one."""
    with zipfile.ZipFile(source) as archive:
        entries = archive.infolist()
    return len(entries), sum(entry.file_size for entry in entries)


def first_non_utf8_line(chunks: Iterable[bytes]) -> int | None:
    """The 1-based line of the first byte that is not UTF-8, or None."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    lines = 0
    for chunk in chunks:
        try:
            decoder.decode(chunk)
        except UnicodeDecodeError as exc:
            return lines + chunk.count(b"\n", 0, exc.start) + 1
        lines += chunk.count(b"\n")
    try:
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return lines + 1
    return None


def decodes_as(chunks: Iterable[bytes], encoding: str) -> bool:
    """Whether the bytes decode as `encoding` (e.g. cp949) from end to end."""
    decoder = codecs.getincrementaldecoder(encoding)()
    try:
        for chunk in chunks:
            decoder.decode(chunk)
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return False
    return True


@dataclass
class SheetRows:
    """The first sheet: `rows` yields (1-based row number, cells as text,
    trailing empty cells dropped); `done()` is the fraction read so far."""

    rows: Iterator[tuple[int, list[str]]]
    done: Callable[[], float]
    sheet: str
    sheet_count: int
    reader: str  # "calamine" or "stream"


def xlsx_reader(source: Source, stream_above: int) -> str:
    """ "stream" when the first sheet's XML is larger than `stream_above`
    bytes, else "calamine"."""
    return "stream" if sheet_part_size(source) > stream_above else "calamine"


@contextmanager
def xlsx_rows(source: Source, *, stream_above: int) -> Iterator[SheetRows]:
    """The first sheet's rows. Raises NoSheet for a workbook without sheets,
    XlsxError when it cannot be read (also while iterating)."""
    if hasattr(source, "seek"):
        source.seek(0)
    if xlsx_reader(source, stream_above) == "stream":
        if hasattr(source, "seek"):
            source.seek(0)
        with open_sheet(source) as sheet:
            yield SheetRows(sheet.rows(), sheet.done, sheet.name, len(sheet.names), "stream")
    else:
        if hasattr(source, "seek"):
            source.seek(0)
        yield _calamine_rows(source)


def _calamine_rows(source: Source) -> SheetRows:
    from python_calamine import CalamineError, CalamineWorkbook

    try:
        if isinstance(source, (str, os.PathLike)):
            workbook = CalamineWorkbook.from_path(os.fspath(source))
        else:
            workbook = CalamineWorkbook.from_filelike(source)
        names = workbook.sheet_names
        if not names:
            raise NoSheet("the workbook has no sheet")
        sheet = workbook.get_sheet_by_index(0)
    except (CalamineError, OSError, ValueError) as exc:
        raise XlsxError(str(exc)) from None
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
            raise XlsxError(str(exc)) from None
        except BaseException as exc:
            # python-calamine panics (pyo3 PanicException, a BaseException) on
            # some values, e.g. a huge number in a duration format.
            if exc.__class__.__name__ != "PanicException":
                raise
            raise XlsxError(str(exc)) from None
        position[0] = total

    return SheetRows(rows(), lambda: position[0] / total, names[0], len(names), "calamine")
