"""The Golden Liquid conformance cases (github.com/jg-rp/golden-liquid, the
suite python-liquid passes) of the filters this project's environment
replaces or wraps: `date` (replaced), and `default`, `replace`, `join` (every
filter is wrapped by the resource guard). No registry package ships the
suite's JSON (python-liquid's sdist has no tests), so the cases are written
out here from tests/filters/{date,default,replace,join}.json, with their
names. The deliberate differences are listed at the end, each with why.

The process zone is set to Asia/Seoul for these tests, as a server in Korea
runs: the `%s` and timestamp cases are the ones a process zone used to skew.
"""

from __future__ import annotations

import os
import time

import pytest

from console.lib.liquid import TemplateProblem, compile_template, render

INVALID = object()

GOLDEN = [
    # date
    ("date: well formed string", "{{ 'March 14, 2016' | date: '%b %d, %y' }}", {}, "Mar 14, 16"),
    ("date: undefined left value", "{{ nosuchthing | date: '%b %d, %y' }}", {}, ""),
    ("date: missing argument", "{{ 'March 14, 2016' | date }}", {}, INVALID),
    ("date: undefined argument", "{{ 'March 14, 2016' | date: nosuchthing }}", {}, "March 14, 2016"),  # noqa: E501
    ("date: literal percent", "{{ 'March 14, 2016' | date: '%%%b %d, %y' }}", {}, "%Mar 14, 16"),
    ("date: timestamp integer", "{{ 1152098955 | date: '%m/%d/%Y' }}", {}, "07/05/2006"),
    ("date: timestamp string", "{{ '1152098955' | date: '%m/%d/%Y' }}", {}, "07/05/2006"),
    ("date: negative timestamp string", "{{ '-1152098955' | date: '%m/%d/%Y' }}", {}, "-1152098955"),  # noqa: E501
    ("date: seconds since epoch", "{{ 'March 14, 2016' | date: '%s' }}", {}, "1457913600"),
    # default
    ("default: nil", "{{ nil | default: 'foo' }}", {}, "foo"),
    ("default: false", "{{ False | default: 'foo' }}", {}, "foo"),
    ("default: empty string", '{{ "" | default: "foo" }}', {}, "foo"),
    ("default: empty array", "{{ a | default: 'foo' }}", {"a": []}, "foo"),
    ("default: empty object", "{{ a | default: 'foo' }}", {"a": {}}, "foo"),
    ("default: not empty string", '{{ "hello" | default: "foo" }}', {}, "hello"),
    ("default: not empty list", '{{ a | default: "foo" | join: "#" }}', {"a": ["hello", "world"]}, "hello#world"),  # noqa: E501
    ("default: too many arguments", "{{ None | default: 'foo', 'bar', 'baz' }}", {}, INVALID),
    ("default: missing argument", "{{ false | default }}", {}, ""),
    ("default: allow false", "{{ false | default: 'bar', allow_false:true }}", {}, "false"),
    ("default: undefined left value", '{{ nosuchthing | default: "bar" }}', {}, "bar"),
    ("default: zero is not falsy", '{{ 0 | default: "bar" }}', {}, "0"),
    ("default: 0.0 is not falsy", '{{ 0.0 | default: "bar" }}', {}, "0.0"),
    # replace
    ("replace: substrings", '{{ "Take my protein pills" | replace: "my", "your" }}', {}, "Take your protein pills"),  # noqa: E501
    ("replace: not a string", "{{ 5 | replace: 'rain', 'foo' }}", {}, "5"),
    ("replace: argument not a string", '{{ "hello" | replace: 5, "your" }}', {}, "hello"),
    ("replace: missing argument", '{{ "hello" | replace: "ll" }}', {}, "heo"),
    ("replace: missing arguments", '{{ "hello" | replace }}', {}, INVALID),
    ("replace: too many arguments", '{{ "hello" | replace: "how", "are", "you" }}', {}, INVALID),
    ("replace: undefined left value", '{{ nosuchthing | replace: "my", "your" }}', {}, ""),
    ("replace: undefined first argument", '{{ "Take my" | replace: nosuchthing, "#" }}', {}, "#T#a#k#e# #m#y#"),  # noqa: E501
    ("replace: undefined second argument", '{{ "put my helmet on" | replace: "my", nosuchthing }}', {}, "put  helmet on"),  # noqa: E501
    # join
    ("join: range literal", "{{ (1..3) | join: '#' }}", {}, "1#2#3"),
    ("join: a string is a noop", "{{ 'a,b' | join: '#' }}", {}, "a,b"),
    ("join: an int is a noop", "{{ 123 | join: '#' }}", {}, "123"),
    ("join: missing argument is a space", "{{ arr | join }}", {"arr": ["a", "b"]}, "a b"),
    ("join: argument not a string", "{{ arr | join: 5 }}", {"arr": ["a", "b"]}, "a5b"),
    ("join: undefined left value", "{{ nosuchthing | join: '#' }}", {}, ""),
    ("join: undefined argument", "{{ arr | join: nosuchthing }}", {"arr": ["a", "b"]}, "ab"),
    ("join: too many arguments", "{{ arr | join: '#', 42 }}", {"arr": ["a", "b"]}, INVALID),
]  # fmt: skip

