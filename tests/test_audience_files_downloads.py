"""Error report, corrected file and sample files: contents and neutralisation."""

from __future__ import annotations

import csv
import io

import pytest
from django.urls import reverse
from openpyxl import load_workbook

from audiences.files.exports import neutralise
from tests.test_audience_files_support import (
    api_upload,
    auth,
    csv_bytes,
    file_store,  # noqa: F401
    xlsx_bytes,
)

pytestmark = pytest.mark.usefixtures("file_store")


def _csv(response) -> list[list[str]]:
    text = b"".join(response.streaming_content).decode("utf-8")
    assert text.startswith("\ufeff")  # so Excel reads Korean as UTF-8
    return list(csv.reader(io.StringIO(text[1:])))


@pytest.mark.parametrize(
    ("cell", "expected"),
    [
        ('=HYPERLINK("http://x")', '\'=HYPERLINK("http://x")'),
        ("+cmd|' /C calc'!A0", "'+cmd|' /C calc'!A0"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tx", "'\tx"),
        ("\0x", "'\0x"),
        ("+821012345678", "+821012345678"),
        ("-5", "-5"),
        ("3.5", "3.5"),
        ("김민수", "김민수"),
        ("", ""),
    ],
)
def test_neutralise(cell, expected):
    assert neutralise(cell) == expected


def test_the_error_report_lists_errors_by_row_and_column_and_neutralises_cells(client, world):
    rows = [["phoneNumber", "=SUM(A1)"], ["010-1234-5678", "x"], ["+cmd|calc", "y"]]
    body = api_upload(client, world.acme, world.acme_token, "l.csv", csv_bytes(rows)).json()
    url = reverse("api_audience_file_errors", args=[world.acme.id, body["id"]])
    response = client.get(url, **auth(world.acme_token))
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    report = _csv(response)
    assert report[0] == ["row", "column", "columnName", "code", "message"]
    assert [r[:4] for r in report[1:]] == [
        ["1", "2", "'=SUM(A1)", "header_invalid_name"],
        ["2", "1", "phoneNumber", "phone_not_e164"],
        ["3", "1", "phoneNumber", "phone_not_e164"],
    ]
    for line in report[1:]:
        assert not line[4].startswith(("=", "+", "-", "@", "\t", "\0"))


def test_the_corrected_file_rewrites_national_numbers_and_uploads_as_valid(client, world):
    rows = [
        ["phoneNumber", "name"],
        ["+821011112222", "Kim"],
        ["010-1234-5678", "Lee"],
        ["02-312-3456", "Office"],
    ]
    body = api_upload(client, world.acme, world.acme_token, "l.csv", csv_bytes(rows)).json()
    assert body["correctable"] == 2
    url = reverse("api_audience_file_corrected", args=[world.acme.id, body["id"]])
    response = client.get(url, **auth(world.acme_token))
    assert response.status_code == 200
    corrected = _csv(response)
    assert corrected == [
        ["phoneNumber", "name"],
        ["+821011112222", "Kim"],
        ["+821012345678", "Lee"],
        ["+8223123456", "Office"],
    ]
    content = b"".join(client.get(url, **auth(world.acme_token)).streaming_content)
    again = api_upload(client, world.acme, world.acme_token, "fixed.csv", content).json()
    assert again["status"] == "valid"


def test_the_corrected_file_of_an_xlsx_is_a_csv(client, world):
    rows = [["phoneNumber", "name"], ["01012345678", "Kim"]]
    body = api_upload(client, world.acme, world.acme_token, "l.xlsx", xlsx_bytes(rows)).json()
    url = reverse("api_audience_file_corrected", args=[world.acme.id, body["id"]])
    assert _csv(client.get(url, **auth(world.acme_token)))[1] == ["+821012345678", "Kim"]


def test_no_corrected_file_without_national_numbers(client, world):
    rows = [["phoneNumber"], ["bad"]]
    body = api_upload(client, world.acme, world.acme_token, "l.csv", csv_bytes(rows)).json()
    url = reverse("api_audience_file_corrected", args=[world.acme.id, body["id"]])
    response = client.get(url, **auth(world.acme_token))
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "nothing_to_correct"


def _sample_url(world, body, fmt):
    url = reverse("api_audience_file_sample", args=[world.acme.id])
    return f"{url}?{__import__('urllib.parse').parse.urlencode({'body': body, 'format': fmt})}"


BODY = "{{ name }}님, {% if vip %}쿠폰 {{ coupon.code }}{% endif %} {% assign x = 1 %}{{ x }}"


def test_the_csv_sample_has_phone_number_and_the_bodys_variables(client, world):
    response = client.get(_sample_url(world, BODY, "csv"), **auth(world.acme_token))
    assert response.status_code == 200
    rows = _csv(response)
    assert rows[0] == ["phoneNumber", "name", "vip", "coupon"]
    assert rows[1][0] == "+821012345678"
    assert len(rows) == 2


def test_the_xlsx_sample_keeps_the_phone_number_as_text(client, world):
    response = client.get(_sample_url(world, BODY, "xlsx"), **auth(world.acme_token))
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    sheet = load_workbook(io.BytesIO(response.content)).active
    assert [c.value for c in sheet[1]] == ["phoneNumber", "name", "vip", "coupon"]
    phone = sheet["A2"]
    assert phone.value == "+821012345678"
    assert phone.data_type == "s"
    assert phone.number_format == "@"


def test_a_sample_file_validates_once_filled_in(client, world):
    content = b"".join(
        client.get(_sample_url(world, BODY, "csv"), **auth(world.acme_token)).streaming_content
    )
    body = api_upload(client, world.acme, world.acme_token, "s.csv", content).json()
    assert body["status"] == "valid"
    assert body["columns"] == ["phoneNumber", "name", "vip", "coupon"]


def test_a_sample_for_invalid_liquid_is_a_clear_error(client, world):
    response = client.get(_sample_url(world, "{{ name ", "csv"), **auth(world.acme_token))
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_body"
    response = client.get(_sample_url(world, "x", "pdf"), **auth(world.acme_token))
    assert response.json()["error"]["code"] == "invalid_format"


def test_downloads_are_404_for_another_projects_token(client, world):
    url = reverse("api_audience_file_sample", args=[world.acme.id])
    assert client.get(url, **auth(world.bolt_token)).status_code == 404
