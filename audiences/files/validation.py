"""The rules of a file audience (SPEC §4), each with its own error code.

One pass over the rows: header rules, then per row the phone number (fast
E.164 path, phonenumbers for the rest), duplicates and stray cells. Rows that
pass are written to a spool file (row number, phone, variables as JSON) so the
store step can insert them in one transaction without reading the upload
again; nothing is written to the database here except the progress. The
spool is a private temporary file of the same task, written and read back as
pickled batches of row tuples (half the time of parsing text lines).

Row and column numbers are 1-based as a spreadsheet shows them; row 1 is the
header.
"""

from __future__ import annotations

import pickle
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from json.encoder import encode_basestring  # type: ignore[attr-defined]
from pathlib import Path

from audiences.files.reading import FileRefused, open_rows
from console.lib.fastphone import is_fast_valid
from console.lib.liquid import is_variable_name
from console.lib.phone import check_e164, suggest_e164

PHONE_COLUMN = "phoneNumber"
MAX_STORED_ERRORS = 1_000
PROGRESS_EVERY = 25_000
SPOOL_BATCH = 20_000
_PHONE_LOOKALIKES = {"phonenumber", "phone_number", "phone", "mobile", "전화번호", "휴대폰번호"}


# What JSON escapes in a string when non-ASCII text is kept as it is.
_JSON_ESCAPED = re.compile(r'[\x00-\x1f\\"]')


def _encode_values(cells: list[str]) -> str:
    """The cells as a compact JSON list, as json.dumps(cells, ensure_ascii=False,
    separators=(",", ":")) writes it, 4x faster (cells are always strings, and
    almost never hold a quote, a backslash or a control character)."""
    if not cells:
        return "[]"
    joined = '","'.join(cells)
    if _JSON_ESCAPED.search(joined) is None:
        return '["' + joined + '"]'
    return "[" + ",".join(map(encode_basestring, cells)) + "]"


@dataclass
class Outcome:
    columns: list[str] = field(default_factory=list)
    rows: int = 0
    errors: list[dict] = field(default_factory=list)
    error_count: int = 0
    correctable: int = 0
    sheet: str = ""
    sheet_count: int = 0
    spool: Path | None = None

    @property
    def valid(self) -> bool:
        return self.error_count == 0

    def add(self, row: int, column: int, code: str, **params: object) -> None:
        """Count an error and keep its code and parameters (worded when read,
        in the reader's language: audiences.files.messages)."""
        self.error_count += 1
        if len(self.errors) < MAX_STORED_ERRORS:
            self.errors.append({"row": row, "column": column, "code": code, "params": params})


def validate_file(
    path: Path,
    fmt: str,
    *,
    max_rows: int,
    spool: Path,
    on_progress: Callable[[float], None] | None = None,
) -> Outcome:
    """Validate the file at `path`. When it is valid, `outcome.spool` holds
    its rows ready to store; otherwise the spool is removed."""
    outcome = Outcome()
    try:
        if path.stat().st_size == 0:
            raise FileRefused("file_empty")
        with open_rows(path, fmt) as source, open(spool, "wb") as out:
            outcome.sheet, outcome.sheet_count = source.sheet, source.sheet_count
            _check(source, outcome, max_rows, out, on_progress)
    except FileRefused as exc:
        outcome.add(exc.row, exc.column, exc.code, **exc.params)
    if outcome.valid:
        outcome.spool = spool
    else:
        spool.unlink(missing_ok=True)
    return outcome


def _check(source, outcome: Outcome, max_rows: int, spool, on_progress) -> None:
    rows = source.rows
    header = None
    for number, cells in rows:
        if any(cells):
            header = (number, cells)
            break
    if header is None:
        raise FileRefused("file_empty", what="no_rows")
    number, cells = header
    if number != 1:
        outcome.add(1, 1, "header_missing")
        return
    names = [cell.strip() for cell in cells]
    outcome.columns = names
    if not _check_header(names, outcome):
        _count_rows(rows, outcome, max_rows)
        return
    _check_rows(rows, len(names), outcome, max_rows, spool, on_progress, source.done)


