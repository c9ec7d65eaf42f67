"""Segment definitions: the JSON format, its validation, and its compilation to
one SQL query through the ORM (Q objects, Exists and IN-subqueries).

A definition is a group::

    {"match": "all" | "any", "conditions": [<condition or group>, ...]}

and a condition is one of (``kind``):

- ``attribute``: ``{"field": "country", "op": "eq", "value": "KR"}`` over the
  user's fields (``ATTRIBUTE_FIELDS``; the API's camelCase names). Text fields
  take eq, neq, contains, starts_with, gt, lt, is_set, is_not_set (contains and
  starts_with ignore case); ``dob`` takes eq, neq, before, after, gt, lt,
  is_set, is_not_set with an ISO date; ``createdAt`` and ``lastSeenAt`` take
  before, after, gt, lt (ISO date or date-time), within_days (N ≥ 1: at or
  after now minus N days), is_set, is_not_set. gt/lt on dates mean after/before.
- ``tag``: ``{"key": "plan", "op": "eq|neq|contains|is_set|is_not_set", "value": "gold"}``.
- ``event``: ``{"type": "purchase", "performed": true, "min_count": 1,
  "within_days": 30, "where": {"field": "amount", "op": "gt", "value": 100}}``:
  the user did the event at least ``min_count`` times (default 1), within the
  last ``within_days`` days if given, counting only events whose data matches
  ``where`` (a key of the event's data, dotted for nested objects; gt/lt take
  numbers). ``performed: false`` matches exactly the users the same condition
  with ``performed: true`` does not.
- ``phone``: ``{"present": true}`` — the user has a phone number.
- ``optout``: ``{"opted_out": true}`` — the user's number is on the project's
  SMS opt-out list (a user without a number is never opted out).
- ``consent``: ``{"type": "promotional" | "night", "given": true}``.

Negations include the unset: ``neq`` matches users without the field or tag
too, as "not eq" does. An empty root group matches every user of the project;
a nested group needs at least one condition.

Evaluation is a single query over the project's customers; nothing loops over
users in Python. It works on SQLite and PostgreSQL.

For triggers that follow users one by one (journeys' segment entry),
``members_among()`` answers the same question for a handful of users with the
subqueries narrowed to them (an index lookup per user, not a pass over the
segment), and ``boundary_candidates()`` names the users whose membership may
change only because time passes ("within N days" conditions).
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.db import connection
from django.db.models import Count, Exists, OuterRef, Q, QuerySet
from django.db.models.expressions import RawSQL
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime
from django.utils.translation import gettext as _

from audiences.models import Customer, CustomerTag, Event
from optout.models import OptOut
from projects.models import Project

MATCHES = ("all", "any")
KINDS = ("attribute", "tag", "event", "phone", "optout", "consent")
MAX_DEPTH = 5
MAX_CONDITIONS = 100
MAX_DAYS = 36500

TEXT, DATE, DATETIME = "text", "date", "datetime"
# API name → (model field, type).
ATTRIBUTE_FIELDS: dict[str, tuple[str, str]] = {
    "userId": ("user_id", TEXT),
    "phoneNumber": ("phone_number", TEXT),
    "name": ("name", TEXT),
    "email": ("email", TEXT),
    "dob": ("dob", DATE),
    "timeZone": ("time_zone", TEXT),
    "country": ("country", TEXT),
    "language": ("language", TEXT),
    "createdAt": ("created_at", DATETIME),
    "lastSeenAt": ("last_seen_at", DATETIME),
}
ATTRIBUTE_OPS: dict[str, tuple[str, ...]] = {
    TEXT: ("eq", "neq", "contains", "starts_with", "gt", "lt", "is_set", "is_not_set"),
    DATE: ("eq", "neq", "before", "after", "gt", "lt", "is_set", "is_not_set"),
    DATETIME: ("before", "after", "gt", "lt", "within_days", "is_set", "is_not_set"),
}
TAG_OPS = ("eq", "neq", "contains", "is_set", "is_not_set")
EVENT_DATA_OPS = ("eq", "neq", "gt", "lt")
CONSENT_TYPES = {"promotional": "promotional_consent", "night": "night_consent"}
VALUELESS_OPS = ("is_set", "is_not_set")
_DATA_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]{0,63}$")

# Fields each kind accepts, so a typo ("min_cout") is an error, not ignored.
_KEYS = {
    "attribute": {"kind", "field", "op", "value"},
    "tag": {"kind", "key", "op", "value"},
    "event": {"kind", "type", "performed", "min_count", "within_days", "where"},
    "phone": {"kind", "present"},
    "optout": {"kind", "opted_out"},
    "consent": {"kind", "type", "given"},
}


@dataclass(frozen=True)
class DefinitionError:
    """One problem, with where it is (``conditions[1].conditions[0].op``)."""

    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}" if self.path else self.message


class InvalidDefinition(ValueError):
    def __init__(self, errors: list[DefinitionError]) -> None:
        super().__init__("; ".join(str(e) for e in errors))
        self.errors = errors


# --- Validation --------------------------------------------------------------------


class _Validator:
    def __init__(self) -> None:
        self.errors: list[DefinitionError] = []
        self.conditions = 0

    def error(self, path: str, message: str) -> None:
        self.errors.append(DefinitionError(path, message))

    def group(self, node: Any, path: str, depth: int) -> None:
        if not isinstance(node, dict):
            self.error(path, _("must be a group: an object with match and conditions."))
            return
        self.unknown_keys(node, {"match", "conditions", "kind"}, path)
        if node.get("kind", "group") != "group":
            self.error(_join(path, "kind"), _("a group's kind, if given, is 'group'."))
        if node.get("match") not in MATCHES:
            self.error(_join(path, "match"), _("must be 'all' or 'any'."))
        conditions = node.get("conditions")
        if not isinstance(conditions, list):
            self.error(_join(path, "conditions"), _("must be a list of conditions."))
            return
        if not conditions and depth > 0:
            self.error(
                _join(path, "conditions"),
                _("a nested group needs at least one condition; add one or remove the group."),
            )
        for index, child in enumerate(conditions):
            child_path = _join(path, f"conditions[{index}]")
            if isinstance(child, dict) and (
                child.get("kind") == "group" or ("kind" not in child and "conditions" in child)
            ):
                if depth + 1 >= MAX_DEPTH:
                    self.error(
                        child_path,
                        _("groups nest at most %(depth)d levels deep.") % {"depth": MAX_DEPTH},
                    )
                    continue
                self.group(child, child_path, depth + 1)
            else:
                self.condition(child, child_path)

    def condition(self, node: Any, path: str) -> None:
        self.conditions += 1
        if self.conditions == MAX_CONDITIONS + 1:
            self.error(
                path,
                _("a segment has at most %(count)d conditions.") % {"count": MAX_CONDITIONS},
            )
        if not isinstance(node, dict):
            self.error(path, _("must be a condition (an object with a kind) or a group."))
            return
        kind = node.get("kind")
        if kind not in KINDS:
            self.error(
                _join(path, "kind"),
                _("unknown kind %(kind)s; use one of %(kinds)s.")
                % {"kind": _show(kind), "kinds": ", ".join(KINDS)},
            )
            return
        self.unknown_keys(node, _KEYS[kind], path)
        getattr(self, f"check_{kind}")(node, path)

    def unknown_keys(self, node: dict, allowed: set[str], path: str) -> None:
        for key in sorted(set(node) - allowed, key=str):
            self.error(_join(path, str(key)), _("is not a known field here."))

    def check_attribute(self, node: dict, path: str) -> None:
        field = node.get("field")
        # isinstance first: a list or object is unhashable and cannot be looked up.
        if not isinstance(field, str) or field not in ATTRIBUTE_FIELDS:
            self.error(
                _join(path, "field"),
                _("unknown user field %(field)s; use one of %(fields)s.")
                % {"field": _show(field), "fields": ", ".join(ATTRIBUTE_FIELDS)},
            )
            return
        kind = ATTRIBUTE_FIELDS[field][1]
        op = self.op(node, ATTRIBUTE_OPS[kind], path)
        if op is None or op in VALUELESS_OPS:
            return
        value, value_path = node.get("value"), _join(path, "value")
        if op == "within_days":
            self.days(value, value_path)
        elif kind == DATE and _as_date(value) is None:
            self.error(value_path, _("must be a date such as 1990-12-31."))
        elif kind == DATETIME and _as_datetime(value) is None:
            self.error(value_path, _("must be a date or date-time such as 2025-01-31T09:00:00Z."))
        elif kind == TEXT and not (isinstance(value, str) and value):
            self.error(value_path, _("must be a non-empty text."))

    def check_tag(self, node: dict, path: str) -> None:
        if not (isinstance(node.get("key"), str) and node["key"].strip()):
            self.error(_join(path, "key"), _("must be the tag's name."))
        op = self.op(node, TAG_OPS, path)
        needs_value = op is not None and op not in VALUELESS_OPS
        if needs_value and not (isinstance(node.get("value"), str) and node["value"]):
            self.error(_join(path, "value"), _("must be a non-empty text."))

    def check_event(self, node: dict, path: str) -> None:
        if not (isinstance(node.get("type"), str) and node["type"].strip()):
            self.error(_join(path, "type"), _("must be the event's name, e.g. purchase."))
        if "performed" in node and not isinstance(node["performed"], bool):
            self.error(_join(path, "performed"), _("must be true or false."))
        if "min_count" in node:
            count = node["min_count"]
            if not _is_int(count) or not 1 <= count <= 1_000_000:
                self.error(_join(path, "min_count"), _("must be a whole number from 1."))
        if node.get("within_days") is not None:
            self.days(node["within_days"], _join(path, "within_days"))
        if node.get("where") is not None:
            self.event_where(node["where"], _join(path, "where"))

    def event_where(self, where: Any, path: str) -> None:
        if not isinstance(where, dict):
            self.error(path, _("must be an object with field, op and value."))
            return
        self.unknown_keys(where, {"field", "op", "value"}, path)
        field = where.get("field")
        # "__" would read as a Django lookup, so it is refused with the rest.
        if not (
            isinstance(field, str)
            and "__" not in field
            and all(_DATA_KEY.match(part) for part in field.split("."))
        ):
            self.error(
                _join(path, "field"),
                _("must be a key of the event's data, e.g. amount or item.sku."),
            )
        op = self.op(where, EVENT_DATA_OPS, path)
        value = where.get("value")
        if op in ("gt", "lt") and not _is_number(value):
            self.error(_join(path, "value"), _("must be a number for gt and lt."))
        elif op in ("eq", "neq") and not (
            (isinstance(value, str) and value) or _is_number(value) or isinstance(value, bool)
        ):
            self.error(_join(path, "value"), _("must be a text, a number, true or false."))

    def check_phone(self, node: dict, path: str) -> None:
        self.boolean(node, "present", path)

    def check_optout(self, node: dict, path: str) -> None:
        self.boolean(node, "opted_out", path)

    def check_consent(self, node: dict, path: str) -> None:
        if not isinstance(node.get("type"), str) or node["type"] not in CONSENT_TYPES:
            self.error(_join(path, "type"), _("must be 'promotional' or 'night'."))
        self.boolean(node, "given", path)

    def op(self, node: dict, allowed: tuple[str, ...], path: str) -> str | None:
        op = node.get("op")
        if op not in allowed:
            self.error(
                _join(path, "op"),
                _("%(op)s is not allowed here; use one of %(ops)s.")
                % {"op": _show(op), "ops": ", ".join(allowed)},
            )
            return None
        return op

    def boolean(self, node: dict, key: str, path: str) -> None:
        if not isinstance(node.get(key), bool):
            self.error(_join(path, key), _("must be true or false."))

    def days(self, value: Any, path: str) -> None:
        if not _is_int(value) or not 1 <= value <= MAX_DAYS:
            self.error(
                path,
                _("must be a whole number of days from 1 to %(max)d.") % {"max": MAX_DAYS},
            )


def validate_definition(definition: Any) -> list[DefinitionError]:
    """Every problem of the definition, each with its path; [] when it is valid."""
    validator = _Validator()
    validator.group(definition, "", 0)
    return validator.errors


# --- Compilation -------------------------------------------------------------------


def segment_queryset(
    project: Project, definition: Any, *, now: dt.datetime | None = None
) -> QuerySet[Customer]:
    """The project's customers the definition matches, as one lazy query.

    Raises InvalidDefinition when the definition is not valid. `now` anchors
    "within N days" (tests pass a fixed moment)."""
    errors = validate_definition(definition)
    if errors:
        raise InvalidDefinition(errors)
    compiler = _Compiler(project, now or timezone.now())
    return Customer.objects.filter(project=project).filter(compiler.group(definition))


def count(project: Project, definition: Any, *, now: dt.datetime | None = None) -> int:
    """How many of the project's customers the definition matches."""
    return segment_queryset(project, definition, now=now).count()


