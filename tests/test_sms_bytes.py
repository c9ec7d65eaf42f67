"""Byte counts in CP949, the SMS/LMS switch, LMS titles and GSM segments, against hand counts."""

from __future__ import annotations

import pytest

from console.lib.sms import (
    LMS_MAX_BYTES,
    SMS_MAX_BYTES,
    TITLE_MAX_BYTES,
    MessageTooLong,
    check_title,
    cp949_length,
    gsm_segments,
    sms_kind,
    unencodable,
)

ALL_HANGUL_SYLLABLES = "".join(chr(code) for code in range(0xAC00, 0xD7A4))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", 0),
        ("Hello", 5),
        ("안녕하세요", 10),
        ("Hello 안녕", 10),  # 6 ASCII + 2 syllables
        ("(광고)무냐상사", 14),  # ( ) 1 each, 광고 4, 무냐상사 8
        ("무료수신거부 080-123-4567", 12 + 1 + 12),
        ("줄\n바꿈", 7),
        ("€", 2),
    ],
)
def test_it_counts_bytes_by_hand(text, expected):
    assert cp949_length(text) == expected


def test_syllables_outside_ks_x_1001_count_two_bytes_not_eight():
    # Python's euc-kr codec writes these as 8-byte jamo sequences (SPEC §5).
    assert len("똠햏뷁쀍".encode("euc-kr")) == 32
    assert cp949_length("똠햏뷁쀍") == 8
    assert unencodable("똠햏뷁쀍") == []


def test_every_modern_hangul_syllable_is_two_bytes():
    assert len(ALL_HANGUL_SYLLABLES) == 11_172
    assert cp949_length(ALL_HANGUL_SYLLABLES) == 2 * 11_172
    assert unencodable(ALL_HANGUL_SYLLABLES) == []


def test_an_emoji_counts_as_the_question_mark_a_gateway_sends_instead():
    assert cp949_length("할인😀") == 5


def test_it_lists_each_unencodable_character_once_in_order():
    assert unencodable("🎉 세일 😀 🎉 ok 😀") == ["🎉", "😀"]


def test_plain_text_has_nothing_unencodable():
    assert unencodable("Sale 50% off, 오늘만!") == []


def test_ninety_bytes_is_an_sms_and_ninety_one_an_lms():
    assert sms_kind("가" * 45) == "SMS"
    assert sms_kind("a" * SMS_MAX_BYTES) == "SMS"
    assert sms_kind("가" * 45 + "a") == "LMS"


def test_two_thousand_bytes_is_the_largest_lms():
    assert sms_kind("가" * 1000) == "LMS"
    with pytest.raises(MessageTooLong) as raised:
        sms_kind("가" * 1000 + "a")
    assert raised.value.byte_count == 2001
    assert raised.value.limit == LMS_MAX_BYTES
    assert "2,001 bytes" in str(raised.value)
    assert "2,000 bytes" in str(raised.value)


def test_a_title_may_have_forty_bytes():
    assert check_title("가" * 20) == TITLE_MAX_BYTES
    with pytest.raises(MessageTooLong) as raised:
        check_title("가" * 20 + "!")
    assert raised.value.part == "title"
    assert "title is 41 bytes" in str(raised.value)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", ("GSM-7", 0)),
        ("a", ("GSM-7", 1)),
        ("a" * 160, ("GSM-7", 1)),
        ("a" * 161, ("GSM-7", 2)),
        ("a" * 306, ("GSM-7", 2)),
        ("a" * 307, ("GSM-7", 3)),
        ("Ümlaut öäü Ñ ¿ok? @£$¥ é à", ("GSM-7", 1)),
        ("naïve", ("UCS-2", 1)),  # ï is not in GSM 03.38
        ("€" * 80, ("GSM-7", 1)),  # 160 septets
        ("€" * 81, ("GSM-7", 2)),
        ("a" * 158 + "^", ("GSM-7", 1)),
        ("a" * 159 + "{", ("GSM-7", 2)),
        ("가" * 70, ("UCS-2", 1)),
        ("가" * 71, ("UCS-2", 2)),
        ("가" * 134, ("UCS-2", 2)),
        ("가" * 135, ("UCS-2", 3)),
        ("a" * 69 + "ç", ("UCS-2", 1)),  # ç (lower case) is not GSM-7
        ("😀" * 35, ("UCS-2", 1)),  # 70 UTF-16 units
        ("😀" * 36, ("UCS-2", 2)),
    ],
)
def test_gsm_segments_at_the_boundaries(text, expected):
    assert gsm_segments(text) == expected


def test_every_extension_character_takes_two_septets():
    for char in "\f^{}\\[~]|€":
        assert gsm_segments(char * 80) == ("GSM-7", 1), char
        assert gsm_segments(char * 81) == ("GSM-7", 2), char


def test_an_extension_character_is_never_split_across_parts():
    # 152 + 2 + 152 = 306 septets would fit 2 parts of 153, but the € cannot
    # straddle parts 1 and 2, so it starts part 2 and pushes 1 septet into part 3.
    assert gsm_segments("a" * 152 + "€" + "a" * 152) == ("GSM-7", 3)
    assert gsm_segments("a" * 151 + "€" + "a" * 153) == ("GSM-7", 2)


def test_a_surrogate_pair_is_never_split_across_parts():
    assert gsm_segments("가" * 66 + "😀" + "가" * 66) == ("UCS-2", 3)
    assert gsm_segments("가" * 65 + "😀" + "가" * 67) == ("UCS-2", 2)