def _check_header(names: list[str], outcome: Outcome) -> bool:
    """Report header problems; False when the phone column is not where the
    rows can be checked."""
    first = names[0]
    if first != PHONE_COLUMN:
        if PHONE_COLUMN in names:
            outcome.add(1, names.index(PHONE_COLUMN) + 1, "phone_column_position")
        else:
            outcome.add(
                1,
                1,
                "phone_column_missing",
                found=first,
                lookalike=first.replace(" ", "").lower() in _PHONE_LOOKALIKES,
                separator_hint=len(names) == 1 and (";" in first or "\t" in first),
            )
        return False
    seen: dict[str, int] = {}
    for column, name in enumerate(names, start=1):
        if name == "":
            outcome.add(1, column, "header_empty")
            continue
        if name in seen:
            outcome.add(1, column, "header_duplicate", name=name, first=seen[name])
            continue
        seen[name] = column
        if column > 1 and not is_variable_name(name):
            outcome.add(1, column, "header_invalid_name", name=name)
    return True


def _count_rows(rows, outcome: Outcome, max_rows: int) -> None:
    for _number, cells in rows:
        if any(cells):
            outcome.rows += 1
            if outcome.rows > max_rows:
                _too_many(outcome, max_rows, _number)
                return


def _too_many(outcome: Outcome, max_rows: int, number: int) -> None:
    outcome.rows = max_rows
    outcome.add(number, 1, "too_many_rows", limit=max_rows)


def _check_rows(rows, width, outcome, max_rows, spool, on_progress, done) -> None:
    seen: dict[str, int] = {}
    seen_get = seen.setdefault
    batch: list[tuple[int, str, str]] = []
    keep = batch.append
    encode = _encode_values
    count = 0
    spooling = outcome.error_count == 0
    for number, cells in rows:
        if not cells or (not cells[0] and not any(cells)):
            continue  # blank lines (often at the end of an export) are not recipients
        count += 1
        if count > max_rows:
            _too_many(outcome, max_rows, number)
            return
        if count % PROGRESS_EVERY == 0 and on_progress is not None:
            on_progress(done())
        phone = cells[0]
        ok = True
        if not is_fast_valid(phone):
            problem = check_e164(phone)
            if problem is None:
                phone = phone.strip()
            else:
                ok = False
                params = _phone_params(problem.code, phone.strip())
                if params.get("suggestion"):
                    outcome.correctable += 1
                outcome.add(number, 1, problem.code, **params)
        if ok:
            first = seen_get(phone, number)
            if first != number:
                ok = False
                outcome.add(number, 1, "phone_duplicate", phone=phone, first=first)
        size = len(cells)
        if size != width:
            if size > width:
                extra = next((i for i in range(width, size) if cells[i] != ""), None)
                if extra is not None:
                    ok = False
                    outcome.add(number, extra + 1, "cell_without_header")
                cells = cells[:width]
            else:
                cells = cells + [""] * (width - size)
        if not ok:
            spooling = False  # an invalid file stores nothing
            batch.clear()
        elif spooling:
            keep((number, phone, encode(cells[1:])))
            if len(batch) >= SPOOL_BATCH:
                pickle.dump(batch, spool, pickle.HIGHEST_PROTOCOL)
                batch.clear()
    if spooling and batch:
        pickle.dump(batch, spool, pickle.HIGHEST_PROTOCOL)
    outcome.rows = count
    if count == 0:
        outcome.add(2, 1, "no_rows")


def _phone_params(code: str, value: str) -> dict[str, object]:
    """What the message of a phone problem needs: the value and, for a
    national-format number, its E.164 form (which the corrected file uses)."""
    if code == "phone_missing":
        return {}
    if code == "phone_not_e164":
        if value.startswith("+"):
            return {"value": value, "not_digits": True}
        return {"value": value, "suggestion": suggest_e164(value) or ""}
    return {"value": value}


def read_spool(spool: Path) -> Iterator[list[tuple[int, str, str]]]:
    """The batches of (row number, phone, variables as JSON) that validation
    wrote to `spool`, in file order."""
    with open(spool, "rb") as handle:
        while True:
            try:
                yield pickle.load(handle)
            except EOFError:
                return
