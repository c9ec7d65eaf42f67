"""Every write to campaigns outside the dispatch pipeline: create, schedule,
start, pause, resume, cancel. Status changes are conditional UPDATEs, so two
clicks (or a click and a task) cannot both win; queue work is enqueued only
after the transaction commits."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from audiences.models import AudienceFile, Segment
from campaigns.materialise import sync_outbox
from campaigns.models import Campaign, TestNumber
from campaigns.rendering import Renderer
from channels.actions import do_send_test_sms
from channels.queries import project_optout_number, sendable_sender
from console.lib import liquid
from dispatch.actions import do_close_outbox, do_open_outbox, do_pause_outbox
from dispatch.models import Message
from projects.actions import record_audit
from projects.models import Project

S = Campaign.Status


class CampaignProblem(ValueError):
    """A campaign that cannot be created or moved as asked; the message says why."""


class CampaignStarted(CampaignProblem):
    """The campaign is no longer a draft or scheduled: it cannot be edited."""


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
    record_audit(project, actor, "campaign.create", campaign.name, campaign_id=campaign.pk)
    return campaign


def check_promotable(project: Project) -> None:
    """A promotional message starts with (광고) + the company name and ends with
    the free opt-out line on the project's own 080 number: both must exist."""
    if project_optout_number(project) is None:
        raise CampaignProblem(
            _("A promotional campaign needs the project's 080 opt-out number; none is assigned.")
        )
    if not project.company_name.strip():
        raise CampaignProblem(
            _("A promotional campaign needs the company name of the business registration.")
        )


def missing_parts(campaign: Campaign) -> list[str]:
    """What a campaign still lacks before it can be scheduled or started."""
    missing = []
    if campaign.source == Campaign.Source.CONSOLE and not (
        campaign.segment_id or campaign.audience_file_id
    ):
        missing.append(_("an audience"))
    if not campaign.sender_number_id:
        missing.append(_("a sender number"))
    if not campaign.body.strip():
        missing.append(_("a message body"))
    if (
        campaign.is_promotional
        and campaign.audience_file_id
        and not campaign.file_consent_confirmed
    ):
        missing.append(_("confirmation that every number in the file consented to promotions"))
    return missing


def _check_complete(campaign: Campaign) -> None:
    missing = missing_parts(campaign)
    if missing:
        raise CampaignProblem(
            _("The campaign cannot go yet: it needs %(parts)s.") % {"parts": ", ".join(missing)}
        )


def do_start_campaign(
    campaign: Campaign, actor: object = None, *, expected_at: datetime | None = None
) -> bool:
    """draft/scheduled → sending, then materialise and send. With
    `expected_at`, only a campaign still scheduled for that moment starts."""
    _check_complete(campaign)
    sendable_sender(campaign.project, campaign.sender_number_id)
    with transaction.atomic():
        rows = Campaign.objects.filter(pk=campaign.pk, status__in=[S.DRAFT, S.SCHEDULED])
        if expected_at is not None:
            rows = rows.filter(status=S.SCHEDULED, scheduled_at=expected_at)
        now = timezone.now()
        if not rows.update(status=S.SENDING, started_at=now, heartbeat_at=now):
            return False
        sync_outbox(campaign)
        do_open_outbox(campaign.outbox_id)
        record_audit(campaign.project, actor, "campaign.start", campaign.name)
        transaction.on_commit(lambda: _enqueue(campaign.pk))
    return True


def _enqueue(campaign_id: int) -> None:
    from campaigns.tasks import enqueue_pipeline

    enqueue_pipeline(campaign_id)


def do_schedule_campaign(campaign: Campaign, at: datetime, actor: object = None) -> bool:
    """draft/scheduled → scheduled at `at` (an edit re-schedules; the old
    start task sees a different time and does nothing)."""
    if at <= timezone.now():
        raise CampaignProblem(_("The scheduled time must be in the future."))
    _check_complete(campaign)
    sendable_sender(campaign.project, campaign.sender_number_id)
    with transaction.atomic():
        if not Campaign.objects.filter(pk=campaign.pk, status__in=[S.DRAFT, S.SCHEDULED]).update(
            status=S.SCHEDULED, scheduled_at=at
        ):
            return False
        record_audit(campaign.project, actor, "campaign.schedule", campaign.name, at=at.isoformat())

        def enqueue() -> None:
            from campaigns.tasks import schedule_start

            schedule_start(campaign.pk, at)

        transaction.on_commit(enqueue)
    return True


def do_pause_campaign(campaign: Campaign, actor: object = None) -> bool:
    """sending → paused: batches in flight finish, nothing new is claimed."""
    with transaction.atomic():
        if not Campaign.objects.filter(pk=campaign.pk, status=S.SENDING).update(status=S.PAUSED):
            return False
        do_pause_outbox(campaign.outbox_id)
        record_audit(campaign.project, actor, "campaign.pause", campaign.name)
    return True


def do_resume_campaign(campaign: Campaign, actor: object = None) -> bool:
    with transaction.atomic():
        if not Campaign.objects.filter(pk=campaign.pk, status=S.PAUSED).update(
            status=S.SENDING, status_reason="", heartbeat_at=timezone.now()
        ):
            return False
        do_open_outbox(campaign.outbox_id)
        record_audit(campaign.project, actor, "campaign.resume", campaign.name)
        transaction.on_commit(lambda: _enqueue(campaign.pk))
    return True


