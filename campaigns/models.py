"""Campaigns: a producer of the send core. Each campaign fills one outbox
(`dispatch.Outbox`), whose messages and counters are the campaign's."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from audiences.models import AudienceFile, Segment
from channels.models import SenderNumber
from dispatch.models import Outbox, OutboxStats
from projects.models import Project

# A campaign's send chains wait this long for the materialiser's next chunk
# before going idle (dispatch's Outbox.linger_seconds).
CAMPAIGN_LINGER_SECONDS = 5


class Campaign(models.Model):
    """A send to an audience. Console campaigns are composed as drafts (audience,
    sender and body may still be missing) and need all three to start; API
    campaigns (`source=api`, from the Send API) have no audience: their
    messages are written when the request is accepted."""

    class Source(models.TextChoices):
        CONSOLE = "console", _("Console")
        API = "api", _("API")

    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        SCHEDULED = "scheduled", _("Scheduled")
        SENDING = "sending", _("Sending")
        PAUSED = "paused", _("Paused")
        COMPLETED = "completed", _("Completed")
        CANCELLED = "cancelled", _("Cancelled")

    project = models.ForeignKey(
        Project, on_delete=models.CASCADE, related_name="campaigns", verbose_name=_("project")
    )
    name = models.CharField(_("name"), max_length=200)
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.DRAFT
    )
    source = models.CharField(
        _("source"), max_length=8, choices=Source.choices, default=Source.CONSOLE
    )
    # At most one audience: a segment or a valid audience file (none yet in a
    # draft; none at all for an API campaign).
    segment = models.ForeignKey(
        Segment,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("segment"),
    )
    audience_file = models.ForeignKey(
        AudienceFile,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("audience file"),
    )
    sender_number = models.ForeignKey(
        SenderNumber,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("sender number"),
    )
    body = models.TextField(_("body"), blank=True, default="")
    title = models.CharField(_("title"), max_length=100, blank=True)
    is_promotional = models.BooleanField(_("promotional"), default=False)
    scheduled_at = models.DateTimeField(_("scheduled at"), null=True, blank=True)
    # The zone the marketer chose the time in (shown back when editing).
    time_zone = models.CharField(_("time zone"), max_length=64, blank=True)
    # For a promotional campaign to a file audience: the marketer confirmed
    # every number in the file consented to promotional messages (segment
    # audiences use each user's own consent).
    file_consent_confirmed = models.BooleanField(_("file consent confirmed"), default=False)
    # Extra Liquid variables for every recipient (the Send API's `data`).
    data = models.JSONField(_("data"), default=dict, blank=True)
    # None: the project's sending policy; 0: no cap for this campaign.
    frequency_cap = models.PositiveIntegerField(_("frequency cap"), null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("created by"),
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    started_at = models.DateTimeField(_("sending started at"), null=True, blank=True)
    finished_at = models.DateTimeField(_("sending finished at"), null=True, blank=True)
    status_reason = models.CharField(_("status reason"), max_length=255, blank=True)
    # Materialisation resumes after the last audience key stored here (a
    # customer id or an audience-file row id), in the same transaction as the
    # rows it inserted: a crash repeats at most one uncommitted chunk.
    materialise_cursor = models.BigIntegerField(_("recipient writing cursor"), default=0)
    materialised_at = models.DateTimeField(_("recipients written at"), null=True, blank=True)
    # Last sign of life of the materialiser (send tasks renew their
    # DispatchSlot instead); the reconciler re-enqueues a silent one.
    heartbeat_at = models.DateTimeField(_("last heartbeat at"), null=True, blank=True)
    # A finished or cancelled campaign the marketer put away: hidden from the
    # campaign list unless asked for; its statistics stay.
    archived_at = models.DateTimeField(_("archived at"), null=True, blank=True)
    # The stream its messages go through; created with the campaign.
    outbox = models.OneToOneField(
        Outbox,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("outbox"),
    )

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("campaign")
        verbose_name_plural = _("campaigns")
        constraints = [
            models.CheckConstraint(
                condition=Q(segment__isnull=True) | Q(audience_file__isnull=True),
                name="campaign_at_most_one_audience",
            )
        ]
        indexes = [models.Index(fields=["status", "scheduled_at"])]

    def __str__(self) -> str:
        return self.name

    def save(self, *args: Any, **kwargs: Any) -> None:
        """A new campaign gets its outbox, open: it has no messages before
        the start, and a pause or the end closes it again."""
        from dispatch.actions import do_create_outbox

        creating = self.outbox_id is None
        if creating:
            self.outbox = do_create_outbox(
                self.project,
                producer_kind="campaign",
                sender_number_id=self.sender_number_id,
                is_promotional=self.is_promotional,
                frequency_cap=self.frequency_cap,
                status=Outbox.Status.OPEN,
                # The materialiser adds a chunk at a time until it seals.
                linger_seconds=CAMPAIGN_LINGER_SECONDS,
            )
        super().save(*args, **kwargs)
        if creating:
            Outbox.objects.filter(pk=self.outbox_id).update(producer_id=str(self.pk))

    @property
    def is_materialised(self) -> bool:
        return self.materialised_at is not None

    @property
    def stats(self) -> OutboxStats | None:
        """The counters of the campaign's outbox."""
        if self.outbox_id is None:
            return None
        return self.outbox.stats


class Price(models.Model):
    """What one message costs, per kind, set by platform staff in the admin;
    used for the compose screen's estimate and the campaign's cost."""

    class Kind(models.TextChoices):
        SMS = "SMS", _("SMS (up to 90 bytes)")
        LMS = "LMS", _("LMS (up to 2,000 bytes)")
        INTERNATIONAL = "INTL", _("International, per segment")

    kind = models.CharField(_("kind"), max_length=4, choices=Kind.choices, unique=True)
    amount = models.DecimalField(_("price"), max_digits=10, decimal_places=2)
    currency = models.CharField(_("currency"), max_length=3, default="KRW")

    class Meta:
        verbose_name = _("message price")
        verbose_name_plural = _("message prices")

    def __str__(self) -> str:
        return f"{self.kind}: {self.amount} {self.currency}"


class TestNumber(models.Model):
    """A phone number the team keeps for compose test sends (besides the
    members' own phones), with a label saying whose it is."""

    project = models.ForeignKey(
        Project, on_delete=models.CASCADE, related_name="test_numbers", verbose_name=_("project")
    )
    phone_number = models.CharField(_("phone number"), max_length=20)
    label = models.CharField(_("label"), max_length=100, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    __test__ = False  # not a pytest test class, despite its name

    class Meta:
        ordering = ["label", "phone_number"]
        verbose_name = _("test number")
        verbose_name_plural = _("test numbers")
        constraints = [
            models.UniqueConstraint(
                fields=["project", "phone_number"], name="one_test_number_per_project"
            )
        ]

    def __str__(self) -> str:
        return f"{self.label} {self.phone_number}".strip()
