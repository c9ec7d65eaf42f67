"""A streaming reader for the first sheet of a large xlsx workbook.

Why it exists: python-calamine (the reader for ordinary workbooks, SPEC §9)
has no streaming API — `get_sheet_by_index` builds the whole sheet in memory
before the first row is returned, ~400 MB for 1,000,000 rows × 4 cells, which
breaks issue 3's 400 MB ceiling. This module reads the sheet part straight
from the zip, one decompressed chunk at a time, and yields rows as they end,
so memory grows with the longest row and the shared strings, not with the row
count. Shared strings are held compactly: one UTF-8 `bytearray` plus an
`array('Q')` of offsets, not a Python list of millions of `str`.

It reproduces what the calamine path makes of the same cells (checked by
tests/test_xlsx_stream.py against python-calamine 0.9.1 / calamine 0.37):
shared and inline strings (rich-text runs joined, phonetic runs skipped,
`<t>` trimmed unless `xml:space="preserve"`, `_xHHHH_` escapes), numbers as
`cell_text` formats them, booleans, dates from numFmt date styles (1900 and
1904 systems, Excel's 1900 leap-year bug, millisecond rounding), cached
formula values, error cells as empty text, sparse rows and columns.

Rows are `(number, cells)`: 1-based row numbers as a spreadsheet shows them,
every row from 1 up to the last row holding a value (rows without values are
yielded as `[]`), cells as text with trailing empty cells removed.

Speed: a compiled regular expression tokenises the regular shape that Excel,
openpyxl, LibreOffice and Google Sheets write (`<row r=..><c r=.. s=.. t=..>
<f>..</f><v>..</v></c>` or `<is><t>..</t></is>`); anything else (comments,
CDATA, rich inline strings, cells without `r`, other attribute quoting…)
makes the reader continue with a general XML parser (ElementTree's pull
parser) from the start of the part, skipping the rows already yielded.

No Django imports: errors are `XlsxError` with an English reason.
"""

from __future__ import annotations

import math
import posixpath
import re
import zipfile
from array import array
from collections.abc import Callable, Iterator
from datetime import date, datetime, time, timedelta
from xml.etree import ElementTree

_CHUNK = 1 << 20
_MAX_TAG_BYTES = 64 << 20  # a start tag or row this long is not a spreadsheet
NS_RELS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"


class XlsxError(Exception):
    """The workbook cannot be read; the message says why (English)."""


class NoSheet(XlsxError):
    """The workbook has no sheet at all."""


# --- cell text ----------------------------------------------------------------------


def cell_text(value: object) -> str:
    """An xlsx cell value (as python-calamine returns it) as the text a person
    sees: formulas their cached values, whole numbers without `.0`, dates ISO."""
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


# --- workbook parts -----------------------------------------------------------------

_ATTR = re.compile(r"""([\w:.-]+)\s*=\s*(?:"([^"]*)"|'([^']*)')""")
_ENTITY = re.compile(r"&(#[xX][0-9A-Fa-f]+|#[0-9]+|amp|lt|gt|quot|apos);")
_ENTITY_NAMES = {"amp": "&", "lt": "<", "gt": ">", "quot": '"', "apos": "'"}
_XESCAPE = re.compile(r"_x([0-9A-Fa-f]{4})_")
_XML_SPACE = " \t\r\n"


def _attrs(tag: str) -> dict[str, str]:
    return {m[1]: m[2] if m[2] is not None else m[3] for m in _ATTR.finditer(tag)}


def _entity(match: re.Match) -> str:
    name = match[1]
    if name[0] == "#":
        return chr(int(name[2:], 16) if name[1] in "xX" else int(name[1:]))
    return _ENTITY_NAMES[name]


def _unescape(text: str) -> str:
    """XML character data as a parser returns it: line ends normalised,
    entities replaced (an unknown entity is not XML: XlsxError)."""
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    if "&" in text:
        if text.count("&") != len(_ENTITY.findall(text)):
            raise XlsxError("unknown XML entity")
        text = _ENTITY.sub(_entity, text)
    return text


def _same(text: str) -> str:
    return text


def _xstring(text: str) -> str:
    """OOXML's `_xHHHH_` escapes (e.g. `_x000D_` for a carriage return)."""
    if "_x" in text:
        text = _XESCAPE.sub(lambda m: chr(int(m[1], 16)), text)
    return text


def _member(archive: zipfile.ZipFile, path: str) -> zipfile.ZipInfo | None:
    lower = path.lower()
    for info in archive.infolist():
        if info.filename.lower() == lower:
            return info
    return None


def _read_small(archive: zipfile.ZipFile, path: str) -> str | None:
    info = _member(archive, path)
    if info is None:
        return None
    return archive.read(info).decode("utf-8", "replace")


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


