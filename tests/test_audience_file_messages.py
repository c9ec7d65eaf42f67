"""Audience-file errors are stored as codes and parameters and worded in the
reader's language, in the console, the API and the error report (issue 12
item 14): a file validated by an English-speaking worker reads in Korean to
a Korean reader, and errors stored as sentences before still read."""

from __future__ import annotations

import html
import importlib

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import translation

from audiences.files.messages import with_messages
from audiences.models import AudienceFile
from tests.support.world import PASSWORD
from tests.test_audience_files_support import api_upload, auth, csv_bytes, file_store  # noqa: F401

pytestmark = pytest.mark.usefixtures("file_store")

ROWS = [["phoneNumber", "name"], ["010-9876-5432", "Kim"], ["+8210", "Lee"], ["", "Park"]]


def upload(client, world) -> AudienceFile:
    with translation.override("en"):
        response = api_upload(client, world.acme, world.acme_token, "list.csv", csv_bytes(ROWS))
    return AudienceFile.objects.get(pk=response.json()["id"])


def test_errors_are_stored_as_codes_and_parameters_not_sentences(client, world):
    audience_file = upload(client, world)
    assert audience_file.errors == [
        {
            "row": 2,
            "column": 1,
            "code": "phone_not_e164",
            "params": {"value": "010-9876-5432", "suggestion": "+821098765432"},
        },
        {"row": 3, "column": 1, "code": "phone_invalid", "params": {"value": "+8210"}},
        {"row": 4, "column": 1, "code": "phone_missing", "params": {}},
    ]


def test_the_api_words_errors_in_the_readers_language(client, world):
    audience_file = upload(client, world)
    url = reverse("api_audience_file", args=[world.acme.id, audience_file.id])
    english = client.get(url, HTTP_ACCEPT_LANGUAGE="en", **auth(world.acme_token)).json()
    korean = client.get(url, HTTP_ACCEPT_LANGUAGE="ko", **auth(world.acme_token)).json()
    assert english["errors"][0]["message"] == (
        "'010-9876-5432' is not in E.164 format (+ country code and number). "
        "Write it as +821098765432."
    )
    assert "E.164 형식" in korean["errors"][0]["message"]
    assert "+821098765432(으)로 적어 주세요" in korean["errors"][0]["message"]
    assert korean["errors"][2]["message"] == "전화번호가 비어 있습니다."


def test_the_console_and_the_error_report_word_errors_in_the_readers_language(client, world):
    audience_file = upload(client, world)
    browser = Client(HTTP_ACCEPT_LANGUAGE="ko")
    assert browser.login(username=world.alice.email, password=PASSWORD)
    browser.cookies["django_language"] = "ko"
    page = browser.get(reverse("audience_file", args=[world.acme.id, audience_file.id]))
    assert "'+8210'은(는) 올바른 전화번호가 아닙니다." in html.unescape(page.content.decode())
    report = browser.get(reverse("audience_file_errors", args=[world.acme.id, audience_file.id]))
    assert "전화번호가 비어 있습니다." in b"".join(report.streaming_content).decode()


def test_errors_stored_as_sentences_before_codes_still_read():
    legacy = [{"row": 5, "column": 2, "code": "xlsx_unreadable", "message": "Old words."}]
    assert with_messages(legacy) == [
        {"row": 5, "column": 2, "code": "xlsx_unreadable", "message": "Old words."}
    ]


def test_the_migration_turns_stored_sentences_into_parameters():
    migration = importlib.import_module("audiences.migrations.0007_audience_file_error_codes")
    parse = migration.parse_legacy
    assert parse(
        "phone_not_e164",
        "'010-1234-5678' is not in E.164 format (+ country code and number). "
        "Write it as +821012345678.",
    ) == {"value": "010-1234-5678", "suggestion": "+821012345678"}
    assert parse("phone_duplicate", "+821012345678 is already on row 3.") == {
        "phone": "+821012345678",
        "first": 3,
    }
    assert parse("header_empty", "2열에 이름이 없습니다.") == {}
    assert parse("too_many_rows", "The file has more than 1,000,000 rows; split …") == {
        "limit": 1_000_000
    }
    assert parse("xlsx_unreadable", "The workbook cannot be read: boom.") is None
