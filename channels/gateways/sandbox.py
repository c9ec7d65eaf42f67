"""The `sandbox` backend: talks to the sandbox carrier (channels/sandbox/).

Config keys: `url` (default settings.SANDBOX_CARRIER_URL), `api_key` (sent as a
Bearer token), `callback_url` (default settings.PUBLIC_URL +
/inbound/sandbox/reports), `secret` (verifies callbacks; default
settings.SANDBOX_CARRIER_SECRET), `timeout` (read timeout, seconds).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import requests
from django.conf import settings
from django.http import HttpRequest
from django.utils.translation import gettext

from channels.gateways.base import (
    DEFAULT_TIMEOUT,
    DeliveryReport,
    GatewayBackend,
    GatewayError,
    InvalidCallback,
    OptOutCall,
    OutgoingSms,
    SendResult,
    parse_timestamp,
    post_json,
)
from console.lib import signing
from console.lib.phone import check_e164

# Rejections the carrier makes that no retry will fix.
PERMANENT_ERRORS = {"invalid_number", "invalid_sender", "empty_text", "missing_reference"}


class SandboxBackend(GatewayBackend):
    name = "sandbox"

    @property
    def base_url(self) -> str:
        return (self.config.get("url") or settings.SANDBOX_CARRIER_URL).rstrip("/")

    @property
    def callback_url(self) -> str:
        return self.config.get("callback_url") or f"{settings.PUBLIC_URL}/inbound/sandbox/reports"

    @property
    def secret(self) -> str:
        return self.config.get("secret") or settings.SANDBOX_CARRIER_SECRET

    def build_payload(self, messages: Sequence[OutgoingSms]) -> dict[str, Any]:
        return {
            "messages": [
                {
                    "reference": m.reference,
                    "to": m.to,
                    "from": m.sender,
                    "text": m.body,
                    "title": m.title,
                    "kind": m.kind,
                }
                for m in messages
            ],
            "callbackUrl": self.callback_url,
        }

    def post(self, payload: dict[str, Any]) -> requests.Response:
        headers = {}
        if self.config.get("api_key"):
            headers["Authorization"] = f"Bearer {self.config['api_key']}"
        timeout = (DEFAULT_TIMEOUT[0], float(self.config.get("timeout", DEFAULT_TIMEOUT[1])))
        return post_json(f"{self.base_url}/v1/messages", payload, headers=headers, timeout=timeout)

    def parse_results(
        self, messages: Sequence[OutgoingSms], response: requests.Response
    ) -> list[SendResult]:
        try:
            rows = response.json()["results"]
        except (ValueError, KeyError, TypeError) as exc:
            raise GatewayError(
                gettext("The carrier's answer is not readable (%(error)s).") % {"error": exc}
            ) from exc
        results = []
        for row in rows:
            code = row.get("errorCode") or ""
            results.append(
                SendResult(
                    reference=row.get("reference", ""),
                    accepted=row.get("status") == "accepted",
                    provider_message_id=row.get("messageId") or "",
                    error_code=code,
                    error_message=row.get("errorMessage") or "",
                    permanent=code in PERMANENT_ERRORS,
                )
            )
        return results

    def verify_callback(self, request: HttpRequest) -> bool:
        headers = {k.lower(): v for k, v in request.headers.items()}
        return signing.verify(self.secret, headers, request.body)

    def parse_delivery_reports(self, request: HttpRequest) -> list[DeliveryReport]:
        body = _json_object(request)
        rows = body.get("reports")
        if not isinstance(rows, list):
            raise InvalidCallback(gettext("reports: a list of delivery reports is required."))
        reports = []
        for index, row in enumerate(rows):
            where = f"reports[{index}]"
            if not isinstance(row, dict):
                raise InvalidCallback(gettext("%(where)s: must be an object.") % {"where": where})
            status = row.get("status")
            if status not in ("delivered", "failed"):
                raise InvalidCallback(
                    gettext("%(where)s.status: must be 'delivered' or 'failed'.") % {"where": where}
                )
            if not (row.get("messageId") or row.get("reference")):
                raise InvalidCallback(
                    gettext("%(where)s: messageId or reference is required.") % {"where": where}
                )
            reports.append(
                DeliveryReport(
                    gateway_backend=self.name,
                    provider_message_id=str(row.get("messageId") or ""),
                    reference=str(row.get("reference") or ""),
                    status=status,
                    error_code=str(row.get("errorCode") or ""),
                    error_message=str(row.get("errorMessage") or ""),
                    occurred_at=parse_timestamp(row.get("occurredAt"), f"{where}.occurredAt"),
                )
            )
        return reports

    def parse_optout_call(self, request: HttpRequest) -> OptOutCall:
        body = _json_object(request)
        for field in ("optOutNumber", "phoneNumber"):
            if not isinstance(body.get(field), str) or not body[field]:
                raise InvalidCallback(
                    gettext("%(field)s: a phone number in E.164 is required.") % {"field": field}
                )
        problem = check_e164(body["phoneNumber"])
        if problem is not None:
            raise InvalidCallback(f"phoneNumber: {problem.message}")
        action = body.get("action")
        if action not in ("optout", "optin"):
            raise InvalidCallback(gettext("action: must be 'optout' or 'optin'."))
        return OptOutCall(
            gateway_backend=self.name,
            opt_out_number=body["optOutNumber"],
            phone_number=body["phoneNumber"],
            subscribed=action == "optin",
            occurred_at=parse_timestamp(body.get("calledAt"), "calledAt"),
        )


def _json_object(request: HttpRequest) -> dict[str, Any]:
    try:
        body = json.loads(request.body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidCallback(
            gettext("The body is not valid JSON (%(error)s).") % {"error": exc}
        ) from exc
    if not isinstance(body, dict):
        raise InvalidCallback(gettext("The body must be a JSON object."))
    return body
