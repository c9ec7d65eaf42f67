"""Applies normalised delivery reports: moves test messages forward and tells
the rest of the platform through `delivery_report_received`."""

from __future__ import annotations

import uuid
from collections.abc import Iterable

from django.utils import timezone

from channels.gateways.base import DeliveryReport
from channels.models import ChannelTestMessage
from channels.signals import delivery_report_received, delivery_reports_received

TEST_MESSAGE_PREFIX = "t-"

# A report only moves a message forward; a repeat or a late report for a
# message already final changes nothing.
_OPEN = [
    ChannelTestMessage.Status.QUEUED,
    ChannelTestMessage.Status.SENDING,
    ChannelTestMessage.Status.SENT,
]


def handle_delivery_reports(reports: Iterable[DeliveryReport]) -> int:
    """Apply each report; returns how many messages changed."""
    reports = list(reports)
    changed = 0
    for report in reports:
        changed += _apply_to_test_message(report)
        delivery_report_received.send(sender=report.gateway_backend, report=report)
    for _receiver, applied in delivery_reports_received.send(sender=None, reports=reports):
        changed += applied or 0
    return changed


def _apply_to_test_message(report: DeliveryReport) -> int:
    if not report.reference.startswith(TEST_MESSAGE_PREFIX) and (
        report.reference or not report.provider_message_id
    ):
        return 0  # not a test message's (most reports: build no query for them)
    rows = ChannelTestMessage.objects.filter(status__in=_OPEN)
    if report.reference.startswith(TEST_MESSAGE_PREFIX):
        try:
            message_id = uuid.UUID(hex=report.reference[len(TEST_MESSAGE_PREFIX) :])
        except ValueError:
            return 0
        rows = rows.filter(pk=message_id)
    elif report.provider_message_id and not report.reference:
        # Providers that do not echo our reference are matched by their id.
        rows = rows.filter(provider_message_id=report.provider_message_id)
    else:
        return 0
    when = report.occurred_at or timezone.now()
    fields: dict[str, object] = {"claimed_at": None, "next_attempt_at": None}
    if report.provider_message_id:
        fields["provider_message_id"] = report.provider_message_id
    if report.status == "delivered":
        fields.update(status=ChannelTestMessage.Status.DELIVERED, delivered_at=when)
    else:
        fields.update(
            status=ChannelTestMessage.Status.FAILED,
            error_code=report.error_code[:50],
            status_reason=(report.error_message or report.error_code)[:255],
        )
    return rows.update(**fields)