# Ids per query in members_among(): well under SQLite's bound on variables.
MEMBERS_CHUNK = 500
# members_among() compiles a definition once and reuses the SQL with the ids
# and the "within N days" edges (now minus N days) swapped in: Django
# building the query (three IN clauses, the subqueries) cost several times
# more than SQLite running it (2 ms against 1.5 ms for 100 users on the
# segment bench), and a project's Track calls come less than a second apart
# only under load.
_MEMBERS_SQL: dict[tuple, tuple[str, list[Any], list[int], list[tuple[int, dt.timedelta]]]] = {}
_MEMBERS_SQL_SIZE = 64
_SENTINEL_IDS = [-424242424242]
# The moment a definition is compiled at: no edge of a real moment falls on
# its microseconds, so the parameters derived from it are told apart.
_SENTINEL_MOMENT = dt.datetime(2999, 1, 1, 0, 0, 17, 424242, tzinfo=dt.UTC)
_EDGE_FIELD = Event._meta.get_field("created_at")


def members_among(
    project: Project,
    definition: Any,
    customer_ids: Iterable[int],
    *,
    now: dt.datetime | None = None,
) -> set[int]:
    """Which of `customer_ids` (the project's customers) the definition matches.

    One query per MEMBERS_CHUNK ids, the tag and event subqueries narrowed to
    those ids, so its cost follows the number of users asked about, not the
    segment's size. The answer equals filtering `segment_queryset()` to the
    ids; "within N days" is anchored at `now` to the second."""
    ids = sorted(set(customer_ids))
    moment = (now or timezone.now()).replace(microsecond=0)
    sql, template, positions = _members_sql(project, definition, moment)
    members: set[int] = set()
    with connection.cursor() as cursor:
        for start in range(0, len(ids), MEMBERS_CHUNK):
            params = list(template)
            bound = _ids_value(ids[start : start + MEMBERS_CHUNK])
            for position in positions:
                params[position] = bound
            cursor.execute(sql, params)
            members.update(row[0] for row in cursor.fetchall())
    return members


