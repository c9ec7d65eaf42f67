"""Reading uploaded csv and xlsx files: the pure parts that audience files
(audiences/files/reading.py) and the opt-out list import (optout/imports.py)
share. No Django imports and no user-facing wording: each caller turns these
facts and `XlsxError`s into its own messages.

- `ZIP_MAGIC` / `OLE_MAGIC`: what a workbook starts with;
- `zip_figures`: entries and declared uncompressed size, read before anything
  is decompressed (zip bombs);
- `first_non_utf8_line` / `decodes_as`: the encoding checks that name
  CP949/EUC-KR files;
- `csv_rows`: a csv's records, raising `CsvProblem` (with its row) for a
  quote that is never closed or a cell over the csv module's size limit;
- `xlsx_rows`: the first sheet's rows as text, by python-calamine or — when
  the sheet's XML is larger than `stream_above` — by the streaming reader of
  console/lib/xlsx.py; both give the same rows (tests/test_xlsx_stream.py).
"""

from __future__ import annotations

import codecs
import csv
import os
import re
import zipfile
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from itertools import islice
from typing import IO, TextIO

from console.lib.xlsx import NoSheet, XlsxError, cell_text, open_sheet, sheet_part_size

__all__ = [
    "CSV_FIELD_TOO_LARGE",
    "CSV_MALFORMED",
    "CSV_UNCLOSED_QUOTE",
    "OLE_MAGIC",
    "ZIP_MAGIC",
    "CsvProblem",
    "NoSheet",
    "SheetRows",
    "XlsxError",
    "cell_text",
    "csv_rows",
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


# --- csv ------------------------------------------------------------------------

CSV_MALFORMED = "csv_malformed"
CSV_FIELD_TOO_LARGE = "csv_field_too_large"
CSV_UNCLOSED_QUOTE = "csv_unclosed_quote"


class CsvProblem(ValueError):
    """A csv that cannot be read as the rows its author meant: `code` (one of
    the CSV_* names), the 1-based record `row` (row 1 is the first record, as
    a spreadsheet numbers them), the 1-based `column` and the csv module's
    own `reason` (English, for logs; callers word the message)."""

    def __init__(self, code: str, row: int, column: int = 1, reason: str = "") -> None:
        super().__init__(f"{code} on row {row}, column {column}: {reason}")
        self.code = code
        self.row = row
        self.column = column
        self.reason = reason


def csv_rows(
    handle: TextIO, refuse: Callable[[CsvProblem], Exception] | None = None
) -> Iterator[tuple[int, list[str]]]:
    """(1-based record number, cells) of the csv text `handle` opened with
    newline="", which must be seekable.

    Python's csv reader, when a quoted cell is never closed, puts everything
    up to the end of the file into that one cell and reports nothing: a
    missing quote on row 2 silently makes every later row part of row 2. So
    when the stream ends, the last record is checked again (cheaply: only its
    own lines, and only when it could hold an unclosed quote) and such a file
    raises CsvProblem(CSV_UNCLOSED_QUOTE) naming the row and column where the
    quote opened. The loop itself stays the plain csv loop (the audience
    file's fast path). A cell over the csv module's field size limit raises
    CsvProblem(CSV_FIELD_TOO_LARGE), any other csv error CSV_MALFORMED.
    `refuse`, when given, turns the CsvProblem into the caller's own error
    (raised instead), which saves the caller wrapping this generator in
    another one on its fast path.
    """
    reader = csv.reader(handle)
    number = 0
    cells: list[str] = []
    try:
        for number, cells in enumerate(reader, start=1):
            yield number, cells
    except csv.Error as exc:
        reason = str(exc)
        code = CSV_FIELD_TOO_LARGE if "field larger than field limit" in reason else CSV_MALFORMED
        problem = CsvProblem(code, number + 1, reason=reason)
        raise (problem if refuse is None else refuse(problem)) from None
    if number:
        column = _unclosed_quote_column(handle, reader.line_num, cells)
        if column is not None:
            problem = CsvProblem(
                CSV_UNCLOSED_QUOTE, number, column, "a quoted cell is never closed"
            )
            raise (problem if refuse is None else refuse(problem)) from None


def _unclosed_quote_column(handle: TextIO, end_line: int, cells: list[str]) -> int | None:
    """The column of the last record whose opening quote is never closed, or
    None. `end_line` is the reader's line count at the end of the file."""
    if any("\n" in cell or "\r" in cell for cell in cells):
        # The record spans several lines: find where it starts with a second
        # pass that counts lines (only files whose last record is multi-line
        # pay for it).
        handle.seek(0)
        recount = csv.reader(handle)
        start = 0
        previous = 0
        for _cells in recount:
            start, previous = previous, recount.line_num
    else:
        start = end_line - 1  # a record without line breaks is one line
    handle.seek(0)
    record = "".join(islice(handle, start, None))
    return _open_quote_column(record)


_QUOTED = re.compile(r'"[^"]*(?:""[^"]*)*"')
_UNQUOTED = re.compile(r"[^,\r\n]*")


def _open_quote_column(record: str) -> int | None:
    """Walks the fields of one raw csv record as the csv module's default
    (non-strict) dialect reads them; the 1-based column of a quoted field that
    runs to the end of the text unclosed, else None."""
    position, column, end = 0, 1, len(record)
    while position < end:
        if record[position] == '"':
            closed = _QUOTED.match(record, position)
            if closed is None:
                return column
            position = closed.end()
        # Text after a closing quote, or an unquoted field, runs to the next
        # comma or line break (a quote there is an ordinary character).
        position = _UNQUOTED.match(record, position).end()
        if position < end and record[position] == ",":
            column += 1
        position += 1
    return None


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
