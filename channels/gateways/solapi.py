"""The `solapi` backend: Solapi's message API v4 (api.solapi.com).

Requests are signed as Solapi documents its API-key method: the header
`Authorization: HMAC-SHA256 apiKey=…, date=…, salt=…, signature=…` where the
signature is the hex HMAC-SHA256 of date + salt keyed with the API secret. A
batch goes to `POST /messages/v4/send-many/detail` in one request; our client
reference travels in each message's `customFields` and comes back in the
per-message results and in Solapi's delivery-report webhook.

Config keys: `api_key`, `api_secret` (required), `url` (default
https://api.solapi.com), `webhook_token` (Solapi does not sign its webhooks:
the webhook URL registered in Solapi's console carries `?token=<webhook_token>`
and a callback without it is refused), `timeout` (read timeout, seconds).
See docs/gateways.md.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import requests
from django.http import HttpRequest
from django.utils.translation import gettext

from channels.gateways.base import (
    DeliveryReport,
    GatewayBackend,
    GatewayError,
    InvalidCallback,
    OutgoingSms,
    SendResult,
    national_number,
    parse_timestamp,
    post_json,
)

DEFAULT_URL = "https://api.solapi.com"
SEND_PATH = "/messages/v4/send-many/detail"
REFERENCE_FIELD = "reference"

# Solapi status codes (docs: api-reference/message-status-codes). 2000 and
# 3000 mean accepted and on the way; 4000 means received by the handset.
ACCEPTED_CODES = {"2000", "3000", "4000"}
DELIVERED_CODE = "4000"
# Rejections about the message itself, which no retry can fix: malformed
# fields, characters EUC-KR cannot carry, too long, duplicate recipient,
# blocked or opted-out recipient, unregistered sender, spam blocks.
PERMANENT_CODES = {
    "1010", "1011", "1013", "1014", "1025", "1026", "1027", "1028", "1029", "1031",
    "1032", "1060", "1061", "1062", "1064",
    "2011", "2060", "2061", "2062", "2064", "2254",
    "3010", "3011", "3013", "3032", "3050", "3054", "3055", "3059",
}  # fmt: skip


def authorization_header(api_key: str, api_secret: str, date: str, salt: str) -> str:
    """Solapi's API-key Authorization header for one request."""
    signature = hmac.new(api_secret.encode(), (date + salt).encode(), hashlib.sha256).hexdigest()
    return f"HMAC-SHA256 apiKey={api_key}, date={date}, salt={salt}, signature={signature}"


