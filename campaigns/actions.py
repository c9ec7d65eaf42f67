"""Every write to campaigns outside the send pipeline: create, edit,
schedule, start, pause, resume, cancel, and the system's moves (complete, end,
pause with a reason) that the send core asks for through its signals.

A campaign's status changes only here, always through the one table in
`campaigns.rules`: a conditional UPDATE whose allowed source statuses come
from `TRANSITIONS`, so two clicks (or a click and a task) cannot both win, and
always with an audit entry. `check_campaign_ready()` is the one readiness
check of every path that starts work. Queue work is enqueued by dotted name
after the transaction commits (`console.queue.enqueue_on_commit`): this
module does not import `campaigns.tasks`; the tasks call these actions."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from audiences.models import AudienceFile, Segment
from campaigns.materialise import sync_outbox
from campaigns.models import Campaign, TestNumber
from campaigns.rendering import Renderer
from campaigns.rules import TRANSITIONS, Action, CampaignEvent, sources
from campaigns.signals import campaign_duplicated
from campaigns.test_sends import TestSend, do_send_test_sms
from channels.queries import SenderNotAllowed, project_optout_number, sendable_sender
from console.lib import liquid
from console.queue import enqueue_on_commit
from dispatch.actions import (
    do_close_outbox,
    do_discard_outbox,
    do_open_outbox,
    do_pause_outbox,
)
from dispatch.checks import characters_problem, title_problem
from dispatch.models import Message
from projects.actions import record_audit
from projects.models import Project

S = Campaign.Status
# By dotted name: actions and tasks do not import each other.
PIPELINE_TASK = "campaigns.tasks.enqueue_pipeline"
SCHEDULE_TASK = "campaigns.tasks.schedule_start"
FORGET_SCHEDULE_TASK = "campaigns.tasks.forget_scheduled_start"


class CampaignProblem(ValueError):
    """A campaign that cannot be created or moved as asked; the message says why."""


class CampaignStarted(CampaignProblem):
    """The campaign is no longer a draft or scheduled: it cannot be edited."""


class CampaignNotReady(CampaignProblem):
    """The campaign cannot be scheduled or started: `problems` says why."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__(
            _("The campaign cannot go yet: %(problems)s")
            % {"problems": " ".join(problem.message for problem in problems)}
        )


def _audience(project: Project, audience: Segment | AudienceFile) -> dict[str, Any]:
    if isinstance(audience, Segment):
        if audience.project_id != project.pk:
            raise CampaignProblem(_("The segment belongs to another project."))
        return {"segment": audience}
    if audience.project_id != project.pk:
        raise CampaignProblem(_("The audience file belongs to another project."))
    if audience.status != AudienceFile.Status.VALID:
        raise CampaignProblem(
            _("The audience file %(name)s is %(status)s; only a valid file can be an audience.")
            % {"name": audience.name, "status": audience.get_status_display()}
        )
    return {"audience_file": audience}


@transaction.atomic
def do_create_campaign(
    project: Project,
    *,
    name: str,
    audience: Segment | AudienceFile,
    sender_number: object,
    body: str,
    title: str = "",
    is_promotional: bool = False,
    frequency_cap: int | None = None,
    file_consent_confirmed: bool = False,
    actor: object = None,
) -> Campaign:
    """A draft campaign. Refuses an unapproved sender (SenderNotAllowed) and a
    body that is not valid Liquid (liquid.TemplateProblem)."""
    sender = sendable_sender(project, sender_number)
    liquid.compile_template(body)
    if is_promotional:
        check_promotable(project)
    campaign = Campaign.objects.create(
        project=project,
        name=name,
        sender_number=sender,
        body=body,
        title=title,
        is_promotional=is_promotional,
        frequency_cap=frequency_cap,
        file_consent_confirmed=file_consent_confirmed,
        created_by=actor if getattr(actor, "is_authenticated", False) else None,
        **_audience(project, audience),
    )
    record_audit(project, actor, CampaignEvent.CREATED, campaign.name, campaign_id=campaign.pk)
    return campaign


