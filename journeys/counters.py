"""Node counters (docs/journeys.md "Counters"), bumped in the transaction of
the step that changes them, so a rolled-back step leaves no count behind.

One `INSERT … ON CONFLICT DO UPDATE` per call, whatever the number of
metrics: a step's counters (the port it left by, the gauge of the node it
left and of the node it reached, an exit) cost one statement. SQLite ≥ 3.24
and PostgreSQL both speak it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

from django.db import connection

from journeys.models import NodeCounter

_TABLE = NodeCounter._meta.db_table

ENTERED = "entered"
WAITING = "waiting"
TIMED_OUT = "timed_out"
EXITED_END = "exited:end"
EXITED_EXIT_NODE = "exited:exit_node"
EXITED_EXIT_EVENT = "exited:exit_event"
EXITED_STOPPED = "exited:stopped"
EXITED_MIGRATION = "exited:migration"
# A move between versions: the run leaves its node of the old version
# (moved_out) and arrives at a node of the new one (entered and moved_in),
# so each version's counts add up: entered = ports passed + waiting +
# moved out + exited there.
MOVED_IN = "moved_in"
MOVED_OUT = "moved_out"


def port(name: str) -> str:
    return f"port:{name}"


def skipped(reason: str) -> str:
    """A send node's not-sent reason (quiet-hours skips and late sends never
    reach the outbox, so its stats cannot count them)."""
    return f"skipped:{reason}"


Delta = tuple[str, str, int]  # (node, metric, amount)


class Bumps:
    """Counter changes collected while a step is worked out, written at once."""

    def __init__(self) -> None:
        self.deltas: Counter[tuple[str, str]] = Counter()

    def add(self, node: str, metric: str, amount: int = 1) -> None:
        self.deltas[(node, metric)] += amount

    def items(self) -> list[Delta]:
        return [(node, metric, n) for (node, metric), n in self.deltas.items() if n]


def bump(journey_id: int, version_id: int, deltas: Iterable[Delta]) -> None:
    """Add each (node, metric, amount) to the version's counters."""
    merged: Counter[tuple[str, str]] = Counter()
    for node, metric, amount in deltas:
        merged[(node, metric)] += amount
    # Sorted: concurrent runners lock the counter rows in the same order.
    rows = [(node, metric, n) for (node, metric), n in sorted(merged.items()) if n]
    if not rows:
        return
    values = ", ".join(["(%s, %s, %s, %s, %s)"] * len(rows))
    params: list[object] = []
    for node, metric, amount in rows:
        params += [journey_id, version_id, node, metric, amount]
    sql = (
        f"INSERT INTO {_TABLE} (journey_id, version_id, node, metric, value) VALUES {values} "
        "ON CONFLICT (version_id, node, metric) DO UPDATE SET "
        f"value = {_TABLE}.value + excluded.value"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


def values(version_id: int) -> dict[tuple[str, str], int]:
    """Every counter of a version: (node, metric) → value."""
    return {
        (node, metric): value
        for node, metric, value in NodeCounter.objects.filter(version_id=version_id).values_list(
            "node", "metric", "value"
        )
    }