class Book:
    """What the rows need from the workbook: sheet names and parts, the date
    system, which cell styles are dates or durations."""

    def __init__(self, archive: zipfile.ZipFile) -> None:
        # The package relationships name the workbook part (calamine needs them too).
        root = _read_small(archive, "_rels/.rels")
        if root is None:
            raise XlsxError("file not found '_rels/.rels'")
        workbook_path = "xl/workbook.xml"
        for attrs in _relationships(root):
            if attrs.get("Type", "").endswith("/officeDocument") and attrs.get("Target"):
                workbook_path = posixpath.normpath(attrs["Target"].lstrip("/"))
        base, name = posixpath.split(workbook_path)
        rels_text = _read_small(archive, posixpath.join(base, "_rels", name + ".rels"))
        if rels_text is None:
            raise XlsxError(f"the workbook has no relationships part for {workbook_path}")
        rels = {}
        self.shared_strings = posixpath.join(base, "sharedStrings.xml")
        self.styles = posixpath.join(base, "styles.xml")
        for attrs in _relationships(rels_text):
            target = attrs.get("Target", "")
            if target.startswith("/"):
                target = target[1:]
            elif not target.startswith(base + "/"):
                target = posixpath.normpath(posixpath.join(base, target))
            rels[attrs.get("Id", "")] = target
            kind = attrs.get("Type", "")
            if kind.endswith("/sharedStrings"):
                self.shared_strings = target
            elif kind.endswith("/styles"):
                self.styles = target
        workbook = _read_small(archive, workbook_path) or ""
        self.sheets: list[tuple[str, str]] = []
        for tag in re.findall(r"<(?:\w+:)?sheet\b[^>]*>", workbook):
            attrs = _attrs(tag)
            rid = next((v for k, v in attrs.items() if k.endswith(":id")), None)
            target = rels.get(rid or "")
            if target is None:
                raise XlsxError("a sheet's relationship is missing")
            self.sheets.append((_unescape(attrs.get("name", "")), target))
        self.is_1904 = False
        match = re.search(r"<(?:\w+:)?workbookPr\b[^>]*>", workbook)
        if match:
            self.is_1904 = _attrs(match[0]).get("date1904", "") in ("1", "true")
        self.formats = _formats(_read_small(archive, self.styles) or "")


def _relationships(text: str) -> list[dict[str, str]]:
    return [_attrs(tag) for tag in re.findall(r"<(?:\w+:)?Relationship\b[^>]*>", text)]


OTHER, DATETIME, TIMEDELTA = 0, 1, 2


def _formats(styles: str) -> list[int]:
    """Per cellXfs entry: OTHER, DATETIME or TIMEDELTA (calamine's rules; the
    formatCode is taken as written in the XML, as calamine does)."""
    custom: dict[str, str] = {}
    block = re.search(r"<(?:\w+:)?numFmts\b[^>]*>(.*?)</(?:\w+:)?numFmts>", styles, re.S)
    if block:
        for tag in re.findall(r"<(?:\w+:)?numFmt\b[^>]*>", block[1]):
            attrs = _attrs(tag)
            if attrs.get("formatCode"):
                custom[attrs.get("numFmtId", "")] = attrs["formatCode"]
    kinds = []
    block = re.search(r"<(?:\w+:)?cellXfs\b[^>]*>(.*?)</(?:\w+:)?cellXfs>", styles, re.S)
    if block:
        for tag in re.findall(r"<(?:\w+:)?xf\b[^>]*>", block[1]):
            number_format = _attrs(tag).get("numFmtId")
            if number_format is None:
                kinds.append(OTHER)
            elif number_format in custom:
                kinds.append(_custom_format_kind(custom[number_format]))
            else:
                kinds.append(_builtin_format_kind(number_format))
    return kinds


def _builtin_format_kind(number_format: str) -> int:
    if number_format in ("14", "15", "16", "17", "18", "19", "20", "21", "22", "45", "47"):
        return DATETIME
    return TIMEDELTA if number_format == "46" else OTHER


def _custom_format_kind(code: str) -> int:
    """calamine's `detect_custom_number_format`."""
    escaped = quoted = ampm = hms = False
    brackets = 0
    previous = " "
    for char in code:
        if escaped:
            escaped = False
        elif char in "_\\*":
            escaped = True
        elif quoted:
            if char == '"':
                quoted = False
        elif char == '"':
            quoted = True
        elif char == ";":
            return OTHER
        elif char == "[":
            brackets += 1
        elif char == "]" and brackets == 1 and hms:
            return TIMEDELTA
        elif char == "]":
            brackets = max(brackets - 1, 0)
        elif char in "aA" and not ampm and brackets == 0:
            ampm = True
        elif (char in "pm/PM" and ampm and brackets == 0) or (
            char in "dmhysDMHYS" and not ampm and brackets == 0
        ):
            return DATETIME
        elif not (hms and char.lower() == previous.lower()):
            hms = previous == "[" and char in "mhsMHS"
        previous = char
    return OTHER


