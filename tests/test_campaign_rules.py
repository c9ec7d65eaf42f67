"""The campaign's rules in one place (campaigns/rules.py): the actions, the
API's 409 answers and the campaign page's buttons all follow the one
transition table; one readiness check stops every path that starts work;
a scheduled campaign that is no longer ready goes back to draft with the
reason, and nothing keeps trying to start it."""

from __future__ import annotations

import ast
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest
from django.urls import reverse
from django.utils import timezone
from django.utils.module_loading import import_string
from django_q.models import Schedule

from campaigns import actions, tasks
from campaigns.actions import (
    CampaignNotReady,
    CampaignStarted,
    check_campaign_ready,
    do_cancel_campaign,
    do_complete_campaign,
    do_end_campaign,
    do_pause_campaign,
    do_pause_campaign_by_system,
    do_resume_campaign,
    do_schedule_campaign,
    do_start_campaign,
    do_unschedule_campaign,
    do_update_campaign,
)
from campaigns.api.serializers import API_VERBS, api_actions
from campaigns.models import Campaign
from campaigns.rules import TRANSITIONS, Action, allowed_actions, allows
from channels.models import OptOutNumber, SenderNumber
from dispatch.models import Message
from projects.models import AuditLog, Membership, Role
from tests.support.campaigns import add_customers, segment_campaign, sending_project
from tests.support.world import PASSWORD, make_user
from tests.test_api_auth import assert_error
from tests.test_compose import acme  # noqa: F401 (fixture)
from tests.test_send_api_support import *  # noqa: F403 (the fixtures)
from tests.test_send_api_support import Api

S = Campaign.Status
LATER = timedelta(hours=2)


def _edit(campaign: Campaign) -> bool:
    try:
        do_update_campaign(campaign, None, name="Renamed")
    except CampaignStarted:
        return False
    return True


# Every action of the table, as the code takes it.
TAKE: dict[Action, Callable[[Campaign], bool]] = {
    Action.EDIT: _edit,
    Action.SCHEDULE: lambda c: do_schedule_campaign(c, timezone.now() + LATER),
    Action.UNSCHEDULE: do_unschedule_campaign,
    Action.START: do_start_campaign,
    Action.PAUSE: do_pause_campaign,
    Action.RESUME: do_resume_campaign,
    Action.CANCEL: do_cancel_campaign,
    Action.COMPLETE: lambda c: do_complete_campaign(c.pk),
    Action.END: lambda c: do_end_campaign(c.pk, "The sender number was revoked."),
}


def _put_in(campaign: Campaign, status: str) -> Campaign:
    scheduled_at = timezone.now() + LATER if status == S.SCHEDULED else None
    Campaign.objects.filter(pk=campaign.pk).update(status=status, scheduled_at=scheduled_at)
    campaign.refresh_from_db()
    return campaign


@pytest.fixture
def project(db):
    project = sending_project("Rules")
    add_customers(project, 2)
    return project


def test_the_table_names_every_status_and_every_action_has_code():
    assert set(TAKE) == set(Action)
    statuses = {s for rule in TRANSITIONS.values() for s in rule.sources}
    statuses |= {rule.target for rule in TRANSITIONS.values() if rule.target}
    assert statuses == set(S)
    # Ended campaigns stay ended.
    assert allowed_actions(S.COMPLETED, by_people=False) == []
    assert allowed_actions(S.CANCELLED, by_people=False) == []


def test_the_table_is_the_products_lifecycle():
    # SPEC: a draft is scheduled or started; a scheduled campaign can be
    # edited, moved, unscheduled, started (at its time) or cancelled; a
    # sending one paused, cancelled, completed or ended early; the ends stay.
    assert {status: allowed_actions(status, by_people=False) for status in S} == {
        S.DRAFT: [Action.EDIT, Action.SCHEDULE, Action.START, Action.CANCEL],
        S.SCHEDULED: [
            Action.EDIT,
            Action.SCHEDULE,
            Action.UNSCHEDULE,
            Action.START,
            Action.CANCEL,
        ],
        S.SENDING: [Action.PAUSE, Action.CANCEL, Action.COMPLETE, Action.END],
        S.PAUSED: [Action.RESUME, Action.CANCEL, Action.END],
        S.COMPLETED: [],
        S.CANCELLED: [],
    }
    assert allowed_actions(S.SENDING) == [Action.PAUSE, Action.CANCEL]