def members_query(
    project: Project,
    definition: Any,
    customer_ids: Iterable[int],
    *,
    now: dt.datetime | None = None,
) -> tuple[str, list[Any]]:
    """members_among()'s SQL and parameters for at most MEMBERS_CHUNK users,
    for a caller that runs it inside a statement of its own (as a subquery:
    its one column is the customer id). Raises
    InvalidDefinition, or ValueError for more than MEMBERS_CHUNK users."""
    ids = sorted(set(customer_ids))
    if len(ids) > MEMBERS_CHUNK:
        raise ValueError(f"at most {MEMBERS_CHUNK} users per members query")
    moment = (now or timezone.now()).replace(microsecond=0)
    sql, template, positions = _members_sql(project, definition, moment)
    params = list(template)
    bound = _ids_value(ids)
    for position in positions:
        params[position] = bound
    return sql, params


def _members_sql(
    project: Project, definition: Any, moment: dt.datetime
) -> tuple[str, list[Any], list[int]]:
    """The members query's SQL and its parameters at `moment`, and where the
    ids go in them."""
    key = (connection.alias, project.pk, json.dumps(definition, sort_keys=True))
    cached = _MEMBERS_SQL.get(key)
    if cached is None:
        cached = _compile_members(project, definition)
        if len(_MEMBERS_SQL) >= _MEMBERS_SQL_SIZE:
            _MEMBERS_SQL.clear()
        _MEMBERS_SQL[key] = cached
    sql, template, positions, edges = cached
    params = list(template)
    for position, days in edges:
        params[position] = _edge_value(moment - days)
    return sql, params, positions


