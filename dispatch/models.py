"""Outboxes and their messages (SPEC §5, §10): the ledger of everything the
console sends, whoever produced it (a campaign, a Send API request, a test
SMS), with the outbox's counters, per-second buckets, sender slots and rate
windows. Nothing here knows a producer: an outbox names its producer only for
display (`producer_kind`, `producer_id`)."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from channels.models import SenderNumber
from projects.models import Project


class SendingPolicy(models.Model):
    """A project's frequency cap: at most `frequency_cap` messages to one
    phone number in any `frequency_window_hours` (a rolling window ending at
    the moment of dispatch). No row, or a cap of 0: no cap."""

    project = models.OneToOneField(
        Project, on_delete=models.CASCADE, related_name="sending_policy", verbose_name=_("project")
    )
    frequency_cap = models.PositiveIntegerField(_("messages per person"), default=0)
    frequency_window_hours = models.PositiveIntegerField(_("window (hours)"), default=24)

    class Meta:
        db_table = "campaigns_sendingpolicy"
        verbose_name = _("sending policy")
        verbose_name_plural = _("sending policies")

    def __str__(self) -> str:
        return f"{self.project}: {self.frequency_cap} per {self.frequency_window_hours} h"


class Outbox(models.Model):
    """A stream of messages of one project, sent with one sender number under
    one promotional flag and frequency cap. `open`: its due messages go;
    `paused`: they wait; `closed`: nothing more goes (queued ones are skipped).
    A producer that will add nothing more `seals` it; a sealed, open outbox
    with nothing left closes itself and says so (`outbox_closed`)."""

    class Status(models.TextChoices):
        OPEN = "open", _("Open")
        PAUSED = "paused", _("Paused")
        CLOSED = "closed", _("Closed")

    project = models.ForeignKey(
        Project, on_delete=models.CASCADE, related_name="outboxes", verbose_name=_("project")
    )
    sender_number = models.ForeignKey(
        SenderNumber,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("sender number"),
    )
    is_promotional = models.BooleanField(default=False, verbose_name=_("promotional"))
    # None: the project's sending policy; 0: no cap for this outbox.
    frequency_cap = models.PositiveIntegerField(
        null=True, blank=True, verbose_name=_("frequency cap")
    )
    # Messages of an outbox that is not counted (test SMS) neither count
    # towards nor are held by the frequency cap.
    counts_towards_cap = models.BooleanField(default=True, verbose_name=_("counts towards the cap"))
    # Informational messages the law requires (consent notices, Art. 50 ⑦ ⑧)
    # reach numbers on the opt-out list: a withdrawal must still be
    # confirmed. Never on a promotional outbox (do_create_outbox refuses it).
    ignores_optout_list = models.BooleanField(
        default=False, verbose_name=_("reaches opted-out numbers")
    )
    # Held until 08:00 in the recipient's zone at night (21:00–08:00) even
    # when not promotional, whatever the recipient's night-time consent.
    never_at_night = models.BooleanField(default=False, verbose_name=_("never at night"))
    status = models.CharField(
        max_length=8, choices=Status.choices, default=Status.PAUSED, verbose_name=_("status")
    )
    status_reason = models.CharField(max_length=255, blank=True, verbose_name=_("status reason"))
    sealed_at = models.DateTimeField(null=True, blank=True, verbose_name=_("sealed at"))
    # When it closed: messages it sent before then may still wait for their
    # delivery reports, which the sweep for missing reports looks for only
    # in outboxes open or closed within its reach (dispatch.reports).
    closed_at = models.DateTimeField(null=True, blank=True, verbose_name=_("closed at"))
    # How long a send chain of this outbox, while unsealed, waits for more
    # after its last claim before it goes idle. A producer that fills the
    # outbox in chunks (a campaign's materialiser) asks for a few seconds:
    # staying beats a new task's start. Producers of single messages
    # (journeys, test SMS, notices) leave it at 0, so no worker idles.
    linger_seconds = models.PositiveSmallIntegerField(default=0, verbose_name=_("linger (seconds)"))
    # Who fills it, for display and for the producer's own receivers only.
    producer_kind = models.CharField(max_length=20, verbose_name=_("producer kind"))
    producer_id = models.CharField(max_length=64, blank=True, verbose_name=_("producer ID"))
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))

    class Meta:
        verbose_name = _("outbox")
        verbose_name_plural = _("outboxes")
        indexes = [models.Index(fields=["status"], name="outbox_status")]

    def __str__(self) -> str:
        return f"{self.producer_kind} {self.producer_id} ({self.status})"


class OutboxStats(models.Model):
    """Counters kept as work happens (F() updates in the same transaction as
    the message transitions), so statistics never scan messages.

    `queued` is what is still to go (including held and retrying messages);
    `sent` counts messages the gateway accepted (delivered and failed reports
    come on top), `failed` those that failed at the gateway or by report."""

    outbox = models.OneToOneField(
        Outbox,
        on_delete=models.CASCADE,
        primary_key=True,
        related_name="stats",
        verbose_name=_("outbox"),
    )
    recipients = models.PositiveIntegerField(default=0, verbose_name=_("recipients"))
    queued = models.IntegerField(default=0, verbose_name=_("queued"))
    sent = models.PositiveIntegerField(default=0, verbose_name=_("sent"))
    delivered = models.PositiveIntegerField(default=0, verbose_name=_("delivered"))
    failed = models.PositiveIntegerField(default=0, verbose_name=_("failed"))
    held_night_time = models.PositiveIntegerField(default=0, verbose_name=_("held at night"))
    skipped_opted_out = models.PositiveIntegerField(default=0, verbose_name=_("skipped opted out"))
    skipped_frequency_cap = models.PositiveIntegerField(
        default=0, verbose_name=_("skipped frequency cap")
    )
    skipped_invalid_number = models.PositiveIntegerField(
        default=0, verbose_name=_("skipped invalid number")
    )
    skipped_unapproved_sender = models.PositiveIntegerField(
        default=0, verbose_name=_("skipped unapproved sender")
    )
    skipped_cancelled = models.PositiveIntegerField(default=0, verbose_name=_("skipped cancelled"))
    skipped_render_error = models.PositiveIntegerField(
        default=0, verbose_name=_("skipped render error")
    )
    skipped_no_consent = models.PositiveIntegerField(
        default=0, verbose_name=_("skipped no consent")
    )
    # Of `sent`, how many went as LMS (the rest as SMS), for the cost.
    sent_lms = models.PositiveIntegerField(default=0, verbose_name=_("sent as LMS"))
    # Clicks on tracked links: every click, and recipients who clicked.
    clicks = models.PositiveIntegerField(default=0, verbose_name=_("clicks"))
    clicked_recipients = models.PositiveIntegerField(
        default=0, verbose_name=_("recipients who clicked")
    )
    # Recipients who opted out within 7 days after their message was sent.
    optouts_after_send = models.PositiveIntegerField(
        default=0, verbose_name=_("opt-outs after the send")
    )

    class Meta:
        verbose_name = _("outbox statistics")
        verbose_name_plural = _("outbox statistics")

    def __str__(self) -> str:
        return f"stats of outbox {self.outbox_id}"

    @property
    def skipped(self) -> int:
        return sum(getattr(self, f"skipped_{reason}") for reason in SKIP_REASONS)


class Message(models.Model):
    """One message of an outbox, identified inside it by the producer's
    `dedupe_key` (a campaign's: the recipient's E.164 digits).

    The gateway's client reference is derived, not stored:
    `c<outbox>-<dedupe key>` is unique because (outbox, dedupe_key) is, and
    saves a second unique index over millions of rows. A night-time hold is
    not a skip: the message stays `queued` with `next_attempt_at` at the next
    08:00 in the recipient's zone and `held_until` set, and goes then."""

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
    outbox = models.ForeignKey(
        Outbox,
        on_delete=models.CASCADE,
        related_name="messages",
        db_index=False,
        verbose_name=_("outbox"),
    )
    dedupe_key = models.CharField(max_length=64, verbose_name=_("dedupe key"))
    project = models.ForeignKey(
        Project,
        on_delete=models.CASCADE,
        related_name="+",
        db_index=False,
        verbose_name=_("project"),
    )
    # A plain id, like AudienceFileRow.customer_id: no FK check per inserted row.
    customer_id = models.BigIntegerField(null=True, blank=True, verbose_name=_("user ID"))
    phone_number = models.CharField(max_length=20, verbose_name=_("phone number"))
    # The recipient's zone for the night-time rule ("" = the project's).
    time_zone = models.CharField(max_length=64, blank=True, verbose_name=_("time zone"))
    body = models.TextField(verbose_name=_("body"))
    title = models.CharField(max_length=100, blank=True, verbose_name=_("title"))
    kind = models.CharField(max_length=3, default="SMS", verbose_name=_("kind"))
    bytes = models.PositiveIntegerField(default=0, verbose_name=_("bytes"))
    status = models.CharField(
        max_length=10, choices=Status.choices, default=Status.QUEUED, verbose_name=_("status")
    )
    skip_reason = models.CharField(
        max_length=20, choices=SkipReason.choices, blank=True, verbose_name=_("skip reason")
    )
    held_until = models.DateTimeField(null=True, blank=True, verbose_name=_("held until"))
    provider_message_id = models.CharField(
        max_length=100, blank=True, verbose_name=_("provider message ID")
    )
    attempts = models.PositiveSmallIntegerField(default=0, verbose_name=_("attempts"))
    next_attempt_at = models.DateTimeField(null=True, blank=True, verbose_name=_("next attempt at"))
    claim_token = models.CharField(max_length=32, blank=True, verbose_name=_("claim token"))
    claimed_at = models.DateTimeField(null=True, blank=True, verbose_name=_("claimed at"))
    sent_at = models.DateTimeField(null=True, blank=True, verbose_name=_("sent at"))
    delivered_at = models.DateTimeField(null=True, blank=True, verbose_name=_("delivered at"))
    error_code = models.CharField(max_length=50, blank=True, verbose_name=_("error code"))
    error_message = models.CharField(max_length=255, blank=True, verbose_name=_("error message"))

    class Meta:
        # The table keeps its name from when campaigns owned it.
        db_table = "campaigns_message"
        verbose_name = _("message")
        verbose_name_plural = _("messages")
        constraints = [
            models.UniqueConstraint(
                fields=["outbox", "dedupe_key"], name="one_message_per_dedupe_key"
            )
        ]
        indexes = [
            # The claim: an outbox's queued messages in id order.
            models.Index(fields=["outbox", "status", "id"], name="message_claim"),
            # The frequency cap: one number's recent messages in the project.
            models.Index(fields=["project", "phone_number", "sent_at"], name="message_recent"),
            # Attribution and click resolution: a user's messages by outbox.
            models.Index(fields=["customer_id", "outbox"], name="message_customer_outbox"),
        ]

    def __str__(self) -> str:
        return f"{self.phone_number} ({self.status})"

    @property
    def reference(self) -> str:
        return message_reference(self.outbox_id, self.dedupe_key)


