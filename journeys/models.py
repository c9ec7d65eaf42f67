"""Journeys, their versions, the runs of users inside them, and the step log.

The contract of the graph and settings JSON is docs/journeys.md. A published
version is immutable: `JourneyVersion.save()` refuses to change the graph or
settings of a version that is not a draft. A run advances one step at a time
with a conditional UPDATE on `Run.step` (the step counter), in the same
transaction as the step's row and its effects (a message row, a webhook
event), so a step happens exactly once even when workers die.
"""

from __future__ import annotations

from django.conf import settings as django_settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from audiences.models import Customer, Event
from projects.models import Project


class Journey(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        ACTIVE = "active", _("Active")
        PAUSED = "paused", _("Paused")
        STOPPED = "stopped", _("Stopped")

    project = models.ForeignKey(
        Project, on_delete=models.CASCADE, related_name="journeys", verbose_name=_("project")
    )
    name = models.CharField(_("name"), max_length=200)
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.DRAFT
    )
    # The published version new runs enter; None until the first publish.
    live_version = models.ForeignKey(
        "JourneyVersion",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("live version"),
    )
    activated_at = models.DateTimeField(_("activated at"), null=True, blank=True)
    paused_at = models.DateTimeField(_("paused at"), null=True, blank=True)
    stopped_at = models.DateTimeField(_("stopped at"), null=True, blank=True)
    created_by = models.ForeignKey(
        django_settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("created by"),
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("journey")
        verbose_name_plural = _("journeys")
        indexes = [models.Index(fields=["project", "status"])]

    def __str__(self) -> str:
        return self.name


class VersionImmutable(Exception):
    """A published or retired version's graph or settings were changed."""


class JourneyVersion(models.Model):
    class State(models.TextChoices):
        DRAFT = "draft", _("Draft")
        PUBLISHED = "published", _("Published")
        # Superseded by a later publish; runs may still finish on it.
        RETIRED = "retired", _("Retired")

    journey = models.ForeignKey(
        Journey, on_delete=models.CASCADE, related_name="versions", verbose_name=_("journey")
    )
    number = models.PositiveIntegerField(_("number"))
    state = models.CharField(_("state"), max_length=10, choices=State.choices, default=State.DRAFT)
    graph = models.JSONField(_("graph"), default=dict)
    settings = models.JSONField(_("settings"), default=dict)
    published_at = models.DateTimeField(_("published at"), null=True, blank=True)
    published_by = models.ForeignKey(
        django_settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("published by"),
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("journey version")
        verbose_name_plural = _("journey versions")
        constraints = [
            models.UniqueConstraint(fields=["journey", "number"], name="journey_version_number"),
            models.UniqueConstraint(
                fields=["journey"], condition=Q(state="draft"), name="journey_one_draft"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.journey_id} v{self.number}"

    def save(self, *args: object, **kwargs: object) -> None:
        if self.pk is not None:
            stored = (
                JourneyVersion.objects.filter(pk=self.pk)
                .values("state", "graph", "settings")
                .first()
            )
            if (
                stored
                and stored["state"] != self.State.DRAFT
                and (stored["graph"] != self.graph or stored["settings"] != self.settings)
            ):
                raise VersionImmutable(f"version {self.pk} is {stored['state']}")
        super().save(*args, **kwargs)


class Run(models.Model):
    """One user's way through a journey: where they are and when next due."""

    class State(models.TextChoices):
        # Due for its next step at `due_at` (now, or after a delay/wait).
        ACTIVE = "active", _("Active")
        # Waiting for an event (`wait_event_type`), or its timeout at `due_at`.
        WAITING = "waiting", _("Waiting for an event")
        ENDED = "ended", _("Ended")

    class EndReason(models.TextChoices):
        END = "end", _("Reached the end")
        EXIT_NODE = "exit_node", _("Exit node")
        EXIT_EVENT = "exit_event", _("Exit event")
        STOPPED = "stopped", _("Journey stopped")
        MIGRATION_EXIT = "migration_exit", _("Removed by a new version")
        LATE = "late", _("Too late after a pause")

    project = models.ForeignKey(
        Project, on_delete=models.CASCADE, related_name="+", verbose_name=_("project")
    )
    journey = models.ForeignKey(
        Journey, on_delete=models.CASCADE, related_name="runs", verbose_name=_("journey")
    )
    version = models.ForeignKey(
        JourneyVersion, on_delete=models.PROTECT, related_name="runs", verbose_name=_("version")
    )
    customer = models.ForeignKey(
        Customer, on_delete=models.CASCADE, related_name="journey_runs", verbose_name=_("user")
    )
    # Makes entry idempotent: "e<event id>" for an event trigger,
    # "s<segment entry time>" / "c<occurrence>" for segment and schedule ones.
    entry_key = models.CharField(_("entry key"), max_length=100)
    entry_event = models.ForeignKey(
        Event,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("entry event"),
    )
    # A copy of the entry event's data (Liquid `entry_event.data.*`, matches).
    entry_data = models.JSONField(_("entry event data"), default=dict, blank=True)
    # For concurrent runs keyed by an entry-event field (re-entry "keyed").
    reentry_key = models.CharField(_("re-entry key"), max_length=255, blank=True)
    node = models.CharField(_("node"), max_length=64)
    step = models.PositiveIntegerField(_("steps taken"), default=0)
    state = models.CharField(_("state"), max_length=10, choices=State.choices, default=State.ACTIVE)
    due_at = models.DateTimeField(_("due at"), null=True, blank=True)
    wait_event_type = models.CharField(_("waiting for event"), max_length=255, blank=True)
    wait_match = models.CharField(_("waiting for value"), max_length=255, blank=True)
    claim_token = models.CharField(_("claim token"), max_length=32, blank=True)
    claimed_at = models.DateTimeField(_("claimed at"), null=True, blank=True)
    started_at = models.DateTimeField(_("started at"))
    ended_at = models.DateTimeField(_("ended at"), null=True, blank=True)
    end_reason = models.CharField(
        _("end reason"), max_length=20, choices=EndReason.choices, blank=True
    )

    class Meta:
        verbose_name = _("journey run")
        verbose_name_plural = _("journey runs")
        constraints = [
            models.UniqueConstraint(
                fields=["journey", "customer", "entry_key"], name="journey_run_entry"
            ),
        ]
        indexes = [
            # The runner: due runs, oldest first.
            models.Index(fields=["state", "due_at"], name="journey_run_due"),
            # Events: runs of a user waiting for an event type, exit events.
            models.Index(fields=["customer", "state"], name="journey_run_customer"),
            models.Index(fields=["journey", "node", "state"], name="journey_run_node"),
        ]

    def __str__(self) -> str:
        return f"run {self.pk} of journey {self.journey_id}"


class Step(models.Model):
    """One step a run took: node, the port it left by, when, on which version."""

    run = models.ForeignKey(
        Run, on_delete=models.CASCADE, related_name="steps", verbose_name=_("run")
    )
    number = models.PositiveIntegerField(_("number"))
    version = models.ForeignKey(
        JourneyVersion, on_delete=models.PROTECT, related_name="+", verbose_name=_("version")
    )
    node = models.CharField(_("node"), max_length=64)
    kind = models.CharField(_("node kind"), max_length=20)
    # The port the run left by ("next", "sent", "timeout", "b0", "else", "a",
    # …), or "" when the step ended the run.
    port = models.CharField(_("port"), max_length=40, blank=True)
    detail = models.JSONField(_("detail"), default=dict, blank=True)
    at = models.DateTimeField(_("at"))

    class Meta:
        verbose_name = _("journey step")
        verbose_name_plural = _("journey steps")
        ordering = ["run", "number"]
        constraints = [
            models.UniqueConstraint(fields=["run", "number"], name="journey_step_number"),
        ]

    def __str__(self) -> str:
        return f"{self.run_id}#{self.number} {self.node}"


class NodeCounter(models.Model):
    """A statistic of one node of one version, kept as the work happens
    (docs/journeys.md lists the metrics)."""

    journey = models.ForeignKey(
        Journey, on_delete=models.CASCADE, related_name="+", verbose_name=_("journey")
    )
    version = models.ForeignKey(
        JourneyVersion, on_delete=models.CASCADE, related_name="counters", verbose_name=_("version")
    )
    node = models.CharField(_("node"), max_length=64)
    metric = models.CharField(_("metric"), max_length=60)
    value = models.BigIntegerField(_("value"), default=0)

    class Meta:
        verbose_name = _("journey node counter")
        verbose_name_plural = _("journey node counters")
        constraints = [
            models.UniqueConstraint(
                fields=["version", "node", "metric"], name="journey_counter_metric"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.node} {self.metric}={self.value}"


class SendNodeOutbox(models.Model):
    """The send core's outbox of one send node of one version."""

    version = models.ForeignKey(
        JourneyVersion, on_delete=models.CASCADE, related_name="+", verbose_name=_("version")
    )
    node = models.CharField(_("node"), max_length=64)
    outbox = models.OneToOneField(
        "dispatch.Outbox", on_delete=models.PROTECT, related_name="+", verbose_name=_("outbox")
    )

    class Meta:
        verbose_name = _("send node outbox")
        verbose_name_plural = _("send node outboxes")
        constraints = [
            models.UniqueConstraint(fields=["version", "node"], name="journey_send_node_outbox"),
        ]

    def __str__(self) -> str:
        return f"{self.node} → outbox {self.outbox_id}"


class RunnerLease(models.Model):
    """A journey runner's wake-up flag and lease (`name="runner"`; helper
    runners on PostgreSQL: "runner-2", …).

    `pending`: a runner task is queued or running and will look at due runs,
    so a wake-up enqueues nothing more. `owner` (`host:pid:nonce`) holds the
    lease while a runner task works and renews `renewed_at`; a dead or silent
    owner's lease may be taken over (journeys/runtime.py). `successor_at`:
    the owner, its time budget spent, enqueued a successor then and works on
    until a runner task starts, which takes the lease over."""

    name = models.CharField(_("name"), max_length=20, unique=True)
    pending = models.BooleanField(_("wake-up pending"), default=False)
    woken_at = models.DateTimeField(_("woken at"), null=True, blank=True)
    owner = models.CharField(_("owner"), max_length=100, blank=True)
    renewed_at = models.DateTimeField(_("renewed at"), null=True, blank=True)
    successor_at = models.DateTimeField(_("successor enqueued at"), null=True, blank=True)

    class Meta:
        verbose_name = _("journey runner lease")
        verbose_name_plural = _("journey runner leases")

    def __str__(self) -> str:
        return f"{self.name}: {self.owner or '-'}"


# --- Trigger state (journeys/triggers.py) -------------------------------------------


class SegmentMember(models.Model):
    """A user inside the segment of a segment-entry journey, as last evaluated.

    Only a user who is not here and now matches enters the journey (the row is
    inserted first: the insert that wins is the one entry); a user who no
    longer matches is removed, so a later match is a new entry."""

    journey = models.ForeignKey(
        Journey, on_delete=models.CASCADE, related_name="+", verbose_name=_("journey")
    )
    customer = models.ForeignKey(
        Customer, on_delete=models.CASCADE, related_name="+", verbose_name=_("user")
    )
    since = models.DateTimeField(_("member since"))

    class Meta:
        verbose_name = _("journey segment member")
        verbose_name_plural = _("journey segment members")
        constraints = [
            models.UniqueConstraint(fields=["journey", "customer"], name="journey_segment_member"),
        ]

    def __str__(self) -> str:
        return f"{self.customer_id} in journey {self.journey_id}"


class TriggerCursor(models.Model):
    """How far a journey's periodic trigger work has got: the boundary scan of a
    segment-entry journey, the occurrences of a schedule journey."""

    journey = models.OneToOneField(
        Journey, on_delete=models.CASCADE, related_name="+", verbose_name=_("journey")
    )
    scanned_until = models.DateTimeField(_("scanned until"))

    class Meta:
        verbose_name = _("journey trigger cursor")
        verbose_name_plural = _("journey trigger cursors")

    def __str__(self) -> str:
        return f"journey {self.journey_id} until {self.scanned_until}"


class ScheduleOccurrence(models.Model):
    """One occurrence of a schedule journey's cron, claimed by inserting it:
    the unique row makes each occurrence run once, however many workers look."""

    class State(models.TextChoices):
        ENTERING = "entering", _("Entering users")
        DONE = "done", _("Done")
        # Missed by more than the catch-up window (the workers were down).
        SKIPPED = "skipped", _("Skipped: too late")

    journey = models.ForeignKey(
        Journey, on_delete=models.CASCADE, related_name="+", verbose_name=_("journey")
    )
    occurrence = models.DateTimeField(_("occurrence"))
    state = models.CharField(_("state"), max_length=10, choices=State.choices)
    entered = models.PositiveIntegerField(_("users entered"), default=0)
    # The last user id handed to entry, so a crashed occurrence resumes there.
    last_customer_id = models.BigIntegerField(_("last user id"), default=0)
    # Moved on by the scanner entering its users; a stale one is taken over.
    claimed_at = models.DateTimeField(_("claimed at"))
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)

    class Meta:
        verbose_name = _("journey schedule occurrence")
        verbose_name_plural = _("journey schedule occurrences")
        constraints = [
            models.UniqueConstraint(
                fields=["journey", "occurrence"], name="journey_schedule_occurrence"
            ),
        ]
        indexes = [models.Index(fields=["state"], name="journey_occurrence_state")]

    def __str__(self) -> str:
        return f"journey {self.journey_id} at {self.occurrence}"


class VersionMigration(models.Model):
    """Moving a journey's runs from one published version to the next, as
    the admin chose when publishing (journeys/versions.py). Kept so a
    migration interrupted by a crash is finished by the next batch."""

    journey = models.ForeignKey(
        Journey, on_delete=models.CASCADE, related_name="migrations", verbose_name=_("journey")
    )
    from_version = models.ForeignKey(
        JourneyVersion, on_delete=models.CASCADE, related_name="+", verbose_name=_("from version")
    )
    to_version = models.ForeignKey(
        JourneyVersion, on_delete=models.CASCADE, related_name="+", verbose_name=_("to version")
    )
    # Removed node key → "finish_old" | "move:<node key>" | "exit".
    removed = models.JSONField(_("removed nodes"), default=dict, blank=True)
    # Changed delay node key → "retime" | "keep".
    delays = models.JSONField(_("changed delays"), default=dict, blank=True)
    moved = models.PositiveIntegerField(_("runs moved"), default=0)
    exited = models.PositiveIntegerField(_("runs exited"), default=0)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)
    # The task at work on it (`host:pid:nonce`), renewed every batch; or,
    # with no owner, when a task was last enqueued for it.
    owner = models.CharField(_("owner"), max_length=100, blank=True)
    renewed_at = models.DateTimeField(_("renewed at"), null=True, blank=True)

    class Meta:
        verbose_name = _("version migration")
        verbose_name_plural = _("version migrations")

    def __str__(self) -> str:
        return f"{self.journey_id}: v{self.from_version_id} → v{self.to_version_id}"
