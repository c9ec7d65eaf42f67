# PROVISIONAL (dispatch branch): replaced by the text-helpers branch at merge
"""Promotional-message rules (Information and Communications Network Act Art. 50)."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from console.lib.phone import format_national

AD_PREFIX = "(광고)"
OPTOUT_PREFIX = "무료수신거부 "
NIGHT_START = time(21, 0)
NIGHT_END = time(8, 0)


def promotional_body(body: str, *, company_name: str, optout_number: str) -> str:
    head = f"{AD_PREFIX}{company_name}"
    number = format_national(optout_number) if optout_number.startswith("+") else optout_number
    tail = f"{OPTOUT_PREFIX}{number}"
    text = body
    if not text.startswith(AD_PREFIX):
        text = f"{head}\n{text}"
    if not text.endswith(tail):
        text = f"{text}\n{tail}"
    return text


def night_release_at(now: datetime, time_zone: str) -> datetime | None:
    zone = ZoneInfo(time_zone or "Asia/Seoul")
    local = now.astimezone(zone)
    if NIGHT_END <= local.time() < NIGHT_START:
        return None
    day = local.date() if local.time() < NIGHT_END else local.date() + timedelta(days=1)
    release = datetime.combine(day, NIGHT_END, tzinfo=zone)
    return release.astimezone(ZoneInfo("UTC"))
