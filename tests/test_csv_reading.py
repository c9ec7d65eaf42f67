"""The shared csv reader (console/lib/tabular.py) and what audience files and
the opt-out import make of its problems: a quote that is never closed, a cell
over the csv module's limit."""

from __future__ import annotations

import csv
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from console.lib import tabular
from optout.imports import ImportRejected, read_numbers
from tests.test_audience_files_support import api_upload, errors_of, file_store  # noqa: F401

UNCLOSED = 'phoneNumber,name\n+821012340001,"abc\n+821012340002,x\n'


def rows_of(text: str) -> list[tuple[int, list[str]]]:
    return list(tabular.csv_rows(io.StringIO(text, newline="")))


def problem_of(text: str) -> tabular.CsvProblem:
    with pytest.raises(tabular.CsvProblem) as caught:
        rows_of(text)
    return caught.value


@pytest.mark.parametrize(
    ("text", "row", "column"),
    [
        (UNCLOSED, 2, 2),
        ('phoneNumber,name\n+821012340001,"abc', 2, 2),  # no final line break
        ('a,b\n1,2\n"x\n\n\n', 3, 1),
        ('a\n"multi\r\nline"\r\n"open\r\nstill open\r\n', 3, 1),
        ('a,b\n1,"ok""","never\n', 2, 3),
    ],
)
def test_it_reports_a_quote_that_is_never_closed_with_its_row_and_column(text, row, column):
    problem = problem_of(text)
    assert (problem.code, problem.row, problem.column) == (tabular.CSV_UNCLOSED_QUOTE, row, column)


@pytest.mark.parametrize(
    "text",
    [
        'a,b\n1,"two\nlines"\n',
        'a,b\n1,"x""y"\n',
        'a,b\n1,"quoted" then text,2\n',
        'a,b\n1,mid"quote\n',
        'a,b\r\n"x\r\ny",1\r\n',
        'a,b\n1,"last without line break"',
    ],
)
def test_it_reads_closed_quotes_and_stray_quotes_as_before(text):
    assert rows_of(text) == list(enumerate(csv.reader(io.StringIO(text, newline="")), start=1))


def test_it_reports_a_cell_over_the_csv_limit_with_its_row():
    problem = problem_of("a\n1\n" + "x" * (csv.field_size_limit() + 1) + "\n")
    assert (problem.code, problem.row) == (tabular.CSV_FIELD_TOO_LARGE, 3)


# --- audience files ------------------------------------------------------------------


@pytest.mark.usefixtures("file_store")
def test_an_audience_file_with_an_unclosed_quote_is_invalid_at_that_row(client, world):
    response = api_upload(client, world.acme, world.acme_token, "list.csv", UNCLOSED.encode())
    assert response.json()["status"] == "invalid"
    assert errors_of(response) == [(2, 2, "csv_unclosed_quote")]
    assert "never closed" in response.json()["errors"][0]["message"]


@pytest.mark.usefixtures("file_store")
def test_an_audience_file_with_a_huge_cell_names_the_row(client, world):
    content = b"phoneNumber,note\n+821012340001," + b"x" * (csv.field_size_limit() + 1) + b"\n"
    response = api_upload(client, world.acme, world.acme_token, "list.csv", content)
    assert errors_of(response) == [(2, 1, "csv_field_too_large")]


# --- the opt-out import ------------------------------------------------------------


def test_the_optout_import_refuses_an_unclosed_quote_naming_the_row():
    with pytest.raises(ImportRejected) as caught:
        read_numbers(SimpleUploadedFile("legacy.csv", UNCLOSED.encode()))
    assert "Row 2, column 2 of legacy.csv opens a quote" in str(caught.value)


def test_the_optout_import_refuses_a_cell_over_the_csv_limit_naming_the_row():
    content = b"phoneNumber\n+821012340001\n" + b"x" * (csv.field_size_limit() + 1) + b"\n"
    with pytest.raises(ImportRejected) as caught:
        read_numbers(SimpleUploadedFile("legacy.csv", content))
    assert "Row 3 of legacy.csv has a cell longer than" in str(caught.value)


@pytest.mark.usefixtures("file_store")
def test_the_corrected_file_of_a_file_with_an_unclosed_quote_downloads_whole(client, world):
    content = 'phoneNumber,name\n010-9876-5432,Kim\n+821012340001,"abc\n+821012340002,x\n'
    response = api_upload(client, world.acme, world.acme_token, "list.csv", content.encode())
    assert (errors_of(response)[-1][2], response.json()["correctable"]) == ("csv_unclosed_quote", 1)
    corrected = client.get(
        reverse("api_audience_file_corrected", args=[world.acme.id, response.json()["id"]]),
        HTTP_AUTHORIZATION=f"Bearer {world.acme_token}",
    )
    text = b"".join(corrected.streaming_content).decode("utf-8-sig")
    assert text.splitlines()[1] == "+821098765432,Kim"
