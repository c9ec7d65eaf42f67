"""A project's customers ("users" in FlareLane's API), their tags and events."""

from __future__ import annotations

import json
import uuid

from django.conf import settings
from django.core.files.storage import FileSystemStorage
from django.db import models
from django.utils.translation import gettext_lazy as _

from projects.models import Project


class Customer(models.Model):
    """One of the project's end users, identified by the project's own `userId`."""

    # Indexed by (project, id) below, not alone: campaigns page through a
    # project's users in id order, which a project-only index cannot give on
    # PostgreSQL (every page would re-read and sort the whole project).
    project = models.ForeignKey(
        Project,
        on_delete=models.CASCADE,
        related_name="customers",
        db_index=False,
        verbose_name=_("project"),
    )
    user_id = models.CharField(_("user ID"), max_length=255)
    phone_number = models.CharField(_("phone number"), max_length=20, blank=True)
    name = models.CharField(_("name"), max_length=255, blank=True)
    email = models.EmailField(_("email"), blank=True)
    dob = models.DateField(_("date of birth"), null=True, blank=True)
    time_zone = models.CharField(_("time zone"), max_length=64, blank=True)
    country = models.CharField(_("country"), max_length=2, blank=True)
    language = models.CharField(_("language"), max_length=16, blank=True)
    # Promotional messages need consent (Information and Communications
    # Network Act Art. 50); night-time (21:00–08:00) promotions need their own.
    promotional_consent = models.BooleanField(_("promotional consent"), default=False)
    promotional_consent_at = models.DateTimeField(
        null=True, blank=True, verbose_name=_("promotional consent at")
    )
    night_consent = models.BooleanField(_("night-time consent"), default=False)
    night_consent_at = models.DateTimeField(
        null=True, blank=True, verbose_name=_("night consent at")
    )
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))
    last_seen_at = models.DateTimeField(null=True, blank=True, verbose_name=_("last seen at"))

    class Meta:
        verbose_name = _("customer")
        verbose_name_plural = _("customers")
        constraints = [
            models.UniqueConstraint(fields=["project", "user_id"], name="one_customer_per_user_id")
        ]
        indexes = [
            models.Index(fields=["project", "phone_number"]),
            models.Index(fields=["project", "id"], name="customer_project_order"),
        ]

    def __str__(self) -> str:
        return self.user_id


class CustomerTag(models.Model):
    """A free-form `key: value` tag; one row a tag so segments can use an index."""

    customer = models.ForeignKey(
        Customer, on_delete=models.CASCADE, related_name="tags", verbose_name=_("customer")
    )
    key = models.CharField(max_length=255, verbose_name=_("key"))
    value = models.CharField(max_length=1024, verbose_name=_("value"))

    class Meta:
        verbose_name = _("customer tag")
        verbose_name_plural = _("customer tags")
        constraints = [
            models.UniqueConstraint(fields=["customer", "key"], name="one_value_per_tag_key")
        ]
        indexes = [models.Index(fields=["key", "value"])]

    def __str__(self) -> str:
        return f"{self.key}={self.value}"


class Event(models.Model):
    """Something a customer did (`type`, with free-form `data`), as tracked."""

    project = models.ForeignKey(
        Project, on_delete=models.CASCADE, related_name="+", verbose_name=_("project")
    )
    customer = models.ForeignKey(
        Customer, on_delete=models.CASCADE, related_name="events", verbose_name=_("customer")
    )
    type = models.CharField(_("event"), max_length=255)
    data = models.JSONField(default=dict, blank=True, verbose_name=_("data"))
    created_at = models.DateTimeField(_("happened at"), db_index=True)
    received_at = models.DateTimeField(auto_now_add=True, verbose_name=_("received at"))

    class Meta:
        verbose_name = _("event")
        verbose_name_plural = _("events")
        indexes = [
            models.Index(fields=["project", "type", "customer"]),
            models.Index(fields=["customer", "created_at"]),
        ]

    def __str__(self) -> str:
        return f"{self.type} by {self.customer_id}"


