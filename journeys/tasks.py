"""Queue tasks of the journey runtime. Triggers only (SPEC §10): the runs
in the database are the ledger; each task is safe to run twice.

- `run_due()`: the runner. Woken by `journeys.runtime.wake_runner` (at most
  one pending), every minute by the `journeys.run_due` schedule, once at the
  next due time, and when a worker starts. One runner holds the lease at a
  time; it works until nothing is due (and a short grace), or, its time
  budget spent, enqueues a successor and works on until the successor
  starts and takes the lease (`runtime.hand_over`). On PostgreSQL it may wake helper
  runners (`JOURNEY_RUNNERS`, their own leases). It also re-enqueues a move
  between versions whose task was lost (`resume_lost_migrations`).
"""

from __future__ import annotations

import time
from datetime import timedelta

from django.conf import settings
from django.utils import timezone
from django_q.tasks import async_task

from dispatch.pipeline import process_owner
from dispatch.tasks import time_budget
from journeys import runtime, versions
from journeys.models import VersionMigration

MIGRATION_TASK = "journeys.versions.run_migration"


def resume_lost_migrations(*, restart: bool = False) -> int:
    """Enqueue again the moves between versions that no task works on: every
    unfinished one when a worker has just started (its predecessor's tasks
    died with it), else those older than a task may live (django-q2's
    timeout). Not one a live task holds (`versions.migration_is_worked_on`),
    nor, unless restarting, one enqueued again less than a task's lifetime
    ago and not started yet: the minute's schedule would otherwise queue a
    long move once a minute. A move run twice is safe: each batch is
    conditional, and a second task finds the first's claim and leaves."""
    now = timezone.now()
    unfinished = VersionMigration.objects.filter(finished_at=None)
    lifetime = timedelta(seconds=settings.Q_CLUSTER["timeout"])
    if not restart:
        unfinished = unfinished.filter(created_at__lt=now - lifetime)
    enqueued = 0
    for migration in unfinished:
        if versions.migration_is_worked_on(migration):
            continue
        waiting = not migration.owner and migration.renewed_at is not None
        if waiting and not restart and migration.renewed_at >= now - lifetime:
            continue  # enqueued again recently; its task has not started yet
        VersionMigration.objects.filter(pk=migration.pk, owner=migration.owner).update(
            owner="", renewed_at=now
        )
        async_task(MIGRATION_TASK, migration.pk)
        enqueued += 1
    return enqueued


def overtime() -> float:
    """Seconds a runner whose budget is spent works on while its successor
    waits for a worker (`runtime.hand_over`): up to 10 s before django-q2's
    timeout would kill it. 0 when tasks run inline (the successor would
    run inside it)."""
    if settings.Q_CLUSTER.get("sync"):
        return 0.0
    return max(0.0, settings.Q_CLUSTER["timeout"] - 10 - time_budget())


def remaining_time(spent: float) -> tuple[float, float]:
    """The budget and overtime left to a runner task that has worked
    `spent` seconds."""
    budget = max(0.0, time_budget() - spent)
    return budget, max(0.0, time_budget() + overtime() - spent - budget)


def run_due(restart: bool = False, lease: str = runtime.LEASE) -> str:
    """The runner (`lease`: a helper runner's, on PostgreSQL with
    `JOURNEY_RUNNERS` > 1; a helper leaves the housekeeping to the first)."""
    started = time.monotonic()
    if lease == runtime.LEASE:
        resume_lost_migrations(restart=restart)
    owner = process_owner()
    if not runtime.take_lease(owner, timezone.now(), lease):
        return "busy"
    if restart:
        runtime.release_stale_claims()
    while True:
        # A runner that took the lease back (`give_up_lease`) goes on with
        # what is left of its task's time, not a fresh budget: django-q2's
        # timeout counts from the task's start.
        budget, extra = remaining_time(time.monotonic() - started)
        try:
            result = runtime.run_until_idle(owner, budget, lease, overtime=extra)
        except BaseException:
            runtime.give_up_lease(owner, keep_pending=False, lease=lease)
            raise
        if result == "handed over":
            # Its successor is queued and will take the lease when it starts.
            runtime.give_up_lease(owner, keep_pending=True, lease=lease)
            return result
        if result == "continues":
            runtime.give_up_lease(owner, keep_pending=True, lease=lease)
            if lease == runtime.LEASE:
                async_task(runtime.RUN_TASK)
            else:
                async_task(runtime.RUN_TASK, lease=lease)
            return result
        if result == "lease lost":
            return result
        if not runtime.give_up_lease(owner, lease=lease):
            return result
