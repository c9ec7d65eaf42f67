"""Editing a live journey (SPEC §11): what changed between the live version
and its draft, how many runs wait at each changed or removed node, the
admin's choices, and moving the runs to the new version.

Runs move between steps only, in batches, each run by a conditional UPDATE
on its step counter and an empty claim token: a run the runner has claimed
(mid-step) is left alone and retried by the next batch; a run that took a
step since it was read is re-read. A removed node's runs either finish on
the old version (they keep it), move to a node of the new one, or exit. A
changed delay either re-times its waiting runs (those already past the new
delay move on at once) or keeps their timers. The plan is a
VersionMigration row, so a migration a crash interrupted is finished by
`run_migration` (enqueued again by `resume_migrations`).
"""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Count, F, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from dispatch.pipeline import owner_is_dead, process_owner
from journeys import counters as metrics
from journeys.graph import node_map
from journeys.models import JourneyVersion, NodeCounter, Run, VersionMigration
from journeys.runtime import wake_runner

FINISH_OLD, EXIT, MOVE = "finish_old", "exit", "move:"
RETIME, KEEP = "retime", "keep"
BATCH_SIZE = 500
BUSY_PAUSE_SECONDS = 0.05
LIVE_STATES = (Run.State.ACTIVE, Run.State.WAITING)


class MigrationChoiceInvalid(ValueError):
    """A choice that names no removed node, an unknown option, or a node the
    new version lacks; `problems` maps a node key to why."""

    def __init__(self, problems: dict[str, str]) -> None:
        super().__init__("; ".join(f"{k}: {v}" for k, v in problems.items()))
        self.problems = problems


@dataclass
class VersionDiff:
    added: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    # Changed delay nodes (their `seconds` changed): retime or keep.
    changed_delays: list[str] = field(default_factory=list)
    # Runs of the old version at each changed or removed node now.
    waiting: dict[str, int] = field(default_factory=dict)

    @property
    def is_empty(self) -> bool:
        return not (self.added or self.removed or self.changed)


def _comparable(node: dict) -> dict:
    return {k: node.get(k) for k in ("kind", "config", "next", "label")}


def diff_versions(old: JourneyVersion | None, new: JourneyVersion) -> VersionDiff:
    """Nodes added, removed and changed from `old` to `new`, and how many
    runs of `old` wait at each changed or removed node."""
    diff = VersionDiff()
    new_nodes = node_map(new.graph)
    if old is None:
        diff.added = list(new_nodes)
        return diff
    old_nodes = node_map(old.graph)
    diff.added = [key for key in new_nodes if key not in old_nodes]
    diff.removed = [key for key in old_nodes if key not in new_nodes]
    for key, node in old_nodes.items():
        if key in new_nodes and _comparable(node) != _comparable(new_nodes[key]):
            diff.changed.append(key)
            new_node = new_nodes[key]
            if node.get("kind") == new_node.get("kind") == "delay" and (
                node.get("config") or {}
            ).get("seconds") != (new_node.get("config") or {}).get("seconds"):
                diff.changed_delays.append(key)
    watched = diff.removed + diff.changed
    if watched:
        counts = (
            Run.objects.filter(version=old, state__in=LIVE_STATES, node__in=watched)
            .values_list("node")
            .annotate(n=Count("id"))
            .order_by()
        )
        found = dict(counts)
        diff.waiting = {key: found.get(key, 0) for key in watched}
    return diff


