"""The opt-out import in the background: stored, applied chunk by chunk in
short transactions (a second run carries on where the first stopped), its
progress polled over htmx, its row limit, and its problems kept as codes and
shown in the reader's language."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import translation

from optout.actions import do_apply_optout_import, do_opt_out
from optout.models import OptOut, OptOutImport, Source
from optout.tasks import reconcile_optout_imports, run_optout_import
from projects.models import AuditLog
from tests.support.world import PASSWORD
from webhooks.models import WebhookEvent

# Not transactional: on-commit callbacks (the enqueue) are captured, not run,
# so each test runs the task itself, as a worker would.
pytestmark = pytest.mark.django_db

NUMBERS = [f"+8210{5550000 + i}" for i in range(7)]


@pytest.fixture(autouse=True)
def _english_afterwards():
    # A request in Korean leaves Korean active in this thread; the tests after
    # these expect the suite's English.
    yield
    translation.deactivate()


@pytest.fixture
def background(settings):
    # Every file goes to the queue; chunks of 3 so 7 numbers take 3 transactions.
    settings.OPTOUT_IMPORT_INLINE_MAX_BYTES = 0
    settings.OPTOUT_IMPORT_CHUNK_ROWS = 3


def log_in(client, user, language="en"):
    assert client.login(username=user.username, password=PASSWORD)
    client.cookies["django_language"] = language
    return client


def upload(client, world, content: bytes, name="list.csv"):
    return client.post(
        reverse("optouts_import", args=[world.acme.id]),
        {"file": SimpleUploadedFile(name, content)},
    )


def csv_of(numbers) -> bytes:
    return ("phoneNumber\n" + "".join(f"{n}\n" for n in numbers)).encode()


def test_a_large_import_is_stored_and_left_to_the_queue(
    client, world, background, django_capture_on_commit_callbacks
):
    log_in(client, world.carol)
    with django_capture_on_commit_callbacks() as enqueued:
        answer = upload(client, world, csv_of(NUMBERS))
    optout_import = OptOutImport.objects.get()
    assert answer.status_code == 302
    assert answer["Location"] == reverse("optout_import", args=[world.acme.id, optout_import.id])
    assert optout_import.status == "importing"
    assert not OptOut.objects.exists()
    # Enqueued after commit.
    assert len(enqueued) == 1
    assert optout_import.enqueued_at is not None
    page = client.get(answer["Location"])
    assert 'id="import-progress"' in page.text
    assert "hx-get" in page.text and "every 1s" in page.text


def test_each_chunk_is_its_own_transaction_and_a_second_run_carries_on(client, world, background):
    do_opt_out(world.acme, [NUMBERS[4]], Source.API)
    log_in(client, world.carol)
    upload(client, world, csv_of([*NUMBERS, NUMBERS[0], "010-1234"]))
    optout_import = OptOutImport.objects.get()
    # A run that must hand over after its first chunk (budget spent).
    assert do_apply_optout_import(optout_import.pk, budget_seconds=0) == "continuing from 3"
    optout_import.refresh_from_db()
    assert (optout_import.next_index, optout_import.added, optout_import.status) == (
        3,
        3,
        "importing",
    )
    assert 1 <= optout_import.progress < 100
    assert OptOut.objects.filter(project=world.acme).count() == 4  # 3 imported + 1 by API
    status = client.get(reverse("optout_import_status", args=[world.acme.id, optout_import.id]))
    assert "HX-Refresh" not in status.headers
    # The continuation (or a reconciler's copy) finishes the rest exactly once.
    assert run_optout_import(str(optout_import.pk)).startswith("done")
    assert run_optout_import(str(optout_import.pk)) == "not importing"
    optout_import.refresh_from_db()
    assert optout_import.status == "done" and optout_import.progress == 100
    assert not optout_import.file.storage.exists(optout_import.file.name)  # not kept
    assert (optout_import.rows, optout_import.to_apply) == (9, 7)
    assert (optout_import.added, optout_import.already_present) == (6, 1)
    assert (optout_import.duplicate_count, optout_import.invalid_count) == (1, 1)
    assert set(
        OptOut.objects.filter(project=world.acme).values_list("phone_number", flat=True)
    ) == set(NUMBERS)
    # One event per number added (plus the one opted out by API), none twice.
    events = WebhookEvent.objects.filter(project=world.acme)
    assert events.count() == 7
    assert sorted(e.data["phoneNumber"] for e in events) == sorted(NUMBERS)
    [audit] = AuditLog.objects.filter(project=world.acme, action="optout.added")
    assert (audit.detail["source"], audit.detail["count"]) == ("import", 6)
    status = client.get(reverse("optout_import_status", args=[world.acme.id, optout_import.id]))
    assert status["HX-Refresh"] == "true"
    report = client.get(reverse("optout_import", args=[world.acme.id, optout_import.id]))
    assert 'id="report-added">6<' in report.text
    assert "Write it as +82101234" not in report.text  # 010-1234 is not a real number
    assert "010-1234" in report.text


def test_an_import_over_the_row_limit_is_refused_with_its_count(client, world, settings):
    settings.OPTOUT_IMPORT_MAX_ROWS = 5
    log_in(client, world.carol)
    answer = upload(client, world, csv_of(NUMBERS))
    assert answer.status_code == 400
    assert (
        "list.csv has 7 rows; an import may hold at most 5. Split it into smaller files."
        in answer.text
    )
    assert not OptOut.objects.exists()


def test_a_refusal_found_in_the_background_reads_in_each_readers_language(
    client, world, background
):
    log_in(client, world.carol)
    upload(client, world, "번호\n+821011112222\n".encode("cp949"))
    optout_import = OptOutImport.objects.get()
    assert run_optout_import(str(optout_import.pk)) == "refused: cp949"
    optout_import.refresh_from_db()
    assert (optout_import.status, optout_import.error_code) == ("refused", "cp949")
    assert optout_import.error_params == {"name": "list.csv"}
    page = reverse("optout_import", args=[world.acme.id, optout_import.id])
    assert "list.csv is encoded in CP949/EUC-KR" in client.get(page).text
    client.cookies["django_language"] = "ko"
    korean = client.get(page).text
    assert "list.csv은(는) CP949/EUC-KR로 인코딩되어 있습니다" in korean
    assert "is encoded in" not in korean


def test_row_problems_are_stored_as_codes_and_read_in_the_readers_language(
    client, world, background
):
    log_in(client, world.carol, language="ko")
    upload(client, world, csv_of(["010-5555-6666", "+82abc"]))
    optout_import = OptOutImport.objects.get()
    run_optout_import(str(optout_import.pk))
    optout_import.refresh_from_db()
    assert optout_import.invalid == [
        [2, "010-5555-6666", "phone_not_e164"],
        [3, "+82abc", "phone_not_e164"],
    ]
    page = reverse("optout_import", args=[world.acme.id, optout_import.id])
    korean = client.get(page).text
    assert "+821055556666(으)로 입력하세요." in korean
    assert "+ 뒤에는 숫자만 올 수 있습니다" in korean
    client.cookies["django_language"] = "en"
    english = client.get(page).text
    assert "Write it as +821055556666." in english
    assert "only digits may follow the +" in english


def test_a_lost_import_task_is_handed_out_again(
    client, world, background, django_capture_on_commit_callbacks
):
    log_in(client, world.carol)
    upload(client, world, csv_of(NUMBERS))
    assert reconcile_optout_imports() == 0  # not stale yet
    OptOutImport.objects.update(enqueued_at="2000-01-01T00:00:00Z")
    with django_capture_on_commit_callbacks() as enqueued:
        assert reconcile_optout_imports() == 1
    assert len(enqueued) == 1
    assert OptOutImport.objects.get().enqueued_at.year > 2000


def test_another_projects_import_is_a_404(client, world, background):
    log_in(client, world.carol)
    upload(client, world, csv_of(NUMBERS))
    optout_import = OptOutImport.objects.get()
    client.logout()
    log_in(client, world.bob)
    assert (
        client.get(reverse("optout_import", args=[world.acme.id, optout_import.id])).status_code
        == 404
    )
    assert (
        client.get(reverse("optout_import", args=[world.bolt.id, optout_import.id])).status_code
        == 404
    )


def test_an_api_refusal_of_a_number_reads_in_the_callers_language(world):
    from django.test import Client

    body = {"phoneNumbers": ["010-5555-6666"]}
    answers = {}
    for language in ("en", "ko"):
        answers[language] = Client().post(
            reverse("api_sms_unsubscribe", args=[world.acme.id]),
            data=body,
            content_type="application/json",
            HTTP_AUTHORIZATION=f"Bearer {world.acme_token}",
            HTTP_ACCEPT_LANGUAGE=language,
        )
    assert answers["en"].status_code == 200, answers["en"].content
    assert "Write it as +821055556666." in answers["en"].text
    assert "+821055556666(으)로 입력하세요." in answers["ko"].text