# --- readiness: the one check of every path that starts work --------------------


@dataclass(frozen=True)
class Problem:
    """One reason a campaign cannot go yet: a stable code for programs and
    a sentence for people."""

    code: str
    message: str

    def __str__(self) -> str:
        return self.message


def _missing(campaign: Campaign) -> list[tuple[str, str]]:
    missing = []
    if campaign.source == Campaign.Source.CONSOLE and not (
        campaign.segment_id or campaign.audience_file_id
    ):
        missing.append(("missing_audience", _("an audience")))
    if not campaign.sender_number_id:
        missing.append(("missing_sender", _("a sender number")))
    if not campaign.body.strip():
        missing.append(("missing_body", _("a message body")))
    if (
        campaign.is_promotional
        and campaign.audience_file_id
        and not campaign.file_consent_confirmed
    ):
        missing.append(
            (
                "missing_file_consent",
                _("confirmation that every number in the file consented to promotions"),
            )
        )
    return missing


def missing_parts(campaign: Campaign) -> list[str]:
    """What a campaign still lacks before it can be scheduled or started."""
    return [part for _code, part in _missing(campaign)]


def _promotional_problems(project: Project) -> list[Problem]:
    """A promotional message starts with (광고) + the company name and ends
    with the free opt-out line on the project's own 080 number: both must
    exist."""
    problems = []
    if project_optout_number(project) is None:
        problems.append(
            Problem(
                "optout_number_missing",
                _(
                    "A promotional campaign needs the project's 080 opt-out number; "
                    "none is assigned."
                ),
            )
        )
    if not project.company_name.strip():
        problems.append(
            Problem(
                "company_name_missing",
                _("A promotional campaign needs the company name of the business registration."),
            )
        )
    return problems


def check_promotable(project: Project) -> None:
    """Raises CampaignProblem when the project cannot send promotions."""
    problems = _promotional_problems(project)
    if problems:
        raise CampaignProblem(problems[0].message)


def check_campaign_ready(campaign: Campaign) -> list[Problem]:
    """Why the campaign cannot be scheduled or started now (empty: it can).

    Used by start, schedule, the scheduled start and the compose review: the
    parts are present, the body compiles with the project's Liquid
    environment and its characters fit CP949, the title fits, a promotional
    send has the 080 number and the company name, and the sender is still
    approved."""
    problems = [
        Problem(code, _("It needs %(part)s.") % {"part": part}) for code, part in _missing(campaign)
    ]
    if campaign.body.strip():
        try:
            liquid.compile_template(campaign.body)
        except liquid.TemplateProblem as problem:
            problems.append(
                Problem(
                    "liquid_error",
                    _(
                        "The message has a Liquid error at line %(line)d, column %(column)d: "
                        "%(error)s"
                    )
                    % {"line": problem.line, "column": problem.column, "error": problem.message},
                )
            )
        chars = characters_problem(campaign.body)
        if chars:
            problems.append(Problem("unencodable_characters", chars))
    title = title_problem(campaign.title)
    if title:
        problems.append(Problem("title_too_long", title))
    if campaign.is_promotional:
        problems += _promotional_problems(campaign.project)
    if campaign.sender_number_id:
        try:
            sendable_sender(campaign.project, campaign.sender_number_id)
        except SenderNotAllowed as exc:
            problems.append(Problem("sender_not_allowed", str(exc)))
    return problems


def _require_ready(campaign: Campaign) -> None:
    problems = check_campaign_ready(campaign)
    if problems:
        raise CampaignNotReady(problems)


# --- status: every change through the table -----------------------------------------


