"""Queue tasks by dotted name, after the transaction commits.

Actions call `enqueue_on_commit("app.tasks.x", ...)` instead of importing the
task module: actions and tasks never import each other (tasks may call
actions), and nothing leaves the process for a write that rolls back. Like
`console/api`, this module imports no app.
"""

from __future__ import annotations

from django.db import transaction
from django_q.tasks import async_task


def enqueue_on_commit(task: str, *args: object, **kwargs: object) -> None:
    """Enqueue the task named `task` (a dotted path) once the current
    transaction commits (at once outside a transaction)."""
    if task.count(".") < 1 or not all(part.isidentifier() for part in task.split(".")):
        raise ValueError(f"not a dotted task path: {task!r}")
    transaction.on_commit(lambda: async_task(task, *args, **kwargs))
