"""Consent history (one row per change of a consent or of the opt-out list
for a known user), the notices the law asks for, and their per-project texts.

A notice is scheduled here (`due`); `consent.sending` hands the due ones
to the send core (`queued`, with the outbox that carries it, in the same
transaction) and reads the outcome back from the core's message (`sent`,
`delivered`, `failed`, or `impossible` when the core found the number
invalid).
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from audiences.models import Customer
from dispatch.models import Outbox
from projects.models import Project


class Source(models.TextChoices):
    TRACK = "track", _("Track API")
    CONSOLE = "console", _("Console")
    CALL_080 = "080", _("080 call")
    OPTOUT_API = "api", _("Opt-out API")
    IMPORT = "import", _("Import")
    SEED = "seed", _("Demo data")
    MIGRATION = "migration", _("Migration")


class ConsentField(models.TextChoices):
    PROMOTIONAL = "promotional", _("Promotional messages")
    NIGHT = "night", _("Night-time messages")
    # `True` = the number is on the opt-out list.
    OPTOUT = "optout", _("Opt-out list")


class ConsentChange(models.Model):
    """One change of one of a user's consents: `field` went from `old` to `new`.

    `old` is None for the entry a user's history starts with (the migration
    of users who existed before the history did). `consent_at` is the date of
    consent the change states (the Track API's `…ConsentAt`, or now), kept so
    the reminder's date can be proved from the history alone.
    """

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="+")
    # Deleting a user deletes their history with their events (personal data).
    customer = models.ForeignKey(
        Customer, on_delete=models.CASCADE, related_name="+", db_index=False
    )
    field = models.CharField(_("consent"), max_length=12, choices=ConsentField.choices)
    old = models.BooleanField(_("before"), null=True)
    new = models.BooleanField(_("after"))
    consent_at = models.DateTimeField(_("date of consent"), null=True, blank=True)
    changed_at = models.DateTimeField(_("changed at"))
    source = models.CharField(_("source"), max_length=10, choices=Source.choices)
    actor_label = models.CharField(_("by"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("consent change")
        verbose_name_plural = _("consent changes")
        indexes = [models.Index(fields=["customer", "id"], name="consent_change_customer")]

    def __str__(self) -> str:
        return f"{self.customer_id} {self.field}: {self.old} → {self.new}"


class Notice(models.Model):
    """A notice owed to one user: the result of a consent change (⑦) or the
    two-year reminder (⑧), with the facts it must state.

    A result notice that is still open (not sent) when another change comes
    is `superseded` by a new one that states the final state of every field
    changed since the last notice sent, and keeps the earlier due time.
    """

    class Kind(models.TextChoices):
        RESULT = "result", _("Result of a consent change")
        REMINDER = "reminder", _("Two-year reminder")

    class State(models.TextChoices):
        DUE = "due", _("Due")
        # Handed to the send core: its message is queued or being sent.
        QUEUED = "queued", _("Sending")
        SENT = "sent", _("Sent")
        DELIVERED = "delivered", _("Delivered")
        FAILED = "failed", _("Failed")
        IMPOSSIBLE = "impossible", _("Impossible")

    class Reason(models.TextChoices):
        NO_PHONE_NUMBER = "no_phone_number", _("The user has no phone number.")
        INVALID_PHONE_NUMBER = "invalid_phone_number", _("The user's phone number is not valid.")
        CONSENT_WITHDRAWN = "consent_withdrawn", _("Consent was withdrawn before the reminder.")
        CONSENT_DATE_CHANGED = "consent_date_changed", _("The date of consent changed.")
        COMBINED = "combined", _("Combined with a later change into one notice.")
        NO_SENDER = "no_sender", _("The project has no approved sender number.")

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="+", db_index=False)
    customer = models.ForeignKey(
        Customer, on_delete=models.CASCADE, related_name="+", db_index=False
    )
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices)
    state = models.CharField(_("state"), max_length=10, choices=State.choices, default=State.DUE)
    # Why it is impossible (or failed, or superseded): a Reason value.
    reason = models.CharField(_("reason"), max_length=40, blank=True)
    due_at = models.DateTimeField(_("due at"))
    # result: {"changes": {"promotional": true, "optout": false, …},
    #          "changedAt": iso, "consentAt": iso | null}
    # reminder: {"consentAt": iso, "anchorAt": iso}
    facts = models.JSONField(default=dict)
    superseded = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    # The outbox its message went to (key NOTICE_KEY_PREFIX + id), once queued.
    outbox = models.ForeignKey(
        Outbox, on_delete=models.SET_NULL, null=True, blank=True, related_name="+", db_index=False
    )
    delivered_at = models.DateTimeField(null=True, blank=True)
    error = models.CharField(_("error"), max_length=255, blank=True)

    class Meta:
        verbose_name = _("consent notice")
        verbose_name_plural = _("consent notices")
        indexes = [
            models.Index(
                fields=["project", "state", "superseded", "due_at"], name="consent_notice_due"
            ),
            models.Index(fields=["customer", "kind", "superseded"], name="consent_notice_user"),
            # The outcome sync: notices whose message is still out.
            models.Index(fields=["state", "outbox"], name="consent_notice_sending"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} for {self.customer_id} ({self.state})"

    @property
    def dedupe_key(self) -> str:
        return notice_key(self.pk)


# Handed to the send core: never combined with a later change, superseded
# or handed over again.
HANDED_OVER = (Notice.State.QUEUED, Notice.State.SENT, Notice.State.DELIVERED)
# The notice reached the carrier.
WENT_OUT = (Notice.State.SENT, Notice.State.DELIVERED)
NOTICE_KEY_PREFIX = "n"
# The send core's `producer_kind` of consent notice outboxes.
PRODUCER = "consent"


def notice_key(notice_id: int) -> str:
    """The notice's message key in its outbox (so its gateway reference is
    `c<outbox>-n<id>`)."""
    return f"{NOTICE_KEY_PREFIX}{notice_id}"


class NoticeSettings(models.Model):
    """Per project: whether each notice kind is on, and its text (Liquid).
    Without a row, both kinds are on when the project has an 080 number
    (every project that sends promotions has one) and the texts are the
    Korean defaults of consent/texts.py."""

    project = models.OneToOneField(
        Project, on_delete=models.CASCADE, related_name="consent_notice_settings"
    )
    result_enabled = models.BooleanField(_("send result notices"), default=True)
    reminder_enabled = models.BooleanField(_("send two-year reminders"), default=True)
    result_text = models.TextField(_("result notice text"), blank=True)
    reminder_text = models.TextField(_("reminder text"), blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("consent notice settings")
        verbose_name_plural = _("consent notice settings")

    def __str__(self) -> str:
        return str(self.project)
