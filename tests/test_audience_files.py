"""Audience files through the API: every rule and limit, csv and xlsx."""

from __future__ import annotations

import datetime
import io
import zipfile

import pytest
from django.urls import reverse
from django.utils import timezone

from audiences.file_tasks import reconcile_audience_files, validate_audience_file
from audiences.files import reading, validation
from audiences.models import AudienceFile, AudienceFileRow, Customer
from tests.test_audience_files_support import (
    api_upload,
    auth,
    csv_bytes,
    errors_of,
    file_store,  # noqa: F401
    with_cached_formula_values,
    xlsx_bytes,
)

pytestmark = pytest.mark.usefixtures("file_store")

GOOD = [
    ["phoneNumber", "name", "coupon"],
    ["+821012345678", "김민수", "A1"],
    ["+821098765432", "Lee", "B2"],
]


def upload_csv(client, world, rows, **kwargs):
    return api_upload(client, world.acme, world.acme_token, "list.csv", csv_bytes(rows, **kwargs))


def upload_xlsx(client, world, rows, **kwargs):
    return api_upload(client, world.acme, world.acme_token, "list.xlsx", xlsx_bytes(rows, **kwargs))


# --- valid files ------------------------------------------------------------------


def test_a_valid_csv_is_stored_with_its_variables(client, world):
    response = upload_csv(client, world, GOOD)
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["status"] == "valid"
    assert body["rows"] == 2
    assert body["progress"] == 100
    assert body["columns"] == ["phoneNumber", "name", "coupon"]
    assert body["errors"] == [] and body["errorCount"] == 0
    rows = list(AudienceFileRow.objects.filter(file_id=body["id"]).order_by("row_number"))
    assert [(r.row_number, r.phone_number) for r in rows] == [
        (2, "+821012345678"),
        (3, "+821098765432"),
    ]
    assert rows[0].variables() == {"name": "김민수", "coupon": "A1"}


def test_a_utf8_bom_is_accepted(client, world):
    response = upload_csv(client, world, GOOD, bom=True)
    assert response.json()["status"] == "valid"
    assert response.json()["columns"][0] == "phoneNumber"


def test_blank_lines_are_not_recipients_and_short_rows_get_empty_variables(client, world):
    response = upload_csv(client, world, [*GOOD, [], ["+14155552671"], ["", "", ""]])
    assert response.json()["status"] == "valid"
    assert response.json()["rows"] == 3
    row = AudienceFileRow.objects.get(phone_number="+14155552671")
    assert row.variables() == {"name": "", "coupon": ""}


def test_numbers_are_matched_to_users_by_phone(client, world):
    kim = Customer.objects.create(project=world.acme, user_id="kim", phone_number="+821012345678")
    Customer.objects.create(project=world.bolt, user_id="other", phone_number="+821098765432")
    body = upload_csv(client, world, GOOD).json()
    assert body["matchedUsers"] == 1
    rows = AudienceFileRow.objects.filter(file_id=body["id"]).order_by("row_number")
    assert [r.customer_id for r in rows] == [kim.id, None]


# --- header rules ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (["name", "phoneNumber"], [(1, 2, "phone_column_position")]),
        (["phone", "name"], [(1, 1, "phone_column_missing")]),
        (["mobile no", "name"], [(1, 1, "phone_column_missing")]),
        (["phoneNumber", "", "coupon"], [(1, 2, "header_empty")]),
        (["phoneNumber", "name", "name"], [(1, 3, "header_duplicate")]),
        (
            ["phoneNumber", "first name", "a.b"],
            [(1, 2, "header_invalid_name"), (1, 3, "header_invalid_name")],
        ),
    ],
)
def test_header_rules(client, world, header, expected):
    rows = [header, ["+821012345678", "x", "y"][: len(header)]]
    response = upload_csv(client, world, rows)
    assert response.status_code == 201
    assert response.json()["status"] == "invalid"
    assert errors_of(response) == expected


def test_duplicate_header_message_names_the_first_column(client, world):
    response = upload_csv(
        client, world, [["phoneNumber", "name", "name"], ["+821012345678", "a", "b"]]
    )
    assert "column 2" in response.json()["errors"][0]["message"]