class Segment(models.Model):
    """A saved audience definition (see audiences/segments.py), evaluated in SQL
    each time it is counted or used, so it always reflects the current users.
    Who created or changed it is in the audit log."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="segments")
    name = models.CharField(_("name"), max_length=200)
    definition = models.JSONField(_("definition"), default=dict)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("segment")
        verbose_name_plural = _("segments")
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["project", "name"], name="one_segment_per_name")
        ]

    def __str__(self) -> str:
        return self.name


# --- File audiences (csv, xlsx) -------------------------------------------------


def _audience_file_storage() -> FileSystemStorage:
    # Private: an uploaded audience is customer data, served only through views
    # that check the viewer's project and role.
    return FileSystemStorage(location=settings.PRIVATE_MEDIA_ROOT / "audience-files")


def _audience_file_path(instance: AudienceFile, filename: str) -> str:
    return f"{instance.project_id}/{instance.id.hex}.{instance.format}"


class AudienceFile(models.Model):
    """An uploaded list of phone numbers with personalisation variables.

    Only a `valid` file has rows (AudienceFileRow) and can be an audience; an
    `invalid` one keeps its first errors (`errors`, capped) and their total.
    """

    class Status(models.TextChoices):
        VALIDATING = "validating", _("Validating")
        VALID = "valid", _("Valid")
        INVALID = "invalid", _("Invalid")

    class Format(models.TextChoices):
        CSV = "csv", "CSV"
        XLSX = "xlsx", "Excel (xlsx)"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="audience_files")
    name = models.CharField(_("file name"), max_length=255)
    format = models.CharField(_("format"), max_length=8, choices=Format.choices)
    file = models.FileField(
        storage=_audience_file_storage, upload_to=_audience_file_path, max_length=300
    )
    size = models.PositiveBigIntegerField(_("size"), default=0)
    status = models.CharField(
        _("status"), max_length=12, choices=Status.choices, default=Status.VALIDATING
    )
    progress = models.PositiveSmallIntegerField(_("progress"), default=0)
    rows = models.PositiveIntegerField(_("rows"), default=0)
    columns = models.JSONField(_("columns"), default=list, blank=True)
    sheet = models.CharField(_("sheet"), max_length=255, blank=True)
    sheet_count = models.PositiveSmallIntegerField(default=0)
    errors = models.JSONField(_("errors"), default=list, blank=True)
    error_count = models.PositiveIntegerField(_("errors"), default=0)
    # National-format numbers whose E.164 form is known: the corrected file fixes them.
    correctable = models.PositiveIntegerField(default=0)
    matched_customers = models.PositiveIntegerField(_("matched users"), default=0)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(_("uploaded at"), auto_now_add=True)
    validated_at = models.DateTimeField(_("validated at"), null=True, blank=True)
    # When validation was last handed to the queue; the reconciler hands it
    # over again if the file is still validating long after (a lost task).
    enqueued_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("audience file")
        verbose_name_plural = _("audience files")
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["project", "-created_at"])]

    def __str__(self) -> str:
        return self.name


class AudienceFileRow(models.Model):
    """One recipient of a valid audience file.

    `values` is a JSON list of the variable cells, in the order of the file's
    columns after `phoneNumber` (a million rows do not repeat the names);
    `variables()` pairs them with the names. `customer_id` is the id of the
    project's user with the same phone number when the file was validated,
    for conversions. It is a plain column, not a foreign key: a million-row
    insert would otherwise maintain a second index and check every row; a
    deleted user simply stops joining (ids are never reused).
    """

    # Indexed by (file, id) below, not alone: dispatch pages through a file's
    # rows in id order; with a file-only index PostgreSQL read and sorted the
    # whole file for every page (340 ms a page of a 1,000,000-row file).
    file = models.ForeignKey(
        AudienceFile, on_delete=models.CASCADE, related_name="recipients", db_index=False
    )
    row_number = models.PositiveIntegerField(_("row"))
    phone_number = models.CharField(_("phone number"), max_length=20)
    values = models.TextField(default="[]")
    customer_id = models.BigIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["file", "id"], name="audience_file_row_order")]

    def __str__(self) -> str:
        return self.phone_number

    def variables(self) -> dict[str, str]:
        return dict(zip(self.file.columns[1:], json.loads(self.values), strict=False))
