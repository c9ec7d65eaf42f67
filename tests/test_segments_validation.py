"""A bad segment definition is refused with every problem and where it is."""

from __future__ import annotations

import pytest

from audiences.segments import InvalidDefinition, segment_queryset, validate_definition


def root(*conditions) -> dict:
    return {"match": "all", "conditions": list(conditions)}


def event_where(field, op, value) -> dict:
    return {"kind": "event", "type": "buy", "where": {"field": field, "op": op, "value": value}}


def paths(definition) -> dict[str, str]:
    return {error.path: error.message for error in validate_definition(definition)}


def test_a_valid_definition_has_no_errors():
    definition = {
        "match": "any",
        "conditions": [
            {"kind": "attribute", "field": "country", "op": "eq", "value": "KR"},
            {"kind": "attribute", "field": "dob", "op": "is_set"},
            {"kind": "attribute", "field": "lastSeenAt", "op": "within_days", "value": 7},
            {"kind": "tag", "key": "plan", "op": "is_not_set"},
            {
                "kind": "event",
                "type": "purchase",
                "performed": False,
                "min_count": 2,
                "within_days": 30,
                "where": {"field": "item.price", "op": "gt", "value": 9.5},
            },
            {"kind": "group", "match": "all", "conditions": [{"kind": "phone", "present": True}]},
            {"match": "all", "conditions": [{"kind": "optout", "opted_out": False}]},
            {"kind": "consent", "type": "night", "given": True},
        ],
    }
    assert validate_definition(definition) == []


@pytest.mark.parametrize(
    ("definition", "path", "fragment"),
    [
        ([], "", "must be a group"),
        ({"match": "some", "conditions": []}, "match", "'all' or 'any'"),
        ({"match": "all"}, "conditions", "must be a list"),
        ({"match": "all", "conditions": [], "extra": 1}, "extra", "not a known field"),
        ({"match": "all", "conditions": ["x"]}, "conditions[0]", "must be a condition"),
        (root({"kind": "mood"}), "conditions[0].kind", "unknown kind 'mood'"),
        (
            root({"kind": "attribute", "field": "shoe", "op": "eq", "value": "x"}),
            "conditions[0].field",
            "unknown user field 'shoe'",
        ),
        (
            root({"kind": "attribute", "field": "dob", "op": "contains", "value": "1"}),
            "conditions[0].op",
            "'contains' is not allowed here",
        ),
        (
            root({"kind": "attribute", "field": "dob", "op": "eq", "value": "31/12/1990"}),
            "conditions[0].value",
            "must be a date",
        ),
        (
            root({"kind": "attribute", "field": "createdAt", "op": "after", "value": "soon"}),
            "conditions[0].value",
            "date-time",
        ),
        (
            root({"kind": "attribute", "field": "lastSeenAt", "op": "within_days", "value": 0}),
            "conditions[0].value",
            "whole number of days",
        ),
        (
            root({"kind": "attribute", "field": "country", "op": "eq", "value": ""}),
            "conditions[0].value",
            "non-empty text",
        ),
        (
            root({"kind": "tag", "key": "", "op": "eq", "value": "a"}),
            "conditions[0].key",
            "tag's name",
        ),
        (
            root({"kind": "tag", "key": "plan", "op": "gt", "value": "a"}),
            "conditions[0].op",
            "use one of eq, neq, contains, is_set, is_not_set",
        ),
        (
            root({"kind": "event", "type": "buy", "min_count": 0}),
            "conditions[0].min_count",
            "whole number from 1",
        ),
        (
            root({"kind": "event", "type": "buy", "min_cout": 2}),
            "conditions[0].min_cout",
            "not a known field",
        ),
        (
            root({"kind": "event", "type": "buy", "performed": "yes"}),
            "conditions[0].performed",
            "true or false",
        ),
        (
            root({"kind": "event", "type": "buy", "within_days": True}),
            "conditions[0].within_days",
            "whole number of days",
        ),
        (
            root(event_where("amount__gt", "eq", 1)),
            "conditions[0].where.field",
            "key of the event's data",
        ),
        (
            root(event_where("amount", "gt", "100")),
            "conditions[0].where.value",
            "must be a number",
        ),
        (
            root({"kind": "phone", "present": 1}),
            "conditions[0].present",
            "true or false",
        ),
        (
            root({"kind": "consent", "type": "email", "given": True}),
            "conditions[0].type",
            "'promotional' or 'night'",
        ),
        (
            root({"kind": "phone", "present": True}, {"match": "any", "conditions": []}),
            "conditions[1].conditions",
            "at least one condition",
        ),
    ],
)  # fmt: skip
def test_each_problem_is_reported_at_its_path(definition, path, fragment):
    problems = paths(definition)
    assert path in problems, problems
    assert fragment in problems[path]


def test_problems_deep_in_nested_groups_carry_the_full_path():
    definition = {
        "match": "all",
        "conditions": [
            {"kind": "phone", "present": True},
            {
                "match": "any",
                "conditions": [
                    {"kind": "optout", "opted_out": True},
                    {"kind": "attribute", "field": "country", "op": "nope", "value": "KR"},
                ],
            },
        ],
    }
    (error,) = validate_definition(definition)
    assert error.path == "conditions[1].conditions[1].op"
    assert str(error).startswith("conditions[1].conditions[1].op: 'nope' is not allowed here")


def test_every_problem_is_reported_at_once():
    definition = {
        "match": "both",
        "conditions": [{"kind": "tag", "op": "eq"}, {"kind": "consent"}],
    }
    assert set(paths(definition)) == {
        "match",
        "conditions[0].key",
        "conditions[0].value",
        "conditions[1].type",
        "conditions[1].given",
    }


def test_nesting_and_size_are_bounded():
    deep: dict = {"match": "all", "conditions": [{"kind": "phone", "present": True}]}
    for _ in range(6):
        deep = {"match": "all", "conditions": [deep]}
    assert any("nest at most" in e.message for e in validate_definition(deep))
    wide = {"match": "any", "conditions": [{"kind": "phone", "present": True}] * 101}
    assert [e.path for e in validate_definition(wide)] == ["conditions[100]"]


def test_an_invalid_definition_is_never_compiled(world):
    with pytest.raises(InvalidDefinition) as caught:
        segment_queryset(world.acme, {"match": "all", "conditions": [{"kind": "x"}]})
    assert caught.value.errors[0].path == "conditions[0].kind"