# --- values -------------------------------------------------------------------------

_FLOAT = re.compile(
    r"[+-]?(?:(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?|(?i:inf|infinity|nan))"
)
_INDEX = re.compile(r"[0-9]+")
_ERRORS = {"#DIV/0!", "#N/A", "#NAME?", "#NULL!", "#NUM!", "#REF!", "#VALUE!"}
_BOOLS = {"0": "FALSE", "false": "FALSE", "1": "TRUE", "true": "TRUE"}
_I64_MAX, _I64_MIN = 2**63 - 1, -(2**63)
_EPOCH_EARLY = datetime(1899, 12, 31)
_EPOCH = datetime(1899, 12, 30)
_ISO_DATETIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,6})?")
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_ISO_TIME = re.compile(r"\d{2}:\d{2}:\d{2}(?:\.\d{1,6})?")


def _round(value: float) -> int:
    """Rust's `f64::round() as i64` (half away from zero, saturating, NaN 0)."""
    if value != value:
        return 0
    if value >= 9223372036854775808.0:
        return _I64_MAX
    if value <= -9223372036854775808.0:
        return _I64_MIN
    whole = math.floor(abs(value))
    whole = int(whole) + (1 if abs(value) - whole >= 0.5 else 0)
    return whole if value >= 0 else -whole


def _milliseconds(days: float) -> int:
    milliseconds = _round(days * 86_400_000.0)
    if milliseconds == _I64_MIN:
        # chrono's TimeDelta::milliseconds panics there, so calamine fails.
        raise XlsxError("a date or duration is out of range")
    return milliseconds


def _days_from_civil(year: int, month: int, day: int) -> int:
    """Days since 1970-01-01 of a proleptic Gregorian date (any year)."""
    year -= month <= 2
    era = (year if year >= 0 else year - 399) // 400
    year_of_era = year - era * 400
    day_of_year = (153 * (month + (-3 if month > 2 else 9)) + 2) // 5 + day - 1
    day_of_era = year_of_era * 365 + year_of_era // 4 - year_of_era // 100 + day_of_year
    return era * 146097 + day_of_era - 719468


# chrono's NaiveDate range (years -262144 to 262143), in days from each epoch.
_CHRONO_RANGE = {
    epoch: (
        _days_from_civil(-262144, 1, 1) - _days_from_civil(epoch.year, epoch.month, epoch.day),
        _days_from_civil(262143, 12, 31) - _days_from_civil(epoch.year, epoch.month, epoch.day),
    )
    for epoch in (_EPOCH_EARLY, _EPOCH)
}


def _excel_datetime(value: float, is_1904: bool) -> object:
    """An Excel serial number in a date style, as python-calamine returns it."""
    serial = value + 1462.0 if is_1904 else value
    epoch = _EPOCH_EARLY if serial < 60.0 else _EPOCH
    milliseconds = _milliseconds(serial)
    if value < 1.0:
        # A time of day: chrono computes it for any date in its range.
        low, high = _CHRONO_RANGE[epoch]
        if not low <= milliseconds // 86_400_000 <= high:
            return value
        return (datetime.min + timedelta(milliseconds=milliseconds % 86_400_000)).time()
    try:
        moment = epoch + timedelta(milliseconds=milliseconds)
    except OverflowError:
        return value
    if value < 1.8e19 and value == math.floor(value):
        return moment.date()
    return moment


def number_text(raw: str, kind: int, is_1904: bool) -> str | None:
    """A `<v>` number as text; None when it is not a number."""
    if not _FLOAT.fullmatch(raw):
        return None
    value = float(raw)
    if kind == DATETIME:
        return cell_text(_excel_datetime(value, is_1904))
    if kind == TIMEDELTA:
        try:
            return str(timedelta(milliseconds=_milliseconds(value)))
        except OverflowError:
            raise XlsxError("a duration is out of range") from None
    return cell_text(value)


def _iso_text(raw: str) -> str:
    """A `t="d"` cell (ISO 8601 text) as python-calamine returns it."""
    try:
        if _ISO_DATETIME.fullmatch(raw):
            return cell_text(datetime.fromisoformat(raw))
        if _ISO_DATE.fullmatch(raw):
            return date.fromisoformat(raw).isoformat()
        if _ISO_TIME.fullmatch(raw):
            return time.fromisoformat(raw).isoformat()
    except ValueError:
        pass
    return raw


