"""Tracked links in message bodies: the `track` Liquid filter and the short
codes of `/l/<code>`.

A marketer writes ``{{ "https://shop.example/sale" | track }}``; each
recipient's message then carries ``<public url>/l/<code>`` instead. Only URLs
written literally (a quoted http(s) URL piped straight into `track`) are
allowed, so a recipient's data can never choose where a link goes:
`check_tracked_links` refuses anything else when the body is compiled.

A code is fixed-width base62, so a body's length (and its SMS/LMS kind) does
not depend on who receives it and a preview can show a same-length link:

    <link id: 4+ chars><recipient key: 6 chars><MAC: 6 chars>

16 characters for the first 14,776,336 tracked links (the link part grows
beyond), recipient keys below 62**6 (56.8 billion). The MAC (HMAC-SHA256 of
link id and key under a key derived from the secret key, 35.7 bits) means
codes can be neither enumerated nor forged.

Rendering reads the current recipient's link maker from a context variable
set around the render call (`making_links`), so the filter needs nothing
in the template's data and a body cannot read or replace it.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar

__all__ = [
    "CODE_LENGTH",
    "FILTER_NAME",
    "PREVIEW_CODE",
    "decode",
    "encode",
    "making_links",
    "secret_from",
    "track_filter",
    "tracked_urls",
    "uses_tracking",
]

FILTER_NAME = "track"
ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
LINK_WIDTH = 4
KEY_WIDTH = 6
MAC_WIDTH = 6
CODE_LENGTH = LINK_WIDTH + KEY_WIDTH + MAC_WIDTH
MAX_KEY = 62**KEY_WIDTH - 1
MAX_URL_LENGTH = 2000
# Not base62 (the hyphen), so it can never resolve; as long as a real code.
PREVIEW_CODE = "preview-" + "x" * (CODE_LENGTH - 8)

# `{{ "https://…" | track }}` exactly: a quoted URL straight into the filter.
_LITERAL_USE = re.compile(
    r"\{\{-?\s*(?P<q>[\"'])(?P<url>[^\"'\s]*)(?P=q)\s*\|\s*" + FILTER_NAME + r"\s*-?\}\}"
)
_HTTP_URL = re.compile(r"https?://[^\s/?#]+[^\s]*", re.IGNORECASE)


class LinkProblem(ValueError):
    """A use of `track` that is not a literal http(s) URL; `index` is where."""

    def __init__(self, message: str, index: int) -> None:
        self.message = message
        self.index = index
        super().__init__(message)


def secret_from(secret_key: str) -> bytes:
    """The MAC key of link codes, derived from the installation's secret key
    (a new secret key retires every link already sent)."""
    return hashlib.sha256(b"munja.links:" + secret_key.encode()).digest()


def _b62(number: int, width: int) -> str:
    digits = []
    while number:
        number, rest = divmod(number, 62)
        digits.append(ALPHABET[rest])
    return "".join(reversed(digits)).rjust(width, "0")


def _from_b62(text: str) -> int:
    number = 0
    for char in text:
        number = number * 62 + ALPHABET.index(char)
    return number


def _mac(secret: bytes, link_id: int, key: int) -> str:
    digest = hmac.new(secret, f"{link_id}:{key}".encode(), hashlib.sha256).digest()
    return _b62(int.from_bytes(digest[:8], "big") % 62**MAC_WIDTH, MAC_WIDTH)


def encode(secret: bytes, link_id: int, key: int) -> str:
    """The code of tracked link `link_id` for recipient `key`."""
    if not 0 <= key <= MAX_KEY or link_id < 0:
        raise ValueError("link id or recipient key out of range")
    return _b62(link_id, LINK_WIDTH) + _b62(key, KEY_WIDTH) + _mac(secret, link_id, key)


def decode(secret: bytes, code: str) -> tuple[int, int] | None:
    """(link id, recipient key) of a genuine code; None for anything else."""
    if len(code) < CODE_LENGTH or len(code) > 32 or not set(code) <= _ALPHABET_SET:
        return None
    link_part = code[: -(KEY_WIDTH + MAC_WIDTH)]
    link_id = _from_b62(link_part)
    key = _from_b62(code[len(link_part) : -MAC_WIDTH])
    # One encoding per pair: no leading zeros beyond the fixed width.
    if _b62(link_id, LINK_WIDTH) != link_part:
        return None
    if not hmac.compare_digest(_mac(secret, link_id, key), code[-MAC_WIDTH:]):
        return None
    return link_id, key


_ALPHABET_SET = frozenset(ALPHABET)


# -- the filter ----------------------------------------------------------------

LinkMaker = Callable[[str], str]
_maker: ContextVar[LinkMaker | None] = ContextVar("munja_link_maker", default=None)


@contextmanager
def making_links(maker: LinkMaker) -> Iterator[None]:
    """Within the block, `track` renders a URL as `maker(url)`."""
    token = _maker.set(maker)
    try:
        yield
    finally:
        _maker.reset(token)


def track_filter(value: object) -> str:
    """The recipient's short link for a literal URL; outside a send (no link
    maker set) the URL itself."""
    url = str(value)
    maker = _maker.get()
    return url if maker is None else maker(url)


def uses_tracking(source: str) -> bool:
    return FILTER_NAME in source and bool(_LITERAL_USE.search(source))


def tracked_urls(source: str) -> list[str]:
    """The URLs a body tracks, each once, in order of first use."""
    return list(dict.fromkeys(m["url"] for m in _LITERAL_USE.finditer(source)))


def check_tracked_links(source: str, uses: list[int]) -> None:
    """Refuse a `track` that is not applied to a literal http(s) URL.
    `uses` are the source indexes of every use of the filter (from the
    template's analysis); raises LinkProblem at the first bad one."""
    literal = {m.start(): m for m in _LITERAL_USE.finditer(source)}
    for index in sorted(uses):
        match = next((m for start, m in literal.items() if start <= index < m.end()), None)
        if match is None:
            raise LinkProblem(
                'track works on a URL written in quotes: {{ "https://…" | track }}', index
            )
        url = match["url"]
        if len(url) > MAX_URL_LENGTH or not _HTTP_URL.fullmatch(url):
            raise LinkProblem(f"track needs an http:// or https:// address, not '{url}'", index)
