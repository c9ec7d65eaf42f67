"""What the send core tells producers. Each is sent once, by the one worker
whose conditional UPDATE moved the outbox, after that change committed.

- `outbox_paused(outbox_id, reason)`: the core paused it (no gateway).
- `sender_refused(outbox_id, reason)`: its sender may no longer send; every
  message not yet out was skipped and the outbox is closed.
- `outbox_closed(outbox_id, reason)`: a sealed outbox ran out of work.
- `outbox_idle(outbox_id)`: an open, unsealed outbox has nothing due now.
"""

from __future__ import annotations

from django.dispatch import Signal

outbox_paused = Signal()
sender_refused = Signal()
outbox_closed = Signal()
outbox_idle = Signal()