@pytest.mark.parametrize("status", list(S))
@pytest.mark.parametrize("action", list(Action))
def test_each_action_moves_a_campaign_exactly_as_the_table_says(
    project, status, action, django_capture_on_commit_callbacks
):
    campaign = _put_in(segment_campaign(project), status)
    audit_before = AuditLog.objects.count()
    with django_capture_on_commit_callbacks(execute=False):
        changed = TAKE[action](campaign)
    after = Campaign.objects.get(pk=campaign.pk).status
    assert changed == allows(status, action)
    if changed:
        assert after == (TRANSITIONS[action].target or status)
        assert AuditLog.objects.count() == audit_before + 1
    else:
        assert after == status
        assert AuditLog.objects.count() == audit_before


# Writes the send core's extraction (issue 11) replaces with calls to the
# system's actions below; the coordinator empties this after that merge.


def _status_writes(path: Path) -> list[int]:
    """Lines that write a campaign's status: `Campaign.objects….update(status=…)`
    or `<…campaign>.status = …`."""
    lines = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            if node.func.attr == "update" and any(k.arg == "status" for k in node.keywords):
                base = node.func.value
                while isinstance(base, ast.Call | ast.Attribute):
                    base = base.func if isinstance(base, ast.Call) else base.value
                if isinstance(base, ast.Name) and base.id == "Campaign":
                    lines.append(node.lineno)
        elif isinstance(node, ast.Assign):
            for target in node.targets:
                if (
                    isinstance(target, ast.Attribute)
                    and target.attr == "status"
                    and isinstance(target.value, ast.Name)
                    and target.value.id.endswith("campaign")
                ):
                    lines.append(node.lineno)
    return lines


def test_only_the_campaign_actions_write_a_campaigns_status():
    root = Path(__file__).resolve().parent.parent
    writers = {
        str(path.relative_to(root)): _status_writes(path)
        for app in root.glob("*/apps.py")
        for path in app.parent.rglob("*.py")
        if "migrations" not in path.parts
    }
    writers = {path: lines for path, lines in writers.items() if lines}
    # campaigns/actions.py writes through `_move()` (rows.update(**fields)),
    # which this reading does not see; every other module must not write.
    allowed = {"campaigns/actions.py"}
    assert set(writers) <= allowed, writers


def test_the_admin_cannot_change_a_campaigns_status(client, project):
    make_user("root@munja.test", staff=True)
    assert client.login(username="root@munja.test", password=PASSWORD)
    campaign = segment_campaign(project)
    page = client.get(reverse("admin:campaigns_campaign_change", args=[campaign.pk]))
    assert page.status_code == 200
    html = page.content.decode()
    assert 'name="body"' in html  # the form is there,
    assert 'name="status"' not in html  # but not the status


# --- the system's actions, for the send core's signals ------------------------------


def test_completing_is_idempotent_and_audited_once(project):
    campaign = _put_in(segment_campaign(project), S.SENDING)
    assert do_complete_campaign(campaign.pk) is True
    assert do_complete_campaign(campaign.pk) is False
    campaign.refresh_from_db()
    assert campaign.status == S.COMPLETED and campaign.finished_at is not None
    [entry] = AuditLog.objects.filter(action="campaign.completed")
    assert (entry.actor_label, entry.detail["campaign_id"]) == ("system", campaign.pk)


def test_ending_keeps_the_reason_on_the_campaign_and_in_the_audit_log(project):
    campaign = _put_in(segment_campaign(project), S.PAUSED)
    assert do_end_campaign(campaign.pk, "The sender number was revoked.") is True
    assert do_end_campaign(campaign.pk, "again") is False
    campaign.refresh_from_db()
    assert (campaign.status, campaign.status_reason) == (
        S.COMPLETED,
        "The sender number was revoked.",
    )
    [entry] = AuditLog.objects.filter(action="campaign.ended")
    assert entry.detail["reason"] == "The sender number was revoked."