class Strings:
    """The shared strings table: UTF-8 bytes and offsets, not a list of str."""

    def __init__(self) -> None:
        self.data = bytearray()
        self.offsets = array("Q", [0])

    def append(self, text: str) -> None:
        self.data += text.encode("utf-8", "surrogatepass")
        self.offsets.append(len(self.data))

    def __len__(self) -> int:
        return len(self.offsets) - 1

    def __getitem__(self, index: int) -> str:
        offsets = self.offsets
        return self.data[offsets[index] : offsets[index + 1]].decode("utf-8", "surrogatepass")


def _t_text(attrs: str, text: str) -> str:
    """A `<t>` element's text: trimmed unless xml:space="preserve"."""
    text = _unescape(text)
    if "preserve" not in attrs:
        text = text.strip(_XML_SPACE)
    return _xstring(text)


_RPH = re.compile(r"<(\w+:)?rPh\b.*?</\1?rPh>|<(?:\w+:)?rPh\b[^>]*/>", re.S)
_T = re.compile(r"<(?:\w+:)?t(\s[^>]*)?(?:/>|>([^<]*)</(?:\w+:)?t>)")


def _rich_text(inner: str) -> str:
    """The text of an `<si>` or `<is>`: every `<t>` outside phonetic runs."""
    if "<!" in inner or "<?" in inner:
        raise _Irregular
    inner = _RPH.sub("", inner)
    return "".join(_t_text(attrs or "", text) for attrs, text in _T.findall(inner))


class _Irregular(Exception):
    """The fast tokenizer met XML it does not handle."""


def read_strings(archive: zipfile.ZipFile, part: str = "xl/sharedStrings.xml") -> Strings:
    info = _member(archive, part)
    strings = Strings()
    if info is None:
        return strings
    try:
        _strings_fast(archive, info, strings)
    except _Irregular:
        strings = Strings()
        _strings_slow(archive, info, strings)
    return strings


_SI = re.compile(r"<(?:\w+:)?si(?:\s[^>]*)?(?:/>|>(.*?)</(?:\w+:)?si>)", re.S)
_SI_SIMPLE = re.compile(r"<(?:\w+:)?t>([^<]*)</(?:\w+:)?t>")


def _strings_fast(archive, info, strings: Strings) -> None:
    with archive.open(info) as handle:
        decoder = _decoder()
        rest = ""
        closing = None
        while True:
            chunk = handle.read(_CHUNK)
            text = rest + decoder(chunk, not chunk)
            if closing is None:
                root = re.search(r"<(\w+:)?sst\b", text)
                if root is None and chunk and len(text) < _MAX_TAG_BYTES:
                    rest = text
                    continue
                closing = f"</{root[1] or '' if root else ''}si>"
            end = len(text) if not chunk else _last_end(text, closing)
            head = text.find("?>") + 2 if text.startswith("<?xml") else 0
            if "<!" in text[:end] or "<?" in text[head:end]:
                raise _Irregular
            for inner in _SI.findall(text, 0, end):
                simple = _SI_SIMPLE.fullmatch(inner) if inner else None
                if simple is not None:
                    strings.append(_xstring(_unescape(simple[1]).strip(_XML_SPACE)))
                else:
                    strings.append(_rich_text(inner) if inner else "")
            rest = text[end:]
            if len(rest) > _MAX_TAG_BYTES:
                raise XlsxError("a shared string is too long")
            if not chunk:
                return


def _last_end(text: str, closing: str) -> int:
    at = text.rfind(closing)
    return 0 if at < 0 else at + len(closing)


def _decoder() -> Callable[[bytes, bool], str]:
    import codecs

    return codecs.getincrementaldecoder("utf-8")("replace").decode


def _strings_slow(archive, info, strings: Strings) -> None:
    with archive.open(info) as handle:
        parser = ElementTree.XMLPullParser(events=("end",))
        try:
            while chunk := handle.read(_CHUNK):
                parser.feed(chunk)
                for _event, element in parser.read_events():
                    if _local(element.tag) == "si":
                        strings.append(_element_text(element))
                        element.clear()
            parser.close()
        except ElementTree.ParseError as exc:
            raise XlsxError(f"shared strings: {exc}") from None


_XML_SPACE_ATTR = "{http://www.w3.org/XML/1998/namespace}space"


def _element_text(element) -> str:
    """Text of `<si>` / `<is>` with calamine's rules (ElementTree element)."""
    parts = []

    def walk(node, phonetic: bool) -> None:
        for child in node:
            name = _local(child.tag)
            if name == "rPh":
                continue
            if name == "t" and not phonetic:
                text = child.text or ""
                if child.get(_XML_SPACE_ATTR) != "preserve":
                    text = text.strip(_XML_SPACE)
                parts.append(_xstring(text))
            elif name == "r":
                walk(child, phonetic)

    walk(element, False)
    return "".join(parts)


