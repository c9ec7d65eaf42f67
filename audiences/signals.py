"""What audiences tells higher apps; audiences never imports them.

- `events_tracked(sender=Customer, project, event_ids: list[int])`, sent after
  the transaction that stored the events commits, so conversions can
  attribute them without audiences knowing of campaigns.
"""

from __future__ import annotations

from django.dispatch import Signal

events_tracked = Signal()
