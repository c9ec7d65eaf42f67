"""Every write to a journey outside the runtime: create, save the draft,
publish (with the migration choices of a live journey), and the status
moves activate, pause, resume and stop.

A journey's status changes only here, through the one table `TRANSITIONS`:
a conditional UPDATE whose allowed source statuses come from the table, so
of two racing clicks one wins, always with an audit entry. What a status
means for the runs (a paused journey takes no step, a resumed one skips
sends overdue by more than the late tolerance) is the runner's: it reads
`Journey.status`.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from django.db import transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext as _

from console.queue import enqueue_on_commit
from dispatch.models import SendingPolicy
from journeys import versions
from journeys.graph import Problem, validate
from journeys.models import Journey, JourneyVersion, Run
from projects.actions import record_audit
from projects.models import Project

S = Journey.Status
MIGRATION_TASK = "journeys.versions.run_migration"


class JourneyEvent(StrEnum):
    """Audit log actions of journeys, in the past tense like the rest."""

    CREATED = "journey.created"
    PUBLISHED = "journey.published"
    CAP_OVERRIDDEN = "journey.cap_overridden"
    ACTIVATED = "journey.activated"
    PAUSED = "journey.paused"
    RESUMED = "journey.resumed"
    STOPPED = "journey.stopped"


class Action(StrEnum):
    ACTIVATE = "activate"
    PAUSE = "pause"
    RESUME = "resume"
    STOP = "stop"


@dataclass(frozen=True)
class Transition:
    sources: frozenset[str]
    target: str
    event: JourneyEvent


TRANSITIONS: dict[Action, Transition] = {
    Action.ACTIVATE: Transition(frozenset({S.DRAFT}), S.ACTIVE, JourneyEvent.ACTIVATED),
    Action.PAUSE: Transition(frozenset({S.ACTIVE}), S.PAUSED, JourneyEvent.PAUSED),
    Action.RESUME: Transition(frozenset({S.PAUSED}), S.ACTIVE, JourneyEvent.RESUMED),
    Action.STOP: Transition(
        frozenset({S.DRAFT, S.ACTIVE, S.PAUSED}), S.STOPPED, JourneyEvent.STOPPED
    ),
}


def allowed_actions(status: str) -> list[Action]:
    return [action for action, rule in TRANSITIONS.items() if status in rule.sources]


class JourneyProblem(ValueError):
    """A journey that cannot be changed as asked; the message says why."""


class JourneyInvalid(JourneyProblem):
    """The draft has validation problems (`problems`)."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__(
            _("The journey has %(count)d problems to fix first.") % {"count": len(problems)}
        )


def default_graph() -> dict[str, Any]:
    return {
        "nodes": [
            {
                "key": "start",
                "kind": "trigger",
                "label": "",
                "config": {"type": "event", "event": "", "where": []},
                "next": {"next": "end"},
            },
            {"key": "end", "kind": "exit", "config": {}, "next": {}},
        ]
    }


def _audit(journey: Journey, actor: object, event: JourneyEvent, **detail: object) -> None:
    record_audit(journey.project, actor, event, journey.name, journey_id=journey.pk, **detail)


def _user(actor: object) -> Any:
    return actor if getattr(actor, "is_authenticated", False) else None


@transaction.atomic
def do_create_journey(project: Project, name: str, actor: object = None) -> Journey:
    """A draft journey with its first draft version (a trigger and an exit)."""
    name = (name or "").strip()
    if not name:
        raise JourneyProblem(_("Give the journey a name."))
    journey = Journey.objects.create(project=project, name=name[:200], created_by=_user(actor))
    JourneyVersion.objects.create(journey=journey, number=1, graph=default_graph(), settings={})
    _audit(journey, actor, JourneyEvent.CREATED)
    return journey


def draft_of(journey: Journey) -> JourneyVersion | None:
    return journey.versions.filter(state=JourneyVersion.State.DRAFT).first()


def do_open_draft(journey: Journey, actor: object = None) -> JourneyVersion:
    """The journey's draft: the one there is, or the next version, copied
    from the live one (node keys kept)."""
    with transaction.atomic():
        Journey.objects.select_for_update().filter(pk=journey.pk).first()
        draft = draft_of(journey)
        if draft is not None:
            return draft
        if journey.status == S.STOPPED:
            raise JourneyProblem(_("A stopped journey cannot be edited."))
        source = journey.live_version or journey.versions.order_by("-number").first()
        number = (journey.versions.aggregate(n=Max("number"))["n"] or 0) + 1
        return JourneyVersion.objects.create(
            journey=journey,
            number=number,
            graph=copy.deepcopy(source.graph) if source else default_graph(),
            settings=copy.deepcopy(source.settings) if source else {},
        )


def do_save_draft(
    journey: Journey,
    graph: dict | None = None,
    settings: dict | None = None,
    actor: object = None,
) -> JourneyVersion:
    """Write the draft's graph and/or settings (opening the draft of the next
    version when there is none). A draft may have problems; publish checks."""
    if graph is not None and not isinstance(graph, dict):
        raise JourneyProblem(_("The graph must be an object with a list of nodes."))
    if settings is not None and not isinstance(settings, dict):
        raise JourneyProblem(_("The settings must be an object."))
    draft = do_open_draft(journey, actor)
    if graph is not None:
        draft.graph = graph
    if settings is not None:
        draft.settings = settings
    draft.save(update_fields=["graph", "settings"])
    return draft


def check_draft(journey: Journey) -> list[Problem]:
    draft = draft_of(journey)
    if draft is None:
        return []
    return validate(draft.graph, draft.settings, project=journey.project)


