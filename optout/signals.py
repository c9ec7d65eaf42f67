"""What optout tells higher apps; optout never imports them.

- `numbers_opted_out(sender=OptOut, project, numbers: list[str], at)`, sent
  after the transaction that put the numbers on the list commits (only the
  numbers that were not on it already), so campaigns' statistics can count
  opt-outs after a send without optout knowing of campaigns.
- `list_changed(sender=OptOutChange, project, numbers: list[str],
  subscribed: bool, source: str, actor_label: str, at)`, sent INSIDE the
  transaction that wrote the history rows, once per batch of changed numbers
  (every path — 080 call, API, console, import — goes through it), so a
  receiver's records (the consent history) commit or roll back with them.
"""

from __future__ import annotations

from django.dispatch import Signal

numbers_opted_out = Signal()
list_changed = Signal()
