"""Long tasks hand their worker on to a latency-bound task waiting for one.

The queue serves tasks in order, and the send core's long tasks (a send
chain, a campaign's materialiser) keep their worker for up to a task budget
while they have work. A producer whose work must not wait that long (the
journey runner: a message seconds after its Track call) registers a check
saying "my task is queued and has waited for a worker"; a long task asks
`HandOn.due()` between its batches (at most once a second, one cheap query
per registered check) and, when it says so, ends with "continues": its
successor is queued behind the waiting task, which takes the freed worker.
"""

from __future__ import annotations

import time
from collections.abc import Callable

_checks: list[Callable[[], bool]] = []


def register(check: Callable[[], bool]) -> None:
    """`check()`: whether a latency-bound task is waiting for a worker."""
    if check not in _checks:
        _checks.append(check)


def someone_waits() -> bool:
    return any(check() for check in _checks)


class HandOn:
    """Asked between batches of a long task: hand the worker on now?"""

    def __init__(self, every: float = 1.0) -> None:
        self.every = every
        self.next_look = time.monotonic() + every

    def due(self) -> bool:
        if not _checks or time.monotonic() < self.next_look:
            return False
        self.next_look = time.monotonic() + self.every
        return someone_waits()
