"""Promotional-message rules of the Information and Communications Network Act, Art. 50.

Applied by the system, never left to the marketer (SPEC §5):
- the body starts with ``(광고)`` written exactly so, followed by the company name;
- it ends with the free opt-out line ``무료수신거부 080-XXX-XXXX``;
- it does not leave between 21:00 and 08:00 in the recipient's time zone
  (Asia/Seoul when unknown) without night-time consent: it is held until 08:00.

Both functions run once per message at dispatch, so they stay cheap.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

__all__ = [
    "AD_LABEL",
    "DAY_STARTS",
    "DEFAULT_TIME_ZONE",
    "NIGHT_STARTS",
    "OPTOUT_LINE_LABEL",
    "ad_header",
    "night_release_at",
    "optout_line",
    "promotional_body",
    "resolve_time_zone",
]

AD_LABEL = "(광고)"
OPTOUT_LINE_LABEL = "무료수신거부"
DEFAULT_TIME_ZONE = "Asia/Seoul"
DAY_STARTS = time(8)
NIGHT_STARTS = time(21)

_OPTOUT_E164 = re.compile(r"\+8280(\d{3})(\d{4})")


def ad_header(company_name: str) -> str:
    """``(광고)`` followed by the company name, the first thing a promotional
    body says. Raises ValueError when there is no company name to print."""
    name = (company_name or "").strip()
    if not name:
        raise ValueError(
            "A promotional message needs the company name from the project's "
            "business registration; it is empty."
        )
    return AD_LABEL + name


def optout_line(optout_number: str) -> str:
    """``무료수신거부 080-XXX-XXXX`` for an 080 number given in E.164
    (``+82801234567``). Raises ValueError for any other number."""
    match = _OPTOUT_E164.fullmatch((optout_number or "").strip())
    if match is None:
        raise ValueError(
            f"'{optout_number}' is not an 080 opt-out number in E.164 (+8280 followed by 7 digits)."
        )
    return f"{OPTOUT_LINE_LABEL} 080-{match[1]}-{match[2]}"


def promotional_body(body: str, *, company_name: str, optout_number: str) -> str:
    """`body` as a compliant promotional message: ``(광고)`` + company name on
    the first line, ``무료수신거부 080-XXX-XXXX`` on the last.

    Idempotent: a body that already starts with the exact header or ends with
    the exact opt-out line does not get it twice, so applying this to its own
    result changes nothing. A bare ``(광고)`` the marketer typed at the start is
    replaced by the full header rather than repeated. Whitespace around the
    body is dropped (it only costs bytes).

    Apply it to the rendered text, not to the Liquid source: a company name
    is data, and must not be read as template markup.
    """
    header = ad_header(company_name)
    footer = optout_line(optout_number)
    text = body.strip()
    if not text.startswith(header):
        if text.startswith(AD_LABEL):
            text = text[len(AD_LABEL) :].lstrip()
        text = f"{header}\n{text}" if text else header
    if not text.endswith(footer):
        text = f"{text}\n{footer}"
    return text


@lru_cache(maxsize=1024)
def resolve_time_zone(name: str | None) -> tzinfo:
    """The zone called `name`, or Asia/Seoul when it is empty or unknown."""
    if name:
        try:
            return ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError, TypeError):
            pass
    return ZoneInfo(DEFAULT_TIME_ZONE)


def night_release_at(now: datetime, time_zone: str) -> datetime | None:
    """When a promotional message due at `now` may leave.

    None when `now` is between 08:00 (inclusive) and 21:00 (exclusive) local
    time in `time_zone` (Asia/Seoul when empty or unknown): it may leave now.
    Otherwise the next 08:00 local time, as an aware UTC datetime. Where a
    daylight-saving jump skips 08:00, the release is the first instant after
    the jump at which local time is past 08:00; where 08:00 happens twice,
    the first one.
    """
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("night_release_at needs an aware datetime for `now`.")
    zone = resolve_time_zone(time_zone)
    local = now.astimezone(UTC).astimezone(zone)
    if DAY_STARTS <= local.time() < NIGHT_STARTS:
        return None
    day = local.date() if local.time() < DAY_STARTS else local.date() + timedelta(days=1)
    # A zone can skip a whole local day (Pacific/Apia, 2011-12-30), hence a few tries.
    for offset in range(3):
        release = _first_daytime_instant(day + timedelta(days=offset), zone)
        if release is not None and release > now:
            return release.astimezone(UTC)
    raise AssertionError(f"no 08:00 within three days of {now.isoformat()} in {zone}")


def _first_daytime_instant(day: date, zone: tzinfo) -> datetime | None:
    """The first instant of local `day` whose local time is in [08:00, 21:00),
    or None when that day has no such instant in `zone`."""
    wall = datetime.combine(day, DAY_STARTS)
    candidate = wall.replace(tzinfo=zone)
    if _wall_time(candidate, zone) == wall:
        return candidate
    # 08:00 falls in a gap. fold=1 maps it with the offset after the jump,
    # landing before it; fold=0 with the offset before, landing after it.
    # The jump itself is the first instant at or past 08:00; search for it.
    low = int(wall.replace(tzinfo=zone, fold=1).timestamp())
    high = int(candidate.timestamp())
    if low > high:
        low, high = high, low
    # Offsets are whole seconds, so the jump is too.
    while high - low > 1:
        middle = (low + high) // 2
        if _wall_time(datetime.fromtimestamp(middle, UTC), zone) >= wall:
            high = middle
        else:
            low = middle
    release = datetime.fromtimestamp(high, UTC)
    local = release.astimezone(zone)
    if local.date() == day and DAY_STARTS <= local.time() < NIGHT_STARTS:
        return release
    return None


def _wall_time(moment: datetime, zone: tzinfo) -> datetime:
    # Through UTC: astimezone() to the zone a datetime already has is a no-op,
    # which would hide that its wall time does not exist.
    return moment.astimezone(UTC).astimezone(zone).replace(tzinfo=None, fold=0)