def do_cancel_campaign(campaign: Campaign, actor: object = None) -> bool:
    """Any state before the end → cancelled; messages not yet claimed are
    skipped (`cancelled`), a batch in flight finishes."""
    with transaction.atomic():
        if not Campaign.objects.filter(
            pk=campaign.pk, status__in=[S.DRAFT, S.SCHEDULED, S.SENDING, S.PAUSED]
        ).update(status=S.CANCELLED, finished_at=timezone.now()):
            return False
        skipped = skip_cancelled_messages(campaign.pk)
        record_audit(campaign.project, actor, "campaign.cancel", campaign.name, skipped=skipped)
    return True


def skip_cancelled_messages(campaign_id: int) -> int:
    """Close the campaign's outbox: what is still queued is skipped."""
    outbox_id = Campaign.objects.values_list("outbox_id", flat=True).get(pk=campaign_id)
    return do_close_outbox(outbox_id, skip_reason=Message.SkipReason.CANCELLED)


# --- compose: drafts saved step by step ------------------------------------------

EDITABLE = (S.DRAFT, S.SCHEDULED)
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
    record_audit(project, actor, "campaign.create", campaign.name, campaign_id=campaign.pk)
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
        if not Campaign.objects.filter(pk=campaign.pk, status__in=EDITABLE).update(**fields):
            raise CampaignStarted(
                _("The campaign has already started; it can no longer be changed.")
            )
        record_audit(project, actor, "campaign.update", campaign.name, fields=sorted(changes))
    return campaign


def do_unschedule_campaign(campaign: Campaign, actor: object = None) -> bool:
    """scheduled → draft: the start task finds it no longer scheduled."""
    with transaction.atomic():
        if not Campaign.objects.filter(pk=campaign.pk, status=S.SCHEDULED).update(
            status=S.DRAFT, scheduled_at=None
        ):
            return False
        record_audit(campaign.project, actor, "campaign.unschedule", campaign.name)
    return True


@transaction.atomic
def do_set_conversion_goals(campaign: Campaign, actor: object, goals: list[dict[str, Any]]) -> None:
    """Replace the campaign's conversion goals (up to 5, validated by the
    compose form) while it has not started: nothing has been counted yet."""
    # conversions reads campaigns; compose is the one place that writes its
    # goals, through this action, before any conversion exists.
    from conversions.models import MAX_GOALS_PER_CAMPAIGN, ConversionGoal

    if len(goals) > MAX_GOALS_PER_CAMPAIGN:
        raise CampaignProblem(
            _("A campaign has at most %(count)d conversion goals.")
            % {"count": MAX_GOALS_PER_CAMPAIGN}
        )
    editable = Campaign.objects.select_for_update().filter(pk=campaign.pk, status__in=EDITABLE)
    if not editable.exists():
        raise CampaignProblem(_("The campaign has already started; it can no longer be changed."))
    ConversionGoal.objects.filter(campaign=campaign).delete()
    ConversionGoal.objects.bulk_create(
        ConversionGoal(campaign=campaign, position=position, **goal)
        for position, goal in enumerate(goals, start=1)
    )
    record_audit(
        campaign.project,
        actor,
        "campaign.goals",
        campaign.name,
        goals=[goal["event_name"] for goal in goals],
    )


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
        record_audit(project, actor, "test_number.add", phone_number, label=label)
    return number


def do_remove_test_number(number: TestNumber, actor: object) -> None:
    with transaction.atomic():
        number.delete()
        record_audit(number.project, actor, "test_number.remove", number.phone_number)


def do_send_campaign_test(
    campaign: Campaign, actor: object, numbers: list[str], context: dict[str, Any]
) -> list[Any]:
    """Send the campaign's message, rendered for one recipient's data exactly
    as dispatch would (the same Renderer, with the promotional wrapping), to
    some team numbers through the test-SMS pipeline: it never becomes a
    campaign Message, so the campaign's statistics do not count it."""
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
    missing = []
    if not campaign.sender_number_id:
        missing.append(_("a sender number"))
    if not campaign.body.strip():
        missing.append(_("a message body"))
    if missing:
        raise CampaignProblem(
            _("A test send needs %(parts)s; save the content first.")
            % {"parts": ", ".join(missing)}
        )


# send-core signal handlers; rules helper owns the final form


def do_complete_campaign(campaign_id: int) -> bool:
    """sending → completed: its outbox ran out of work."""
    with transaction.atomic():
        campaign = Campaign.objects.select_related("project").filter(pk=campaign_id).first()
        if campaign is None or not Campaign.objects.filter(pk=campaign_id, status=S.SENDING).update(
            status=S.COMPLETED, finished_at=timezone.now()
        ):
            return False
        record_audit(campaign.project, None, "campaign.complete", campaign.name)
    return True


def do_end_campaign(campaign_id: int, reason: str, *, actor: object = None) -> bool:
    """sending/paused → completed with a reason (the sender was refused mid-send)."""
    with transaction.atomic():
        campaign = Campaign.objects.select_related("project").filter(pk=campaign_id).first()
        if campaign is None or not Campaign.objects.filter(
            pk=campaign_id, status__in=[S.SENDING, S.PAUSED]
        ).update(status=S.COMPLETED, finished_at=timezone.now(), status_reason=reason[:255]):
            return False
        record_audit(campaign.project, actor, "campaign.end", campaign.name, reason=reason)
    return True


def do_pause_campaign_by_system(campaign_id: int, reason: str) -> bool:
    """sending → paused with a reason (no gateway to send with)."""
    with transaction.atomic():
        campaign = Campaign.objects.select_related("project").filter(pk=campaign_id).first()
        if campaign is None or not Campaign.objects.filter(pk=campaign_id, status=S.SENDING).update(
            status=S.PAUSED, status_reason=reason[:255]
        ):
            return False
        do_pause_outbox(campaign.outbox_id, reason)
        record_audit(campaign.project, None, "campaign.pause", campaign.name, reason=reason)
    return True
