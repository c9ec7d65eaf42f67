"""The words of audience-file errors. Validation stores each error as a code
with its parameters (`{"row", "column", "code", "params"}`), never as a
sentence, because it runs in a worker whose language is not the reader's:
the console and the API word the errors here, in the language of whoever
reads them. Errors stored before codes existed carry their `message` text
and are shown as they are (migration audiences.0007 converted those it
recognised)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext as _

PHONE_COLUMN = "phoneNumber"


def describe(
    code: str, params: Mapping[str, object] | None = None, *, row: int = 1, column: int = 1
) -> str:
    """The error `code` with its `params` (and where it is) as a sentence in
    the active language."""
    p = {"row": row, "column": column, "phone": PHONE_COLUMN, **(params or {})}
    wording = _WORDING.get(code)
    if wording is None:
        return str(p.get("message") or code)
    return wording(p)


def with_messages(errors: Iterable[Mapping]) -> list[dict]:
    """Stored errors with their `message` in the active language (the shape
    the console and the API show: row, column, code, message)."""
    shown = []
    for error in errors:
        if "params" in error:
            message = describe(
                error["code"], error["params"], row=error["row"], column=error["column"]
            )
        else:
            message = error.get("message")
        shown.append(
            {
                "row": error["row"],
                "column": error["column"],
                "code": error["code"],
                "message": message or error["code"],
            }
        )
    return shown


def _file_type(p: dict) -> str:
    kind = p.get("kind")
    if kind == "xls":
        return _(
            "This is an old Excel (.xls) or password-protected workbook. "
            "Save it as .xlsx without a password, or as CSV UTF-8."
        )
    if kind == "zip":
        return _("The file is a zip archive; upload a .csv or .xlsx file.")
    if kind == "not_xlsx":
        return _("The file is named .xlsx but is not an Excel workbook.")
    return _("Upload a .csv or .xlsx file.")


def _file_empty(p: dict) -> str:
    what = p.get("what")
    if what == "no_sheet":
        return _("The workbook has no sheet.")
    if what == "no_rows":
        return _("The file has no rows.")
    return _("The file is empty.")


def _encoding(p: dict, cp949: bool) -> str:
    p = {
        **p,
        "how": _(
            "Save it as UTF-8: in Excel choose File › Save As › 'CSV UTF-8 (Comma delimited)'; "
            "in Numbers or Google Sheets export as CSV (always UTF-8)."
        ),
    }
    if cp949:
        return (
            _(
                "The file is encoded in CP949/EUC-KR (Korean Windows), not UTF-8 "
                "(first seen on row %(row)d). %(how)s"
            )
            % p
        )
    return _("The file is not UTF-8 text (first unreadable byte on row %(row)d). %(how)s") % p


def _xlsx_unreadable(p: dict) -> str:
    if p.get("reason"):
        return _("The workbook cannot be read: %(reason)s.") % p
    return _("The file is not a readable .xlsx workbook.")


def _phone_column_missing(p: dict) -> str:
    if p.get("lookalike"):
        text = _("Column 1 must be named exactly %(phone)s (found '%(found)s').") % p
    else:
        text = _("Row 1, column 1 must be the header %(phone)s; found '%(found)s'.") % p
    if p.get("separator_hint"):
        text += " " + _("The columns seem separated by ';' or tabs; separate them with commas.")
    return text


def _phone_not_e164(p: dict) -> str:
    if p.get("not_digits"):
        return _("'%(value)s' is not in E.164 format: only digits may follow the +.") % p
    text = _("'%(value)s' is not in E.164 format (+ country code and number).") % p
    if p.get("suggestion"):
        text += " " + _("Write it as %(suggestion)s.") % p
    return text


def _size_limit(p: dict) -> str:
    return _(
        "The workbook unpacks to %(size)s; the limit is %(limit)s. "
        "Remove other sheets or upload the list as CSV UTF-8."
    ) % {"size": filesizeformat(p.get("size")), "limit": filesizeformat(p.get("limit"))}


_WORDING = {
    "file_type": _file_type,
    "file_empty": _file_empty,
    "encoding_not_utf8": lambda p: _encoding(p, cp949=False),
    "encoding_cp949": lambda p: _encoding(p, cp949=True),
    "csv_unclosed_quote": lambda p: (
        _(
            'Row %(row)d, column %(column)d opens a quote (") that is never closed, so '
            "everything after it would be read as one cell. Close the quote or remove it."
        )
        % p
    ),
    "csv_field_too_large": lambda p: (
        _(
            "Row %(row)d has a cell longer than %(limit)s characters (often a quote that "
            "is never closed)."
        )
        % p
    ),
    "csv_malformed": lambda p: _("Row %(row)d cannot be read as CSV: %(reason)s.") % p,
    "xlsx_unreadable": _xlsx_unreadable,
    "xlsx_too_many_entries": lambda p: (
        _("The workbook has %(count)d parts; at most %(limit)d are accepted.") % p
    ),
    "xlsx_too_large_uncompressed": _size_limit,
    "header_missing": lambda p: (
        _("Row 1 must be the header, starting with %(phone)s in column 1; it is empty.") % p
    ),
    "phone_column_position": lambda p: (
        _("%(phone)s must be column 1 (A); here it is column %(column)d.") % p
    ),
    "phone_column_missing": _phone_column_missing,
    "header_empty": lambda p: _("Column %(column)d has no name.") % p,
    "header_duplicate": lambda p: (
        _("Column %(column)d repeats the name '%(name)s' of column %(first)d.") % p
    ),
    "header_invalid_name": lambda p: (
        _(
            "'%(name)s' cannot be a variable name in a message: use letters, digits, "
            "'_' or '-', without spaces or dots (e.g. couponCode)."
        )
        % p
    ),
    "too_many_rows": lambda p: (
        _("The file has more than %(limit)s rows; split it into files of at most %(limit)s.")
        % {"limit": f"{p.get('limit', 0):,}"}
    ),
    "phone_missing": lambda p: _("The phone number is empty."),
    "phone_not_e164": _phone_not_e164,
    "phone_invalid": lambda p: _("'%(value)s' is not a valid phone number.") % p,
    "phone_duplicate": lambda p: _("%(phone)s is already on row %(first)d.") % p,
    "cell_without_header": lambda p: _("Column %(column)d has a value but no header.") % p,
    "no_rows": lambda p: _("The file has a header but no recipients below it."),
}
