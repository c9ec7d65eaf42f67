# PROVISIONAL (dispatch branch): replaced by the text-helpers branch at merge
"""SMS byte counting: CP949 bytes for Korean gateways, GSM-7/UCS-2 segments elsewhere."""

from __future__ import annotations

SMS_MAX_BYTES = 90
LMS_MAX_BYTES = 2000
TITLE_MAX_BYTES = 40

_GSM7 = set(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    "ÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
_GSM7_EXT = set("^{}\\[~]|€")


class MessageTooLong(ValueError):
    """The body is over LMS_MAX_BYTES in CP949."""


def _char_bytes(char: str) -> int:
    try:
        return len(char.encode("cp949"))
    except UnicodeEncodeError:
        return 2


def cp949_length(text: str) -> int:
    try:
        return len(text.encode("cp949"))
    except UnicodeEncodeError:
        return sum(_char_bytes(c) for c in text)


def unencodable(text: str) -> list[str]:
    found: list[str] = []
    for char in text:
        try:
            char.encode("cp949")
        except UnicodeEncodeError:
            if char not in found:
                found.append(char)
    return found


def sms_kind(body: str) -> str:
    size = cp949_length(body)
    if size <= SMS_MAX_BYTES:
        return "SMS"
    if size <= LMS_MAX_BYTES:
        return "LMS"
    raise MessageTooLong(f"{size} bytes is over the LMS limit of {LMS_MAX_BYTES} bytes.")


def gsm_segments(text: str) -> tuple[str, int]:
    if all(c in _GSM7 or c in _GSM7_EXT for c in text):
        units = sum(2 if c in _GSM7_EXT else 1 for c in text)
        return "GSM-7", 1 if units <= 160 else -(-units // 153)
    units = len(text.encode("utf-16-le")) // 2
    return "UCS-2", 1 if units <= 70 else -(-units // 67)
