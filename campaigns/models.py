"""Campaigns, their recipients' messages, their counters, and the project's
sending policy (frequency cap)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from audiences.models import AudienceFile, Segment
from channels.models import SenderNumber
from projects.models import Project


class SendingPolicy(models.Model):
    """A project's frequency cap: at most `frequency_cap` campaign messages
    to one phone number in any `frequency_window_hours` (a rolling window
    ending at the moment of dispatch). No row, or a cap of 0: no cap."""

    project = models.OneToOneField(Project, on_delete=models.CASCADE, related_name="sending_policy")
    frequency_cap = models.PositiveIntegerField(_("messages per person"), default=0)
    frequency_window_hours = models.PositiveIntegerField(_("window (hours)"), default=24)

    class Meta:
        verbose_name = _("sending policy")
        verbose_name_plural = _("sending policies")

    def __str__(self) -> str:
        return f"{self.project}: {self.frequency_cap} per {self.frequency_window_hours} h"


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

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="campaigns")
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
        Segment, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    audience_file = models.ForeignKey(
        AudienceFile, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    sender_number = models.ForeignKey(
        SenderNumber, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
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
    file_consent_confirmed = models.BooleanField(default=False)
    # Extra Liquid variables for every recipient (the Send API's `data`).
    data = models.JSONField(default=dict, blank=True)
    # None: the project's sending policy; 0: no cap for this campaign.
    frequency_cap = models.PositiveIntegerField(_("frequency cap"), null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    status_reason = models.CharField(max_length=255, blank=True)
    # Materialisation resumes after the last audience key stored here (a
    # customer id or an audience-file row id), in the same transaction as the
    # rows it inserted: a crash repeats at most one uncommitted chunk.
    materialise_cursor = models.BigIntegerField(default=0)
    materialised_at = models.DateTimeField(null=True, blank=True)
    # Last sign of life of the materialiser (send tasks renew their
    # DispatchSlot instead); the reconciler re-enqueues a silent one.
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    # A finished or cancelled campaign the marketer put away: hidden from the
    # campaign list unless asked for; its statistics stay.
    archived_at = models.DateTimeField(_("archived at"), null=True, blank=True)

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

    @property
    def is_materialised(self) -> bool:
        return self.materialised_at is not None


class CampaignStats(models.Model):
    """Counters kept as work happens (F() updates in the same transaction as
    the message transitions), so statistics never scan messages.

    `queued` is what is still to go (including held and retrying messages);
    `sent` counts messages the gateway accepted (delivered and failed reports
    come on top), `failed` those that failed at the gateway or by report."""

    campaign = models.OneToOneField(
        Campaign, on_delete=models.CASCADE, primary_key=True, related_name="stats"
    )
    recipients = models.PositiveIntegerField(default=0)
    queued = models.IntegerField(default=0)
    sent = models.PositiveIntegerField(default=0)
    delivered = models.PositiveIntegerField(default=0)
    failed = models.PositiveIntegerField(default=0)
    held_night_time = models.PositiveIntegerField(default=0)
    skipped_opted_out = models.PositiveIntegerField(default=0)
    skipped_frequency_cap = models.PositiveIntegerField(default=0)
    skipped_invalid_number = models.PositiveIntegerField(default=0)
    skipped_unapproved_sender = models.PositiveIntegerField(default=0)
    skipped_cancelled = models.PositiveIntegerField(default=0)
    skipped_render_error = models.PositiveIntegerField(default=0)
    skipped_no_consent = models.PositiveIntegerField(default=0)
    # Of `sent`, how many went as LMS (the rest as SMS), for the cost.
    sent_lms = models.PositiveIntegerField(default=0)
    # Clicks on tracked links: every click, and recipients who clicked.
    clicks = models.PositiveIntegerField(default=0)
    clicked_recipients = models.PositiveIntegerField(default=0)
    # Recipients who opted out within 7 days after their message was sent.
    optouts_after_send = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name = _("campaign statistics")
        verbose_name_plural = _("campaign statistics")

    def __str__(self) -> str:
        return f"stats of {self.campaign_id}"

    @property
    def skipped(self) -> int:
        return sum(getattr(self, f"skipped_{reason}") for reason in SKIP_REASONS)


class Message(models.Model):
    """One recipient of a campaign (or, later, of an API send).

    The gateway's client reference is derived, not stored: `c<campaign>-<digits>`
    is unique because (campaign, phone_number) is, and saves a second unique
    index over millions of rows. A night-time hold is not a skip: the message
    stays `queued` with `next_attempt_at` at the next 08:00 in the recipient's
    zone and `held_until` set, and goes then.
    """

    class Status(models.TextChoices):
        QUEUED = "queued", _("Queued")
        SENDING = "sending", _("Sending")
        SENT = "sent", _("Sent")
        DELIVERED = "delivered", _("Delivered")
        FAILED = "failed", _("Failed")
        SKIPPED = "skipped", _("Skipped")

    class SkipReason(models.TextChoices):
        OPTED_OUT = "opted_out", _("Opted out")
        FREQUENCY_CAP = "frequency_cap", _("Frequency cap")
        INVALID_NUMBER = "invalid_number", _("Invalid number")
        UNAPPROVED_SENDER = "unapproved_sender", _("Unapproved sender")
        CANCELLED = "cancelled", _("Cancelled")
        RENDER_ERROR = "render_error", _("Message could not be rendered")
        NO_CONSENT = "no_consent", _("No promotional consent")

    # No single-column indexes on the two foreign keys: the composite indexes
    # below lead with them, and every index costs each of a million inserts.
    campaign = models.ForeignKey(
        Campaign,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="messages",
        db_index=False,
    )
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="+", db_index=False)
    # A plain id, like AudienceFileRow.customer_id: no FK check per inserted row.
    customer_id = models.BigIntegerField(null=True, blank=True)
    phone_number = models.CharField(max_length=20)
    # The recipient's zone for the night-time rule ("" = the project's).
    time_zone = models.CharField(max_length=64, blank=True)
    body = models.TextField()
    title = models.CharField(max_length=100, blank=True)
    kind = models.CharField(max_length=3, default="SMS")
    bytes = models.PositiveIntegerField(default=0)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    skip_reason = models.CharField(max_length=20, choices=SkipReason.choices, blank=True)
    held_until = models.DateTimeField(null=True, blank=True)
    provider_message_id = models.CharField(max_length=100, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    claim_token = models.CharField(max_length=32, blank=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    error_code = models.CharField(max_length=50, blank=True)
    error_message = models.CharField(max_length=255, blank=True)

    class Meta:
        verbose_name = _("message")
        verbose_name_plural = _("messages")
        constraints = [
            models.UniqueConstraint(
                fields=["campaign", "phone_number"], name="one_message_per_recipient"
            )
        ]
        indexes = [
            # The claim: a campaign's queued messages in id order.
            models.Index(fields=["campaign", "status", "id"], name="message_claim"),
            # The frequency cap: one number's recent messages in the project.
            models.Index(fields=["project", "phone_number", "sent_at"], name="message_recent"),
        ]

    def __str__(self) -> str:
        return f"{self.phone_number} ({self.status})"

    @property
    def reference(self) -> str:
        return message_reference(self.campaign_id, self.phone_number, self.pk)


SKIP_REASONS = [choice.value for choice in Message.SkipReason]
FINAL_STATUSES = (
    Message.Status.SENT,
    Message.Status.DELIVERED,
    Message.Status.FAILED,
    Message.Status.SKIPPED,
)


def message_reference(campaign_id: int | None, phone_number: str, message_id: int | None) -> str:
    """The deterministic client reference passed to the gateway."""
    if campaign_id is not None:
        return f"c{campaign_id}-{phone_number.lstrip('+')}"
    return f"m{message_id}"


def parse_reference(reference: str) -> tuple[int, str] | None:
    """(campaign id, phone number) from a campaign message's reference."""
    if not reference.startswith("c") or "-" not in reference:
        return None
    campaign, _sep, digits = reference[1:].partition("-")
    if not campaign.isdigit() or not digits.isdigit():
        return None
    return int(campaign), f"+{digits}"


class DispatchSlot(models.Model):
    """One of a campaign's sender-task slots. A send task must hold a slot to
    work, which caps the parallel send chains of a campaign however often it
    is re-enqueued (restarts, reconciler, resume). `owner` names the process
    (`host:pid:nonce`); a slot whose owner is dead or silent for longer than
    the claim timeout may be taken over."""

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="+")
    slot = models.PositiveSmallIntegerField()
    owner = models.CharField(max_length=100, blank=True)
    renewed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["campaign", "slot"], name="one_row_per_dispatch_slot")
        ]

    def __str__(self) -> str:
        return f"{self.campaign_id}/{self.slot}: {self.owner or '-'}"


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


class RateWindow(models.Model):
    """Messages handed to gateways in one fixed window (a project's minute or a
    gateway's second), shared by every worker on every machine."""

    key = models.CharField(max_length=100, unique=True)
    window_start = models.DateTimeField(db_index=True)
    count = models.PositiveIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.key}: {self.count}"


class TestNumber(models.Model):
    """A phone number the team keeps for compose test sends (besides the
    members' own phones), with a label saying whose it is."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="test_numbers")
    phone_number = models.CharField(_("phone number"), max_length=20)
    label = models.CharField(_("label"), max_length=100, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

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
