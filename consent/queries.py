"""Read-only queries over the consent history and the notice schedule."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import Count, QuerySet, Sum
from django.utils import timezone

from audiences.models import Customer
from channels.queries import default_sender, project_optout_number
from consent.models import PRODUCER, ConsentChange, Notice, NoticeSettings
from consent.texts import DEFAULT_TEXTS, REMINDER, RESULT
from dispatch.models import SKIP_REASONS, OutboxStats
from projects.models import Project

PAGE_NOTICES = 50


def customer_history(customer: Customer) -> QuerySet[ConsentChange]:
    """The user's consent history, newest first."""
    return ConsentChange.objects.filter(customer=customer).order_by("-id")


def project_history(project: Project) -> QuerySet[ConsentChange]:
    return ConsentChange.objects.filter(project=project).order_by("id")


def customer_notices(customer: Customer) -> QuerySet[Notice]:
    """The user's notices that still count (not superseded), newest first."""
    return Notice.objects.filter(customer=customer, superseded=False).order_by("-due_at", "-id")


@dataclass(frozen=True)
class NoticeConfig:
    result_enabled: bool
    reminder_enabled: bool
    result_text: str
    reminder_text: str
    customised: dict[str, bool]
    optout_number: str

    def enabled_kinds(self) -> list[str]:
        return [
            kind
            for kind, on in ((RESULT, self.result_enabled), (REMINDER, self.reminder_enabled))
            if on
        ]

    def text(self, kind: str) -> str:
        return self.result_text if kind == RESULT else self.reminder_text


def notice_config(project: Project) -> NoticeConfig:
    """The project's switches and texts, defaults filled in. Without saved
    settings both kinds are on when the project has an 080 number (which
    every project sending promotions has) and off otherwise."""
    optout = project_optout_number(project)
    number = optout.number if optout is not None else ""
    saved = NoticeSettings.objects.filter(project=project).first()
    if saved is None:
        on = optout is not None
        return NoticeConfig(on, on, DEFAULT_TEXTS[RESULT], DEFAULT_TEXTS[REMINDER], {}, number)
    return NoticeConfig(
        saved.result_enabled,
        saved.reminder_enabled,
        saved.result_text or DEFAULT_TEXTS[RESULT],
        saved.reminder_text or DEFAULT_TEXTS[REMINDER],
        {RESULT: bool(saved.result_text), REMINDER: bool(saved.reminder_text)},
        number,
    )


def due_notices(
    project: Project, until: datetime, kinds: list[str] | None = None
) -> QuerySet[Notice]:
    """The notices to send by `until`, oldest due first: due, not superseded,
    of the kinds switched on (all kinds when `kinds` is None)."""
    notices = Notice.objects.filter(
        project=project, state=Notice.State.DUE, superseded=False, due_at__lte=until
    )
    if kinds is not None:
        notices = notices.filter(kind__in=kinds)
    return notices.order_by("due_at", "id")


def upcoming_notices(project: Project, days: int = 30) -> QuerySet[Notice]:
    """Due in the next `days` days (and overdue ones), for the console."""
    return due_notices(project, timezone.now() + timedelta(days=days)).select_related("customer")


def impossible_notices(project: Project) -> QuerySet[Notice]:
    return (
        Notice.objects.filter(project=project, state=Notice.State.IMPOSSIBLE, superseded=False)
        .select_related("customer")
        .order_by("-due_at", "-id")
    )


def notice_counts(project: Project) -> dict[str, dict[str, int]]:
    """{kind: {state: count}} of the notices that count (not superseded)."""
    counts: dict[str, dict[str, int]] = {
        kind: dict.fromkeys(Notice.State.values, 0) for kind in Notice.Kind.values
    }
    rows = (
        Notice.objects.filter(project=project, superseded=False)
        .values("kind", "state")
        .annotate(n=Count("id"))
    )
    for row in rows:
        counts[row["kind"]][row["state"]] = row["n"]
    return counts


def notices_in(project: Project, states: list[str]) -> QuerySet[Notice]:
    """Notices that count in these states, latest first (sent, failed lists)."""
    return (
        Notice.objects.filter(project=project, state__in=states, superseded=False)
        .select_related("customer")
        .order_by("-sent_at", "-due_at", "-id")
    )


STAT_FIELDS = ("recipients", "queued", "sent", "delivered", "failed", "held_night_time", "sent_lms")


def notice_statistics(project: Project) -> dict[str, int]:
    """The send core's counters over the project's consent outboxes, as for
    any message: handed over, still to go, sent, delivered, failed, skipped,
    held at night."""
    stats = OutboxStats.objects.filter(
        outbox__project=project, outbox__producer_kind=PRODUCER
    ).aggregate(
        **{name: Sum(name) for name in STAT_FIELDS},
        **{f"skipped_{r}": Sum(f"skipped_{r}") for r in SKIP_REASONS},
    )
    totals = {name: stats[name] or 0 for name in STAT_FIELDS}
    totals["skipped"] = sum(stats[f"skipped_{r}"] or 0 for r in SKIP_REASONS)
    return totals


def sending_blocked(project: Project) -> bool:
    """True when due notices cannot go: no approved sender number."""
    return default_sender(project) is None