def test_a_pause_by_the_system_shows_its_reason_until_the_campaign_resumes(
    project, django_capture_on_commit_callbacks
):
    campaign = _put_in(segment_campaign(project), S.SENDING)
    assert do_pause_campaign_by_system(campaign.pk, "No gateway is configured.") is True
    assert do_pause_campaign_by_system(campaign.pk, "No gateway is configured.") is False
    campaign.refresh_from_db()
    assert (campaign.status, campaign.status_reason) == (S.PAUSED, "No gateway is configured.")
    assert AuditLog.objects.get(action="campaign.paused").detail["reason"] == (
        "No gateway is configured."
    )
    with django_capture_on_commit_callbacks(execute=False):
        assert do_resume_campaign(campaign)
    campaign.refresh_from_db()
    assert (campaign.status, campaign.status_reason) == (S.SENDING, "")


def test_the_tasks_the_actions_enqueue_by_name_exist():
    import webhooks.actions

    for name in (
        actions.PIPELINE_TASK,
        actions.SCHEDULE_TASK,
        actions.FORGET_SCHEDULE_TASK,
        webhooks.actions.DELIVERY_TASK,
    ):
        assert callable(import_string(name)), name


# --- the API's 409 answers ---------------------------------------------------------


@pytest.mark.parametrize("status", list(S))
@pytest.mark.parametrize("action", list(API_VERBS))
def test_the_api_allows_what_the_table_allows_and_names_it_in_its_409(
    api: Api, status, action, django_capture_on_commit_callbacks
):
    add_customers(api.project, 2)
    campaign = _put_in(segment_campaign(api.project), status)
    path = f"/campaigns/{campaign.pk}"
    with django_capture_on_commit_callbacks(execute=False):
        if action == Action.EDIT:
            response = api.patch(path, {"name": "Renamed"})
        elif action == Action.SCHEDULE:
            at = (timezone.now() + LATER).isoformat()
            response = api.post(f"{path}/schedule", {"at": at})
        else:
            response = api.post(f"{path}/{API_VERBS[action]}")
    if allows(status, action):
        assert response.status_code == 200, response.content
        answer = response.json()
        assert answer["allowedActions"] == api_actions(answer["status"])
        return
    error = assert_error(response, 409, "status_conflict")
    assert error["details"] == {"status": status, "allowedActions": api_actions(status)}
    assert api_actions(status) == [API_VERBS[a] for a in allowed_actions(status) if a in API_VERBS]
    for verb in api_actions(status):
        assert verb in error["message"]


# --- the campaign page's buttons -------------------------------------------------------

BUTTONS = {
    Action.EDIT: 'id="edit-campaign"',
    Action.PAUSE: 'id="pause"',
    Action.RESUME: 'id="resume"',
    Action.CANCEL: 'id="cancel"',
}


@pytest.fixture
def marketer(client, acme):  # noqa: F811
    """Acme ready to send (test_compose's world), with carol, a marketer, logged in."""
    assert client.login(username="carol@acme.test", password=PASSWORD)
    assert Membership.objects.get(project=acme.acme, user=acme.carol).role == Role.MARKETER
    return acme.acme


@pytest.mark.parametrize("status", list(S))
def test_the_campaign_page_shows_a_button_only_when_the_table_allows_it(client, marketer, status):
    campaign = _put_in(segment_campaign(marketer), status)
    page = client.get(reverse("campaign_detail", args=[marketer.id, campaign.pk])).content.decode()
    for action, button in BUTTONS.items():
        assert (button in page) == allows(status, action), (status, action)
    compose = client.get(reverse("campaign_compose", args=[marketer.id, campaign.pk]))
    if allows(status, Action.EDIT):
        html = compose.content.decode()
        assert ('id="unschedule"' in html) == allows(status, Action.UNSCHEDULE)
    else:
        assert compose.status_code == 302  # nothing left to compose: the campaign page


