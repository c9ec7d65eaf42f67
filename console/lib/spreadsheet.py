"""Cells that spreadsheet apps will not run as formulas (OWASP "CSV injection").

Excel, LibreOffice and Google Sheets evaluate a cell that starts with
`= + - @`, a tab, CR or NUL. Such a cell gets a `'` in front, the
spreadsheet convention for "this is text". A plain number (`+821012345678`,
`-5`, `3.5`) is left alone: it evaluates to itself and carries no formula,
and phone numbers must stay exactly E.164 to be uploaded again.

Pure: no Django imports. Used by the audience-file downloads and the
statistics export.
"""

from __future__ import annotations

import re

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\0", "\r")
_PLAIN_NUMBER = re.compile(r"[+-]?[0-9]+(\.[0-9]+)?")


def neutralise(cell: object) -> str:
    """The cell as text that a spreadsheet app will not run as a formula."""
    text = "" if cell is None else str(cell)
    if text.startswith(FORMULA_STARTS) and not _PLAIN_NUMBER.fullmatch(text):
        return "'" + text
    return text
