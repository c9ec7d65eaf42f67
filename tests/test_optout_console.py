"""The opt-out list in the console: list, search, add, remove, history,
export, the migration import and the policy, with each role's rights."""

from __future__ import annotations

import csv
import io
import zipfile

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from openpyxl import Workbook, load_workbook
from python_calamine import CalamineWorkbook

from optout.actions import do_opt_out
from optout.models import OptOut, OptOutChange, Source
from optout.queries import applies_to, opted_out_numbers
from projects.models import AuditLog
from tests.support.world import PASSWORD
from webhooks.models import WebhookEvent

A = "+821011112222"
B = "+821033334444"
C = "+821055556666"


def log_in(client, user):
    assert client.login(username=user.username, password=PASSWORD)
    return client


def url(world, name, *args):
    return reverse(name, args=[world.acme.id, *args])


def test_the_nav_link_leads_to_the_list_with_search(client, world):
    do_opt_out(world.acme, [A, B], Source.API)
    log_in(client, world.dave)
    page = client.get(url(world, "optouts"))
    assert page.status_code == 200
    assert A in page.text and B in page.text
    found = client.get(url(world, "optouts"), {"q": "010-3333"})
    assert B in found.text and A not in found.text
    # A viewer reads but gets no change controls.
    assert "optout-numbers-form" not in page.text
    assert 'name="numbers"' not in page.text


def test_a_marketer_adds_several_numbers_and_sees_what_happened(client, world):
    do_opt_out(world.acme, [A], Source.API)
    log_in(client, world.carol)
    answer = client.post(url(world, "optouts_add"), {"numbers": f"{A}\n{B}, {C}\n"}, follow=True)
    assert "Added 2 numbers to the list. 1 was already on it." in answer.text
    assert opted_out_numbers(world.acme, [A, B, C]) == {A, B, C}
    change = OptOutChange.objects.filter(project=world.acme, phone_number=B).get()
    assert (change.source, change.actor_label) == ("console", "carol@acme.test")
    assert OptOut.objects.get(project=world.acme, phone_number=B).created_by == world.carol
    assert AuditLog.objects.filter(project=world.acme, action="optout.added").exists()


def test_invalid_lines_stay_in_the_box_with_their_reason(client, world):
    log_in(client, world.carol)
    answer = client.post(url(world, "optouts_add"), {"numbers": f"{A}\n010-3333-4444\n+82x"})
    assert answer.status_code == 400
    assert "Added 1 number to the list." in answer.text
    assert "Write it as +821033334444." in answer.text
    assert "only digits may follow the +" in answer.text
    box = answer.context["numbers_form"].initial["numbers"]
    assert box == "010-3333-4444\n+82x"


def test_an_empty_or_oversized_entry_is_refused_with_a_message(client, world):
    log_in(client, world.carol)
    empty = client.post(url(world, "optouts_add"), {"numbers": " \n , "})
    assert empty.status_code == 400
    assert "Enter at least one phone number." in empty.text
    many = "\n".join(f"+8210{n:08d}" for n in range(50_000_000, 50_001_001))
    too_many = client.post(url(world, "optouts_add"), {"numbers": many})
    assert "1001 numbers at once is too many" in too_many.text
    assert not OptOut.objects.exists()


def test_a_marketer_removes_a_number_and_its_history_shows_both_changes(client, world):
    log_in(client, world.carol)
    client.post(url(world, "optouts_add"), {"numbers": A})
    answer = client.post(url(world, "optouts_remove"), {"numbers": A}, follow=True)
    assert "Removed 1 number from the list." in answer.text
    assert not opted_out_numbers(world.acme, [A])
    history = client.get(url(world, "optout_history"), {"number": A})
    assert f"{A} is not on the opt-out list." in history.text
    rows = history.context["changes"]
    assert [(c.subscribed, c.source) for c in rows] == [(True, "console"), (False, "console")]
    data = [e.data for e in WebhookEvent.objects.filter(project=world.acme).order_by("id")]
    assert data == [
        {"phoneNumber": A, "subscribed": False},
        {"phoneNumber": A, "subscribed": True},
    ]


