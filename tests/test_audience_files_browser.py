"""In a real browser: a marketer uploads a file with errors, sees them by row
and column, downloads the error report and the corrected file, uploads the
corrected file and sees it valid."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest

from tests.support.browser import log_in
from tests.support.world import PASSWORD
from tests.test_audience_files_support import csv_bytes, file_store  # noqa: F401

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("file_store")]

ROWS = [
    ["phoneNumber", "name"],
    ["+821011112222", "Kim"],
    ["010-1234-5678", "Lee"],
    ["+821011112222", "Kim again"],
]


def _read_csv(path: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(Path(path).read_text(encoding="utf-8-sig"))))


def test_upload_errors_download_reports_upload_the_fix(page, world):
    log_in(page, "carol@acme.test", PASSWORD)
    page.goto(f"/p/{world.acme.id}/audience-files/")
    page.set_input_files(
        "#audience-file",
        files=[{"name": "spring.csv", "mimeType": "text/csv", "buffer": csv_bytes(ROWS)}],
    )
    page.click("button:has-text('Upload and validate')")
    page.wait_for_selector("#file-status[data-status=invalid]")

    errors = page.locator("tr.file-error")
    assert errors.count() == 2
    first, second = errors.nth(0), errors.nth(1)
    assert (first.get_attribute("data-row"), first.get_attribute("data-column")) == ("3", "1")
    assert "+821012345678" in first.inner_text()
    assert second.get_attribute("data-code") == "phone_duplicate"
    assert "row 2" in second.inner_text()

    with page.expect_download() as report:
        page.click("#download-errors")
    lines = _read_csv(report.value.path())
    assert [line[:4] for line in lines[1:]] == [
        ["3", "1", "phoneNumber", "phone_not_e164"],
        ["4", "1", "phoneNumber", "phone_duplicate"],
    ]

    with page.expect_download() as corrected:
        page.click("#download-corrected")
    fixed = _read_csv(corrected.value.path())
    assert fixed[2] == ["+821012345678", "Lee"]
    # The duplicate is the user's to resolve; drop it and upload the fix.
    buffer = csv_bytes(fixed[:3])
    page.set_input_files(
        "#audience-file",
        files=[{"name": "spring-fixed.csv", "mimeType": "text/csv", "buffer": buffer}],
    )
    page.click("button:has-text('Upload and validate')")
    page.wait_for_selector("#file-status[data-status=valid]")
    assert "2 rows" in page.locator("#summary").inner_text()
    assert page.locator("tr.file-error").count() == 0

    page.goto(f"/p/{world.acme.id}/audience-files/")
    statuses = page.locator("tr.audience-file").evaluate_all(
        "rows => rows.map(r => r.dataset.status)"
    )
    assert statuses == ["valid", "invalid"]
