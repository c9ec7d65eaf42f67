"""Pure evaluators of a journey's conditions (docs/journeys.md).

- ``data_matches``: event-data conditions (``[{field, op, value}]``, all must
  match), with the operators of the segment event ``where`` (audiences/segments.py)
  and a few more; ``field`` is a data key, dotted for nested objects.
- ``branch_matches``: one branch of a split node for one user: a segment
  definition (evaluated in SQL for that user alone) and/or conditions on the
  entry event's data.
- ``ab_variant``: the A/B variant of a run, stable for the run (a hash of its id).
"""

from __future__ import annotations

import hashlib
from typing import Any

from projects.models import Project

# Operators of a data condition. eq/neq/gt/lt are the segment event `where`
# ones; the rest are the attribute and tag ones.
DATA_OPS = (
    "eq",
    "neq",
    "gt",
    "lt",
    "gte",
    "lte",
    "contains",
    "starts_with",
    "is_set",
    "is_not_set",
)
VALUELESS_OPS = ("is_set", "is_not_set")

_MISSING = object()


def lookup(data: Any, field: str) -> Any:
    """The value at a dotted key of `data`, or the module's _MISSING marker."""
    value = data
    for part in str(field).split("."):
        if not isinstance(value, dict) or part not in value:
            return _MISSING
        value = value[part]
    return value


def data_value(data: Any, field: str) -> Any:
    """The value at a dotted key, or None when it is not there."""
    value = lookup(data, field)
    return None if value is _MISSING else value


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _ordered(left: Any, right: Any) -> tuple[Any, Any] | None:
    """Both sides as comparable values (numbers, or numeric strings against a
    number, or two strings), or None when they cannot be ordered."""
    if _is_number(left) and _is_number(right):
        return left, right
    if _is_number(right) and isinstance(left, str):
        try:
            return float(left), right
        except ValueError:
            return None
    if isinstance(left, str) and isinstance(right, str):
        return left, right
    return None


def condition_matches(condition: dict, data: Any) -> bool:
    """One `{field, op, value}` against `data`. An unknown op never matches."""
    op = condition.get("op", "eq")
    value = lookup(data, condition.get("field", ""))
    present = value is not _MISSING and value is not None and value != ""
    if op == "is_set":
        return present
    if op == "is_not_set":
        return not present
    expected = condition.get("value")
    if op == "eq":
        return value is not _MISSING and _equal(value, expected)
    if op == "neq":
        # As in segments: negation includes the unset.
        return value is _MISSING or not _equal(value, expected)
    if value is _MISSING or value is None:
        return False
    if op in ("gt", "lt", "gte", "lte"):
        pair = _ordered(value, expected)
        if pair is None:
            return False
        left, right = pair
        return {
            "gt": left > right,
            "lt": left < right,
            "gte": left >= right,
            "lte": left <= right,
        }[op]
    if op == "contains":
        if isinstance(value, list):
            return any(_equal(item, expected) for item in value)
        return str(expected).lower() in str(value).lower()
    if op == "starts_with":
        return str(value).lower().startswith(str(expected).lower())
    return False


def _equal(value: Any, expected: Any) -> bool:
    if _is_number(value) and _is_number(expected):
        return value == expected
    return value == expected and type(value) is type(expected)


def data_matches(where: list[dict] | dict | None, data: dict | None) -> bool:
    """Whether `data` meets every condition of `where` (an empty list: yes).
    A single condition dict is accepted as a one-element list."""
    if not where:
        return True
    if isinstance(where, dict):
        where = [where]
    data = data or {}
    return all(condition_matches(condition, data) for condition in where)


def segment_definition(project: Project, segment: Any) -> dict | None:
    """A branch's segment as a definition: the definition itself, or a saved
    segment's (an id, or `{"segment_id": id}`); None when there is none."""
    if segment in (None, "", {}):
        return None
    segment_id = None
    if isinstance(segment, int) and not isinstance(segment, bool):
        segment_id = segment
    elif isinstance(segment, dict) and "segment_id" in segment and "conditions" not in segment:
        segment_id = segment["segment_id"]
    if segment_id is not None:
        from audiences.models import Segment

        stored = Segment.objects.filter(project=project, pk=segment_id).first()
        # A deleted segment matches nobody rather than everybody.
        return stored.definition if stored is not None else {"missing": segment_id}
    return segment


def customer_in_segment(project: Project, definition: dict, customer: Any) -> bool:
    """Whether one user meets a segment definition (one SQL query)."""
    if "missing" in definition:
        return False
    from audiences.segments import InvalidDefinition, segment_queryset

    try:
        return segment_queryset(project, definition).filter(pk=customer.pk).exists()
    except InvalidDefinition:
        return False


def branch_matches(project: Project, branch: dict, customer: Any, entry_data: dict) -> bool:
    """Whether a split branch matches: everything it states must match (a
    branch that states nothing matches)."""
    if not data_matches(branch.get("entry_data") or [], entry_data or {}):
        return False
    definition = segment_definition(project, branch.get("segment"))
    return definition is None or customer_in_segment(project, definition, customer)


def ab_bucket(run_id: int) -> int:
    """0…9999, from a hash of the run id: the same run always lands in the
    same bucket, and consecutive ids spread evenly."""
    digest = hashlib.sha256(f"journey-ab-{run_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") % 10000


def ab_variant(variants: list[dict], run_id: int) -> str:
    """The variant key of a run: percents cut 0…100 into consecutive ranges
    in the listed order. Percents may be fractional; if they sum below 100,
    the rest goes to the last variant."""
    if not variants:
        return ""
    bucket = ab_bucket(run_id)
    edge = 0.0
    for variant in variants:
        edge += float(variant.get("percent", 0)) * 100
        if bucket < edge:
            return str(variant["key"])
    return str(variants[-1]["key"])
