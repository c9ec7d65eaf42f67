"""Checks on uploaded sender-number documents: type by content, and size.

The file name's extension and the browser's Content-Type are chosen by the
client, so neither is trusted: the type is read from the file's first bytes.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext as _


@dataclass(frozen=True)
class DocumentType:
    extension: str
    content_type: str
    label: str


# Magic bytes at offset 0 of each accepted type.
_SIGNATURES: tuple[tuple[bytes, DocumentType], ...] = (
    (b"%PDF-", DocumentType("pdf", "application/pdf", "PDF")),
    (b"\x89PNG\r\n\x1a\n", DocumentType("png", "image/png", "PNG")),
    (b"\xff\xd8\xff", DocumentType("jpg", "image/jpeg", "JPEG")),
)
ALLOWED_TYPES_TEXT = "PDF, PNG, JPEG"
ACCEPT_ATTRIBUTE = "application/pdf,image/png,image/jpeg,.pdf,.png,.jpg,.jpeg"


class DocumentRejected(ValueError):
    """The upload is not a document we accept; the message says why."""


def sniff_type(head: bytes) -> DocumentType | None:
    for signature, kind in _SIGNATURES:
        if head.startswith(signature):
            return kind
    return None


def check_document(upload: UploadedFile) -> DocumentType:
    """The document's real type, or DocumentRejected saying what is wrong."""
    name = upload.name or _("the file")
    limit = settings.DOCUMENT_MAX_BYTES
    if upload.size is None or upload.size == 0:
        raise DocumentRejected(_("%(name)s is empty.") % {"name": name})
    if upload.size > limit:
        raise DocumentRejected(
            _("%(name)s is %(size)s; the limit is %(limit)s.")
            % {"name": name, "size": filesizeformat(upload.size), "limit": filesizeformat(limit)}
        )
    upload.seek(0)
    head = upload.read(16)
    upload.seek(0)
    kind = sniff_type(head)
    if kind is None:
        raise DocumentRejected(
            _(
                "%(name)s is not a PDF, PNG or JPEG file (its content was checked, "
                "not its name). Allowed types: %(types)s."
            )
            % {"name": name, "types": ALLOWED_TYPES_TEXT}
        )
    return kind
