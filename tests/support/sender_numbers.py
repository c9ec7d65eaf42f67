"""Helpers for the sender-number tests: documents of each kind, a private
document store per test (fixture `document_store`), and profiles in a chosen status."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from channels.actions import (
    do_approve_sender_number,
    do_register_sender_number,
    do_reject_sender_number,
    do_suspend_sender_number,
)
from channels.models import SenderNumber, SenderNumberDocument

PDF_BYTES = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << >>\n%%EOF\n"
PNG_BYTES = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
JPEG_BYTES = b"\xff\xd8\xff\xe0" + b"\x00" * 64
EXE_BYTES = b"MZ\x90\x00\x03\x00\x00\x00" + b"\x00" * 64


def pdf(name: str = "certificate.pdf", content: bytes = PDF_BYTES) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content, content_type="application/pdf")


def png(name: str = "scan.png") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, PNG_BYTES, content_type="image/png")


def company_documents() -> list[tuple[str, SimpleUploadedFile]]:
    return [
        (SenderNumberDocument.Kind.TELECOM_CERTIFICATE, pdf("telecom.pdf")),
        (SenderNumberDocument.Kind.BUSINESS_REGISTRATION, png("business.png")),
    ]


def register(project, actor, number: str = "+8225551234", **fields) -> SenderNumber:
    fields.setdefault("owner_type", SenderNumber.OwnerType.COMPANY)
    fields.setdefault("owner_name", "Acme Corp")
    fields.setdefault("documents", company_documents())
    return do_register_sender_number(project, actor, number=number, **fields)


def sender_in(project, actor, staff, status: str, number: str = "+8225551234") -> SenderNumber:
    sender = register(project, actor, number)
    if status in (SenderNumber.Status.APPROVED, SenderNumber.Status.SUSPENDED):
        do_approve_sender_number(sender, staff)
    if status == SenderNumber.Status.SUSPENDED:
        do_suspend_sender_number(sender, staff, "Reported for spam")
    if status == SenderNumber.Status.REJECTED:
        do_reject_sender_number(sender, staff, "The certificate is unreadable")
    sender.refresh_from_db()
    return sender


@pytest.fixture
def document_store(tmp_path):
    """Point the private document storage at this test's own directory."""
    storage = SenderNumberDocument._meta.get_field("file").storage
    old = storage._location
    storage._location = str(tmp_path)
    for cached in ("base_location", "location"):
        storage.__dict__.pop(cached, None)
    yield tmp_path
    storage._location = old
    for cached in ("base_location", "location"):
        storage.__dict__.pop(cached, None)


def stored_files() -> list[Path]:
    """Every file in the private document store."""
    root = Path(SenderNumberDocument._meta.get_field("file").storage.location)
    return [p for p in root.rglob("*") if p.is_file()]