# --- sheet --------------------------------------------------------------------------


def _column(letters: str) -> int:
    number = 0
    for char in letters.upper():
        number = number * 26 + ord(char) - 64
    return number - 1


_COLUMNS: dict[str, int] = {}
_PLAIN = (None, OTHER)


def _position(ref: str) -> tuple[int, int]:
    match = re.fullmatch(r"([A-Za-z]+)([0-9]+)", ref)
    if not match or int(match[2]) == 0:
        raise XlsxError(f"bad cell reference {ref!r}")
    return int(match[2]) - 1, _column(match[1])


class Sheet:
    """The first sheet of a workbook, read as a stream. Use as a context
    manager; `rows()` yields `(row number, cells)`, `done()` is the fraction
    of the sheet part read so far."""

    def __init__(self, path) -> None:
        try:
            self.archive = zipfile.ZipFile(path)
            book = Book(self.archive)
            if not book.sheets:
                raise NoSheet("the workbook has no sheet")
            self.names = [name for name, _ in book.sheets]
            self.name = self.names[0]
            self.info = _member(self.archive, book.sheets[0][1])
            if self.info is None:
                raise XlsxError(f"worksheet {self.name!r} not found")
            self.is_1904 = book.is_1904
            self.formats = book.formats
            self.strings = read_strings(self.archive, book.shared_strings)
        except (zipfile.BadZipFile, OSError, KeyError, ValueError) as exc:
            raise XlsxError(str(exc) or exc.__class__.__name__) from None
        self._read = 0
        self._last = 0  # last row number yielded (1-based)
        self._kinds: dict[str, tuple] = {}

    def __enter__(self) -> Sheet:
        return self

    def __exit__(self, *exc) -> None:
        self.archive.close()

    def done(self) -> float:
        size = self.info.file_size
        return min(self._read / size, 1.0) if size else 1.0

    # Both paths emit through here: gap rows as [], then the row.
    def _emit(self, row: int, cells: dict[int, str]) -> Iterator[tuple[int, list[str]]]:
        number = row + 1
        if number <= self._last:
            raise XlsxError(f"row {number} comes after row {self._last}; rows are out of order")
        for gap in range(self._last + 1, number):
            yield gap, []
        self._last = number
        width = max(cells) + 1
        out = [""] * width
        for column, text in cells.items():
            out[column] = text
        while out and not out[-1]:
            out.pop()
        yield number, out

    def rows(self) -> Iterator[tuple[int, list[str]]]:
        try:
            try:
                yield from self._rows_fast()
            except _Irregular:
                yield from self._rows_slow()
        except (zipfile.BadZipFile, OSError, EOFError, ValueError, IndexError) as exc:
            raise XlsxError(str(exc) or exc.__class__.__name__) from None

    # --- fast path -------------------------------------------------------------------

    def _kind(self, attrs: str) -> tuple:
        """(type, style kind) for a cell's attributes after `r`, cached."""
        kind = self._kinds.get(attrs)
        if kind is None:
            values = _attrs(attrs)
            if len(values) != attrs.count("="):
                raise _Irregular
            style = values.get("s")
            if style is None:
                style_kind = OTHER
            else:
                index = int(style) if _INDEX.fullmatch(style) else 0
                style_kind = self.formats[index] if index < len(self.formats) else None
            kind = (values.get("t"), style_kind)
            if len(self._kinds) < 10_000:
                self._kinds[attrs] = kind
        return kind

    def _value(self, kind: tuple, v: str, unescape: Callable[[str], str]) -> str | None:
        """A `<v>` cell as text; None for an empty cell (calamine's Empty).
        `unescape` decodes XML text (identity when a parser already did)."""
        typ, style_kind = kind
        if typ is None or typ == "n":
            if v == "":
                return None
            text = number_text(v, style_kind if style_kind is not None else OTHER, self.is_1904)
            if text is None:
                if typ == "n":
                    raise XlsxError(f"{v!r} is not a number")
                return unescape(v)
            return text
        if typ == "s":
            if v == "":
                return None
            index = int(v) if _INDEX.fullmatch(v) else 0
            if index >= len(self.strings):
                raise XlsxError("a cell refers to a shared string that does not exist")
            return self.strings[index]
        if typ == "str":
            return _xstring(unescape(v))
        if typ in ("inlineStr", "is"):
            return None
        if typ == "b":
            if v == "":
                return None
            text = _BOOLS.get(v.strip().lower())
            if text is None:
                raise XlsxError(f"unrecognized boolean cell value: {v}")
            return text
        if typ == "e":
            if v == "":
                return None
            if v not in _ERRORS:
                raise XlsxError(f"unsupported cell error value {v!r}")
            return ""
        if typ == "d":
            return _iso_text(unescape(v)) if v else None
        raise XlsxError(f"unknown cell type {typ!r}")

    def _rows_fast(self) -> Iterator[tuple[int, list[str]]]:
        with self.archive.open(self.info) as handle:
            decode = _decoder()
            text = ""
            while True:
                chunk = handle.read(_CHUNK)
                self._read += len(chunk)
                text += decode(chunk, not chunk)
                at = text.find("sheetData")
                if at >= 0 and text.find(">", at) >= 0:
                    break
                if not chunk:
                    return
                if len(text) > _MAX_TAG_BYTES:
                    raise XlsxError("no sheetData in the worksheet")
            root = re.search(r"<(\w+:)?worksheet\b", text)
            prefix = root[1] or "" if root else ""
            start = re.search(r"<(\w+:)?sheetData\b[^>]*?(/?)>", text)
            if start is None:
                raise _Irregular
            if start[2]:
                return  # <sheetData/>
            self._prefix = prefix
            self._tokens = _tokenizer(re.escape(prefix))
            self._template_parts = _template_parts(re.escape(prefix))
            self._templates: dict[str, tuple] = {}
            row_close = f"</{prefix}row>"
            row_start = f"<{prefix}row "
            text = text[start.end() :]
            state = _TokenState()
            template = None
            misses = 0
            while not state.finished:
                if chunk:
                    end = _last_end(text, row_close)
                    if end == 0 and len(text) < _MAX_TAG_BYTES:
                        chunk = handle.read(_CHUNK)
                        self._read += len(chunk)
                        text += decode(chunk, not chunk)
                        continue
                else:
                    end = len(text)
                if "<!" in text[:end] or "<?" in text[:end]:
                    raise _Irregular
                position = 0
                while position < end and not state.finished:
                    if template is not None:
                        match = template[0](text, position, end)
                        if match is not None:
                            yield from self._template_row(match, template[1])
                            position = match.end()
                            continue
                    # One row (or the rest) by tokens; then learn its shape.
                    stop = text.find(row_close, position, end)
                    stop = end if stop < 0 else stop + len(row_close)
                    yield from self._token_rows(text, position, stop, state)
                    if misses < 10_000 and text.startswith(row_start, position):
                        misses += 1
                        template = self._template(text[position:stop]) or template
                    position = stop
                text = text[end:]
                if not chunk:
                    break
                if len(text) > _MAX_TAG_BYTES:
                    raise XlsxError("a row of the sheet is too long")
            if state.in_row:
                raise XlsxError("the worksheet ends inside a row")

    def _template(self, raw: str) -> tuple | None:
        """A compiled pattern matching rows shaped like `raw` (same cells,
        types and styles; any row number and values), with its plan: per
        captured value, (column, converter). None when `raw` is not one
        plain row."""
        if raw.count("<") != raw.count(">") or raw.count(f"<{self._prefix}row") != 1:
            return None
        pieces = []
        last = 0
        for match in self._template_parts.finditer(raw):
            pieces.append(re.escape(raw[last : match.start()]))
            if match["row"] is not None:
                pieces.append(re.escape(match["row"]) + '(?P<n>[0-9]+)"')
            elif match["ref"] is not None:
                pieces.append(re.escape(match["ref"]) + '(?P=n)"')
            elif match["value"] is not None:
                pieces.append(re.escape(match["value"]) + "([^<]*)")
            else:
                pieces.append(re.escape(match["formula"]) + "[^<]*")
            last = match.end()
        pieces.append(re.escape(raw[last:]))
        key = "".join(pieces)
        known = self._templates.get(key)
        if known is not None:
            return known
        if len(self._templates) >= 64:
            return None
        plan = []
        for _n, _s, _c, letters, _d, attrs, v, t_plain, t_kept, stray in self._tokens.findall(raw):
            if stray:
                return None
            if not letters:
                continue
            column = _column(letters)
            if t_plain:
                plan.append((column, _inline_plain))
            elif t_kept:
                plan.append((column, _inline_kept))
            elif v:
                kind = self._kind(attrs) if attrs else _PLAIN
                plan.append((column, self._converter(kind)))
        columns = tuple(column for column, _ in plan)
        converters = tuple(convert for _, convert in plan)
        if columns != tuple(range(len(columns))) or not columns:
            shape = _SPARSE_ROW
        elif all(convert is _inline_plain for convert in converters):
            shape = _INLINE_ROW
        else:
            shape = _DENSE_ROW
        compiled = (re.compile(key).match, (shape, columns, converters))
        self._templates[key] = compiled
        return compiled

    def _converter(self, kind: tuple) -> Callable[[str], str | None]:
        value_of = self._value
        if kind[0] == "s":
            strings = self.strings
            size = len(strings)

            def shared(raw: str) -> str | None:
                if raw.isascii() and raw.isdigit() and int(raw) < size:
                    return strings[int(raw)]
                return value_of(kind, raw, _unescape)

            return shared
        return lambda raw: value_of(kind, raw, _unescape)

    def _template_row(self, match: re.Match, plan: tuple) -> Iterator[tuple[int, list[str]]]:
        values = match.groups()
        shape, columns, converters = plan
        if shape == _INLINE_ROW:
            # Only inline strings, columns A, B, C… in order: the common case.
            row_text = match[0]
            if "&" in row_text or "\r" in row_text or "_x" in row_text:
                out = [_inline_plain(raw) for raw in values[1:]]
            else:
                out = [raw.strip(_XML_SPACE) for raw in values[1:]]
        else:
            out = [convert(raw) for convert, raw in zip(converters, values[1:], strict=True)]
            if shape != _DENSE_ROW or None in out:
                cells = {c: v for c, v in zip(columns, out, strict=True) if v is not None}
                if not cells:
                    return
                out = [""] * (max(cells) + 1)
                for column, value in cells.items():
                    out[column] = value
        if out:
            row = int(values[0])
            if row != self._last + 1:
                yield from self._emit(row - 1, dict(enumerate(out)))
            else:
                while out and not out[-1]:
                    out.pop()
                self._last = row
                yield row, out

    def _token_rows(
        self, text: str, start: int, stop: int, state: _TokenState
    ) -> Iterator[tuple[int, list[str]]]:
        """Rows from the tokens of text[start:stop]; `state` carries a row
        that is still open and whether </sheetData> was seen."""
        kind_of = self._kind
        value_of = self._value
        strings = self.strings
        kinds = self._kinds
        columns = _COLUMNS
        size = len(strings)
        in_row, row_digits, out = state.in_row, state.row_digits, state.out
        sheet_end = f"</{self._prefix}sheetData"
        for (
            number,
            self_closed,
            closed,
            letters,
            digits,
            attrs,
            v,
            t_plain,
            t_kept,
            stray,
        ) in self._tokens.findall(text, start, stop):
            if letters:
                if not in_row or digits != row_digits:
                    raise _Irregular
                column = columns.get(letters)
                if column is None:
                    column = _column(letters)
                    if len(columns) < 20_000:
                        columns[letters] = column
                # v, t_plain, t_kept start with ">" when the element is there
                if t_plain:
                    value = _inline_plain(t_plain[1:])
                elif t_kept:
                    value = _inline_kept(t_kept[1:])
                elif not v:
                    continue  # no value: an empty (e.g. styled) cell
                else:
                    kind = (kinds.get(attrs) or kind_of(attrs)) if attrs else _PLAIN
                    v = v[1:]
                    if kind[0] == "s" and v.isascii() and v.isdigit() and int(v) < size:
                        value = strings[int(v)]
                    else:
                        value = value_of(kind, v, _unescape)
                        if value is None:
                            continue
                width = len(out)
                if column == width:
                    out.append(value)
                elif column > width:
                    out.extend([""] * (column - width))
                    out.append(value)
                else:
                    out[column] = value
            elif number:
                if in_row:
                    raise _Irregular
                if self_closed:
                    continue
                in_row = True
                row_digits = number
            elif closed:
                if not in_row:
                    raise _Irregular
                in_row = False
                if out:
                    row = int(row_digits)
                    if row != self._last + 1:
                        yield from self._emit(row - 1, dict(enumerate(out)))
                    else:
                        while out and not out[-1]:
                            out.pop()
                        self._last = row
                        yield row, out
                    out = []
            elif stray.startswith(sheet_end):
                state.finished = True
                break
            else:
                raise _Irregular
        state.in_row, state.row_digits, state.out = in_row, row_digits, out

    # --- general path ----------------------------------------------------------------

    def _rows_slow(self) -> Iterator[tuple[int, list[str]]]:
        """Any well-formed sheet XML, with calamine's rules for rows and
        cells without `r`; rows already yielded are skipped."""
        skip = self._last
        self._read = 0
        parser = ElementTree.XMLPullParser(events=("start", "end"))
        row_index = col_index = 0
        pending_row = -1
        pending: dict[int, str] = {}
        sheet_data = None
        with self.archive.open(self.info) as handle:
            try:
                while True:
                    chunk = handle.read(_CHUNK)
                    self._read += len(chunk)
                    if chunk:
                        parser.feed(chunk)
                    else:
                        parser.close()
                    for event, element in parser.read_events():
                        name = _local(element.tag)
                        if event == "start":
                            if name == "sheetData":
                                sheet_data = element
                            elif name == "row" and sheet_data is not None:
                                ref = element.get("r")
                                if ref is not None:
                                    if not ref.isdigit() or int(ref) == 0:
                                        raise XlsxError(f"bad row number {ref!r}")
                                    row_index = int(ref) - 1
                            continue
                        if sheet_data is None:
                            continue
                        if name == "c":
                            ref = element.get("r")
                            if ref is not None:
                                row, column = _position(ref)
                            else:
                                row, column = row_index, col_index
                            col_index = column + 1
                            value = self._element_value(element)
                            if value is not None:
                                if row != pending_row:
                                    if pending and pending_row + 1 > skip:
                                        yield from self._emit(pending_row, pending)
                                    elif row < pending_row:
                                        raise XlsxError("rows are out of order")
                                    pending_row, pending = row, {}
                                pending[column] = value
                        elif name == "row":
                            row_index += 1
                            col_index = 0
                            sheet_data.clear()
                        elif name == "sheetData":
                            if pending and pending_row + 1 > skip:
                                yield from self._emit(pending_row, pending)
                            return
                    if not chunk:
                        break
            except ElementTree.ParseError as exc:
                raise XlsxError(f"worksheet: {exc}") from None
        if pending and pending_row + 1 > skip:
            yield from self._emit(pending_row, pending)

    def _element_value(self, element) -> str | None:
        attrs = element.attrib
        style = attrs.get("s")
        if style is None:
            style_kind = OTHER
        else:
            index = int(style) if _INDEX.fullmatch(style) else 0
            style_kind = self.formats[index] if index < len(self.formats) else None
        kind = (attrs.get("t"), style_kind)
        value = None
        for child in element:
            name = _local(child.tag)
            if name == "is":
                value = _element_text(child)
            elif name == "v":
                # calamine reads these types' <v> as raw text: entities are
                # not XML-decoded there, only in str / d cells.
                value = self._value(kind, child.text or "", _same)
            elif name == "f":
                value = None
            else:
                raise XlsxError("expecting 'v, f, or is' node")
        return value


