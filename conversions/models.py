"""Conversion goals, the conversions attributed to them, and their counters.

A goal names an event; a user who was sent the campaign's message and then
performs that event within the goal's window converts, at most once per goal
and basis. `send` basis counts from the moment the message was sent
(FlareLane's); `click` basis from the user's first click on a tracked link of
the message. Counters on the goal and the hourly buckets are bumped in the
same transaction as the conversion row, so statistics never scan conversions.

Tracked links and clicks belong to the send core's outbox, so a journey send
node's messages have them as a campaign's do; a journey's own goal (in its
version's settings) converts into `JourneyConversion`.
"""

from __future__ import annotations

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from campaigns.models import Campaign

MAX_GOALS_PER_CAMPAIGN = 5
MIN_WINDOW_SECONDS = 3600
MAX_WINDOW_SECONDS = 30 * 86400


class Basis(models.TextChoices):
    SEND = "send", _("Send-based")
    CLICK = "click", _("Click-based")


class ConversionGoal(models.Model):
    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="goals")
    position = models.PositiveSmallIntegerField(
        validators=[MinValueValidator(1), MaxValueValidator(MAX_GOALS_PER_CAMPAIGN)]
    )
    event_name = models.CharField(_("event name"), max_length=100)
    window_seconds = models.PositiveIntegerField(
        _("attribution window (seconds)"),
        validators=[MinValueValidator(MIN_WINDOW_SECONDS), MaxValueValidator(MAX_WINDOW_SECONDS)],
    )
    # Revenue: the event's data[revenue_field], times data[quantity_field] if set.
    revenue_field = models.CharField(_("amount field"), max_length=100, blank=True)
    quantity_field = models.CharField(_("quantity field"), max_length=100, blank=True)
    # Counters, per basis.
    conversions = models.PositiveIntegerField(default=0)
    revenue = models.DecimalField(max_digits=18, decimal_places=2, default=0)
    click_conversions = models.PositiveIntegerField(default=0)
    click_revenue = models.DecimalField(max_digits=18, decimal_places=2, default=0)

    class Meta:
        ordering = ["campaign", "position"]
        constraints = [
            models.UniqueConstraint(fields=["campaign", "position"], name="one_goal_per_position"),
            models.UniqueConstraint(fields=["campaign", "event_name"], name="one_goal_per_event"),
        ]
        indexes = [models.Index(fields=["event_name"], name="goal_event_name")]

    def __str__(self) -> str:
        return f"{self.campaign_id}#{self.position}: {self.event_name}"


class Conversion(models.Model):
    goal = models.ForeignKey(ConversionGoal, on_delete=models.CASCADE, related_name="+")
    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="+")
    basis = models.CharField(max_length=5, choices=Basis.choices, default=Basis.SEND)
    customer_id = models.BigIntegerField()
    message_id = models.BigIntegerField(null=True, blank=True)
    event_id = models.BigIntegerField(null=True, blank=True)
    converted_at = models.DateTimeField()
    revenue = models.DecimalField(max_digits=18, decimal_places=2, default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["goal", "basis", "customer_id"], name="one_conversion_per_user_goal_basis"
            )
        ]
        indexes = [models.Index(fields=["campaign", "converted_at"], name="conversion_time")]

    def __str__(self) -> str:
        return f"{self.goal_id}/{self.basis}: {self.customer_id}"


class ConversionBucket(models.Model):
    """Conversions and revenue of one goal and basis in one hour (UTC)."""

    goal = models.ForeignKey(ConversionGoal, on_delete=models.CASCADE, related_name="+")
    basis = models.CharField(max_length=5, choices=Basis.choices, default=Basis.SEND)
    hour = models.DateTimeField()
    conversions = models.PositiveIntegerField(default=0)
    revenue = models.DecimalField(max_digits=18, decimal_places=2, default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["goal", "basis", "hour"], name="one_bucket_per_goal_hour"
            )
        ]

    def __str__(self) -> str:
        return f"{self.goal_id}/{self.basis} {self.hour:%Y-%m-%d %H}: {self.conversions}"


class TrackedLink(models.Model):
    """A URL the marketer wrote literally in a message body with the `track`
    filter: the only targets a click link can redirect to. Keyed by the send
    core's outbox, so any producer's messages can carry one: a campaign's
    outbox, or a journey send node's (one per version and node)."""

    outbox = models.ForeignKey("dispatch.Outbox", on_delete=models.CASCADE, related_name="+")
    url = models.URLField(max_length=2000)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["outbox", "url"], name="one_tracked_link_per_outbox_url"
            )
        ]

    def __str__(self) -> str:
        return f"{self.outbox_id}: {self.url}"


class Click(models.Model):
    """One visit of a recipient's tracked link."""

    link = models.ForeignKey(TrackedLink, on_delete=models.CASCADE, related_name="+")
    outbox = models.ForeignKey("dispatch.Outbox", on_delete=models.CASCADE, related_name="+")
    message_id = models.BigIntegerField()
    clicked_at = models.DateTimeField()

    class Meta:
        indexes = [models.Index(fields=["outbox", "clicked_at"], name="click_outbox_time")]

    def __str__(self) -> str:
        return f"{self.message_id} → {self.link_id}"


class FirstClick(models.Model):
    """A recipient's first click on any tracked link of their message: counts
    `clicked_recipients` once and starts the click-based attribution window."""

    message_id = models.BigIntegerField(primary_key=True)
    outbox = models.ForeignKey("dispatch.Outbox", on_delete=models.CASCADE, related_name="+")
    customer_id = models.BigIntegerField(null=True, blank=True)
    clicked_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.message_id} at {self.clicked_at:%Y-%m-%d %H:%M}"


class OptOutAfterSend(models.Model):
    """A number that opted out within 7 days after a campaign's message was
    sent to it: counted once per campaign and number."""

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="+")
    phone_number = models.CharField(max_length=20)
    opted_out_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["campaign", "phone_number"], name="one_optout_after_send_per_number"
            )
        ]

    def __str__(self) -> str:
        return f"{self.campaign_id}: {self.phone_number}"


class JourneyConversion(models.Model):
    """A conversion of a journey's goal (its version's `conversion_goal`
    setting), attributed to the journey message the user was sent last
    before the event and within the goal's window: that message's send node
    and version. A run converts at most once, however many messages it had;
    the node's `conversions` and `revenue_cents` counters move in the same
    transaction as the row."""

    journey = models.ForeignKey("journeys.Journey", on_delete=models.CASCADE, related_name="+")
    version = models.ForeignKey(
        "journeys.JourneyVersion", on_delete=models.CASCADE, related_name="+"
    )
    node = models.CharField(max_length=64)
    run_id = models.BigIntegerField()
    customer_id = models.BigIntegerField()
    message_id = models.BigIntegerField()
    event_id = models.BigIntegerField(null=True, blank=True)
    converted_at = models.DateTimeField()
    revenue = models.DecimalField(max_digits=18, decimal_places=2, default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["journey", "run_id"], name="one_conversion_per_journey_run"
            )
        ]
        indexes = [models.Index(fields=["journey", "converted_at"], name="journey_conversion_time")]

    def __str__(self) -> str:
        return f"journey {self.journey_id} run {self.run_id}: {self.node}"