def _project_cap(project: Project) -> int | None:
    policy = SendingPolicy.objects.filter(project=project).first()
    return policy.frequency_cap if policy and policy.frequency_cap else None


def do_publish(
    journey: Journey, actor: object = None, choices: dict[str, str] | None = None
) -> JourneyVersion:
    """Publish the draft: it becomes the live version new runs enter, the
    previous live one is retired, and its runs move as `choices` say
    (versions.check_choices; the defaults are finish on the old version and
    re-time). Raises JourneyInvalid, JourneyProblem or
    versions.MigrationChoiceInvalid."""
    given = journey
    with transaction.atomic():
        journey = Journey.objects.select_for_update().select_related("project").get(pk=journey.pk)
        draft = draft_of(journey)
        if draft is None:
            raise JourneyProblem(_("There is no draft to publish."))
        if journey.status == S.STOPPED:
            raise JourneyProblem(_("A stopped journey cannot be published."))
        problems = validate(draft.graph, draft.settings, project=journey.project)
        if problems:
            raise JourneyInvalid(problems)
        previous = journey.live_version
        plan = versions.check_choices(previous, draft, choices) if previous else None
        diff = versions.diff_versions(previous, draft)
        now = timezone.now()
        draft.state = JourneyVersion.State.PUBLISHED
        draft.published_at = now
        draft.published_by = _user(actor)
        draft.save(update_fields=["state", "published_at", "published_by"])
        if previous is not None:
            JourneyVersion.objects.filter(pk=previous.pk).update(state=JourneyVersion.State.RETIRED)
        journey.live_version = draft
        journey.save(update_fields=["live_version", "updated_at"])
        _audit(
            journey,
            actor,
            JourneyEvent.PUBLISHED,
            version=draft.number,
            added=diff.added if previous else [],
            removed=diff.removed,
            changed=diff.changed,
            choices={**plan[0], **plan[1]} if plan else {},
        )
        cap = draft.settings.get("frequency_cap")
        old_cap = previous.settings.get("frequency_cap") if previous else None
        if cap is not None and cap != _project_cap(journey.project) and cap != old_cap:
            _audit(
                journey,
                actor,
                JourneyEvent.CAP_OVERRIDDEN,
                version=draft.number,
                frequency_cap=cap,
                project_cap=_project_cap(journey.project),
            )
        if previous is not None:
            migration = versions.create_migration(previous, draft, *plan)
            enqueue_on_commit(MIGRATION_TASK, migration.pk)
    given.live_version = draft
    return draft


def _move(journey: Journey, action: Action, actor: object, **fields: Any) -> bool:
    rule = TRANSITIONS[action]
    with transaction.atomic():
        moved = Journey.objects.filter(pk=journey.pk, status__in=rule.sources).update(
            status=rule.target, updated_at=timezone.now(), **fields
        )
        if moved:
            _audit(journey, actor, rule.event, **{k: str(v) for k, v in fields.items()})
    if moved:
        journey.refresh_from_db()
    return bool(moved)


def _refuse(journey: Journey, action: Action) -> None:
    raise JourneyProblem(
        _("A journey that is %(status)s cannot be %(action)s.")
        % {"status": journey.get_status_display().lower(), "action": _action_words()[action]}
    )


def _action_words() -> dict[Action, str]:
    return {
        Action.ACTIVATE: _("activated"),
        Action.PAUSE: _("paused"),
        Action.RESUME: _("resumed"),
        Action.STOP: _("stopped"),
    }


def _wake_runner() -> None:
    try:
        from journeys.runtime import wake_runner
    except ImportError:
        return
    transaction.on_commit(wake_runner)


def do_activate(
    journey: Journey, actor: object = None, *, enter_current_members: bool = False
) -> bool:
    """draft → active. Needs a published version (publish first)."""
    if journey.live_version_id is None:
        raise JourneyProblem(_("Publish the journey before activating it."))
    if not _move(journey, Action.ACTIVATE, actor, activated_at=timezone.now()):
        _refuse(journey, Action.ACTIVATE)
    try:
        from journeys.triggers import on_activated
    except ImportError:
        on_activated = None
    if on_activated is not None:
        on_activated(journey, enter_current_members=enter_current_members)
    _wake_runner()
    return True


def do_pause(journey: Journey, actor: object = None) -> bool:
    """active → paused: no entry, no step until resumed (the runner's)."""
    if not _move(journey, Action.PAUSE, actor, paused_at=timezone.now()):
        _refuse(journey, Action.PAUSE)
    return True


def do_resume(journey: Journey, actor: object = None) -> bool:
    """paused → active; sends overdue by more than the late tolerance are
    skipped by the runner. Runs waiting for an event that arrived during the
    pause, before their timeout, take their `event` port first."""
    if journey.status == S.PAUSED and journey.paused_at is not None:
        try:
            from journeys.runtime import apply_events_after_pause
        except ImportError:
            pass
        else:
            apply_events_after_pause(journey, journey.paused_at)
    if not _move(journey, Action.RESUME, actor):
        _refuse(journey, Action.RESUME)
    _wake_runner()
    return True


def do_stop(journey: Journey, actor: object = None) -> bool:
    """→ stopped, for good: runs not in the middle of a step end now (the
    runner ends the others when it sees the status)."""
    now = timezone.now()
    if not _move(journey, Action.STOP, actor, stopped_at=now):
        _refuse(journey, Action.STOP)
    Run.objects.filter(journey=journey, state__in=versions.LIVE_STATES, claim_token="").update(
        state=Run.State.ENDED, end_reason=Run.EndReason.STOPPED, ended_at=now, due_at=None
    )
    return True