def test_a_missing_header_row_is_reported_on_row_1(client, world):
    response = upload_csv(client, world, [[], ["phoneNumber"], ["+821012345678"]])
    assert errors_of(response) == [(1, 1, "header_missing")]


def test_semicolon_separated_file_gets_a_hint(client, world):
    response = upload_csv(client, world, [["phoneNumber;name"], ["+821012345678;Kim"]])
    error = response.json()["errors"][0]
    assert error["code"] == "phone_column_missing"
    assert "commas" in error["message"]


# --- row rules ----------------------------------------------------------------------


def test_a_national_number_is_an_error_that_gives_the_e164_form(client, world):
    response = upload_csv(client, world, [["phoneNumber"], ["+821012345678"], ["010-9876-5432"]])
    body = response.json()
    assert errors_of(response) == [(3, 1, "phone_not_e164")]
    assert "+821098765432" in body["errors"][0]["message"]
    assert body["correctable"] == 1


def test_invalid_and_missing_numbers(client, world):
    rows = [["phoneNumber", "name"], ["+8210123", "a"], ["", "b"], ["hello", "c"]]
    response = upload_csv(client, world, rows)
    assert errors_of(response) == [
        (2, 1, "phone_invalid"),
        (3, 1, "phone_missing"),
        (4, 1, "phone_not_e164"),
    ]
    assert response.json()["correctable"] == 0


def test_duplicate_numbers_name_the_row_of_the_first(client, world):
    rows = [["phoneNumber"], ["+821012345678"], ["+821011112222"], ["+821012345678"]]
    response = upload_csv(client, world, rows)
    assert errors_of(response) == [(4, 1, "phone_duplicate")]
    assert "row 2" in response.json()["errors"][0]["message"]


def test_a_value_beyond_the_header_is_reported_at_its_column(client, world):
    rows = [["phoneNumber", "name"], ["+821012345678", "a", "", "stray"]]
    assert errors_of(upload_csv(client, world, rows)) == [(2, 4, "cell_without_header")]


def test_an_invalid_file_stores_no_rows(client, world):
    rows = [["phoneNumber"], ["+821012345678"], ["bad"]]
    body = upload_csv(client, world, rows).json()
    assert body["status"] == "invalid"
    assert body["rows"] == 2
    assert not AudienceFileRow.objects.filter(file_id=body["id"]).exists()


def test_stored_errors_are_capped_but_counted(client, world, monkeypatch):
    monkeypatch.setattr(validation, "MAX_STORED_ERRORS", 5)
    rows = [["phoneNumber"]] + [[f"bad{i}"] for i in range(12)]
    body = upload_csv(client, world, rows).json()
    assert len(body["errors"]) == 5
    assert body["errorCount"] == 12


# --- encodings and limits -------------------------------------------------------------


def test_cp949_is_refused_with_how_to_save_as_utf8(client, world):
    rows = [["phoneNumber", "이름"], ["+821012345678", "김민수"]]
    response = upload_csv(client, world, rows, encoding="cp949")
    body = response.json()
    assert body["status"] == "invalid"
    assert [e["code"] for e in body["errors"]] == ["encoding_cp949"]
    message = body["errors"][0]["message"]
    assert "CP949/EUC-KR" in message
    assert "CSV UTF-8" in message


def test_cp949_error_names_the_row_of_the_first_korean_text(client, world):
    rows = [["phoneNumber", "name"], ["+821012345678", "Kim"], ["+821098765432", "김"]]
    body = upload_csv(client, world, rows, encoding="cp949").json()
    assert body["errors"][0]["row"] == 3


def test_other_encodings_are_refused_too(client, world):
    content = "phoneNumber,name\n+821012345678,Müller\n".encode("utf-16")
    body = api_upload(client, world.acme, world.acme_token, "l.csv", content).json()
    assert body["errors"][0]["code"] in {"encoding_not_utf8", "encoding_cp949"}


def test_an_empty_file(client, world):
    body = api_upload(client, world.acme, world.acme_token, "empty.csv", b"").json()
    assert [(e["row"], e["code"]) for e in body["errors"]] == [(1, "file_empty")]