# Golden Liquid cases this environment answers differently, on purpose:
# - "date: too many arguments" (`date: '%b', 'foo'`) renders: the second
#   argument is a time zone here (an unknown one falls back to Asia/Seoul).
# - include / render are refused at compile time (a body loads no partials).
DELIBERATE = [
    ("{{ 'March 14, 2016' | date: '%b %d, %y', 'foo' }}", "Mar 14, 16"),
]


@pytest.fixture(autouse=True)
def seoul_process_zone():
    """Run with the server's process zone in Korea, as Django sets it from
    TIME_ZONE: the zone that used to put `%s` 9 hours off."""
    old = os.environ.get("TZ")
    os.environ["TZ"] = "Asia/Seoul"
    time.tzset()
    yield
    if old is None:
        os.environ.pop("TZ", None)
    else:
        os.environ["TZ"] = old
    time.tzset()


def outcome(source: str, data: dict) -> object:
    try:
        return render(compile_template(source), data)
    except TemplateProblem:
        return INVALID


@pytest.mark.parametrize(("name", "source", "data", "expected"), GOLDEN, ids=[g[0] for g in GOLDEN])
def test_it_passes_the_golden_liquid_cases_of_the_filters_it_replaces(name, source, data, expected):
    assert (
        outcome(source, data) is expected
        if expected is INVALID
        else outcome(source, data) == expected
    )


@pytest.mark.parametrize(("source", "expected"), DELIBERATE)
def test_its_deliberate_differences_from_golden_liquid_are_as_documented(source, expected):
    assert outcome(source, {}) == expected


@pytest.mark.parametrize("tag", ["{% include 'x' %}", "{% render 'x' %}"])
def test_it_refuses_partials(tag):
    with pytest.raises(TemplateProblem):
        compile_template(tag)


def test_percent_s_is_the_unix_time_whatever_the_process_zone():
    assert outcome("{{ 1457913600 | date: '%s' }}", {}) == "1457913600"
    assert outcome("{{ d | date: '%s' }}", {"d": "2016-03-14T09:00:00+09:00"}) == "1457913600"
    assert outcome("{{ d | date: '%s' }}", {"d": "2016-03-14"}) == "1457913600"
    assert outcome("{{ 0 | date: '%%s=%s' }}", {}) == "%s=0"


@pytest.mark.parametrize(
    "source",
    [
        '생일 {{ dob | date: "%m/%d" }}',
        '생일 {{ dob | date: "%m/%d", "Asia/Seoul" }}',
        "생일 {{ dob | timezone: 'Asia/Seoul' | date: '%m/%d' }}",
        "생일 {{ dob | timezone }}",
        "생일 {{ dob | number_with_delimiter }}",
    ],
)
def test_a_missing_value_renders_empty_in_every_filter_it_adds(source):
    assert outcome(source, {"dob": None}) == "생일 "
    assert (
        outcome(source.replace("}}", '| default: "미등록" }}', 1), {"dob": None}) == "생일 미등록"
    )


def test_it_keeps_crlf_line_breaks_as_written():
    source = "첫 줄\r\n{{ name }}\r\n{% capture x %}a\r\nb{% endcapture %}{{ x }}\r\n{% if true %}c\r\nd{% endif %}"  # noqa: E501
    assert outcome(source, {"name": "김\r\n민수"}) == "첫 줄\r\n김\r\n민수\r\na\r\nb\r\nc\r\nd"