def check_choices(
    old: JourneyVersion, new: JourneyVersion, choices: dict[str, str] | None
) -> tuple[dict[str, str], dict[str, str]]:
    """The removed-node and changed-delay choices, completed with the
    defaults (finish on the old version; re-time), or MigrationChoiceInvalid."""
    choices = dict(choices or {})
    diff = diff_versions(old, new)
    new_nodes = node_map(new.graph)
    removed: dict[str, str] = {}
    delays: dict[str, str] = {}
    problems: dict[str, str] = {}
    for key, choice in choices.items():
        if key in diff.removed:
            if choice in (FINISH_OLD, EXIT):
                removed[key] = choice
            elif isinstance(choice, str) and choice.startswith(MOVE):
                target = choice[len(MOVE) :]
                if target not in new_nodes or new_nodes[target].get("kind") == "trigger":
                    problems[key] = _("The new version has no node %(node)s to move to.") % {
                        "node": target
                    }
                else:
                    removed[key] = choice
            else:
                problems[key] = _("Choose finish on the old version, move, or exit.")
        elif key in diff.changed_delays:
            if choice in (RETIME, KEEP):
                delays[key] = choice
            else:
                problems[key] = _("Choose re-time or keep.")
        else:
            problems[key] = _("%(node)s is neither a removed node nor a changed delay.") % {
                "node": key
            }
    if problems:
        raise MigrationChoiceInvalid(problems)
    for key in diff.removed:
        removed.setdefault(key, FINISH_OLD)
    for key in diff.changed_delays:
        delays.setdefault(key, RETIME)
    return removed, delays


def _bump(version_id: int, journey_id: int, node: str, metric: str, delta: int) -> None:
    if not delta:
        return
    updated = NodeCounter.objects.filter(version_id=version_id, node=node, metric=metric).update(
        value=F("value") + delta
    )
    if not updated:
        NodeCounter.objects.get_or_create(
            version_id=version_id,
            node=node,
            metric=metric,
            defaults={"journey_id": journey_id, "value": 0},
        )
        NodeCounter.objects.filter(version_id=version_id, node=node, metric=metric).update(
            value=F("value") + delta
        )


def _delay_seconds(version: JourneyVersion, key: str) -> int:
    node = node_map(version.graph).get(key) or {}
    return int((node.get("config") or {}).get("seconds") or 0)


def _move_one(migration: VersionMigration, run: Run, now: Any) -> str:
    """Move one run (read just now) by the plan: "moved", "exited", "kept"
    (finishes on the old version), or "busy" (claimed or stepped: retry)."""
    old, new = migration.from_version, migration.to_version
    base = Run.objects.filter(pk=run.pk, step=run.step, claim_token="", version=old)
    choice = migration.removed.get(run.node)
    if choice == FINISH_OLD:
        return "kept"
    fields: dict[str, Any] = {"version": new}
    if choice == EXIT:
        fields = {"state": Run.State.ENDED, "end_reason": Run.EndReason.MIGRATION_EXIT}
        fields["ended_at"] = now
        fields["due_at"] = None
        outcome = "exited"
    elif choice is not None:
        target = choice[len(MOVE) :]
        fields.update(
            node=target,
            state=Run.State.ACTIVE,
            due_at=now,
            wait_event_type="",
            wait_match="",
        )
        outcome = "moved"
    else:
        outcome = "moved"
        if migration.delays.get(run.node) == RETIME and run.due_at is not None:
            shift = _delay_seconds(new, run.node) - _delay_seconds(old, run.node)
            fields["due_at"] = max(run.due_at + timedelta(seconds=shift), now)
    with transaction.atomic():
        if not base.update(**fields):
            return "busy"
        _bump(old.pk, migration.journey_id, run.node, metrics.WAITING, -1)
        if outcome == "moved":
            target = fields.get("node", run.node)
            _bump(old.pk, migration.journey_id, run.node, metrics.MOVED_OUT, 1)
            _bump(new.pk, migration.journey_id, target, metrics.ENTERED, 1)
            _bump(new.pk, migration.journey_id, target, metrics.MOVED_IN, 1)
            _bump(new.pk, migration.journey_id, target, metrics.WAITING, 1)
        else:
            _bump(old.pk, migration.journey_id, run.node, metrics.EXITED_MIGRATION, 1)
    return outcome


def migrate_batch(migration: VersionMigration, *, batch_size: int = BATCH_SIZE) -> int:
    """Move up to `batch_size` runs still on the old version; how many were
    left behind busy (claimed mid-step or stepped since read). Runs that
    finish on the old version are skipped, so each batch makes progress."""
    finish_old = [k for k, v in migration.removed.items() if v == FINISH_OLD]
    runs = list(
        Run.objects.filter(version_id=migration.from_version_id, state__in=LIVE_STATES, pk__gt=0)
        .exclude(node__in=finish_old)
        .order_by("pk")
        .only("pk", "step", "node", "due_at", "claim_token")[:batch_size]
    )
    now = timezone.now()
    busy = 0
    moved = exited = 0
    for run in runs:
        outcome = _move_one(migration, run, now)
        busy += outcome == "busy"
        moved += outcome == "moved"
        exited += outcome == "exited"
    if moved or exited:
        VersionMigration.objects.filter(pk=migration.pk).update(
            moved=F("moved") + moved, exited=F("exited") + exited
        )
    return busy if runs else -1