def _compile_members(
    project: Project, definition: Any
) -> tuple[str, list[Any], list[int], list[tuple[int, dt.timedelta]]]:
    """The members query compiled at _SENTINEL_MOMENT for _SENTINEL_IDS: its
    SQL, parameters, where the ids go, and where each "within N days" edge
    goes (with its N days)."""
    errors = validate_definition(definition)
    if errors:
        raise InvalidDefinition(errors)
    sentinel = _ids_value(_SENTINEL_IDS)
    compiler = _Compiler(project, _SENTINEL_MOMENT, customer_ids=ids_parameter(_SENTINEL_IDS))
    query = (
        Customer.objects.filter(project=project, pk__in=compiler.customer_ids)
        .filter(compiler.group(definition))
        .values_list("pk", flat=True)
    ).query
    sql, params = query.get_compiler(connection.alias).as_sql()
    positions = [index for index, value in enumerate(params) if value == sentinel]
    windows = {_edge_value(_SENTINEL_MOMENT - days): days for days in compiler.windows}
    edges = [
        (index, windows[value])
        for index, value in enumerate(params)
        if isinstance(value, (str, dt.datetime)) and value in windows
    ]
    if len(edges) != len(compiler.windows):
        raise AssertionError("a window's edge was not found among the query's parameters")
    return sql, list(params), positions, edges