def test_history_of_a_malformed_number_says_what_is_wrong(client, world):
    log_in(client, world.dave)
    answer = client.get(url(world, "optout_history"), {"number": "01011112222"})
    assert answer.status_code == 400
    assert "Write it as +821011112222." in answer.text


def test_a_viewer_may_not_change_the_list(client, world):
    log_in(client, world.dave)
    for name in ("optouts_add", "optouts_remove"):
        answer = client.post(url(world, name), {"numbers": A})
        assert answer.status_code == 403
    assert client.post(url(world, "optouts_import"), {}).status_code == 403
    assert not OptOut.objects.exists()


def test_another_projects_list_is_a_404(client, world):
    do_opt_out(world.acme, [A], Source.API)
    log_in(client, world.bob)
    assert client.get(url(world, "optouts")).status_code == 404
    assert client.get(url(world, "optouts_export", "csv")).status_code == 404
    assert client.post(url(world, "optouts_remove"), {"numbers": A}).status_code == 404
    assert opted_out_numbers(world.acme, [A]) == {A}


def test_only_an_admin_extends_the_list_to_every_message(client, world):
    log_in(client, world.carol)
    assert (
        client.post(url(world, "optout_policy"), {"applies_to_all_messages": "on"}).status_code
        == 403
    )
    assert not applies_to(world.acme, is_promotional=False)
    log_in(client, world.alice)
    answer = client.post(
        url(world, "optout_policy"), {"applies_to_all_messages": "on"}, follow=True
    )
    assert "now applies to every message" in answer.text
    assert applies_to(world.acme, is_promotional=False)
    client.post(url(world, "optout_policy"), {})
    assert not applies_to(world.acme, is_promotional=False)


# --- export -------------------------------------------------------------------


def test_the_csv_export_neutralises_cells_a_spreadsheet_would_evaluate(client, world):
    # An email may legally start with "=": it is a cell of the export too.
    world.carol.email = "=cmd|'/c calc'!A1@acme.test"
    world.carol.save()
    do_opt_out(world.acme, [A, B], Source.CONSOLE, world.carol)
    log_in(client, world.dave)
    answer = client.get(url(world, "optouts_export", "csv"))
    assert answer["Content-Disposition"].startswith('attachment; filename="optouts-')
    rows = list(csv.reader(io.StringIO(b"".join(answer.streaming_content).decode("utf-8-sig"))))
    assert rows[0] == ["phoneNumber", "source", "optedOutAt", "optedOutBy"]
    assert [row[0] for row in rows[1:]] == [f"'{A}", f"'{B}"]
    assert rows[1][3] == "'=cmd|'/c calc'!A1@acme.test"
    assert all(not cell.startswith(("=", "+", "-", "@")) for row in rows for cell in row)


def test_the_xlsx_export_keeps_numbers_as_text_never_formulas(client, world):
    world.carol.email = "=HYPERLINK(1)@acme.test"
    world.carol.save()
    do_opt_out(world.acme, [A], Source.CONSOLE, world.carol)
    log_in(client, world.dave)
    answer = client.get(url(world, "optouts_export", "xlsx"))
    data = b"".join(answer.streaming_content)
    sheet = load_workbook(io.BytesIO(data)).active
    number, source, _when, by = sheet[2]
    assert number.value == A and number.data_type == "s" and number.quotePrefix
    assert by.value == "=HYPERLINK(1)@acme.test" and by.data_type == "s"
    assert source.value == "console"
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        assert b"<f>" not in archive.read("xl/worksheets/sheet1.xml")


def test_an_export_can_be_imported_again(client, world):
    do_opt_out(world.acme, [A, B], Source.API)
    log_in(client, world.alice)
    exported = b"".join(client.get(url(world, "optouts_export", "csv")).streaming_content)
    answer = upload(client, world, "export.csv", exported)
    assert answer.context["optout_import"].already_present == 2
    assert answer.context["optout_import"].invalid_count == 0


def test_an_unknown_export_format_is_a_404(client, world):
    log_in(client, world.dave)
    assert client.get(url(world, "optouts_export", "pdf")).status_code == 404


# --- import -------------------------------------------------------------------


def upload(client, world, name, content):
    return client.post(
        url(world, "optouts_import"), {"file": SimpleUploadedFile(name, content)}, follow=True
    )


