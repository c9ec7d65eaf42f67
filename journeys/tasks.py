"""Queue tasks of the journey runtime. Triggers only (SPEC §10): the runs
in the database are the ledger; each task is safe to run twice.

- `run_due()`: the runner. Woken by `journeys.runtime.wake_runner` (at most
  one pending), every minute by the `journeys.run_due` schedule, once at the
  next due time, and when a worker starts. One runner holds the lease at a
  time; it works until nothing is due (and a short grace), or hands on to a
  successor when its time budget is spent.
"""

from __future__ import annotations

from django.utils import timezone
from django_q.tasks import async_task

from dispatch.pipeline import process_owner
from dispatch.tasks import time_budget
from journeys import runtime


def run_due(restart: bool = False) -> str:
    owner = process_owner()
    if not runtime.take_lease(owner, timezone.now()):
        return "busy"
    if restart:
        runtime.release_stale_claims()
    while True:
        try:
            result = runtime.run_until_idle(owner, time_budget())
        except BaseException:
            runtime.give_up_lease(owner, keep_pending=False)
            raise
        if result == "continues":
            runtime.give_up_lease(owner, keep_pending=True)
            async_task(runtime.RUN_TASK)
            return result
        if result == "lease lost":
            return result
        if not runtime.give_up_lease(owner):
            return result