# --- one readiness check ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"body": "{{ name "}, "liquid_error"),
        ({"body": "{{ name | no_such_filter }}"}, "liquid_error"),
        ({"body": "세일 🎉"}, "unencodable_characters"),
        ({"title": "가" * 21}, "title_too_long"),
        ({"body": "   "}, "missing_body"),
    ],
)
def test_the_readiness_check_finds_what_stops_a_start(project, change, code):
    campaign = segment_campaign(project)
    Campaign.objects.filter(pk=campaign.pk).update(**change)
    campaign.refresh_from_db()
    assert [problem.code for problem in check_campaign_ready(campaign)] == [code]
    with pytest.raises(CampaignNotReady) as refused:
        do_start_campaign(campaign)
    assert [problem.code for problem in refused.value.problems] == [code]
    with pytest.raises(CampaignNotReady):
        do_schedule_campaign(campaign, timezone.now() + LATER)
    assert Campaign.objects.get(pk=campaign.pk).status == S.DRAFT


def test_a_promotional_campaign_needs_the_080_number_and_the_company_name(project):
    campaign = segment_campaign(project, is_promotional=True)
    assert check_campaign_ready(campaign) == []
    OptOutNumber.objects.filter(project=project).update(project=None)
    project.company_name = " "
    project.save(update_fields=["company_name"])
    campaign.refresh_from_db()
    codes = [problem.code for problem in check_campaign_ready(campaign)]
    assert codes == ["optout_number_missing", "company_name_missing"]


def test_a_sender_that_lost_its_approval_stops_the_start(project):
    campaign = segment_campaign(project)
    SenderNumber.objects.filter(project=project).update(status=SenderNumber.Status.REJECTED)
    campaign.refresh_from_db()
    assert [problem.code for problem in check_campaign_ready(campaign)] == ["sender_not_allowed"]


def test_the_compose_review_lists_the_readiness_problems(client, marketer):
    campaign = segment_campaign(marketer)
    Campaign.objects.filter(pk=campaign.pk).update(body="{{ name ")
    response = client.post(
        reverse("campaign_review", args=[marketer.id, campaign.pk]),
        {"when": "now", "time_zone": "Asia/Seoul"},
    )
    assert "Liquid error" in response.content.decode()


# --- the scheduled start of a campaign that is no longer ready ---------------------------


def _no_enqueue(monkeypatch) -> list[tuple]:
    calls: list[tuple] = []

    def record(*args: object, **kwargs: object) -> None:
        calls.append(args)

    monkeypatch.setattr(tasks, "async_task", record)
    monkeypatch.setattr("console.queue.async_task", record)
    return calls


def _scheduled_then_broken(campaign: Campaign, capture) -> str:
    """Schedule, then edit the body in the console (the compose action saves a
    body that does not compile: it is a draft's right), then let the time
    come: the scheduled moment is now in the past."""
    with capture(execute=True):
        assert do_schedule_campaign(campaign, timezone.now() + LATER)
    assert Schedule.objects.filter(func=tasks.START).count() == 1
    do_update_campaign(campaign, None, body="{{ name }}님, {% if %}")
    due = (timezone.now() - timedelta(seconds=1)).replace(microsecond=0)
    Campaign.objects.filter(pk=campaign.pk).update(scheduled_at=due)
    return due.isoformat()


def test_a_scheduled_campaign_whose_body_no_longer_compiles_goes_back_to_draft_with_the_reason(
    project, client, monkeypatch, django_capture_on_commit_callbacks
):
    campaign = segment_campaign(project)
    at = _scheduled_then_broken(campaign, django_capture_on_commit_callbacks)
    with django_capture_on_commit_callbacks(execute=True):
        outcome = tasks.start_scheduled_campaign(campaign.pk, at)
    assert outcome == S.DRAFT
    campaign.refresh_from_db()
    assert (campaign.status, campaign.scheduled_at, campaign.started_at) == (S.DRAFT, None, None)
    assert campaign.status_reason.startswith("Not started at the scheduled time.")
    assert "Liquid error at line 1" in campaign.status_reason
    assert not Message.objects.filter(outbox_id=campaign.outbox_id).exists()
    [entry] = AuditLog.objects.filter(action="campaign.unscheduled")
    assert entry.actor_label == "system"
    assert entry.detail["problems"] == ["liquid_error"]
    assert entry.detail["reason"] == campaign.status_reason
    # Nothing is left to fire, and nothing tries again: not the start task,
    # not the reconciler.
    assert not Schedule.objects.filter(func=tasks.START).exists()
    enqueued = _no_enqueue(monkeypatch)
    assert tasks.start_scheduled_campaign(campaign.pk, at) == "not scheduled"
    assert tasks.reconcile_campaigns()["started"] == 0
    assert enqueued == []
    assert AuditLog.objects.filter(action="campaign.unscheduled").count() == 1


