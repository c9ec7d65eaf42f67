"""The opt-out list: who is on it now, and every change to it."""

from __future__ import annotations

from django.conf import settings
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