def test_a_header_only_file(client, world):
    response = upload_csv(client, world, [["phoneNumber", "name"]])
    assert errors_of(response) == [(2, 1, "no_rows")]


def test_too_many_rows(client, world, settings):
    settings.AUDIENCE_FILE_MAX_ROWS = 2
    rows = [["phoneNumber"], ["+821012345678"], ["+821012345679"], ["+821012345670"]]
    response = upload_csv(client, world, rows)
    assert errors_of(response) == [(4, 1, "too_many_rows")]


def test_a_file_over_the_size_limit_is_refused_and_not_stored(client, world, settings):
    settings.AUDIENCE_FILE_MAX_BYTES = 100
    rows = [["phoneNumber", "name"]] + [["+821012345678", "x" * 20]] * 10
    response = upload_csv(client, world, rows)
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "file_too_large"
    assert not AudienceFile.objects.exists()


def test_a_file_of_another_type_is_refused(client, world):
    response = api_upload(client, world.acme, world.acme_token, "list.pdf", b"%PDF-1.4")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "file_type"
    ole = b"\xd0\xcf\x11\xe0" + b"\0" * 100
    response = api_upload(client, world.acme, world.acme_token, "old.xls", ole)
    assert response.json()["error"]["code"] == "file_type"
    assert ".xlsx" in response.json()["error"]["message"]


# --- xlsx -------------------------------------------------------------------------------


def test_a_valid_xlsx_uses_the_first_sheet_and_says_so(client, world):
    response = upload_xlsx(client, world, GOOD, extra_sheets=2)
    body = response.json()
    assert body["status"] == "valid", body
    assert body["sheet"] == "List"
    assert body["sheetCount"] == 3
    assert body["rows"] == 2


def test_xlsx_dates_are_iso_and_whole_numbers_have_no_decimals(client, world):
    rows = [
        ["phoneNumber", "joined", "visit", "points", "ratio"],
        ["+821012345678", datetime.date(2024, 5, 1), datetime.datetime(2024, 5, 1, 13, 5), 3, 2.5],
    ]
    body = upload_xlsx(client, world, rows).json()
    assert body["status"] == "valid", body
    row = AudienceFileRow.objects.get(file_id=body["id"])
    assert row.variables() == {
        "joined": "2024-05-01",
        "visit": "2024-05-01 13:05:00",
        "points": "3",
        "ratio": "2.5",
    }


def test_xlsx_formulas_count_as_their_values(client, world):
    rows = [["phoneNumber", "total"], ["+821012345678", "=1+2"]]
    data = with_cached_formula_values(xlsx_bytes(rows), {"B2": "3"})
    body = api_upload(client, world.acme, world.acme_token, "f.xlsx", data).json()
    assert body["status"] == "valid", body
    assert AudienceFileRow.objects.get(file_id=body["id"]).variables() == {"total": "3"}


def test_xlsx_rules_report_rows_and_columns(client, world):
    rows = [["phoneNumber", "name", "name"], ["01012345678", "a", "b"], [821012345678, "c", "d"]]
    response = upload_xlsx(client, world, rows)
    assert errors_of(response) == [
        (1, 3, "header_duplicate"),
        (2, 1, "phone_not_e164"),
        (3, 1, "phone_not_e164"),
    ]


def test_xlsx_zip_bomb_is_refused_by_declared_size(client, world, settings):
    settings.AUDIENCE_FILE_MAX_UNCOMPRESSED_BYTES = 2000
    rows = [["phoneNumber", "note"], ["+821012345678", "x" * 50]]
    body = upload_xlsx(client, world, rows).json()
    assert body["errors"][0]["code"] == "xlsx_too_large_uncompressed"


def test_xlsx_with_too_many_entries_is_refused(client, world, monkeypatch):
    monkeypatch.setattr(reading, "MAX_XLSX_ENTRIES", 3)
    body = upload_xlsx(client, world, GOOD).json()
    assert body["errors"][0]["code"] == "xlsx_too_many_entries"


