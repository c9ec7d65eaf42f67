"""How long a text message is: CP949 bytes for Korean gateways, GSM segments elsewhere.

Korean gateways bill and split by bytes in CP949 (the superset of EUC-KR
they actually accept): every Hangul syllable is 2 bytes, ASCII 1. Python's
``euc-kr`` codec writes syllables outside KS X 1001 (똠, 햏, 뷁, 쀍) as 8-byte
jamo sequences and would over-count, so this module uses ``cp949``, which
carries all 11,172 modern syllables in 2 bytes (SPEC §5).

International gateways split by GSM 03.38: a text made only of the GSM-7
alphabet goes 160 septets in one message or 153 per part when concatenated;
anything else goes as UCS-2, 70 characters in one message or 67 per part.

These functions run once per message at dispatch (10,000 messages/s), so the
common cases are answered by C-level codec and set operations.
"""

from __future__ import annotations

__all__ = [
    "GSM_BASIC",
    "GSM_EXTENSION",
    "LMS_MAX_BYTES",
    "SMS_MAX_BYTES",
    "TITLE_MAX_BYTES",
    "MessageTooLong",
    "check_title",
    "cp949_length",
    "gsm_segments",
    "sms_kind",
    "unencodable",
]

SMS_MAX_BYTES = 90
LMS_MAX_BYTES = 2000
TITLE_MAX_BYTES = 40

# GSM 03.38 default alphabet without ESC (0x1B), which only introduces the
# extension table and is not a character anyone can type.
GSM_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
# The extension table: each of these is sent as ESC + code, two septets.
GSM_EXTENSION = frozenset("\f^{}\\[~]|€")
_GSM_ALL = GSM_BASIC | GSM_EXTENSION

_GSM7_SINGLE, _GSM7_PART = 160, 153
_UCS2_SINGLE, _UCS2_PART = 70, 67


class MessageTooLong(ValueError):
    """A body (or an LMS title) has more CP949 bytes than a message may carry."""

    def __init__(self, byte_count: int, limit: int, *, part: str = "body") -> None:
        self.byte_count = byte_count
        self.limit = limit
        self.part = part
        super().__init__(
            f"The {part} is {byte_count:,} bytes in EUC-KR (CP949); the limit is {limit:,} bytes."
        )


def cp949_length(text: str) -> int:
    """The number of bytes `text` takes in CP949: Hangul syllable 2, ASCII 1.

    A character CP949 cannot carry (an emoji) counts as the one byte of the
    ``?`` a gateway puts in its place; `unencodable` is how callers find and
    refuse such characters.
    """
    if text.isascii():
        return len(text)
    return len(text.encode("cp949", errors="replace"))


def unencodable(text: str) -> list[str]:
    """The distinct characters of `text` that CP949 cannot carry (emoji, most
    symbols outside KS X 1001), in order of first appearance."""
    if text.isascii():
        return []
    try:
        text.encode("cp949")
    except UnicodeEncodeError:
        pass
    else:
        return []
    found: dict[str, None] = {}
    for char in text:
        if char not in found and not char.isascii():
            try:
                char.encode("cp949")
            except UnicodeEncodeError:
                found[char] = None
    return list(found)


def sms_kind(body: str) -> str:
    """ "SMS" when `body` fits in 90 CP949 bytes, "LMS" up to 2,000 bytes;
    raises MessageTooLong beyond that."""
    size = cp949_length(body)
    if size <= SMS_MAX_BYTES:
        return "SMS"
    if size <= LMS_MAX_BYTES:
        return "LMS"
    raise MessageTooLong(size, LMS_MAX_BYTES)


def check_title(title: str) -> int:
    """The CP949 byte length of an LMS title; raises MessageTooLong over 40 bytes."""
    size = cp949_length(title)
    if size > TITLE_MAX_BYTES:
        raise MessageTooLong(size, TITLE_MAX_BYTES, part="title")
    return size


def gsm_segments(text: str) -> tuple[str, int]:
    """The encoding ("GSM-7" or "UCS-2") and number of parts `text` is sent
    in to a non-Korean number.

    GSM-7 when every character is in the GSM 03.38 alphabet or its extension
    table (extension characters such as € ^ { } take two septets): 160
    septets fit one message, 153 per part beyond. Otherwise UCS-2 (UTF-16
    code units, so an emoji takes two): 70 in one message, 67 per part.
    Like carriers, a part never ends between the two halves of an extension
    character or of a surrogate pair. An empty text is 0 parts.
    """
    chars = set(text)
    if chars <= _GSM_ALL:
        extension = chars & GSM_EXTENSION
        units = len(text) + sum(text.count(char) for char in extension)
        wide = extension
        single, part = _GSM7_SINGLE, _GSM7_PART
        encoding = "GSM-7"
    else:
        units = len(text.encode("utf-16-le")) // 2
        wide = {char for char in chars if ord(char) > 0xFFFF} if units > len(text) else set()
        single, part = _UCS2_SINGLE, _UCS2_PART
        encoding = "UCS-2"
    if units <= single:
        return encoding, 1 if units else 0
    if not wide:
        return encoding, -(-units // part)
    return encoding, _parts_without_splitting(text, wide, part)


def _parts_without_splitting(text: str, wide: set[str], part: int) -> int:
    """Count parts of `part` units where each character of `wide` takes two
    units that must stay in the same part."""
    parts, used = 1, 0
    for char in text:
        width = 2 if char in wide else 1
        if used + width > part:
            parts += 1
            used = 0
        used += width
    return parts