def _move(
    campaign_id: int, action: Action, *, where: dict[str, Any] | None = None, **fields: Any
) -> bool:
    """The conditional UPDATE of `action`: only from the statuses the table
    allows (and matching `where`), so of two racing moves one wins; False
    when nothing changed."""
    target = TRANSITIONS[action].target
    if target is not None:
        fields["status"] = target
    rows = Campaign.objects.filter(pk=campaign_id, status__in=sources(action), **(where or {}))
    return bool(rows.update(**fields))


def _audit(campaign: Campaign, actor: object, event: CampaignEvent, **detail: object) -> None:
    record_audit(campaign.project, actor, event, campaign.name, campaign_id=campaign.pk, **detail)


def _campaign(campaign_id: int) -> Campaign:
    return Campaign.objects.select_related("project").get(pk=campaign_id)


def do_start_campaign(
    campaign: Campaign, actor: object = None, *, expected_at: datetime | None = None
) -> bool:
    """draft/scheduled → sending, then materialise and send. Raises
    CampaignNotReady. With `expected_at`, only a campaign still scheduled for
    that moment starts."""
    _require_ready(campaign)
    with transaction.atomic():
        now = timezone.now()
        # The scheduled start: only a campaign still scheduled for that time.
        where = None
        if expected_at is not None:
            where = {"status": S.SCHEDULED, "scheduled_at": expected_at}
        if not _move(
            campaign.pk,
            Action.START,
            where=where,
            started_at=now,
            heartbeat_at=now,
            status_reason="",
        ):
            return False
        sync_outbox(campaign)
        do_open_outbox(campaign.outbox_id)
        _audit(campaign, actor, CampaignEvent.STARTED)
        enqueue_on_commit(PIPELINE_TASK, campaign.pk)
    return True


def do_start_scheduled_campaign(campaign: Campaign, expected_at: datetime) -> bool:
    """The scheduled start (the system's). A campaign that is no longer ready
    (its body was edited into one that does not compile, its sender lost its
    approval, ...) does not start and is not retried: it goes back to draft
    with the reasons on its page and in the audit log, for the marketer to
    fix and schedule again. False when it did not start."""
    try:
        return do_start_campaign(campaign, None, expected_at=expected_at)
    except CampaignNotReady as exc:
        reason = _("Not started at the scheduled time. %(problems)s") % {
            "problems": " ".join(problem.message for problem in exc.problems)
        }
        do_unschedule_campaign(
            campaign,
            None,
            reason=reason,
            expected_at=expected_at,
            problems=[problem.code for problem in exc.problems],
        )
        return False


def do_schedule_campaign(campaign: Campaign, at: datetime, actor: object = None) -> bool:
    """draft/scheduled → scheduled at `at` (an edit re-schedules; the old
    start task sees a different time and does nothing). Raises
    CampaignNotReady."""
    if at <= timezone.now():
        raise CampaignProblem(_("The scheduled time must be in the future."))
    _require_ready(campaign)
    with transaction.atomic():
        if not _move(campaign.pk, Action.SCHEDULE, scheduled_at=at, status_reason=""):
            return False
        _audit(campaign, actor, CampaignEvent.SCHEDULED, at=at.isoformat())
        enqueue_on_commit(SCHEDULE_TASK, campaign.pk, at)
    return True


def do_unschedule_campaign(
    campaign: Campaign,
    actor: object = None,
    *,
    reason: str = "",
    expected_at: datetime | None = None,
    **detail: object,
) -> bool:
    """scheduled → draft; the pending start is dropped. `reason` (the
    system's) is shown on the campaign; with `expected_at`, only a campaign
    still scheduled for that moment."""
    with transaction.atomic():
        where = None if expected_at is None else {"scheduled_at": expected_at}
        if not _move(
            campaign.pk,
            Action.UNSCHEDULE,
            where=where,
            scheduled_at=None,
            status_reason=reason[:255],
        ):
            return False
        if reason:
            detail["reason"] = reason
        _audit(campaign, actor, CampaignEvent.UNSCHEDULED, **detail)
        enqueue_on_commit(FORGET_SCHEDULE_TASK, campaign.pk)
    return True