def _edge_value(moment: dt.datetime) -> Any:
    """A "within N days" edge as the ORM binds it (the lookups' own preparation)."""
    return _EDGE_FIELD.get_db_prep_value(moment, connection)


def _ids_value(ids: list[int]) -> object:
    return ids if connection.vendor == "postgresql" else json.dumps(ids)


def ids_parameter(ids: list[int]) -> RawSQL:
    """A subquery of the ids bound as ONE parameter (a JSON array on SQLite,
    an array on PostgreSQL), for `field__in=`: an IN list of hundreds of ids
    costs Django more to build than the database to run."""
    if connection.vendor == "postgresql":
        return RawSQL("SELECT unnest(%s::bigint[])", (_ids_value(ids),))
    return RawSQL("SELECT value FROM json_each(%s)", (_ids_value(ids),))


def is_time_relative(definition: Any) -> bool:
    """Whether membership can change by time passing alone ("within N days")."""
    return bool(_time_conditions(definition))


def boundary_candidates(
    project: Project, definition: Any, since: dt.datetime, until: dt.datetime
) -> QuerySet:
    """Ids of the project's customers whose membership may have changed between
    `since` and `until` only because time passed: a "within N days" window
    (createdAt, lastSeenAt, events) whose edge moved past their time. Changes
    of the users' data are not in it (they are told by `customers_changed`).
    A superset: re-evaluate them with members_among(now=until)."""
    errors = validate_definition(definition)
    if errors:
        raise InvalidDefinition(errors)
    nodes = _time_conditions(definition)
    if not nodes:
        return Customer.objects.none().values_list("pk", flat=True)
    condition = Q()
    for node in nodes:
        days = dt.timedelta(days=node["within_days"] if node["kind"] == "event" else node["value"])
        edge = {"gte": since - days, "lt": until - days}
        if node["kind"] == "attribute":
            column = ATTRIBUTE_FIELDS[node["field"]][0]
            condition |= Q(**{f"{column}__gte": edge["gte"], f"{column}__lt": edge["lt"]})
        else:
            events = Event.objects.filter(
                project=project,
                type=node["type"],
                created_at__gte=edge["gte"],
                created_at__lt=edge["lt"],
            )
            if node.get("where") is not None:
                events = events.filter(_event_data_q(node["where"]))
            condition |= Q(pk__in=events.values("customer_id"))
    return Customer.objects.filter(project=project).filter(condition).values_list("pk", flat=True)


def _time_conditions(node: dict) -> list[dict]:
    found = []
    for child in node.get("conditions", []):
        if _is_group(child):
            found += _time_conditions(child)
        elif (child.get("kind") == "attribute" and child.get("op") == "within_days") or (
            child.get("kind") == "event" and child.get("within_days") is not None
        ):
            found.append(child)
    return found


