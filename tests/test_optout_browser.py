"""In a real browser: carol adds and removes numbers, searches the list and
imports a migration file with bad rows, then reads the report."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from optout.queries import opted_out_numbers
from tests.support.browser import log_in
from tests.support.world import PASSWORD

pytestmark = pytest.mark.browser

A = "+821011112222"
B = "+821033334444"
C = "+821055556666"


def test_carol_adds_removes_and_imports_numbers(page, world):
    log_in(page, "carol@acme.test", PASSWORD)
    page.goto(f"/p/{world.acme.id}/")
    page.click("nav.main-nav >> text=Opt-outs")
    page.wait_for_url(f"**/p/{world.acme.id}/optouts/")
    assert page.locator("#optout-empty").is_visible()

    page.fill("#id_numbers", f"{A}\n{B}\n010-5555-6666")
    page.click("#optout-add")
    page.wait_for_selector("#optout-invalid")
    assert "Write it as +821055556666." in page.inner_text("#optout-invalid")
    assert page.input_value("#id_numbers") == "010-5555-6666"
    assert page.locator("tr.optout").count() == 2

    # Live search narrows the table without a page load.
    page.fill("#optout-q", "3333")
    expect(page.locator("tr.optout")).to_have_count(1)
    assert page.locator(f"tr.optout[data-number='{B}']").is_visible()
    page.fill("#optout-q", "")
    expect(page.locator("tr.optout")).to_have_count(2)

    # Removing asks first; dismissing keeps the number.
    page.once("dialog", lambda dialog: dialog.dismiss())
    page.locator(f"tr.optout[data-number='{A}'] button").click()
    assert opted_out_numbers(world.acme, [A]) == {A}
    page.once("dialog", lambda dialog: dialog.accept())
    page.locator(f"tr.optout[data-number='{A}'] button").click()
    page.wait_for_selector("text=Removed 1 number from the list.")
    assert page.locator(f"tr.optout[data-number='{A}']").count() == 0
    assert opted_out_numbers(world.acme, [A, B]) == {B}

    page.click("text=Import a file")
    content = f"phoneNumber,memo\n{A}\n{B},old\nnot-a-number\n{C}\n01099998888\n".encode()
    page.set_input_files(
        "#id_file", files=[{"name": "legacy.csv", "mimeType": "text/csv", "buffer": content}]
    )
    page.click("#optout-import-form button[type=submit]")
    page.wait_for_selector("#import-report")
    assert page.inner_text("#report-added") == "2"
    assert page.inner_text("#report-present") == "1"
    assert page.inner_text("#report-invalid") == "2"
    bad = page.locator("#import-invalid tr[data-row='4']")
    assert "not-a-number" in bad.inner_text()
    assert "Write it as +821099998888." in page.inner_text("#import-invalid tr[data-row='6']")

    page.goto(f"/p/{world.acme.id}/optouts/history/?number=%2B821011112222")
    assert page.locator("#optout-history tbody tr").count() == 3
    assert opted_out_numbers(world.acme, [A, B, C]) == {A, B, C}


def test_a_background_import_shows_its_progress_and_then_its_report(
    page, world, settings, monkeypatch
):
    from optout import actions
    from optout.models import OptOutImport
    from optout.tasks import run_optout_import

    settings.OPTOUT_IMPORT_INLINE_MAX_BYTES = 0
    # The queue is this test: it runs the task when it chooses.
    monkeypatch.setattr(actions, "enqueue_optout_import", lambda optout_import: None)
    log_in(page, "carol@acme.test", PASSWORD)
    page.goto(f"/p/{world.acme.id}/optouts/import/")
    content = f"phoneNumber\n{A}\n{B}\n".encode()
    page.set_input_files(
        "#id_file", files=[{"name": "big.csv", "mimeType": "text/csv", "buffer": content}]
    )
    page.click("#optout-import-form button[type=submit]")
    page.wait_for_selector("#import-progress progress")
    assert "Importing" in page.inner_text("#import-progress")
    run_optout_import(str(OptOutImport.objects.get().pk))
    # htmx polls the fragment every second; once done it reloads the page.
    page.wait_for_selector("#import-report", timeout=30_000)
    assert page.inner_text("#report-added") == "2"
    assert opted_out_numbers(world.acme, [A, B]) == {A, B}
