"""The `console` backend: logs messages, keeps them in `outbox`, delivers at once.

It is the test backend too: tests read `outbox` and clear it.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence

from django.http import HttpRequest
from django.utils import timezone

from channels.gateways.base import DeliveryReport, GatewayBackend, OutgoingSms, SendResult

logger = logging.getLogger(__name__)

outbox: list[OutgoingSms] = []


class ConsoleBackend(GatewayBackend):
    name = "console"

    def build_payload(self, messages: Sequence[OutgoingSms]) -> list[OutgoingSms]:
        return list(messages)

    def post(self, payload: list[OutgoingSms]) -> list[tuple[OutgoingSms, str]]:
        accepted = []
        for sms in payload:
            logger.info("SMS %s from %s to %s: %s", sms.reference, sms.sender, sms.to, sms.body)
            outbox.append(sms)
            accepted.append((sms, f"console-{uuid.uuid4().hex}"))
        # Imported here: delivery imports the models, and the registry must
        # stay importable from migrations and settings checks.
        from channels.delivery import handle_delivery_reports

        handle_delivery_reports(
            DeliveryReport(
                gateway_backend=self.name,
                provider_message_id=message_id,
                reference=sms.reference,
                status="delivered",
                occurred_at=timezone.now(),
            )
            for sms, message_id in accepted
        )
        return accepted

    def parse_results(
        self, messages: Sequence[OutgoingSms], response: list[tuple[OutgoingSms, str]]
    ) -> list[SendResult]:
        return [SendResult(sms.reference, True, message_id) for sms, message_id in response]

    def verify_callback(self, request: HttpRequest) -> bool:
        # The console delivers in-process; nothing legitimate calls back.
        return False
