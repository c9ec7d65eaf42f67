"""Compiling and rendering message bodies: positions of problems, every filter, safety limits."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from console.lib.liquid import (
    ENVIRONMENT,
    TemplateProblem,
    compile_template,
    render,
    undefined_variables,
)


def render_text(source: str, **data: object) -> str:
    return render(compile_template(source), data)


# -- compiling -----------------------------------------------------------------


def test_a_body_is_compiled_once_and_reused():
    source = "{{ name }}님 안녕하세요 (cache check)"
    assert compile_template(source) is compile_template(source)


@pytest.mark.parametrize(
    ("source", "line", "column", "says"),
    [
        ("{{ name ", 1, 1, "expected '}}'"),
        ("안녕하세요\n{% nosuchtag %}", 2, 4, "unexpected tag 'nosuchtag'"),
        ('첫 줄\n둘째 줄 {{ "abc }}', 2, 9, "unexpected '\"'"),
        ("a\n\n   {{ a.b. }}", 3, 4, "expected an identifier"),
        ("hi\n  {% if vip %}VIP", 2, 3, "expected tag endif"),
        ("x\n{% if a %}{% for i in b %}{% endif %}", 2, 30, "unexpected tag 'endif'"),
        ("{{ name | upcase }}\n{{ name | shout }}", 2, 11, "unknown filter 'shout'"),
        ("{% include 'footer' %}", 1, 4, "unexpected tag 'include'"),
        ("{% render 'footer' %}", 1, 4, "unexpected tag 'render'"),
        ("{% raw %}{{ {% endraw %}{{ a | }}", 1, 25, "expected word"),
    ],
)
def test_a_syntax_error_says_what_and_where(source, line, column, says):
    with pytest.raises(TemplateProblem) as raised:
        compile_template(source)
    problem = raised.value
    assert (problem.line, problem.column) == (line, column)
    assert says in problem.message
    assert f"line {line}, column {column}" in str(problem)


def test_a_problem_is_a_value_error():
    assert issubclass(TemplateProblem, ValueError)


# -- rendering -----------------------------------------------------------------


def test_it_renders_variables_tags_and_korean_names():
    source = "{{ name }}님, {{ 등급 }} 회원{% if tags.vip %} (VIP){% endif %}"
    assert (
        render_text(source, name="김철수", 등급="골드", tags={"vip": True})
        == "김철수님, 골드 회원 (VIP)"
    )


def test_undefined_variables_render_empty():
    assert (
        render_text("[{{ nobody }}][{{ tags.missing }}][{{ nobody | upcase }}]", tags={})
        == "[][][]"
    )


def test_a_failure_while_rendering_says_where():
    with pytest.raises(TemplateProblem) as raised:
        render_text("ok\n{{ 10 | divided_by: 0 }}")
    assert (raised.value.line, raised.value.column) == (2, 9)
    assert "divide by 0" in raised.value.message


@pytest.mark.parametrize(
    "source",
    [
        "{{ cycler.__init__.__globals__ }}",
        "{{ name.__class__.__mro__ }}",
        "{{ name.upper }}",
        "{{ when.__class__ }}{{ when.year }}",
        "{% for i in (1..2) %}{{ forloop.__dict__ }}{% endfor %}",
        "{{ self }}{{ __builtins__ }}",
    ],
)
def test_no_template_reaches_python_internals(source):
    assert render_text(source, name="x", when=datetime(2024, 1, 1, tzinfo=UTC)) == ""


def test_liquid_has_no_way_to_call_a_python_function():
    with pytest.raises(TemplateProblem, match="found '\\('"):
        compile_template("{{ cycler.__init__.__globals__.os.popen('id').read() }}")


@pytest.mark.parametrize(
    ("source", "says"),
    [
        ("{% for i in (1..100000000) %}x{% endfor %}", "loop iteration limit"),
        ("{% for i in (1..5000) %}{% for j in (1..5000) %}{% endfor %}{% endfor %}", "loop"),
        ("{{ (1..100000000) | join }}", "range of more than 10,000"),
        ("{% for i in (1..9000) %}0123456789{% endfor %}", "output stream limit"),
        (
            "{% for i in (1..60) %}{% assign s = s | append: 'xxxxxxxxxx' | append: s %}"
            "{% endfor %}",
            "local namespace limit",
        ),
        (
            "{% capture a %}{% for i in (1..5000) %}xxxxxxxxxx{% endfor %}{% endcapture %}"
            "{{ a | replace: 'x', a }}",
            "would exceed 100,000 characters",
        ),
        (
            "{% capture a %}{% for i in (1..5000) %}xxxxxxxxxx{% endfor %}{% endcapture %}"
            "{{ a | split: '' | join: a }}",
            "would exceed 100,000 characters",
        ),
    ],
)
def test_a_body_cannot_exhaust_the_worker(source, says):
    with pytest.raises(TemplateProblem, match=says):
        render_text(source)


# -- filters -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("source", "data", "expected"),
    [
        ("{{ name | default: '고객' }}", {}, "고객"),
        ("{{ name | default: '고객' }}", {"name": "영희"}, "영희"),
        ("{{ text | truncate: 8 }}", {"text": "Hello wonderful world"}, "Hello..."),
        ("{{ text | truncate: 4, '' }}", {"text": "가나다라마바"}, "가나다라"),
        ("{{ text | truncatewords: 2 }}", {"text": "one two three four"}, "one two..."),
        ("{{ text | replace: '-', '' }}", {"text": "010-1234-5678"}, "01012345678"),
        ("{{ text | replace_first: 'a', 'A' }}", {"text": "banana"}, "bAnana"),
        ("{{ text | upcase }}", {"text": "code-abc"}, "CODE-ABC"),
        ("{{ text | downcase }}", {"text": "SALE"}, "sale"),
        ("{{ text | capitalize }}", {"text": "hello WORLD"}, "Hello world"),
    ],
)
def test_standard_filters(source, data, expected):
    assert render(compile_template(source), data) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (1234567, "1,234,567"),
        (-1234567, "-1,234,567"),
        (999, "999"),
        (0, "0"),
        (1234567.891, "1,234,567.891"),
        (1e20, "100,000,000,000,000,000,000"),
        ("1234567", "1,234,567"),
        ("-1234.50", "-1,234.50"),
        (" 98765 ", "98,765"),
        ("N/A", "N/A"),
        ("1,234", "1,234"),
    ],
)
def test_number_with_delimiter(value, expected):
    assert render_text("{{ n | number_with_delimiter }}", n=value) == expected


def test_number_with_delimiter_takes_other_delimiters_and_renders_nothing_for_nothing():
    assert render_text("{{ n | number_with_delimiter: '.', ',' }}", n=1234567.5) == "1.234.567,5"
    assert render_text("[{{ missing | number_with_delimiter }}]") == "[]"


def test_date_formats_as_given_without_a_zone():
    assert render_text("{{ d | date: '%Y-%m-%d %H:%M' }}", d="2024-05-01T13:30:00Z") == (
        "2024-05-01 13:30"
    )


def test_date_moves_into_the_zone_given_as_second_argument():
    source = "{{ d | date: '%Y-%m-%d %H:%M %Z', 'Asia/Seoul' }}"
    assert render_text(source, d="2024-05-01T13:30:00Z") == "2024-05-01 22:30 KST"
    assert render_text(source, d=datetime(2024, 5, 1, 13, 30, tzinfo=UTC)) == "2024-05-01 22:30 KST"


def test_times_without_an_offset_are_taken_as_utc():
    assert render_text("{{ d | date: '%H:%M', 'Asia/Seoul' }}", d="2024-05-01 13:30") == "22:30"
    assert render_text("{{ d | date: '%H:%M', 'Asia/Seoul' }}", d=0) == "09:00"


def test_the_zone_can_come_from_the_recipients_data_and_defaults_to_seoul():
    source = "{{ d | date: '%H:%M', timeZone }}"
    assert render_text(source, d="2024-05-01T13:30:00Z", timeZone="America/New_York") == "09:30"
    assert render_text(source, d="2024-05-01T13:30:00Z") == "22:30"
    assert render_text(source, d="2024-05-01T13:30:00Z", timeZone="Nowhere/Else") == "22:30"


def test_a_calendar_date_is_not_shifted_by_a_zone():
    source = "{{ dob | date: '%m월 %d일', 'America/Los_Angeles' }}"
    assert render_text(source, dob="1990-05-01") == "05월 01일"
    assert render_text(source, dob=date(1990, 5, 1)) == "05월 01일"


def test_the_timezone_filter_moves_a_time_for_date_to_format():
    source = "{{ d | timezone: 'America/New_York' | date: '%Y-%m-%d %H:%M' }}"
    assert render_text(source, d="2024-05-01T03:30:00Z") == "2024-04-30 23:30"


def test_date_leaves_what_is_not_a_time_alone():
    assert render_text("{{ d | date: '%Y' }}", d="soon") == "soon"
    assert render_text("{{ d | date: '%Y-%m-%d' }}", d="01/02/2024") == "01/02/2024"
    assert render_text("[{{ missing | date: '%Y' }}]") == "[]"


def test_date_now_is_the_current_time():
    assert render_text("{{ 'now' | date: '%Y' }}") == str(datetime.now(UTC).year)


def test_every_filter_the_issue_asks_for_is_available():
    wanted = {
        "default", "truncate", "truncatewords", "replace", "replace_first", "date",
        "upcase", "downcase", "capitalize", "number_with_delimiter", "timezone",
    }  # fmt: skip
    assert wanted <= set(ENVIRONMENT.filters)


# -- variables the audience does not have ----------------------------------------


def test_it_warns_about_variables_the_audience_lacks_in_order():
    source = "{{ coupon.code }} {{ name }} {{ 등급 }} {{ coupon.until }} {{ userId }}"
    assert undefined_variables(source, {"name", "userId"}) == ["coupon", "등급"]


def test_assigned_and_loop_variables_are_not_warned_about():
    source = "{% assign x = name %}{% for item in items %}{{ item }}{{ x }}{% endfor %}"
    assert undefined_variables(source, {"name", "items"}) == []


def test_a_known_root_covers_everything_below_it():
    assert undefined_variables("{{ tags.vip }}{{ tags[key] }}", {"tags", "key"}) == []


def test_dotted_names_are_precise_about_nested_data():
    source = "{{ tags.vip }} {{ tags.gold }} {{ tags['vip'] }}"
    assert undefined_variables(source, {"tags.vip"}) == ["tags.gold"]


def test_undefined_variables_of_a_broken_body_is_a_problem():
    with pytest.raises(TemplateProblem):
        undefined_variables("{{ name ", {"name"})
