"""Promotional bodies (ad label, company name, 080 opt-out line) and the night-time hold."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from console.lib.compliance import (
    AD_LABEL,
    night_release_at,
    optout_line,
    promotional_body,
    resolve_time_zone,
)
from console.lib.sms import cp949_length, sms_kind

SEOUL = ZoneInfo("Asia/Seoul")
OPTOUT = "+82801234567"


def promote(body: str, company: str = "무냐상사") -> str:
    return promotional_body(body, company_name=company, optout_number=OPTOUT)


def test_it_puts_the_label_and_company_first_and_the_optout_line_last():
    assert promote("주말 50% 할인!") == "(광고)무냐상사\n주말 50% 할인!\n무료수신거부 080-123-4567"


def test_the_080_number_is_printed_nationally_with_dashes():
    assert optout_line("+82800001111") == "무료수신거부 080-000-1111"


def test_applying_it_twice_changes_nothing():
    once = promote("오늘만 세일")
    assert promote(once) == once


def test_a_body_the_marketer_already_labelled_exactly_is_not_doubled():
    body = "(광고)무냐상사 봄맞이 세일\n무료수신거부 080-123-4567"
    assert promote(body) == body


def test_a_bare_label_typed_by_the_marketer_becomes_the_full_header():
    assert promote("(광고) 봄맞이 세일") == "(광고)무냐상사\n봄맞이 세일\n무료수신거부 080-123-4567"


def test_an_optout_line_with_another_number_does_not_replace_ours():
    result = promote("세일\n무료수신거부 080-999-9999")
    assert result.endswith("무료수신거부 080-999-9999\n무료수신거부 080-123-4567")


def test_surrounding_whitespace_is_dropped():
    assert promote("  \n 세일 \n\n") == "(광고)무냐상사\n세일\n무료수신거부 080-123-4567"


def test_an_empty_body_still_carries_header_and_optout_line():
    assert promote("") == "(광고)무냐상사\n무료수신거부 080-123-4567"


def test_the_additions_count_in_bytes_and_can_turn_an_sms_into_an_lms():
    body = "가" * 40  # 80 bytes: an SMS on its own
    assert sms_kind(body) == "SMS"
    promoted = promote(body)
    # (광고)무냐상사 14 + \n + 80 + \n + 무료수신거부 080-123-4567 25
    assert cp949_length(promoted) == 14 + 1 + 80 + 1 + 25
    assert sms_kind(promoted) == "LMS"


@pytest.mark.parametrize("company", ["", "   "])
def test_a_missing_company_name_is_refused(company):
    with pytest.raises(ValueError, match="company name"):
        promote("세일", company=company)


@pytest.mark.parametrize(
    "number", ["", "+821012345678", "080-123-4567", "+8280123456", "+828012345678"]
)
def test_a_number_that_is_not_an_080_number_is_refused(number):
    with pytest.raises(ValueError, match="080 opt-out number"):
        promotional_body("세일", company_name="무냐", optout_number=number)


def test_the_label_is_written_exactly():
    assert AD_LABEL == "(광고)"


# -- night-time hold -----------------------------------------------------------


def seoul(*args: int) -> datetime:
    return datetime(*args, tzinfo=SEOUL)


@pytest.mark.parametrize(
    "local", [seoul(2024, 5, 1, 8, 0), seoul(2024, 5, 1, 12, 30), seoul(2024, 5, 1, 20, 59, 59)]
)
def test_daytime_messages_leave_at_once(local):
    assert night_release_at(local, "Asia/Seoul") is None


@pytest.mark.parametrize(
    ("local", "release"),
    [
        (seoul(2024, 5, 1, 21, 0), seoul(2024, 5, 2, 8, 0)),
        (seoul(2024, 5, 1, 23, 59), seoul(2024, 5, 2, 8, 0)),
        (seoul(2024, 5, 2, 0, 0), seoul(2024, 5, 2, 8, 0)),
        (seoul(2024, 5, 2, 7, 59, 59), seoul(2024, 5, 2, 8, 0)),
        (seoul(2024, 12, 31, 22, 0), seoul(2025, 1, 1, 8, 0)),
    ],
)
def test_night_messages_are_held_until_eight(local, release):
    held = night_release_at(local, "Asia/Seoul")
    assert held == release
    assert held.tzinfo is UTC


def test_the_hold_uses_the_recipients_zone_not_the_servers():
    now = datetime(2024, 5, 1, 13, 0, tzinfo=UTC)  # 22:00 in Seoul, 09:00 in New York
    assert night_release_at(now, "America/New_York") is None
    assert night_release_at(now, "Asia/Seoul") == datetime(2024, 5, 1, 23, 0, tzinfo=UTC)


@pytest.mark.parametrize("zone", ["", "Mars/Olympus", "../../etc/passwd", "not a zone"])
def test_an_empty_or_unknown_zone_means_seoul(zone):
    now = datetime(2024, 5, 1, 13, 0, tzinfo=UTC)  # 22:00 in Seoul
    assert resolve_time_zone(zone) == SEOUL
    assert night_release_at(now, zone) == datetime(2024, 5, 1, 23, 0, tzinfo=UTC)


def test_a_naive_now_is_refused():
    with pytest.raises(ValueError, match="aware"):
        night_release_at(datetime(2024, 5, 1, 22, 0), "Asia/Seoul")


def test_now_in_any_offset_is_judged_in_the_recipients_zone():
    now = datetime(2024, 5, 1, 22, 0, tzinfo=timezone(timedelta(hours=9)))
    assert night_release_at(now, "Asia/Seoul") == datetime(2024, 5, 1, 23, 0, tzinfo=UTC)


def test_a_spring_forward_night_is_held_until_eight_new_time():
    # New York springs forward at 02:00 on 2024-03-10: the night is an hour shorter.
    zone = ZoneInfo("America/New_York")
    now = datetime(2024, 3, 9, 22, 0, tzinfo=zone)
    release = night_release_at(now, "America/New_York")
    assert release.astimezone(zone) == datetime(2024, 3, 10, 8, 0, tzinfo=zone)
    assert release - now == timedelta(hours=9)


def test_a_fall_back_night_is_held_until_eight_after_the_repeat():
    zone = ZoneInfo("America/New_York")
    now = datetime(2024, 11, 2, 22, 0, tzinfo=zone)
    release = night_release_at(now, "America/New_York")
    assert release.astimezone(zone).replace(tzinfo=None) == datetime(2024, 11, 3, 8, 0)
    assert release - now == timedelta(hours=11)


def test_when_eight_oclock_falls_in_a_gap_the_hold_ends_at_the_jump():
    # Dumont d'Urville went from -00 to +10 at 1956-11-01 00:00 UTC, skipping
    # local 00:00-10:00: the first daytime instant is the jump itself, 10:00.
    zone = ZoneInfo("Antarctica/DumontDUrville")
    now = datetime(1956, 10, 31, 22, 0, tzinfo=UTC)
    release = night_release_at(now, "Antarctica/DumontDUrville")
    assert release == datetime(1956, 11, 1, 0, 0, tzinfo=UTC)
    assert release.astimezone(zone).replace(tzinfo=None) == datetime(1956, 11, 1, 10, 0)


def test_a_skipped_day_holds_until_eight_on_the_next_real_day():
    # Samoa skipped 2011-12-30 entirely.
    zone = ZoneInfo("Pacific/Apia")
    now = datetime(2011, 12, 29, 23, 0, tzinfo=zone)
    release = night_release_at(now, "Pacific/Apia")
    assert release.astimezone(zone).replace(tzinfo=None) == datetime(2011, 12, 31, 8, 0)