class SolapiBackend(GatewayBackend):
    name = "solapi"

    @property
    def base_url(self) -> str:
        return (self.config.get("url") or DEFAULT_URL).rstrip("/")

    # Solapi refuses a signature reused within 15 minutes and a date more than
    # 15 minutes off, so every request gets a fresh salt and the current time.
    def signing_date(self) -> str:
        return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")

    def signing_salt(self) -> str:
        return secrets.token_hex(16)

    def build_payload(self, messages: Sequence[OutgoingSms]) -> dict[str, Any]:
        return {
            "messages": [_message(m) for m in messages],
            # Without it the answer lists only the failures, and the accepted
            # messages would have no Solapi message id.
            "showMessageList": True,
        }

    def post(self, payload: dict[str, Any]) -> requests.Response:
        try:
            api_key, api_secret = self.config["api_key"], self.config["api_secret"]
        except KeyError as exc:
            raise GatewayError(
                gettext("The Solapi gateway has no %(key)s in its config.") % {"key": exc.args[0]},
                permanent=True,
            ) from None
        headers = {
            "Authorization": authorization_header(
                api_key, api_secret, self.signing_date(), self.signing_salt()
            )
        }
        return post_json(
            self.base_url + SEND_PATH, payload, headers=headers, timeout=self.request_timeout
        )

    def parse_results(
        self, messages: Sequence[OutgoingSms], response: requests.Response
    ) -> list[SendResult]:
        try:
            body = response.json()
            failed = body.get("failedMessageList") or []
            listed = body.get("messageList") or []
            # Solapi's SDKs read messageList both as a list and as an object
            # keyed by message id; accept either.
            if isinstance(listed, dict):
                listed = [{"messageId": key, **value} for key, value in listed.items()]
            rows = [(row, True) for row in listed] + [(row, False) for row in failed]
        except (ValueError, AttributeError, TypeError) as exc:
            raise GatewayError(
                gettext("Solapi's answer is not readable (%(error)s).") % {"error": exc}
            ) from exc
        results = []
        for row, was_listed in rows:
            if not isinstance(row, dict):
                continue
            reference = (row.get("customFields") or {}).get(REFERENCE_FIELD, "")
            code = str(row.get("statusCode") or "")
            accepted = was_listed and code in ACCEPTED_CODES
            results.append(
                SendResult(
                    reference=reference,
                    accepted=accepted,
                    provider_message_id=str(row.get("messageId") or ""),
                    error_code="" if accepted else code,
                    error_message="" if accepted else str(row.get("statusMessage") or ""),
                    permanent=not accepted and code in PERMANENT_CODES,
                )
            )
        return results

    # --- delivery-report webhook ------------------------------------------------
    def verify_callback(self, request: HttpRequest) -> bool:
        token = request.GET.get("token", "")
        return bool(token) and any(
            hmac.compare_digest(token, str(config.get("webhook_token") or ""))
            for config in self.callback_configs()
            if config.get("webhook_token")
        )

    def parse_delivery_reports(self, request: HttpRequest) -> list[DeliveryReport]:
        try:
            events = json.loads(request.body)
        except (ValueError, UnicodeDecodeError) as exc:
            raise InvalidCallback(
                gettext("The body is not valid JSON (%(error)s).") % {"error": exc}
            ) from exc
        if isinstance(events, dict):
            events = [events]
        if not isinstance(events, list):
            raise InvalidCallback(gettext("The body must be a list of report events."))
        reports = []
        for index, event in enumerate(events):
            where = f"[{index}]"
            data = event.get("data") if isinstance(event, dict) else None
            if not isinstance(data, dict):
                raise InvalidCallback(
                    gettext("%(where)s.data: a message report object is required.")
                    % {"where": where}
                )
            code = str(data.get("statusCode") or "")
            if code in ACCEPTED_CODES - {DELIVERED_CODE}:
                continue  # still on its way: not a final report
            reference = str((data.get("customFields") or {}).get(REFERENCE_FIELD) or "")
            if not (data.get("messageId") or reference):
                raise InvalidCallback(
                    gettext("%(where)s.data: messageId or customFields.reference is required.")
                    % {"where": where}
                )
            delivered = code == DELIVERED_CODE
            reports.append(
                DeliveryReport(
                    gateway_backend=self.name,
                    provider_message_id=str(data.get("messageId") or ""),
                    reference=reference,
                    status="delivered" if delivered else "failed",
                    error_code="" if delivered else code,
                    error_message="" if delivered else str(data.get("statusMessage") or ""),
                    occurred_at=parse_timestamp(
                        data.get("dateReceived") or data.get("dateReported"),
                        f"{where}.data.dateReceived",
                    ),
                )
            )
        return reports


def _message(sms: OutgoingSms) -> dict[str, Any]:
    country, to = national_number(sms.to)
    _, sender = national_number(sms.sender)
    message: dict[str, Any] = {
        "to": to,
        "from": sender,
        "text": sms.body,
        "type": "LMS" if sms.kind == "LMS" else "SMS",
        "customFields": {REFERENCE_FIELD: sms.reference},
    }
    if country and country != "82":
        message["country"] = country
    if sms.kind == "LMS" and sms.title:
        message["subject"] = sms.title
    return message
