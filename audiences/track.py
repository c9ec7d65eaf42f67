"""Reading a Track API call (`events`, `tags`, `userAttributes` in FlareLane's
shapes) into clean items, and saying exactly what is wrong with the others.

Pure: no database. `parse_track()` raises `TrackBodyError` only when the body
as a whole cannot be read (not an object, a group that is not a list, more
than MAX_ITEMS in a group); any problem with one item becomes an `ItemError`
naming its group, index and field, and the other items go on.
"""

from __future__ import annotations

import re
import zoneinfo
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from functools import cache

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.utils import timezone
from django.utils.translation import gettext as _

from console.lib.phone import check_e164

MAX_ITEMS = 100
GROUPS = ("userAttributes", "tags", "events")
# A client clock a little ahead is normal; an event an hour or more in the
# future is a bug (often a local time sent as UTC) and would skew segments.
FUTURE_TOLERANCE = timedelta(hours=1)
MAX_ID_LENGTH = 255
MAX_TAG_VALUE_LENGTH = 1024

# ISO 3166-1 alpha-2, the 249 officially assigned codes.
_COUNTRY_CODES = """
AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO
BQ BR BS BT BV BW BY BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ
DK DM DO DZ EC EE EG EH ER ES ET FI FJ FK FM FO FR GA GB GD GE GF GG GH GI GL GM GN GP
GQ GR GS GT GU GW GY HK HM HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM JO JP KE KG
KH KI KM KN KP KR KW KY KZ LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML
MM MN MO MP MQ MR MS MT MU MV MW MX MY MZ NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE
PF PG PH PK PL PM PN PR PS PT PW PY QA RE RO RS RU RW SA SB SC SD SE SG SH SI SJ SK SL
SM SN SO SR SS ST SV SX SY SZ TC TD TF TG TH TJ TK TL TM TN TO TR TT TV TW TZ UA UG UM
US UY UZ VA VC VE VG VI VN VU WF WS YE YT ZA ZM ZW
"""
COUNTRIES = frozenset(_COUNTRY_CODES.split())
_LANGUAGE = re.compile(r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8})*$")
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")

# API name → model field, for the plain text attributes.
TEXT_ATTRIBUTES = {
    "phoneNumber": "phone_number",
    "email": "email",
    "timeZone": "time_zone",
    "name": "name",
    "country": "country",
    "language": "language",
}
CONSENTS = {"promotionalConsent": "promotional_consent", "nightConsent": "night_consent"}
ATTRIBUTE_KEYS = frozenset(
    {"userId", "dob", *TEXT_ATTRIBUTES, *CONSENTS, *(f"{k}At" for k in CONSENTS)}
)
TAG_KEYS = frozenset({"subjectType", "subjectId", "tags"})
EVENT_KEYS = frozenset({"subjectType", "subjectId", "type", "data", "createdAt"})