def test_the_reason_is_shown_on_the_campaign_page_and_the_compose_screen(
    marketer, client, django_capture_on_commit_callbacks
):
    campaign = segment_campaign(marketer)
    at = _scheduled_then_broken(campaign, django_capture_on_commit_callbacks)
    with django_capture_on_commit_callbacks(execute=True):
        tasks.start_scheduled_campaign(campaign.pk, at)
    for name in ("campaign_detail", "campaign_compose"):
        page = client.get(reverse(name, args=[marketer.id, campaign.pk])).content.decode()
        assert "Not started at the scheduled time." in page, name


def test_the_reconciler_returns_a_due_campaign_that_is_not_ready_to_draft_once(
    project, monkeypatch, django_capture_on_commit_callbacks
):
    campaign = segment_campaign(project)
    _scheduled_then_broken(campaign, django_capture_on_commit_callbacks)
    with django_capture_on_commit_callbacks(execute=True):
        assert tasks.reconcile_campaigns()["started"] == 0
    assert Campaign.objects.get(pk=campaign.pk).status == S.DRAFT
    enqueued = _no_enqueue(monkeypatch)
    for _minute in range(3):
        assert tasks.reconcile_campaigns()["started"] == 0
    assert enqueued == []
    assert AuditLog.objects.filter(action="campaign.unscheduled").count() == 1


def test_a_ready_scheduled_campaign_still_starts_at_its_time(
    project, django_capture_on_commit_callbacks, monkeypatch
):
    campaign = segment_campaign(project)
    with django_capture_on_commit_callbacks(execute=True):
        assert do_schedule_campaign(campaign, timezone.now() + LATER)
    due = (timezone.now() - timedelta(seconds=1)).replace(microsecond=0)
    Campaign.objects.filter(pk=campaign.pk).update(scheduled_at=due)
    named = []
    monkeypatch.setattr("console.queue.async_task", lambda task, *a, **k: named.append(task))
    with django_capture_on_commit_callbacks(execute=False) as after_commit:
        assert tasks.start_scheduled_campaign(campaign.pk, due.isoformat()) == "started"
    assert Campaign.objects.get(pk=campaign.pk).status == S.SENDING
    # The outbox's own wake-up is the send core's; the campaign's enqueues
    # go through console.queue by name.
    for callback in after_commit:
        if callback.__qualname__.startswith("enqueue_on_commit"):
            callback()
    assert named == ["campaigns.tasks.enqueue_pipeline"]  # by name, after the commit


# --- the audit log's older entries -----------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_the_migration_renames_older_campaign_audit_entries_to_the_past_tense():
    from django.db import connection
    from django.db.migrations.executor import MigrationExecutor

    before = [("campaigns", "0005_message_no_redundant_indexes")]
    after = [("campaigns", "0006_audit_events_in_the_past_tense")]
    executor = MigrationExecutor(connection)
    executor.migrate(before)
    apps = executor.loader.project_state(before).apps
    AuditLog = apps.get_model("projects", "AuditLog")
    for action in ("campaign.start", "campaign.goals", "test_number.add", "member.invited"):
        AuditLog.objects.create(actor_label="system", action=action)
    executor = MigrationExecutor(connection)
    executor.migrate(after)
    assert sorted(AuditLog.objects.values_list("action", flat=True)) == [
        "campaign.started",
        "conversion_goals.changed",
        "member.invited",
        "test_number.added",
    ]
    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())
