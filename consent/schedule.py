"""When a notice is due: pure date arithmetic, no database.

- A result notice (Art. 50 ⑦, within 14 days) is due at the first 10:00 in
  the user's zone after the change: the next morning for a change made in
  the afternoon or at night, the same morning for one made before 10:00.
  10:00 is never night (21:00–08:00), so a notice never waits for the night
  rule, and a day's notices leave together.
- A reminder (Art. 50 ⑧, every two years) is due at 10:00 in the user's
  zone, REMINDER_LEAD before the second anniversary of its anchor (the date
  of consent, or the last reminder sent). When that moment has already
  passed (the scheduler runs late, or the history starts with consent older
  than two years), it is due at the next 10:00.

The user's zone is their `timeZone` attribute, Asia/Seoul when empty or unknown.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from console.lib.compliance import resolve_time_zone

NOTICE_TIME = time(10, 0)
REMINDER_LEAD = timedelta(days=30)
RESULT_DEADLINE = timedelta(days=14)
REMINDER_YEARS = 2


def _at_notice_time(day: date, zone_name: str) -> datetime:
    zone = resolve_time_zone(zone_name)
    return datetime.combine(day, NOTICE_TIME, tzinfo=zone).astimezone(UTC)


def next_notice_time(moment: datetime, zone_name: str) -> datetime:
    """The first 10:00 in the user's zone strictly after `moment` (aware), in UTC."""
    if moment.tzinfo is None:
        raise ValueError("next_notice_time needs an aware datetime.")
    zone = resolve_time_zone(zone_name)
    day = moment.astimezone(zone).date()
    for offset in range(3):
        candidate = _at_notice_time(day + timedelta(days=offset), zone_name)
        if candidate > moment:
            return candidate
    raise AssertionError(f"no 10:00 within three days of {moment.isoformat()}")


def anniversary(anchor: datetime, zone_name: str, years: int = REMINDER_YEARS) -> date:
    """The calendar date `years` after `anchor` in the user's zone (29 February → 28)."""
    local = anchor.astimezone(resolve_time_zone(zone_name)).date()
    try:
        return local.replace(year=local.year + years)
    except ValueError:
        return local.replace(year=local.year + years, day=28)


def reminder_due_at(anchor: datetime, zone_name: str, now: datetime) -> datetime:
    """When the reminder for consent (or a last reminder) at `anchor` is due."""
    due = _at_notice_time(anniversary(anchor, zone_name) - REMINDER_LEAD, zone_name)
    return due if due > now else next_notice_time(now, zone_name)


def reminder_anchor_cutoff(until: datetime) -> datetime:
    """No anchor later than this can have a reminder due by `until`: a coarse,
    zone-free bound (a day of slack either way) for the scheduler's query."""
    return until + REMINDER_LEAD + timedelta(days=2) - timedelta(days=365 * REMINDER_YEARS)