SKIP_REASONS = [choice.value for choice in Message.SkipReason]
FINAL_STATUSES = (
    Message.Status.SENT,
    Message.Status.DELIVERED,
    Message.Status.FAILED,
    Message.Status.SKIPPED,
)


def message_reference(outbox_id: int, dedupe_key: str) -> str:
    """The deterministic client reference passed to the gateway: the same
    message of the same outbox always has the same one, so the carrier
    recognises a repeat (after a crash or a released claim)."""
    return f"c{outbox_id}-{dedupe_key}"


def parse_reference(reference: str) -> tuple[int, str] | None:
    """(outbox id, dedupe key) from a message's reference."""
    if not reference.startswith("c") or "-" not in reference:
        return None
    outbox, _sep, key = reference[1:].partition("-")
    if not outbox.isdigit() or not key:
        return None
    return int(outbox), key


class SendBucket(models.Model):
    """Messages of one outbox marked sent, delivered or failed in one second
    (UTC), bumped with an upsert in the same transaction as the messages'
    transition, so the statistics page draws its send chart without reading
    messages. One upsert per batch, as before: only its key is finer.

    `width` is how many seconds the bucket covers: 1, or 60 for the
    per-minute buckets kept before buckets were per second, so a send
    counted by the minute is never drawn finer than it was counted."""

    outbox = models.ForeignKey(Outbox, on_delete=models.CASCADE, related_name="+")
    second = models.DateTimeField()
    width = models.PositiveSmallIntegerField(db_default=1)
    sent = models.PositiveIntegerField(default=0)
    delivered = models.PositiveIntegerField(default=0)
    failed = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name = _("send bucket")
        verbose_name_plural = _("send buckets")
        constraints = [
            models.UniqueConstraint(
                fields=["outbox", "second"], name="one_send_bucket_per_outbox_second"
            )
        ]

    def __str__(self) -> str:
        return f"{self.outbox_id} {self.second:%Y-%m-%d %H:%M:%S}: {self.sent}/{self.delivered}"


