"""template_variables lists the data a message body reads, for sample files."""

from __future__ import annotations

import pytest

from console.lib.liquid import ENVIRONMENT, LiquidError, is_variable_name, template_variables


def test_it_lists_root_variables_in_order_of_first_use():
    body = "{{ name }}님, {% if vip %}{{ coupon.code | upcase }}{% endif %} {{ name }} {{ 등급 }}"
    assert template_variables(body) == ["name", "vip", "coupon", "등급"]


def test_it_leaves_out_what_the_body_assigns_itself():
    body = "{% assign greeting = 'Hi' %}{{ greeting }} {{ firstName }}"
    assert template_variables(body) == ["firstName"]


def test_a_body_without_variables_has_none():
    assert template_variables("(광고) 오늘만 50% 할인") == []


def test_invalid_liquid_raises():
    with pytest.raises(LiquidError):
        template_variables("{{ name ")


def test_the_environment_does_not_reach_python_internals():
    rendered = ENVIRONMENT.from_string(
        "{{ cycler.__init__.__globals__.os }}{{ name.__class__ }}"
    ).render(name="x")
    assert rendered == ""


@pytest.mark.parametrize("name", ["name", "coupon_code", "등급", "first-name", "_x", "vip?"])
def test_valid_column_names(name):
    assert is_variable_name(name)


@pytest.mark.parametrize("name", ["", " name", "first name", "a.b", "{{x}}", "a[0]", "x|y"])
def test_invalid_column_names(name):
    assert not is_variable_name(name)