_SPARSE_ROW, _DENSE_ROW, _INLINE_ROW = 0, 1, 2


class _TokenState:
    """What the token path carries from one call to the next."""

    def __init__(self) -> None:
        self.in_row = False
        self.row_digits = ""
        self.out: list[str] = []
        self.finished = False


def _inline_plain(raw: str) -> str:
    """An `<is><t>` text: entities, trimmed, then `_xHHHH_` (calamine's order)."""
    if "&" in raw or "\r" in raw or "_x" in raw:
        return _xstring(_unescape(raw).strip(_XML_SPACE))
    return raw.strip(_XML_SPACE)


def _inline_kept(raw: str) -> str:
    return _xstring(_unescape(raw))


def _template_parts(p: str) -> re.Pattern:
    """What varies between rows of one shape: the row number (in the row and
    in every cell reference), values, formula text."""
    return re.compile(
        rf'(?P<row><{p}row r=")[0-9]+"'
        r'|(?P<ref> r="[A-Z]{1,3})[0-9]+"'
        rf'|(?P<value><{p}(?:v|t|t xml:space="preserve")>)[^<]*(?=</)'
        rf"|(?P<formula><{p}f\b[^>/]*>)[^<]*(?=</)"
    )


def _tokenizer(p: str) -> re.Pattern:
    """Tokens of `<sheetData>` in the regular shape; `stray` is any other tag."""
    return re.compile(
        rf'<{p}row\b[^>]*?\sr="([0-9]+)"[^>]*?(/?)>'
        rf"|(</{p}row>)"
        rf'|<{p}c r="([A-Za-z]{{1,3}})([0-9]+)"((?:\s+[\w:]+="[^"<]*")*)\s*(?:/>|>'
        rf"(?:<{p}f\b[^>]*/>|<{p}f\b[^>]*>[^<]*</{p}f>)?"
        rf"(?:<{p}v(>[^<]*)</{p}v>|<{p}is><{p}t(>[^<]*)</{p}t></{p}is>"
        rf'|<{p}is><{p}t xml:space="preserve"(>[^<]*)</{p}t></{p}is>)?'
        rf"</{p}c>)"
        r"|(<[^>]*>)"
    )


def sheet_part_size(path) -> int:
    """Uncompressed size of the first sheet's XML part (0 when unknown)."""
    try:
        with zipfile.ZipFile(path) as archive:
            book = Book(archive)
            if not book.sheets:
                return 0
            info = _member(archive, book.sheets[0][1])
            return info.file_size if info is not None else 0
    except (zipfile.BadZipFile, OSError, XlsxError, KeyError, ValueError):
        return 0


def open_sheet(path) -> Sheet:
    """The first sheet of the workbook at `path` (XlsxError when unreadable)."""
    return Sheet(path)
