"""A fast E.164 check for large audience files, exact to phonenumbers' verdict.

phonenumbers parses and validates about 18,000 numbers a second; a
million-row file needs more (SPEC §9). This module answers the common case —
a well-formed `+<digits>` number of an ordinary country — with a few
precompiled regular expressions built from phonenumbers' own metadata, and
hands everything else (whitespace, national formats, numbers a national prefix
could be stripped from, non-geographic codes, anything it does not accept) to
`console.lib.phone.check_e164`, so the answer and its message are always
phonenumbers'. `tests/test_fastphone.py` checks the two agree on a large
random sample.

What "valid" replicates (phonenumbers 9, `is_valid_number`): the country
calling code is the first 1–3 digits found in COUNTRY_CODE_TO_REGION_CODE; the
region is the only region of that code or, for shared codes (+1, +7, +44…),
the first in order whose leading-digits pattern matches or, lacking one, whose
number types accept the number; the number is valid when the region's general
description and at least one type description (each with its possible
lengths) fully match the national significant number.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

import phonenumbers
from phonenumbers import COUNTRY_CODE_TO_REGION_CODE, PhoneMetadata

from console.lib.phone import PhoneProblem, check_e164

__all__ = ["PhoneProblem", "check", "is_fast_valid"]

# Strict shape of what the fast path looks at: '+', no leading zero, ASCII digits.
_SHAPE = re.compile(r"\+[1-9][0-9]{3,16}")

_TYPE_DESCS = (
    "premium_rate",
    "toll_free",
    "shared_cost",
    "voip",
    "personal_number",
    "pager",
    "uan",
    "voicemail",
    "fixed_line",
    "mobile",
)


def _region_pattern(metadata: object, length: int) -> str | None:
    """One pattern for numbers of `length` digits in the region: the general
    description as a lookahead, then any type description of that length."""
    general = metadata.general_desc
    lengths = [n for n in (general.possible_length or ()) if n > 0]
    if not general.national_number_pattern or (lengths and length not in lengths):
        return None
    types = []
    for name in _TYPE_DESCS:
        # With identical patterns phonenumbers tries mobile only via fixed_line.
        if name == "mobile" and metadata.same_mobile_and_fixed_line_pattern:
            continue
        desc = getattr(metadata, name, None)
        if desc is None or not desc.national_number_pattern:
            continue
        type_lengths = [n for n in (desc.possible_length or ()) if n > 0]
        if type_lengths and length not in type_lengths:
            continue
        types.append(f"(?:{desc.national_number_pattern})")
    if not types:
        return None
    return f"(?=(?:{general.national_number_pattern})\\Z)(?:{'|'.join(types)})"


@dataclass(frozen=True)
class _Region:
    leading_digits: re.Pattern[str] | None
    by_length: dict[int, re.Pattern[str]]

    def accepts(self, nsn: str) -> bool:
        pattern = self.by_length.get(len(nsn))
        return pattern is not None and pattern.fullmatch(nsn) is not None


@dataclass(frozen=True)
class _CallingCode:
    size: int  # digits of the calling code
    regions: tuple[_Region, ...]
    # phonenumbers strips a national prefix when this matches the start of
    # the national number; such numbers go to phonenumbers itself.
    national_prefix: re.Pattern[str] | None

    def accepts(self, nsn: str) -> bool:
        if len(self.regions) == 1:
            return self.regions[0].accepts(nsn)
        for region in self.regions:
            if region.leading_digits is not None:
                if region.leading_digits.match(nsn):
                    return region.accepts(nsn)
            elif region.accepts(nsn):
                return True
        return False


def _region(code: str) -> _Region | None:
    metadata = PhoneMetadata.metadata_for_region(code, None)
    if metadata is None:
        return None
    by_length = {}
    for length in range(2, 18):
        pattern = _region_pattern(metadata, length)
        if pattern is not None:
            by_length[length] = re.compile(pattern)
    leading = re.compile(metadata.leading_digits) if metadata.leading_digits else None
    return _Region(leading, by_length)


def _calling_code(cc: int) -> _CallingCode | None:
    codes = COUNTRY_CODE_TO_REGION_CODE.get(cc)
    if not codes or phonenumbers.REGION_CODE_FOR_NON_GEO_ENTITY in codes:
        return None
    regions = []
    for code in codes:
        region = _region(code)
        if region is None:
            return None
        regions.append(region)
    main = PhoneMetadata.metadata_for_region(codes[0], None)
    prefix = main.national_prefix_for_parsing if main is not None else None
    return _CallingCode(len(str(cc)), tuple(regions), re.compile(prefix) if prefix else None)


# Longest string the fast path decides: '+' and 17 digits (E.164 allows 15;
# phonenumbers' own shape check allows 17).
_MAX_LENGTH = 18
_Check = Callable[[str], object]


def _single_region_checks(rules: _CallingCode, cc: str) -> tuple[_Check | None, ...]:
    """For a calling code of one region, one pattern per string length that
    decides a whole `+<cc><nsn>` string: no leading zero or national prefix
    after the code, then the region's pattern for that national length. ASCII
    mode makes `\\d` mean [0-9], so a match is also of the strict shape."""
    (region,) = rules.regions
    prefix = f"(?!{rules.national_prefix.pattern})" if rules.national_prefix else ""
    checks: list[_Check | None] = [None] * (_MAX_LENGTH + 1)
    for length, pattern in region.by_length.items():
        total = 1 + len(cc) + length
        if total <= _MAX_LENGTH:
            checks[total] = re.compile(
                f"\\+{cc}(?!0){prefix}(?:{pattern.pattern})", re.ASCII
            ).fullmatch
    return tuple(checks)


def _shared_code_check(rules: _CallingCode) -> _Check:
    """The check for a calling code shared by several regions (+1, +7, +44…)."""

    def accepts(raw: str) -> bool | None:
        if _SHAPE.fullmatch(raw) is None:
            return None
        nsn = raw[1 + rules.size :]
        if nsn[0] == "0":
            return None  # leading zeros (Italy) are phonenumbers' business
        if rules.national_prefix is not None and rules.national_prefix.match(nsn):
            return None
        return rules.accepts(nsn) or None

    return accepts


# The first three digits after '+' → a check per string length (returning
# something not None for a number it accepts), or None when phonenumbers must
# decide every such number.
_CACHE: dict[str, tuple[_Check | None, ...] | None] = {}


def _checks_for(head: str) -> tuple[_Check | None, ...] | None:
    if not (len(head) == 3 and head.isascii() and head.isdigit()):
        return None  # not cached: such heads are unbounded and never fast
    if head in _CACHE:
        return _CACHE[head]
    checks = None
    for size in (1, 2, 3):
        cc = int(head[:size])
        if cc in COUNTRY_CODE_TO_REGION_CODE:
            rules = _calling_code(cc)
            if rules is not None and len(rules.regions) == 1:
                checks = _single_region_checks(rules, str(cc))
            elif rules is not None:
                checks = (_shared_code_check(rules),) * (_MAX_LENGTH + 1)
            break
    _CACHE[head] = checks
    return checks


def is_fast_valid(raw: str) -> bool:
    """True when `raw` is certainly a valid E.164 number by phonenumbers'
    rules; False means "not decided here", never "invalid"."""
    checks = _CACHE.get(raw[1:4]) or _checks_for(raw[1:4])
    if checks is None or len(raw) > _MAX_LENGTH:
        return False
    check = checks[len(raw)]
    return check is not None and check(raw) is not None


def check(raw: str) -> PhoneProblem | None:
    """Same answer as `console.lib.phone.check_e164`, fast for the common case."""
    if is_fast_valid(raw):
        return None
    return check_e164(raw)