class DispatchSlot(models.Model):
    """One of an outbox's sender-task slots. A send task must hold a slot to
    work, which caps the parallel send chains of an outbox however often it
    is re-enqueued (restarts, reconciler, resume). `owner` names the process
    (`host:pid:nonce`); a slot whose owner is dead or silent for longer than
    the claim timeout may be taken over. `queued_at`: a task for the slot
    was enqueued then and has not started yet, so a producer's wake-up
    enqueues no other (until the claim timeout, in case it was lost)."""

    outbox = models.ForeignKey(Outbox, on_delete=models.CASCADE, related_name="+")
    slot = models.PositiveSmallIntegerField()
    owner = models.CharField(max_length=100, blank=True)
    renewed_at = models.DateTimeField(null=True, blank=True)
    queued_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("send slot")
        verbose_name_plural = _("send slots")
        constraints = [
            models.UniqueConstraint(fields=["outbox", "slot"], name="one_row_per_outbox_slot")
        ]

    def __str__(self) -> str:
        return f"{self.outbox_id}/{self.slot}: {self.owner or '-'}"


class RateWindow(models.Model):
    """Messages handed to gateways in one fixed window (a project's minute or a
    gateway's second), shared by every worker on every machine."""

    key = models.CharField(max_length=100, unique=True)
    window_start = models.DateTimeField(db_index=True)
    count = models.PositiveIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.key}: {self.count}"
