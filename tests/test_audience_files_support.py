"""Helpers for the audience-file tests: build csv/xlsx bytes, upload them."""

from __future__ import annotations

import csv
import io
import zipfile

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from audiences.models import AudienceFile


@pytest.fixture
def file_store(tmp_path):
    """Point the private audience-file storage at this test's own directory."""
    storage = AudienceFile._meta.get_field("file").storage
    old = storage._location
    storage._location = str(tmp_path)
    for cached in ("base_location", "location"):
        storage.__dict__.pop(cached, None)
    yield tmp_path
    storage._location = old
    for cached in ("base_location", "location"):
        storage.__dict__.pop(cached, None)


def csv_bytes(rows: list[list[object]], *, encoding: str = "utf-8", bom: bool = False) -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer).writerows(rows)
    data = buffer.getvalue().encode(encoding)
    return (b"\xef\xbb\xbf" + data) if bom else data


def xlsx_bytes(rows: list[list[object]], *, extra_sheets: int = 0, title: str = "List") -> bytes:
    from openpyxl import Workbook

    workbook = Workbook()
    sheet = workbook.active
    sheet.title = title
    for row in rows:
        sheet.append(row)
    for i in range(extra_sheets):
        workbook.create_sheet(f"Other{i}").append(["phoneNumber"])
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def with_cached_formula_values(data: bytes, values: dict[str, str]) -> bytes:
    """openpyxl writes formulas without results; Excel stores the last value
    beside each formula. Fill those in, as Excel would, for `{cell: value}`."""
    source = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for item in source.infolist():
            content = source.read(item.filename)
            if item.filename == "xl/worksheets/sheet1.xml":
                text = content.decode()
                for cell, value in values.items():
                    marker = f'<c r="{cell}"'
                    start = text.index(marker)
                    end = text.index("</c>", start)
                    text = text[:end].replace("<v></v>", "").replace("<v />", "") + (
                        f"<v>{value}</v>" + text[end:]
                    )
                content = text.encode()
            target.writestr(item, content)
    return out.getvalue()


def auth(token: str) -> dict:
    return {"HTTP_AUTHORIZATION": f"Bearer {token}"}


def api_upload(client, project, token, name: str, content: bytes):
    return client.post(
        reverse("api_audience_files", args=[project.id]),
        {"file": SimpleUploadedFile(name, content)},
        **auth(token),
    )


def errors_of(response) -> list[tuple[int, int, str]]:
    return [(e["row"], e["column"], e["code"]) for e in response.json()["errors"]]
