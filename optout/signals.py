"""What optout tells higher apps; optout never imports them.

- `numbers_opted_out(sender=OptOut, project, numbers: list[str], at)`, sent
  after the transaction that put the numbers on the list commits (only the
  numbers that were not on it already), so campaigns' statistics can count
  opt-outs after a send without optout knowing of campaigns.
"""

from __future__ import annotations

from django.dispatch import Signal

numbers_opted_out = Signal()