def xlsx(rows) -> bytes:
    workbook = Workbook()
    for row in rows:
        workbook.active.append(row)
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def test_a_csv_migration_reports_added_present_repeated_and_invalid_rows(client, world):
    do_opt_out(world.acme, [A], Source.API)
    log_in(client, world.carol)
    content = (
        f"name,phoneNumber\nKim,{A}\nLee,{B}\n,\nPark,010-5555-6666\nChoi,{B}\nJung,\n"
    ).encode()
    answer = upload(client, world, "legacy.csv", content)
    assert answer.status_code == 200
    report = answer.context["optout_import"]
    assert (report.rows, report.added, report.already_present) == (5, 1, 1)
    assert report.duplicates == [[6, 3, B]]
    assert report.invalid == [[5, "010-5555-6666", "phone_not_e164"], [7, "", "phone_missing"]]
    assert report.invalid_count == 2
    assert "Write it as +821055556666." in answer.text
    assert OptOutChange.objects.get(phone_number=B).source == "import"
    assert WebhookEvent.objects.filter(project=world.acme).count() == 2  # A by API, B by import


def test_an_xlsx_migration_is_read_with_its_rows(client, world):
    log_in(client, world.carol)
    content = xlsx([["phoneNumber"], [A], [821033334444], ["not a number"]])
    report = upload(client, world, "legacy.xlsx", content).context["optout_import"]
    assert report.added == 1
    assert [(row, value) for row, value, _code in report.invalid] == [
        (3, "821033334444"),
        (4, "not a number"),
    ]


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("list.csv", "번호,이름\n+821011112222,김\n".encode("cp949"), "CP949/EUC-KR"),
        ("list.csv", b"number\n+821011112222\n", "has no phoneNumber column (found: 'number')"),
        ("list.csv", b"phoneNumber,phonenumber\n", "2 phoneNumber columns"),
        ("list.csv", b"", "is empty"),
        ("list.xlsx", b"PK\x03\x04 not really a zip", "damaged xlsx"),
        ("list.xls", b"\xd0\xcf\x11\xe0 an old excel file", "not an xlsx workbook"),
    ],
    ids=["cp949", "no-header", "two-headers", "empty", "broken-xlsx", "xls"],
)
def test_an_unreadable_file_is_refused_whole_with_the_reason(client, world, name, content, message):
    log_in(client, world.carol)
    answer = upload(client, world, name, content)
    assert answer.status_code == 400
    assert message in answer.context["form"].errors["file"][0]
    assert not OptOut.objects.exists()


def test_a_file_over_the_limit_is_refused(client, world, settings):
    settings.OPTOUT_IMPORT_MAX_BYTES = 100
    log_in(client, world.carol)
    answer = upload(client, world, "big.csv", b"phoneNumber\n" + f"{A}\n".encode() * 20)
    assert answer.status_code == 400
    assert "the limit is 100" in answer.text
    assert not OptOut.objects.exists()


def test_an_xlsx_that_unpacks_far_beyond_its_size_is_refused_before_reading(
    client, world, settings
):
    settings.OPTOUT_IMPORT_MAX_BYTES = 50_000
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("xl/worksheets/sheet1.xml", b"<a/>" + b" " * 2_000_000)
    log_in(client, world.carol)
    answer = upload(client, world, "bomb.xlsx", out.getvalue())
    assert answer.status_code == 400
    assert "an xlsx may unpack to at most" in answer.text


def test_calamine_reads_what_the_xlsx_export_writes(client, world):
    do_opt_out(world.acme, [A], Source.API)
    log_in(client, world.dave)
    data = b"".join(client.get(url(world, "optouts_export", "xlsx")).streaming_content)
    rows = CalamineWorkbook.from_filelike(io.BytesIO(data)).get_sheet_by_index(0).to_python()
    assert rows[1][0] == A


def test_staff_read_the_list_in_the_admin_but_cannot_edit_it_there(client, world):
    do_opt_out(world.acme, [A], Source.API)
    log_in(client, world.staff)
    listing = client.get("/admin/optout/optout/", {"q": "1111"})
    assert listing.status_code == 200
    assert A in listing.text
    assert client.get("/admin/optout/optout/add/").status_code == 403
    assert client.get("/admin/optout/optoutchange/").status_code == 200