def remaining(migration: VersionMigration) -> int:
    finish_old = [k for k, v in migration.removed.items() if v == FINISH_OLD]
    return (
        Run.objects.filter(version_id=migration.from_version_id, state__in=LIVE_STATES)
        .exclude(node__in=finish_old)
        .count()
    )


def run_migration(migration_id: int, *, batch_size: int = BATCH_SIZE, max_rounds: int = 0) -> bool:
    """Move the migration's runs batch by batch until none is left (a task:
    safe to run twice, or after a crash). With `max_rounds`, stop after that
    many batches. True when the migration finished."""
    migration = (
        VersionMigration.objects.select_related("from_version", "to_version")
        .filter(pk=migration_id, finished_at=None)
        .first()
    )
    if migration is None:
        return True
    owner = process_owner()
    if not claim_migration(migration, owner):
        return False  # another task, alive, works on it
    rounds = 0
    try:
        while True:
            busy = migrate_batch(migration, batch_size=batch_size)
            rounds += 1
            if busy == -1:
                break
            if max_rounds and rounds >= max_rounds:
                return False
            VersionMigration.objects.filter(pk=migration.pk, owner=owner).update(
                renewed_at=timezone.now()
            )
            if busy:
                # Runs mid-step: their worker finishes within a claim's lifetime.
                time.sleep(BUSY_PAUSE_SECONDS)
        VersionMigration.objects.filter(pk=migration.pk, finished_at=None).update(
            finished_at=timezone.now()
        )
        # Runs moved onto a node are due now: tell the runner instead of
        # leaving them to its every-minute schedule.
        wake_runner()
        return True
    finally:
        VersionMigration.objects.filter(pk=migration.pk, owner=owner).update(owner="")


def _claim_stale_before() -> dt.datetime:
    return timezone.now() - timedelta(seconds=settings.DISPATCH_CLAIM_SECONDS)


def migration_is_worked_on(migration: VersionMigration) -> bool:
    """Whether a live task holds the migration: an owner that renewed its
    claim within the claim timeout and whose process is not known dead."""
    return bool(
        migration.owner
        and migration.renewed_at is not None
        and migration.renewed_at >= _claim_stale_before()
        and not owner_is_dead(migration.owner)
    )


def claim_migration(migration: VersionMigration, owner: str) -> bool:
    """Take the migration for this task (one conditional UPDATE): unless a
    live task holds it. Two tasks of one migration never move runs at once
    (each batch would be safe, but the second only doubles the work)."""
    rows = VersionMigration.objects.filter(pk=migration.pk, finished_at=None)
    now = timezone.now()
    free = Q(owner="") | Q(owner=owner) | Q(renewed_at__lt=_claim_stale_before())
    free |= Q(renewed_at=None)
    if rows.filter(free).update(owner=owner, renewed_at=now):
        return True
    current = rows.values_list("owner", flat=True).first() or ""
    return bool(
        current
        and owner_is_dead(current)
        and rows.filter(owner=current).update(owner=owner, renewed_at=now)
    )


def resume_migrations() -> int:
    """Finish every migration a crash left unfinished; how many there were."""
    pending = list(VersionMigration.objects.filter(finished_at=None).values_list("pk", flat=True))
    for migration_id in pending:
        run_migration(migration_id)
    return len(pending)


def create_migration(
    old: JourneyVersion, new: JourneyVersion, removed: dict[str, str], delays: dict[str, str]
) -> VersionMigration:
    return VersionMigration.objects.create(
        journey_id=new.journey_id,
        from_version=old,
        to_version=new,
        removed=removed,
        delays=delays,
    )
