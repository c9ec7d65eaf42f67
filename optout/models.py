"""The opt-out list: who is on it now, and every change to it."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.core.files.storage import FileSystemStorage
from django.db import models
from django.utils.translation import gettext_lazy as _

from projects.models import Project


class Source(models.TextChoices):
    CALL_080 = "080", _("080 call")
    API = "api", _("API")
    CONSOLE = "console", _("Console")
    IMPORT = "import", _("Import")


class OptOut(models.Model):
    """A phone number currently on the project's opt-out list."""

    project = models.ForeignKey(
        Project, on_delete=models.CASCADE, related_name="optouts", verbose_name=_("project")
    )
    phone_number = models.CharField(_("phone number"), max_length=20)
    source = models.CharField(_("source"), max_length=10, choices=Source.choices)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("created by"),
    )
    created_at = models.DateTimeField(_("opted out at"), auto_now_add=True)

    class Meta:
        verbose_name = _("opt-out")
        verbose_name_plural = _("opt-outs")
        constraints = [
            models.UniqueConstraint(
                fields=["project", "phone_number"], name="one_optout_per_number"
            )
        ]

    def __str__(self) -> str:
        return self.phone_number


class OptOutChange(models.Model):
    """History: every addition to (`subscribed=False`) or removal from the list."""

    project = models.ForeignKey(
        Project, on_delete=models.CASCADE, related_name="+", verbose_name=_("project")
    )
    phone_number = models.CharField(max_length=20, verbose_name=_("phone number"))
    subscribed = models.BooleanField(verbose_name=_("subscribed"))
    source = models.CharField(max_length=10, choices=Source.choices, verbose_name=_("source"))
    actor_label = models.CharField(max_length=200, blank=True, verbose_name=_("actor label"))
    created_at = models.DateTimeField(
        auto_now_add=True, db_index=True, verbose_name=_("created at")
    )

    class Meta:
        verbose_name = _("opt-out change")
        verbose_name_plural = _("opt-out changes")
        ordering = ["-id"]
        indexes = [models.Index(fields=["project", "phone_number", "-id"])]

    def __str__(self) -> str:
        state = "subscribed" if self.subscribed else "opted out"
        return f"{self.phone_number} {state} ({self.source})"


class OptOutPolicy(models.Model):
    """How far the list reaches for one project. Without a row the law's
    minimum applies: promotional messages only."""

    project = models.OneToOneField(
        Project, on_delete=models.CASCADE, related_name="optout_policy", verbose_name=_("project")
    )
    applies_to_all_messages = models.BooleanField(
        _("apply the opt-out list to every message"),
        default=False,
        help_text=_(
            "Off: only promotional messages skip opted-out numbers, as the law requires. "
            "On: informational messages skip them too."
        ),
    )
    updated_at = models.DateTimeField(auto_now=True, verbose_name=_("updated at"))

    class Meta:
        verbose_name = _("opt-out policy")
        verbose_name_plural = _("opt-out policies")

    def __str__(self) -> str:
        return f"{self.project}: {'all' if self.applies_to_all_messages else 'promotional'}"


def _import_storage() -> FileSystemStorage:
    # Private: a list of phone numbers, read only by the import task.
    return FileSystemStorage(location=settings.PRIVATE_MEDIA_ROOT / "optout-imports")


def _import_path(instance: OptOutImport, filename: str) -> str:
    return f"{instance.project_id}/{instance.id.hex}"


class OptOutImport(models.Model):
    """A migration of an existing list from a csv/xlsx, applied in the
    background chunk by chunk (`next_index` is how far it got), with what it
    did so far. Problems are kept as codes and values, never as text: they
    are put in words in the reader's language when shown.
    """

    class Status(models.TextChoices):
        IMPORTING = "importing", _("Importing")
        DONE = "done", _("Done")
        REFUSED = "refused", _("Refused")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="+")
    name = models.CharField(_("file name"), max_length=255)
    file = models.FileField(storage=_import_storage, upload_to=_import_path, max_length=300)
    size = models.PositiveBigIntegerField(default=0)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.IMPORTING)
    progress = models.PositiveSmallIntegerField(default=0)
    rows = models.PositiveIntegerField(default=0)
    # How many of the file's distinct valid numbers are applied (committed
    # together with them, so a re-run carries on where the last one stopped).
    next_index = models.PositiveIntegerField(default=0)
    to_apply = models.PositiveIntegerField(default=0)
    added = models.PositiveIntegerField(default=0)
    already_present = models.PositiveIntegerField(default=0)
    duplicate_count = models.PositiveIntegerField(default=0)
    invalid_count = models.PositiveIntegerField(default=0)
    # The first rows of each kind: [row, value, code] and [row, first row, number].
    invalid = models.JSONField(default=list, blank=True)
    duplicates = models.JSONField(default=list, blank=True)
    # Why the whole file was refused: a code and its values (see optout.imports).
    error_code = models.CharField(max_length=40, blank=True)
    error_params = models.JSONField(default=dict, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    enqueued_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["status", "enqueued_at"])]

    def __str__(self) -> str:
        return self.name
