"""The one check of an outgoing message's text (dispatch.checks): the same
rules and wording for the compose screen, the forms, the API and the Send
API."""

from __future__ import annotations

from dispatch.checks import check_outgoing_message


def test_a_message_that_can_go_has_no_problem():
    assert check_outgoing_message("안녕하세요, 봄 세일입니다", "봄 세일") == {}


def test_an_empty_body_is_refused_by_field():
    assert check_outgoing_message("   ") == {"body": "Write the message."}


def test_characters_euc_kr_cannot_carry_are_named():
    problems = check_outgoing_message("안녕 😀", "제목 ♥️")
    assert "😀" in problems["body"]
    assert "EUC-KR" in problems["title"]


def test_a_body_over_the_lms_limit_and_a_long_title_say_how_long_they_are():
    problems = check_outgoing_message("가" * 1001, "가" * 21)
    assert problems["body"] == "The message is 2002 bytes; the limit is 2000 bytes."
    assert "42 bytes" in problems["title"]
