"""Hands normalised delivery reports on: each one through
`delivery_report_received`, and the batch through `delivery_reports_received`,
whose receiver in the send core (`dispatch.receivers`) applies them to
messages in bulk. Channels knows no message."""

from __future__ import annotations

from collections.abc import Iterable

from channels.gateways.base import DeliveryReport
from channels.signals import delivery_report_received, delivery_reports_received


def handle_delivery_reports(reports: Iterable[DeliveryReport]) -> int:
    """Announce each report and the batch; returns how many messages changed."""
    reports = list(reports)
    changed = 0
    for report in reports:
        delivery_report_received.send(sender=report.gateway_backend, report=report)
    for _receiver, applied in delivery_reports_received.send(sender=None, reports=reports):
        changed += applied or 0
    return changed
