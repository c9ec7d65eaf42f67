"""Compliance and byte-count properties for any body, company, number and clock."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo, available_timezones

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from console.lib.compliance import AD_LABEL, night_release_at, optout_line, promotional_body
from console.lib.sms import (
    LMS_MAX_BYTES,
    SMS_MAX_BYTES,
    MessageTooLong,
    cp949_length,
    sms_kind,
    unencodable,
)

# No example database on disk: the suite leaves nothing behind in the worktree.
checked = settings(database=None, max_examples=300, deadline=None)

hangul = st.characters(min_codepoint=0xAC00, max_codepoint=0xD7A3)
emoji = st.characters(min_codepoint=0x1F300, max_codepoint=0x1FAFF)
anything = st.characters(exclude_categories=("Cs",))
message_text = st.text(st.one_of(hangul, emoji, anything, st.sampled_from(" \n()광고")))
company_names = st.text(st.one_of(hangul, anything), min_size=1, max_size=30).filter(str.strip)
optout_numbers = st.from_regex(r"\+8280[0-9]{7}", fullmatch=True)
ZONES = sorted(available_timezones())


@checked
@given(body=message_text, company=company_names, number=optout_numbers)
def test_a_promotional_body_starts_with_the_label_and_company_and_ends_with_optout(
    body, company, number
):
    result = promotional_body(body, company_name=company, optout_number=number)
    assert result.startswith(AD_LABEL + company.strip())
    assert result.endswith(optout_line(number))
    assert optout_line(number).endswith(f"080-{number[5:8]}-{number[8:]}"), (
        "the number printed is the project's"
    )


@checked
@given(body=message_text, company=company_names, number=optout_numbers)
def test_applying_the_promotional_rules_twice_changes_nothing(body, company, number):
    once = promotional_body(body, company_name=company, optout_number=number)
    assert promotional_body(once, company_name=company, optout_number=number) == once


@checked
@given(body=message_text, company=company_names, number=optout_numbers)
def test_the_marketers_text_is_kept(body, company, number):
    result = promotional_body(body, company_name=company, optout_number=number)
    assert body.strip().removeprefix(AD_LABEL).lstrip() in result


@checked
@given(text=st.text(st.one_of(hangul, emoji, anything), max_size=1200))
def test_the_message_kind_agrees_with_the_byte_count(text):
    size = cp949_length(text)
    if size <= SMS_MAX_BYTES:
        assert sms_kind(text) == "SMS"
    elif size <= LMS_MAX_BYTES:
        assert sms_kind(text) == "LMS"
    else:
        with pytest.raises(MessageTooLong):
            sms_kind(text)


@checked
@given(text=st.text(st.one_of(hangul, emoji, anything)))
def test_each_character_counts_one_or_two_bytes(text):
    assert len(text) <= cp949_length(text) <= 2 * len(text)
    assert cp949_length(text) == len(text.encode("cp949", errors="replace"))


@checked
@given(text=st.text(st.one_of(hangul, emoji, anything)))
def test_a_text_is_fully_encodable_exactly_when_nothing_is_flagged(text):
    flagged = unencodable(text)
    assert len(flagged) == len(set(flagged))
    try:
        text.encode("cp949")
    except UnicodeEncodeError:
        assert flagged
        assert "".join(flagged).encode("cp949", errors="ignore") == b""
    else:
        assert flagged == []


def _is_daytime(moment: datetime, zone: ZoneInfo) -> bool:
    return time(8) <= moment.astimezone(zone).time() < time(21)


@settings(database=None, max_examples=1500, deadline=None)
@given(
    now=st.datetimes(
        min_value=datetime(1900, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)
    ),
    zone_name=st.sampled_from(ZONES),
)
def test_night_release_is_none_by_day_and_the_next_eight_oclock_by_night(now, zone_name):
    zone = ZoneInfo(zone_name)
    release = night_release_at(now, zone_name)
    if _is_daytime(now, zone):
        assert release is None
        return
    assert release is not None
    assert release.tzinfo is UTC
    assert release > now
    local = release.astimezone(zone)
    assert _is_daytime(release, zone)
    # The first daytime instant: one second earlier it was still night.
    assert not _is_daytime(release - timedelta(seconds=1), zone)
    wall_eight = datetime.combine(local.date(), time(8))
    eight_exists = (
        wall_eight.replace(tzinfo=zone).astimezone(UTC).astimezone(zone).replace(tzinfo=None)
        == wall_eight
    )
    if eight_exists:
        assert local.time() == time(8)
    # 21:00 to 08:00 is 11 hours, give or take the zone's change of offset.
    shift = abs(release.astimezone(zone).utcoffset() - now.astimezone(zone).utcoffset())
    assert release - now <= timedelta(hours=11) + shift