def do_pause_campaign(campaign: Campaign, actor: object = None) -> bool:
    """sending → paused: batches in flight finish, nothing new is claimed."""
    with transaction.atomic():
        if not _move(campaign.pk, Action.PAUSE):
            return False
        do_pause_outbox(campaign.outbox_id)
        _audit(campaign, actor, CampaignEvent.PAUSED)
    return True


def do_pause_campaign_by_system(campaign_id: int, reason: str) -> bool:
    """sending → paused by the system (e.g. no gateway can take the messages),
    with the reason on the campaign's page; resuming clears it."""
    with transaction.atomic():
        if not _move(campaign_id, Action.PAUSE, status_reason=reason[:255]):
            return False
        campaign = _campaign(campaign_id)
        do_pause_outbox(campaign.outbox_id, reason)
        _audit(campaign, None, CampaignEvent.PAUSED, reason=reason)
    return True


def do_resume_campaign(campaign: Campaign, actor: object = None) -> bool:
    with transaction.atomic():
        if not _move(campaign.pk, Action.RESUME, status_reason="", heartbeat_at=timezone.now()):
            return False
        do_open_outbox(campaign.outbox_id)
        _audit(campaign, actor, CampaignEvent.RESUMED)
        enqueue_on_commit(PIPELINE_TASK, campaign.pk)
    return True


def do_cancel_campaign(campaign: Campaign, actor: object = None) -> bool:
    """Any state before the end → cancelled; messages not yet claimed are
    skipped (`cancelled`), a batch in flight finishes."""
    with transaction.atomic():
        if not _move(campaign.pk, Action.CANCEL, finished_at=timezone.now()):
            return False
        skipped = skip_cancelled_messages(campaign.pk)
        _audit(campaign, actor, CampaignEvent.CANCELLED, skipped=skipped)
    return True


def do_complete_campaign(campaign_id: int) -> bool:
    """sending → completed, when the send core reports that every message of
    the campaign is final. False when it was not sending (already completed,
    cancelled, paused): safe to call twice."""
    with transaction.atomic():
        if not _move(campaign_id, Action.COMPLETE, finished_at=timezone.now()):
            return False
        _audit(_campaign(campaign_id), None, CampaignEvent.COMPLETED)
    return True


def do_end_campaign(campaign_id: int, reason: str, *, actor: object | None = None) -> bool:
    """sending/paused → completed early with `reason` (e.g. the sender was
    refused mid-send); what was not sent stays unsent (the send core skips
    its queued messages). False when nothing changed."""
    with transaction.atomic():
        if not _move(
            campaign_id, Action.END, finished_at=timezone.now(), status_reason=reason[:255]
        ):
            return False
        _audit(_campaign(campaign_id), actor, CampaignEvent.ENDED, reason=reason)
    return True


def skip_cancelled_messages(campaign_id: int) -> int:
    """Close the campaign's outbox: what is still queued is skipped."""
    outbox_id = Campaign.objects.values_list("outbox_id", flat=True).get(pk=campaign_id)
    return do_close_outbox(outbox_id, skip_reason=Message.SkipReason.CANCELLED)


# --- compose: drafts saved step by step ------------------------------------------

# The statuses in which a campaign may still be composed.
EDITABLE = tuple(sources(Action.EDIT))
# The fields a compose step may change.
COMPOSE_FIELDS = frozenset(
    {
        "name",
        "segment",
        "audience_file",
        "sender_number",
        "body",
        "title",
        "is_promotional",
        "file_consent_confirmed",
        "time_zone",
        "frequency_cap",
    }
)
_FOREIGN_KEYS = ("segment", "audience_file", "sender_number")


