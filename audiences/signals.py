"""What audiences tells higher apps; audiences never imports them.

- `events_tracked(sender=Customer, project, event_ids: list[int])`, sent after
  the transaction that stored the events commits, so conversions can
  attribute them without audiences knowing of campaigns.
- `consents_changed(sender=Customer, project, changes: list[ConsentFlagChange],
  source: str, actor_label: str, at: datetime)`, sent INSIDE the transaction
  that changed the flags (only when a flag or its date actually changed), so
  a receiver's records (the consent history) commit or roll back with them.
  `source` is "track", "console" or "seed".
- `customers_changed(sender=Customer, project, customer_ids: list[int], at)`,
  sent after the transaction commits, once per write, naming the users whose
  attributes, tags, events or consent flags changed (or who were created), so
  journeys can re-evaluate segment membership for only them. Opt-out list
  changes are optout's `list_changed`; audiences does not repeat them.
- `segment_redefined(sender=Segment, project, segment_id: int)`, sent after
  the transaction that changed a saved segment's definition commits (not for
  a rename alone), so journeys can re-record the members of the segment-entry
  journeys that use it.
- `customer_described(sender=Customer, project, customer)`: a user's API
  resource is being built; each receiver returns a dict of extra fields.
- `customer_page_sections(sender=Customer, project, customer, request)`: the
  console page of a user is being built; each receiver returns HTML (a
  SafeString) shown below the consents.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from django.dispatch import Signal

if TYPE_CHECKING:
    from audiences.models import Customer

events_tracked = Signal()
consents_changed = Signal()
customers_changed = Signal()
segment_redefined = Signal()
customer_described = Signal()
customer_page_sections = Signal()


@dataclass(frozen=True)
class ConsentFlagChange:
    """`flag` ("promotional_consent" or "night_consent") of `customer` went
    from `old` to `new`; `consent_at` is the date of consent now recorded."""

    customer: Customer
    flag: str
    old: bool
    new: bool
    consent_at: datetime | None


def extra_fields(signal: Signal, **kwargs: object) -> list[object]:
    """The non-empty answers of every receiver of `signal`, in connection order."""
    return [answer for _receiver, answer in signal.send(**kwargs) if answer]