class TrackBodyError(Exception):
    """The body as a whole is unusable; nothing is stored."""

    def __init__(self, code: str, message: str, details: object = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.details = details


@dataclass(frozen=True)
class ItemError:
    group: str
    index: int
    field: str | None
    code: str
    message: str

    def as_dict(self) -> dict:
        return {
            "group": self.group,
            "index": self.index,
            "field": self.field,
            "code": self.code,
            "message": self.message,
        }


@dataclass(frozen=True)
class ConsentInput:
    """`granted` None means "not given"; `at` None means "now, if it turns true"."""

    granted: bool | None
    at: datetime | None


@dataclass
class AttributeItem:
    index: int
    user_id: str
    fields: dict[str, object]  # model field → value ("" or None clears it)
    consents: dict[str, ConsentInput]  # model field of the flag → input


@dataclass
class TagItem:
    index: int
    user_id: str
    tags: dict[str, str | None]  # None deletes the tag


@dataclass
class EventItem:
    index: int
    user_id: str
    type: str
    data: dict
    created_at: datetime | None


@dataclass
class TrackBatch:
    attributes: list[AttributeItem] = field(default_factory=list)
    tags: list[TagItem] = field(default_factory=list)
    events: list[EventItem] = field(default_factory=list)
    errors: list[ItemError] = field(default_factory=list)
    received: dict[str, int] = field(default_factory=dict)

    def accepted(self) -> dict[str, int]:
        return {
            "userAttributes": len(self.attributes),
            "tags": len(self.tags),
            "events": len(self.events),
        }

    def rejected(self) -> dict[str, int]:
        accepted = self.accepted()
        return {group: self.received.get(group, 0) - accepted[group] for group in GROUPS}

    def user_ids(self) -> list[str]:
        """Every subject named by a valid item, in first-seen order."""
        seen: dict[str, None] = {}
        for items in (self.attributes, self.tags, self.events):
            for item in items:
                seen.setdefault(item.user_id, None)
        return list(seen)


@cache
def _time_zones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


class _Item:
    """Collects the problems of one item so all of them are reported at once."""

    def __init__(self, group: str, index: int, raw: object, errors: list[ItemError]) -> None:
        self.group = group
        self.index = index
        self.raw = raw
        self.errors = errors
        self.ok = True

    def fail(self, field_name: str | None, code: str, message: str) -> None:
        self.ok = False
        self.errors.append(ItemError(self.group, self.index, field_name, code, message))

    def check_keys(self, allowed: frozenset[str]) -> None:
        for key in self.raw:
            if key not in allowed:
                self.fail(
                    key,
                    "unknown_field",
                    _("Unknown field '%(field)s'; allowed: %(allowed)s.")
                    % {"field": key, "allowed": ", ".join(sorted(allowed))},
                )

    def identifier(self, key: str) -> str | None:
        value = self.raw.get(key)
        if isinstance(value, int) and not isinstance(value, bool):
            value = str(value)
        if not isinstance(value, str) or not value.strip():
            self.fail(
                key,
                "required" if value in (None, "") else "invalid_type",
                _("'%(field)s' is required: a non-empty string.") % {"field": key},
            )
            return None
        if len(value) > MAX_ID_LENGTH:
            self.fail(
                key,
                "too_long",
                _("'%(field)s' is longer than %(max)d characters.")
                % {"field": key, "max": MAX_ID_LENGTH},
            )
            return None
        return value

    def subject(self) -> str | None:
        subject_type = self.raw.get("subjectType")
        if subject_type != "user":
            self.fail(
                "subjectType",
                "invalid_subject_type",
                _("'subjectType' must be \"user\", not %(value)s.")
                % {"value": _show(subject_type)},
            )
        return self.identifier("subjectId")

    def timestamp(self, key: str, now: datetime) -> datetime | None:
        value = self.raw.get(key)
        if not isinstance(value, str):
            self.fail(
                key,
                "invalid_type",
                _("'%(field)s' must be an ISO 8601 date-time string.") % {"field": key},
            )
            return None
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            self.fail(
                key,
                "invalid_datetime",
                _("'%(value)s' is not an ISO 8601 date-time, e.g. 2025-05-01T09:30:00+09:00.")
                % {"value": value},
            )
            return None
        if moment.tzinfo is None:
            self.fail(
                key,
                "datetime_without_offset",
                _("'%(value)s' has no UTC offset; add one, e.g. +09:00 or Z.") % {"value": value},
            )
            return None
        if moment > now + FUTURE_TOLERANCE:
            self.fail(
                key,
                "datetime_in_future",
                _("'%(value)s' is in the future.") % {"value": value},
            )
            return None
        return moment.astimezone(UTC)


def _show(value: object) -> str:
    return "null" if value is None else repr(value)


def parse_track(body: object, now: datetime | None = None) -> TrackBatch:
    """Split a Track call into valid items and item errors."""
    now = now or timezone.now()
    if not isinstance(body, dict):
        raise TrackBodyError(
            "malformed_body",
            _("The body must be a JSON object with 'events', 'tags' and/or 'userAttributes'."),
        )
    unknown = sorted(set(body) - set(GROUPS))
    if unknown:
        raise TrackBodyError(
            "unknown_group",
            _("Unknown key(s) %(keys)s; a Track call has 'events', 'tags' and 'userAttributes'.")
            % {"keys": ", ".join(unknown)},
            {"groups": unknown},
        )
    batch = TrackBatch()
    groups: dict[str, list] = {}
    for group in GROUPS:
        items = body.get(group)
        if items is None:
            items = []
        if not isinstance(items, list):
            raise TrackBodyError(
                "malformed_body",
                _("'%(group)s' must be a list.") % {"group": group},
                {"group": group},
            )
        if len(items) > MAX_ITEMS:
            raise TrackBodyError(
                "too_many_items",
                _("'%(group)s' has %(count)d items; at most %(max)d per call.")
                % {"group": group, "count": len(items), "max": MAX_ITEMS},
                {"group": group, "count": len(items), "max": MAX_ITEMS},
            )
        groups[group] = items
        batch.received[group] = len(items)
    if not any(groups.values()):
        raise TrackBodyError(
            "nothing_to_track",
            _("The call has no events, tags or user attributes."),
        )
    parsers = {"userAttributes": _attribute, "tags": _tag, "events": _event}
    targets = {"userAttributes": batch.attributes, "tags": batch.tags, "events": batch.events}
    for group in GROUPS:
        for index, raw in enumerate(groups[group]):
            item = _Item(group, index, raw, batch.errors)
            if not isinstance(raw, dict):
                item.fail(None, "not_an_object", _("Each item must be a JSON object."))
                continue
            parsed = parsers[group](item, now)
            if item.ok:
                targets[group].append(parsed)
    return batch


def _attribute(item: _Item, now: datetime) -> AttributeItem | None:
    raw = item.raw
    item.check_keys(ATTRIBUTE_KEYS)
    user_id = item.identifier("userId")
    fields: dict[str, object] = {}
    for key, model_field in TEXT_ATTRIBUTES.items():
        if key not in raw:
            continue
        value = raw[key]
        if value is None or value == "":
            fields[model_field] = ""
            continue
        if not isinstance(value, str):
            item.fail(key, "invalid_type", _("'%(field)s' must be a string.") % {"field": key})
            continue
        cleaned = _text_attribute(item, key, value.strip())
        if cleaned is not None:
            fields[model_field] = cleaned
    if "dob" in raw:
        fields["dob"] = _dob(item, raw["dob"], now)
    consents = {}
    for key, model_field in CONSENTS.items():
        consent = _consent(item, key, now)
        if consent is not None:
            consents[model_field] = consent
    if not item.ok:
        return None
    return AttributeItem(item.index, user_id, fields, consents)


def _text_attribute(item: _Item, key: str, value: str) -> str | None:
    if key == "phoneNumber":
        problem = check_e164(value)
        if problem is not None:
            item.fail(key, problem.code, problem.message)
            return None
        return value
    if key == "email":
        try:
            validate_email(value)
        except ValidationError:
            item.fail(
                key, "invalid_email", _("'%(value)s' is not an email address.") % {"value": value}
            )
            return None
        return value
    if key == "timeZone":
        if value not in _time_zones():
            item.fail(
                key,
                "invalid_time_zone",
                _("'%(value)s' is not an IANA time zone, e.g. Asia/Seoul.") % {"value": value},
            )
            return None
        return value
    if key == "country":
        if value.upper() not in COUNTRIES:
            item.fail(
                key,
                "invalid_country",
                _("'%(value)s' is not an ISO 3166-1 alpha-2 country code, e.g. KR.")
                % {"value": value},
            )
            return None
        return value.upper()
    if key == "language":
        if len(value) > 16 or not _LANGUAGE.match(value):
            item.fail(
                key,
                "invalid_language",
                _("'%(value)s' is not a language tag, e.g. ko or en-US.") % {"value": value},
            )
            return None
        return value
    # name
    if len(value) > 255:
        item.fail(key, "too_long", _("'name' is longer than 255 characters."))
        return None
    return value


def _dob(item: _Item, value: object, now: datetime) -> date | None:
    if value is None or value == "":
        return None
    if not isinstance(value, str) or not _ISO_DATE.match(value):
        item.fail(
            "dob", "invalid_date", _("'dob' must be an ISO date, YYYY-MM-DD, e.g. 1990-04-25.")
        )
        return None
    try:
        born = date.fromisoformat(value)
    except ValueError:
        item.fail("dob", "invalid_date", _("'%(value)s' is not a real date.") % {"value": value})
        return None
    if born > now.date():
        item.fail("dob", "date_in_future", _("'%(value)s' is in the future.") % {"value": value})
        return None
    return born


def _consent(item: _Item, key: str, now: datetime) -> ConsentInput | None:
    raw = item.raw
    at_key = f"{key}At"
    granted = raw.get(key)
    if key in raw and not isinstance(granted, bool):
        item.fail(key, "invalid_type", _("'%(field)s' must be true or false.") % {"field": key})
        return None
    at = None
    if raw.get(at_key) is not None:
        at = item.timestamp(at_key, now)
        if at is None:
            return None
        if granted is False:
            item.fail(
                at_key,
                "consent_date_without_consent",
                _("'%(at)s' is given but '%(field)s' is false.") % {"at": at_key, "field": key},
            )
            return None
        granted = True  # a consent date alone means consent was given then
    if granted is None:
        return None
    return ConsentInput(granted, at)


def _tag(item: _Item, now: datetime) -> TagItem | None:
    item.check_keys(TAG_KEYS)
    user_id = item.subject()
    raw_tags = item.raw.get("tags")
    tags: dict[str, str | None] = {}
    if not isinstance(raw_tags, dict):
        item.fail(
            "tags",
            "required" if raw_tags is None else "invalid_type",
            _("'tags' must be an object of key: value (null deletes the tag)."),
        )
        return None
    for key, value in raw_tags.items():
        where = f"tags.{key}"
        if not key.strip() or len(key) > MAX_ID_LENGTH:
            item.fail(
                where,
                "invalid_tag_key",
                _("A tag key must be 1 to %(max)d characters.") % {"max": MAX_ID_LENGTH},
            )
            continue
        if value is None:
            tags[key] = None
        elif isinstance(value, bool):
            tags[key] = "true" if value else "false"
        elif isinstance(value, (str, int, float)):
            text = str(value)
            if len(text) > MAX_TAG_VALUE_LENGTH:
                item.fail(
                    where,
                    "too_long",
                    _("The tag value is longer than %(max)d characters.")
                    % {"max": MAX_TAG_VALUE_LENGTH},
                )
                continue
            tags[key] = text
        else:
            item.fail(
                where,
                "invalid_tag_value",
                _("A tag value must be a string, number, boolean or null (to delete it)."),
            )
    if not item.ok:
        return None
    return TagItem(item.index, user_id, tags)


def _event(item: _Item, now: datetime) -> EventItem | None:
    raw = item.raw
    item.check_keys(EVENT_KEYS)
    user_id = item.subject()
    event_type = raw.get("type")
    if not isinstance(event_type, str) or not event_type.strip():
        item.fail("type", "required", _("'type' is required: the event's name."))
    elif len(event_type) > MAX_ID_LENGTH:
        item.fail(
            "type",
            "too_long",
            _("'type' is longer than %(max)d characters.") % {"max": MAX_ID_LENGTH},
        )
    data = raw.get("data")
    if data is None:
        data = {}
    elif not isinstance(data, dict):
        item.fail("data", "invalid_type", _("'data' must be a JSON object."))
    created_at = item.timestamp("createdAt", now) if raw.get("createdAt") is not None else None
    if not item.ok:
        return None
    return EventItem(item.index, user_id, event_type, data, created_at)