@transaction.atomic
def do_create_draft(project: Project, actor: object, name: str) -> Campaign:
    """An empty console draft, filled in step by step on the compose screen."""
    campaign = Campaign.objects.create(
        project=project,
        name=name,
        created_by=actor if getattr(actor, "is_authenticated", False) else None,
    )
    record_audit(project, actor, CampaignEvent.CREATED, campaign.name, campaign_id=campaign.pk)
    return campaign


def do_update_campaign(campaign: Campaign, actor: object, **changes: Any) -> Campaign:
    """Save compose changes to a draft or a scheduled campaign.

    Refuses an audience of another project or an invalid file, an unapproved
    sender (SenderNotAllowed), a promotional campaign without the project's
    080 number, and a change that would leave a scheduled campaign unable to
    start. A body with a Liquid error is saved (it is a draft), and blocks
    the start. The update is conditional on the status: a campaign that has
    started meanwhile is not changed (CampaignProblem)."""
    project = campaign.project
    if "audience" in changes:
        # One audience of either kind, replacing the other kind.
        audience = changes.pop("audience")
        key = "segment" if isinstance(audience, Segment) else "audience_file"
        changes[key] = audience
    unknown = set(changes) - COMPOSE_FIELDS
    if unknown:
        raise TypeError(f"not compose fields: {sorted(unknown)}")
    for key in ("segment", "audience_file"):
        if changes.get(key) is not None:
            changes.update(_audience(project, changes[key]))
            changes["audience_file" if key == "segment" else "segment"] = None
    if changes.get("sender_number") is not None:
        changes["sender_number"] = sendable_sender(project, changes["sender_number"])
    for key, value in changes.items():
        setattr(campaign, key, value)
    if campaign.is_promotional:
        check_promotable(project)
    if campaign.status == S.SCHEDULED:
        missing = missing_parts(campaign)
        if missing:
            raise CampaignProblem(
                _("A scheduled campaign must stay ready to go; it would lack %(parts)s.")
                % {"parts": ", ".join(missing)}
            )
    fields = {
        (f"{key}_id" if key in _FOREIGN_KEYS else key): (
            getattr(value, "pk", None) if key in _FOREIGN_KEYS else value
        )
        for key, value in changes.items()
    }
    with transaction.atomic():
        if not _move(campaign.pk, Action.EDIT, **fields):
            raise CampaignStarted(
                _("The campaign has already started; it can no longer be changed.")
            )
        _audit(campaign, actor, CampaignEvent.UPDATED, fields=sorted(changes))
    return campaign


def do_add_test_number(
    project: Project, actor: object, phone_number: str, label: str
) -> TestNumber:
    """Add a number to the project's saved test numbers (already validated E.164)."""
    with transaction.atomic():
        number, created = TestNumber.objects.get_or_create(
            project=project, phone_number=phone_number, defaults={"label": label}
        )
        if not created and label and number.label != label:
            TestNumber.objects.filter(pk=number.pk).update(label=label)
            number.label = label
        record_audit(project, actor, CampaignEvent.TEST_NUMBER_ADDED, phone_number, label=label)
    return number


def do_remove_test_number(number: TestNumber, actor: object) -> None:
    with transaction.atomic():
        number.delete()
        record_audit(number.project, actor, CampaignEvent.TEST_NUMBER_REMOVED, number.phone_number)


def do_send_campaign_test(
    campaign: Campaign, actor: object, numbers: list[str], context: dict[str, Any]
) -> list[TestSend]:
    """Send the campaign's message, rendered for one recipient's data exactly
    as materialisation would (the same Renderer, with the promotional
    wrapping), to some team numbers as test SMS (`campaigns.test_sends`):
    messages of the project's test outbox, never of the campaign's, so the
    campaign's statistics do not count them."""
    _check_complete_for_test(campaign)
    try:
        rendered = Renderer.for_campaign(campaign).render(context)
    except liquid.TemplateProblem as exc:
        raise CampaignProblem(str(exc)) from None
    if rendered.status != Message.Status.QUEUED:
        raise CampaignProblem(rendered.error)
    if not numbers:
        raise CampaignProblem(_("Choose at least one number to send the test to."))
    return [
        do_send_test_sms(
            campaign.project,
            actor,
            sender_number=campaign.sender_number_id,
            to=number,
            body=rendered.body,
            title=campaign.title,
        )
        for number in dict.fromkeys(numbers)
    ]


