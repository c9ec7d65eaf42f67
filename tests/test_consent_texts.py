"""Notice texts: Korean defaults, the facts the law asks each to state, and
the consent page where an admin switches kinds, edits and previews texts."""

from __future__ import annotations

import pytest
from django.urls import reverse

from consent.models import NoticeSettings
from consent.texts import (
    DEFAULT_TEXTS,
    REMINDER,
    RESULT,
    NoticeTemplateError,
    check_notice_template,
)
from console.lib.sms import cp949_length
from tests.support.world import PASSWORD


@pytest.mark.parametrize("kind", [RESULT, REMINDER])
def test_the_korean_defaults_pass_their_own_check(kind):
    preview = check_notice_template(kind, DEFAULT_TEXTS[kind], "에이크미", "080-123-4567")
    assert preview.text.startswith("[에이크미]")
    assert preview.bytes == cp949_length(preview.text)
    assert preview.kind in ("SMS", "LMS")
    assert "(광고)" not in preview.text


def test_a_reminder_without_the_company_name_is_refused_naming_it():
    text = DEFAULT_TEXTS[REMINDER].replace("[{{ company_name }}] ", "")
    with pytest.raises(NoticeTemplateError) as error:
        check_notice_template(REMINDER, text, "에이크미")
    assert error.value.problems == [
        "The text must show the company name: keep {{ company_name }} in it, unchanged "
        "and not inside a condition."
    ]


@pytest.mark.parametrize(
    "text",
    [
        "{% if false %}{{ company_name }}{% endif %} {{ date }} {{ result }}",
        "{{ company_name | truncate: 3 }} {{ date }} {{ result }}",
    ],
)
def test_a_fact_hidden_in_a_condition_or_a_filter_does_not_count(text):
    with pytest.raises(NoticeTemplateError, match="company name"):
        check_notice_template(RESULT, text, "에이크미")


def test_every_missing_fact_and_the_ad_label_are_reported_at_once():
    with pytest.raises(NoticeTemplateError) as error:
        check_notice_template(RESULT, "(광고) 안녕하세요", "에이크미")
    problems = " ".join(error.value.problems)
    for fact in ("company name", "the date", "the result", "(광고)"):
        assert fact in problems


def test_invalid_liquid_and_an_oversized_text_are_refused_with_where_and_how_much():
    with pytest.raises(NoticeTemplateError, match=r"line 1, column"):
        check_notice_template(RESULT, "{{ company_name", "에이크미")
    long = DEFAULT_TEXTS[RESULT] + "가" * 1000
    with pytest.raises(NoticeTemplateError, match="at most 2000"):
        check_notice_template(RESULT, long, "에이크미")


def page(world):
    return reverse("consent", args=[world.acme.id])


def test_the_consent_page_shows_previews_byte_counts_and_a_missing_sender(client, world):
    assert client.login(username=world.dave.username, password=PASSWORD)
    response = client.get(page(world))
    text = response.content.decode()
    assert response.status_code == 200
    assert 'data-preview="result"' in text and 'data-preview="reminder"' in text
    assert "[에이크미 주식회사]" in text
    # Acme has no approved sender number: the page says notices cannot go.
    assert 'id="sending-blocked"' in text
    # No 080 number: a project without promotional sending starts switched off.
    assert (
        'name="result_enabled"' in text
        and "checked" not in text.split("notice-settings")[1].split("</fieldset>")[0]
    )


def test_an_admin_saves_a_text_and_a_switch(client, world):
    assert client.login(username=world.alice.username, password=PASSWORD)
    custom = "{{ company_name }}: {{ date }} {{ result }} 완료"
    response = client.post(
        page(world),
        {
            "result_enabled": "on",
            "result_text": custom,
            "reminder_text": DEFAULT_TEXTS[REMINDER],
            "save": "1",
        },
    )
    assert response.status_code == 302
    saved = NoticeSettings.objects.get(project=world.acme)
    assert (saved.result_enabled, saved.reminder_enabled) == (True, False)
    assert saved.result_text == custom


def test_the_page_refuses_to_save_a_text_without_the_company_name(client, world):
    assert client.login(username=world.alice.username, password=PASSWORD)
    response = client.post(
        page(world),
        {
            "result_text": "{{ date }} {{ result }}",
            "reminder_text": DEFAULT_TEXTS[REMINDER],
            "save": "1",
        },
    )
    assert response.status_code == 400
    assert 'data-problems="result"' in response.content.decode()
    assert not NoticeSettings.objects.exists()


def test_a_viewer_may_not_change_the_notices(client, world):
    assert client.login(username=world.dave.username, password=PASSWORD)
    response = client.post(
        page(world),
        {
            "result_text": DEFAULT_TEXTS[RESULT],
            "reminder_text": DEFAULT_TEXTS[REMINDER],
            "save": "1",
        },
    )
    assert response.status_code == 403
    assert not NoticeSettings.objects.exists()
