"""The campaign's rules in one place: which action may move a campaign from
which status to which, and the names of the audit events those moves record.

`campaigns/actions.py` makes every status change through this table (a
conditional UPDATE whose `status__in` comes from `TRANSITIONS`); the API's
409 answers name the actions `allowed_actions()` gives for the current
status; the campaign page shows a button only when `allows()` says so. A
test holds all three to the table (tests/test_campaign_rules.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from campaigns.models import Campaign

S = Campaign.Status


class Action(StrEnum):
    """What may happen to a campaign. People (console, API) take the
    `by_people` ones; the system takes the rest (the send core's signals,
    the scheduled start)."""

    EDIT = "edit"
    SCHEDULE = "schedule"
    UNSCHEDULE = "unschedule"
    START = "start"
    PAUSE = "pause"
    RESUME = "resume"
    CANCEL = "cancel"
    # The system's: all messages are final; or the campaign ends early with a
    # reason (the sender was refused mid-send).
    COMPLETE = "complete"
    END = "end"


@dataclass(frozen=True)
class Transition:
    sources: frozenset[str]
    # None: the status stays (an edit changes fields, not the status).
    target: str | None
    by_people: bool = True


TRANSITIONS: dict[Action, Transition] = {
    Action.EDIT: Transition(frozenset({S.DRAFT, S.SCHEDULED}), None),
    Action.SCHEDULE: Transition(frozenset({S.DRAFT, S.SCHEDULED}), S.SCHEDULED),
    # Also the system's, with a reason, when a scheduled start finds the
    # campaign not ready: it goes back to draft for the marketer to fix.
    Action.UNSCHEDULE: Transition(frozenset({S.SCHEDULED}), S.DRAFT),
    Action.START: Transition(frozenset({S.DRAFT, S.SCHEDULED}), S.SENDING),
    # Also the system's, with a reason (e.g. no gateway configured).
    Action.PAUSE: Transition(frozenset({S.SENDING}), S.PAUSED),
    Action.RESUME: Transition(frozenset({S.PAUSED}), S.SENDING),
    Action.CANCEL: Transition(frozenset({S.DRAFT, S.SCHEDULED, S.SENDING, S.PAUSED}), S.CANCELLED),
    Action.COMPLETE: Transition(frozenset({S.SENDING}), S.COMPLETED, by_people=False),
    Action.END: Transition(frozenset({S.SENDING, S.PAUSED}), S.COMPLETED, by_people=False),
}


def sources(action: Action) -> frozenset[str]:
    """The statuses `action` may start from: the `status__in` of its UPDATE."""
    return TRANSITIONS[action].sources


def allows(status: str, action: Action | str) -> bool:
    return status in TRANSITIONS[Action(action)].sources


def allowed_actions(status: str, *, by_people: bool = True) -> list[Action]:
    """What may be done to a campaign in `status`, in the table's order
    (the people's actions only, unless `by_people=False`)."""
    return [
        action
        for action, rule in TRANSITIONS.items()
        if status in rule.sources and (rule.by_people or not by_people)
    ]


def allowed_targets(status: str) -> set[str]:
    """The statuses a campaign in `status` may move to."""
    return {
        rule.target
        for rule in TRANSITIONS.values()
        if status in rule.sources and rule.target is not None and rule.target != status
    }


class CampaignEvent(StrEnum):
    """Audit log actions of campaigns, in the past tense like the rest of the
    audit log (project.created, member.invited)."""

    CREATED = "campaign.created"
    UPDATED = "campaign.updated"
    SCHEDULED = "campaign.scheduled"
    UNSCHEDULED = "campaign.unscheduled"
    STARTED = "campaign.started"
    PAUSED = "campaign.paused"
    RESUMED = "campaign.resumed"
    CANCELLED = "campaign.cancelled"
    COMPLETED = "campaign.completed"
    ENDED = "campaign.ended"
    DELETED = "campaign.deleted"
    ARCHIVED = "campaign.archived"
    UNARCHIVED = "campaign.unarchived"
    DUPLICATED = "campaign.duplicated"
    TEST_NUMBER_ADDED = "test_number.added"
    TEST_NUMBER_REMOVED = "test_number.removed"
    TEST_SMS_SENT = "test_sms.sent"
