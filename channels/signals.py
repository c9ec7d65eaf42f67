"""Events channels reports upward. Higher apps (optout, campaigns) connect
receivers; channels never imports them.

- `delivery_report_received(sender=<backend name>, report=DeliveryReport)`
- `delivery_reports_received(sender=None, reports=list[DeliveryReport])`: the
  same reports once per batch, for receivers that apply them in bulk
- `optout_call_received(sender=<backend name>, project, phone_number,
  subscribed: bool, occurred_at, source="080")`
"""

from __future__ import annotations

from django.dispatch import Signal

delivery_report_received = Signal()
delivery_reports_received = Signal()
optout_call_received = Signal()
