"""Sender-number profiles and their documents, the 080 number pool, gateways."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.core.files.storage import FileSystemStorage
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from console.lib.phone import format_national
from projects.models import Project


def _document_storage() -> FileSystemStorage:
    # Outside STATIC_ROOT and never mapped to a URL: served by a view that
    # checks the viewer's rights.
    return FileSystemStorage(location=settings.PRIVATE_MEDIA_ROOT / "sender-documents")


def _document_path(instance: SenderNumberDocument, filename: str) -> str:
    ext = filename.rsplit(".", 1)[-1].lower() if "." in filename else "bin"
    return f"{instance.sender_number.project_id}/{uuid.uuid4().hex}.{ext}"


class SenderNumber(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", _("Pending review")
        APPROVED = "approved", _("Approved")
        REJECTED = "rejected", _("Rejected")
        SUSPENDED = "suspended", _("Suspended")

    class OwnerType(models.TextChoices):
        COMPANY = "company", _("Company")
        PERSON = "person", _("Person")

    project = models.ForeignKey(
        Project, on_delete=models.CASCADE, related_name="sender_numbers", verbose_name=_("project")
    )
    number = models.CharField(_("number"), max_length=20)
    owner_type = models.CharField(_("owner"), max_length=10, choices=OwnerType.choices)
    owner_name = models.CharField(_("owner name"), max_length=100)
    # A number the company does not hold itself needs an employment
    # certificate or a power of attorney.
    is_company_number = models.BooleanField(_("the company's own number"), default=True)
    label = models.CharField(_("label"), max_length=100, blank=True)
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.PENDING
    )
    status_reason = models.TextField(_("reason"), blank=True)
    is_default = models.BooleanField(_("default sender"), default=False)
    registered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        related_name="+",
        verbose_name=_("registered by"),
    )
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("reviewed by"),
    )
    reviewed_at = models.DateTimeField(null=True, blank=True, verbose_name=_("reviewed at"))
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("sender number")
        verbose_name_plural = _("sender numbers")
        constraints = [
            # A rejected registration may be filed again; anything else is a duplicate.
            models.UniqueConstraint(
                fields=["project", "number"],
                condition=~Q(status="rejected"),
                name="one_live_registration_per_number",
            )
        ]

    def __str__(self) -> str:
        return f"{self.display_number} ({self.get_status_display()})"

    @property
    def display_number(self) -> str:
        return format_national(self.number)

    @property
    def can_send(self) -> bool:
        return self.status == self.Status.APPROVED


class SenderNumberDocument(models.Model):
    class Kind(models.TextChoices):
        TELECOM_CERTIFICATE = "telecom", _("Telecom subscription certificate")
        BUSINESS_REGISTRATION = "business", _("Business registration certificate")
        EMPLOYMENT_CERTIFICATE = "employment", _("Employment certificate")
        POWER_OF_ATTORNEY = "attorney", _("Power of attorney")

    sender_number = models.ForeignKey(
        SenderNumber,
        on_delete=models.CASCADE,
        related_name="documents",
        verbose_name=_("sender number"),
    )
    kind = models.CharField(_("document"), max_length=12, choices=Kind.choices)
    file = models.FileField(_("file"), storage=_document_storage, upload_to=_document_path)
    original_name = models.CharField(_("original name"), max_length=255)
    content_type = models.CharField(_("content type"), max_length=100)
    size = models.PositiveIntegerField(_("size (bytes)"))
    uploaded_at = models.DateTimeField(_("uploaded at"), auto_now_add=True)

    class Meta:
        verbose_name = _("sender number document")
        verbose_name_plural = _("sender number documents")
        ordering = ["kind", "id"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.original_name}"


class OptOutNumber(models.Model):
    """An 080 number from the platform's pool, printed in promotional messages
    as the free opt-out line. Assigned to at most one project."""

    number = models.CharField(_("080 number"), max_length=20, unique=True)
    project = models.OneToOneField(
        Project,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="optout_number",
        verbose_name=_("project"),
    )
    assigned_at = models.DateTimeField(null=True, blank=True, verbose_name=_("assigned at"))
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))

    class Meta:
        ordering = ["number"]
        verbose_name = _("080 number")
        verbose_name_plural = _("080 numbers")

    def __str__(self) -> str:
        return self.display_number

    @property
    def display_number(self) -> str:
        return format_national(self.number)


class Gateway(models.Model):
    """A configured provider account, chosen per project by platform staff."""

    class Backend(models.TextChoices):
        CONSOLE = "console", "Console (prints messages)"
        SANDBOX = "sandbox", "Sandbox carrier"
        SOLAPI = "solapi", "Solapi"
        NHN = "nhn", "NHN Cloud SMS"
        TWILIO = "twilio", "Twilio"

    name = models.CharField(max_length=100, unique=True, verbose_name=_("name"))
    backend = models.CharField(max_length=20, choices=Backend.choices, verbose_name=_("backend"))
    # Provider credentials and endpoints; the backend documents its keys.
    config = models.JSONField(default=dict, blank=True, verbose_name=_("configuration"))
    messages_per_second = models.PositiveIntegerField(
        default=1000, verbose_name=_("messages per second")
    )
    is_default = models.BooleanField(default=False, verbose_name=_("default"))
    # For providers that keep delivery reports for us to fetch (NHN Cloud):
    # results updated up to this moment have been polled and applied.
    reports_polled_until = models.DateTimeField(
        null=True, blank=True, editable=False, verbose_name=_("reports polled until")
    )

    class Meta:
        verbose_name = _("gateway")
        verbose_name_plural = _("gateways")
        ordering = ["name"]

    def __str__(self) -> str:
        return f"{self.name} ({self.backend})"


class SmsChannel(models.Model):
    """A project's SMS settings."""

    project = models.OneToOneField(
        Project, on_delete=models.CASCADE, related_name="sms_channel", verbose_name=_("project")
    )
    gateway = models.ForeignKey(
        Gateway, on_delete=models.PROTECT, null=True, blank=True, verbose_name=_("gateway")
    )

    class Meta:
        verbose_name = _("SMS channel")
        verbose_name_plural = _("SMS channels")

    def __str__(self) -> str:
        return f"SMS channel of {self.project}"