def test_a_broken_xlsx_is_refused(client, world):
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("hello.txt", "not a workbook")
    body = api_upload(client, world.acme, world.acme_token, "x.xlsx", out.getvalue()).json()
    assert body["status"] == "invalid"
    assert body["errors"][0]["code"] == "xlsx_unreadable"


# --- background validation, idempotent task, tenancy ------------------------------------


def test_a_large_file_is_validated_in_the_background(
    client, world, settings, django_capture_on_commit_callbacks
):
    settings.AUDIENCE_FILE_INLINE_MAX_BYTES = 10
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = upload_csv(client, world, GOOD)
    assert response.status_code == 202
    assert response.json()["status"] == "validating"
    file_id = response.json()["id"]
    detail = reverse("api_audience_file", args=[world.acme.id, file_id])
    assert client.get(detail, **auth(world.acme_token)).json()["progress"] == 0
    for callback in callbacks:
        callback()  # the task runs inline (MUNJA_Q_SYNC)
    body = client.get(detail, **auth(world.acme_token)).json()
    assert body["status"] == "valid"
    assert body["progress"] == 100
    assert AudienceFileRow.objects.filter(file_id=file_id).count() == 2


def test_the_task_is_safe_to_run_twice(client, world, settings, django_capture_on_commit_callbacks):
    settings.AUDIENCE_FILE_INLINE_MAX_BYTES = 10
    with django_capture_on_commit_callbacks(execute=True):
        file_id = upload_csv(client, world, GOOD).json()["id"]
    assert validate_audience_file(file_id) == "not validating"
    # An interrupted run (status reset) replaces rows instead of adding to them.
    AudienceFile.objects.filter(pk=file_id).update(status="validating")
    validate_audience_file(file_id)
    assert AudienceFileRow.objects.filter(file_id=file_id).count() == 2


def test_a_file_whose_task_was_lost_is_validated_by_the_reconciler(
    client, world, settings, django_capture_on_commit_callbacks
):
    settings.AUDIENCE_FILE_INLINE_MAX_BYTES = 10
    with django_capture_on_commit_callbacks(execute=False):
        file_id = upload_csv(client, world, GOOD).json()["id"]  # the task never runs
    assert reconcile_audience_files() == 0  # not overdue yet: its task may be queued
    overdue = timezone.now() - datetime.timedelta(
        seconds=settings.Q_CLUSTER["retry"] + settings.Q_CLUSTER["timeout"] + 1
    )
    AudienceFile.objects.filter(pk=file_id).update(enqueued_at=overdue)
    with django_capture_on_commit_callbacks(execute=True):
        assert reconcile_audience_files() == 1
    assert AudienceFile.objects.get(pk=file_id).status == AudienceFile.Status.VALID
    assert AudienceFileRow.objects.filter(file_id=file_id).count() == 2
    assert reconcile_audience_files() == 0


def test_another_projects_token_gets_404(client, world):
    file_id = upload_csv(client, world, GOOD).json()["id"]
    for name in ("api_audience_file", "api_audience_file_errors"):
        url = reverse(name, args=[world.acme.id, file_id])
        assert client.get(url, **auth(world.bolt_token)).status_code == 404
        # Own project's URL with a foreign file id is a 404 too.
        url = reverse(name, args=[world.bolt.id, file_id])
        assert client.get(url, **auth(world.bolt_token)).status_code == 404
    response = api_upload(client, world.acme, world.bolt_token, "l.csv", csv_bytes(GOOD))
    assert response.status_code == 404
    assert AudienceFile.objects.count() == 1


def test_the_list_shows_the_projects_files(client, world):
    upload_csv(client, world, GOOD)
    url = reverse("api_audience_files", args=[world.acme.id])
    body = client.get(url, **auth(world.acme_token)).json()
    assert [f["name"] for f in body["results"]] == ["list.csv"]
    url = reverse("api_audience_files", args=[world.bolt.id])
    assert client.get(url, **auth(world.bolt_token)).json()["results"] == []


def test_an_upload_without_a_file_field(client, world):
    url = reverse("api_audience_files", args=[world.acme.id])
    response = client.post(url, {"other": "x"}, **auth(world.acme_token))
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "file_missing"
