"""Audience-file console screens: roles, upload, result page, progress, downloads."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from audiences.models import AudienceFile
from tests.support.world import PASSWORD
from tests.test_audience_files_support import csv_bytes, file_store  # noqa: F401

pytestmark = pytest.mark.usefixtures("file_store")

ROWS = [["phoneNumber", "name"], ["+821012345678", "Kim"], ["010-9876-5432", "Lee"]]


def _login(client, user):
    assert client.login(username=user.username, password=PASSWORD)


def _upload(client, world, rows=ROWS, name="list.csv"):
    url = reverse("upload_audience_file", args=[world.acme.id])
    return client.post(url, {"file": SimpleUploadedFile(name, csv_bytes(rows))})


def test_a_marketer_uploads_and_sees_errors_by_row_and_column(client, world):
    _login(client, world.carol)
    response = _upload(client, world)
    audience_file = AudienceFile.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("audience_file", args=[world.acme.id, audience_file.id])
    page = client.get(response["Location"]).content.decode()
    assert 'data-row="3" data-column="1" data-code="phone_not_e164"' in page
    assert "+821098765432" in page
    assert reverse("audience_file_errors", args=[world.acme.id, audience_file.id]) in page
    assert reverse("audience_file_corrected", args=[world.acme.id, audience_file.id]) in page


def test_a_viewer_reads_but_cannot_upload(client, world):
    _login(client, world.carol)
    _upload(client, world)
    client.logout()
    _login(client, world.dave)
    page = client.get(reverse("audience_files", args=[world.acme.id])).content.decode()
    assert "list.csv" in page
    assert reverse("upload_audience_file", args=[world.acme.id]) not in page
    assert _upload(client, world).status_code == 403
    assert AudienceFile.objects.count() == 1
    audience_file = AudienceFile.objects.get()
    errors = client.get(reverse("audience_file_errors", args=[world.acme.id, audience_file.id]))
    assert errors.status_code == 200


def test_another_projects_files_are_404(client, world):
    _login(client, world.carol)
    _upload(client, world)
    audience_file = AudienceFile.objects.get()
    client.logout()
    _login(client, world.bob)
    for name in ("audience_file", "audience_file_errors", "audience_file_status"):
        assert client.get(reverse(name, args=[world.acme.id, audience_file.id])).status_code == 404
        assert client.get(reverse(name, args=[world.bolt.id, audience_file.id])).status_code == 404


def test_a_refused_upload_says_why(client, world, settings):
    settings.AUDIENCE_FILE_MAX_BYTES = 10
    _login(client, world.alice)
    response = _upload(client, world)
    assert response.status_code == 302
    page = client.get(response["Location"]).content.decode()
    assert "the limit is 10" in page
    assert not AudienceFile.objects.exists()


def test_a_validating_file_shows_a_polling_progress_bar(client, world, settings):
    settings.AUDIENCE_FILE_INLINE_MAX_BYTES = 10
    _login(client, world.alice)
    location = _upload(client, world)["Location"]
    audience_file = AudienceFile.objects.get()
    AudienceFile.objects.filter(pk=audience_file.pk).update(progress=40)
    page = client.get(location).content.decode()
    status_url = reverse("audience_file_status", args=[world.acme.id, audience_file.id])
    assert f'hx-get="{status_url}"' in page
    assert 'value="40"' in page
    fragment = client.get(status_url)
    assert "HX-Refresh" not in fragment
    AudienceFile.objects.filter(pk=audience_file.pk).update(status="valid", progress=100)
    assert client.get(status_url)["HX-Refresh"] == "true"


def test_the_sample_download_from_the_console(client, world):
    _login(client, world.dave)
    url = reverse("audience_file_sample", args=[world.acme.id])
    response = client.get(url, {"body": "{{ name }} {{ coupon }}", "format": "csv"})
    text = b"".join(response.streaming_content).decode()
    assert text.splitlines()[0] == "\ufeffphoneNumber,name,coupon"
    response = client.get(url, {"body": "x", "format": "xlsx"})
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")


def test_the_page_says_what_the_corrected_file_fixes_and_what_it_does_not(client, world):
    _login(client, world.carol)
    rows = [
        ["phoneNumber", "name"],
        ["010-1234-5678", "Lee"],
        ["12345", "Typo"],
        ["+821011112222", "Kim"],
        ["+821011112222", "Kim again"],
    ]
    page = client.get(_upload(client, world, rows)["Location"]).content.decode()
    assert 'id="corrected-scope" data-uncorrected="2"' in page
    assert "fixes only the 1 national-format numbers" in page
    assert "Upload the corrected file as it is" not in page
    assert "upload it as it is" not in page

    only_national = [["phoneNumber"], ["010-1234-5678"], ["010-9876-5432"]]
    page = client.get(_upload(client, world, only_national)["Location"]).content.decode()
    assert 'id="corrected-scope" data-uncorrected="0"' in page
    assert "fixes every error of this file: upload it as it is" in page