def _check_complete_for_test(campaign: Campaign) -> None:
    # A test send needs only what it sends: the readiness check's sender and
    # body parts, in its words.
    missing = [
        part for code, part in _missing(campaign) if code in ("missing_sender", "missing_body")
    ]
    if missing:
        raise CampaignProblem(
            _("A test send needs %(parts)s; save the content first.")
            % {"parts": ", ".join(missing)}
        )


# --- delete, archive, duplicate ---------------------------------------------------

ARCHIVABLE = (S.COMPLETED, S.CANCELLED)
# Copied into a duplicate. Not the file-consent confirmation: the marketer
# attests it again for the new send.
_DUPLICATED_FIELDS = (
    "segment_id",
    "audience_file_id",
    "sender_number_id",
    "body",
    "title",
    "is_promotional",
    "time_zone",
    "data",
    "frequency_cap",
)


def do_delete_draft(campaign: Campaign, actor: object) -> bool:
    """Delete a draft (with its goals and counters); False when it is no
    longer a draft (scheduled or started meanwhile): nothing was deleted."""
    with transaction.atomic():
        deleted, _by_model = Campaign.objects.filter(pk=campaign.pk, status=S.DRAFT).delete()
        if not deleted:
            return False
        do_discard_outbox(campaign.outbox_id)
        record_audit(campaign.project, actor, CampaignEvent.DELETED, campaign.name)
    return True


def do_archive_campaign(campaign: Campaign, actor: object) -> bool:
    """Put a completed or cancelled campaign away (hidden from the default
    list); False when it is not finished or already archived."""
    with transaction.atomic():
        if not Campaign.objects.filter(
            pk=campaign.pk, status__in=ARCHIVABLE, archived_at__isnull=True
        ).update(archived_at=timezone.now()):
            return False
        record_audit(campaign.project, actor, CampaignEvent.ARCHIVED, campaign.name)
    return True


def do_unarchive_campaign(campaign: Campaign, actor: object) -> bool:
    with transaction.atomic():
        if not Campaign.objects.filter(pk=campaign.pk, archived_at__isnull=False).update(
            archived_at=None
        ):
            return False
        record_audit(campaign.project, actor, CampaignEvent.UNARCHIVED, campaign.name)
    return True


@transaction.atomic
def do_duplicate_campaign(campaign: Campaign, actor: object) -> Campaign:
    """A new console draft with the campaign's audience, sender, content and
    conversion goals, whatever the original's status; to be reviewed and
    confirmed like any draft. An API campaign has no audience to copy."""
    if campaign.source == Campaign.Source.API:
        raise CampaignProblem(
            _("%(name)s was sent through the API; it has no audience to copy.")
            % {"name": campaign.name}
        )
    name = _("Copy of %(name)s") % {"name": campaign.name}
    copy = Campaign.objects.create(
        project=campaign.project,
        name=name[: Campaign._meta.get_field("name").max_length],
        created_by=actor if getattr(actor, "is_authenticated", False) else None,
        **{field: getattr(campaign, field) for field in _DUPLICATED_FIELDS},
    )
    # Conversion goals live in conversions, which copies them on this signal.
    campaign_duplicated.send(sender=Campaign, original=campaign, copy=copy)
    record_audit(
        campaign.project,
        actor,
        CampaignEvent.DUPLICATED,
        copy.name,
        campaign_id=copy.pk,
        source_campaign_id=campaign.pk,
    )
    return copy