class _Compiler:
    def __init__(
        self, project: Project, now: dt.datetime, *, customer_ids: RawSQL | None = None
    ) -> None:
        self.project = project
        self.now = now
        # The "within N days" windows compiled, each an edge at now - N days.
        self.windows: list[dt.timedelta] = []
        # When set, the outer query keeps to these customers, so the tag and
        # event subqueries may too: an index lookup instead of a pass over
        # every matching row of the project.
        self.customer_ids = customer_ids

    def _edge(self, days: int) -> dt.datetime:
        self.windows.append(dt.timedelta(days=days))
        return self.now - self.windows[-1]

    def group(self, node: dict) -> Q:
        parts = [
            self.group(child) if _is_group(child) else self.condition(child)
            for child in node["conditions"]
        ]
        if not parts:
            return Q()
        combined = parts[0]
        for part in parts[1:]:
            combined = (combined & part) if node["match"] == "all" else (combined | part)
        # Wrapping keeps a one-condition group's negation from leaking outward.
        return Q(combined)

    def condition(self, node: dict) -> Q:
        return getattr(self, f"compile_{node['kind']}")(node)

    def compile_attribute(self, node: dict) -> Q:
        column, kind = ATTRIBUTE_FIELDS[node["field"]]
        op, value = node["op"], node.get("value")
        if op in VALUELESS_OPS:
            unset = Q(**{f"{column}__isnull": True}) if kind != TEXT else Q(**{column: ""})
            return unset if op == "is_not_set" else ~unset
        if op == "within_days":
            return Q(**{f"{column}__gte": self._edge(value)})
        if kind == DATE:
            value = _as_date(value)
        elif kind == DATETIME:
            value = _as_datetime(value)
        lookup = {
            "eq": "exact",
            "neq": "exact",
            "contains": "icontains",
            "starts_with": "istartswith",
            "gt": "gt",
            "after": "gt",
            "lt": "lt",
            "before": "lt",
        }[op]
        q = Q(**{f"{column}__{lookup}": value})
        return ~q if op == "neq" else q

    def compile_tag(self, node: dict) -> Q:
        op = node["op"]
        # No project join here: the outer query keeps to the project already.
        tags = CustomerTag.objects.filter(key=node["key"])
        if self.customer_ids is not None:
            tags = tags.filter(customer_id__in=self.customer_ids)
        if op in ("eq", "neq"):
            tags = tags.filter(value=node["value"])
        elif op == "contains":
            tags = tags.filter(value__icontains=node["value"])
        q = Q(pk__in=tags.values("customer_id"))
        return ~q if op in ("neq", "is_not_set") else q

    def compile_event(self, node: dict) -> Q:
        events = Event.objects.filter(project=self.project, type=node["type"])
        if self.customer_ids is not None:
            events = events.filter(customer_id__in=self.customer_ids)
        if node.get("within_days") is not None:
            events = events.filter(created_at__gte=self._edge(node["within_days"]))
        if node.get("where") is not None:
            events = events.filter(_event_data_q(node["where"]))
        min_count = node.get("min_count", 1)
        if min_count > 1:
            # One GROUP BY over the matching events, not a count per customer.
            customers = (
                events.values("customer_id")
                .annotate(times=Count("id"))
                .filter(times__gte=min_count)
                .values("customer_id")
            )
        else:
            customers = events.values("customer_id")
        q = Q(pk__in=customers)
        return q if node.get("performed", True) else ~q

    def compile_phone(self, node: dict) -> Q:
        q = ~Q(phone_number="")
        return q if node["present"] else ~q

    def compile_optout(self, node: dict) -> Q:
        on_list = Exists(
            OptOut.objects.filter(project=self.project, phone_number=OuterRef("phone_number"))
        )
        q = Q(on_list) & ~Q(phone_number="")
        return q if node["opted_out"] else ~q

    def compile_consent(self, node: dict) -> Q:
        return Q(**{CONSENT_TYPES[node["type"]]: node["given"]})


def _event_data_q(where: dict) -> Q:
    # The key was checked against _DATA_KEY, and the lookup is always spelled
    # out, so a key named like a lookup ("contains") stays a key.
    path = "data__" + "__".join(where["field"].split("."))
    op, value = where["op"], where["value"]
    lookup = {"eq": "exact", "neq": "exact", "gt": "gt", "lt": "lt"}[op]
    q = Q(**{f"{path}__{lookup}": value})
    return ~q if op == "neq" else q


# --- Helpers -----------------------------------------------------------------------


def _is_group(node: dict) -> bool:
    return node.get("kind") == "group" or ("kind" not in node and "conditions" in node)


def _join(path: str, part: str) -> str:
    if not path:
        return part
    return f"{path}{part}" if part.startswith("[") else f"{path}.{part}"


def _show(value: Any) -> str:
    return repr(value) if not isinstance(value, str) else f"'{value}'"


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _as_date(value: Any) -> dt.date | None:
    if not isinstance(value, str):
        return None
    try:
        return parse_date(value)
    except ValueError:
        return None


def _as_datetime(value: Any) -> dt.datetime | None:
    """An ISO date-time, or a date meaning its midnight, in the current zone
    when no offset is given."""
    if not isinstance(value, str):
        return None
    try:
        parsed = parse_datetime(value)
        if parsed is None:
            day = parse_date(value)
            if day is None:
                return None
            parsed = dt.datetime.combine(day, dt.time())
    except ValueError:
        return None
    if timezone.is_naive(parsed):
        parsed = timezone.make_aware(parsed)
    return parsed
