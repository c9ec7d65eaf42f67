"""Phone numbers: strict E.164 checks with messages that say what to write instead."""

from __future__ import annotations

from dataclasses import dataclass

import phonenumbers
from django.utils.translation import gettext as _

DEFAULT_REGION = "KR"


@dataclass(frozen=True)
class PhoneProblem:
    code: str
    message: str


def check_e164(raw: str) -> PhoneProblem | None:
    """Return None when `raw` is a valid E.164 number, else what is wrong with it.

    A national-format number (``010-1234-5678``) is refused, but the message
    gives its E.164 form so the user can fix it at once.
    """
    # Translated where they are made: these messages answer API calls and
    # console forms in the reader's language, like the rest of the answer.
    value = (raw or "").strip()
    if not value:
        return PhoneProblem("phone_missing", _("The phone number is empty."))
    if not value.startswith("+"):
        suggestion = suggest_e164(value)
        if suggestion:
            message = _(
                "'%(value)s' is not in E.164 format (+ country code and number). "
                "Write it as %(suggestion)s."
            ) % {"value": value, "suggestion": suggestion}
        else:
            message = _("'%(value)s' is not in E.164 format (+ country code and number).") % {
                "value": value
            }
        return PhoneProblem("phone_not_e164", message)
    # str.isdigit() also accepts full-width and other scripts' digits, which
    # phonenumbers would read but no gateway takes: E.164 is ASCII digits only.
    if not (value[1:].isascii() and value[1:].isdigit()):
        return PhoneProblem(
            "phone_not_e164",
            _("'%(value)s' is not in E.164 format: only digits may follow the +.")
            % {"value": value},
        )
    try:
        parsed = phonenumbers.parse(value, None)
    except phonenumbers.NumberParseException:
        return PhoneProblem(
            "phone_invalid", _("'%(value)s' is not a phone number.") % {"value": value}
        )
    if not phonenumbers.is_valid_number(parsed):
        return PhoneProblem(
            "phone_invalid", _("'%(value)s' is not a valid phone number.") % {"value": value}
        )
    return None


def suggest_e164(raw: str, region: str = DEFAULT_REGION) -> str | None:
    """The E.164 form of a national-format number, when it is a valid one."""
    try:
        parsed = phonenumbers.parse(raw, region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(parsed):
        return None
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def format_national(e164: str) -> str:
    """`+82801234567` → `080-123-4567`, the way the number is printed in messages."""
    try:
        parsed = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return e164
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.NATIONAL)
