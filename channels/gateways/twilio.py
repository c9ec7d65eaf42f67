"""The `twilio` backend: Twilio Programmable Messaging (api.twilio.com).

Twilio takes one message a request: `POST /2010-04-01/Accounts/{AccountSid}/
Messages.json`, form-encoded, HTTP Basic auth AccountSid:AuthToken. The batch
step therefore posts the messages of a batch in turn (`post_each`): a 400
rejects only that message; credentials, 429, 5xx or a network error stop the
batch — raised while nothing was accepted, otherwise the rest come back as
not attempted so the accepted ones are not sent twice (Twilio cannot
recognise a repeat).

Our client reference rides in the StatusCallback URL's query (`?ref=…`), so
status callbacks — signed with `X-Twilio-Signature`, the base64 HMAC-SHA1 of
the full callback URL followed by the POST parameters sorted by name, keyed
with the auth token — name the message they are about.

Config keys: `account_sid`, `auth_token` (required), `messaging_service_sid`
(sends through a Messaging Service instead of the From number), `url`
(default https://api.twilio.com), `status_callback` (default
settings.PUBLIC_URL + /inbound/twilio/reports), `timeout`. See docs/gateways.md.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Iterable, Sequence
from typing import Any
from urllib.parse import urlencode

import requests
from django.conf import settings
from django.http import HttpRequest
from django.utils.translation import gettext

from channels.gateways.base import (
    DeliveryReport,
    GatewayBackend,
    GatewayError,
    InvalidCallback,
    Outcome,
    OutgoingSms,
    SendResult,
    interrupted_result,
    post_each,
    post_form,
)

DEFAULT_URL = "https://api.twilio.com"
SIGNATURE_HEADER = "X-Twilio-Signature"
REFERENCE_PARAM = "ref"
FINAL_STATUSES = {"delivered": "delivered", "undelivered": "failed", "failed": "failed"}


def request_signature(auth_token: str, url: str, params: Iterable[tuple[str, str]]) -> str:
    """Twilio's X-Twilio-Signature for a POST to `url` with these parameters."""
    data = url + "".join(name + value for name, value in sorted(params))
    digest = hmac.new(auth_token.encode(), data.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


class TwilioBackend(GatewayBackend):
    name = "twilio"

    @property
    def base_url(self) -> str:
        return (self.config.get("url") or DEFAULT_URL).rstrip("/")

    @property
    def status_callback(self) -> str:
        return self.config.get("status_callback") or f"{settings.PUBLIC_URL}/inbound/twilio/reports"

    def _credentials(self) -> tuple[str, str]:
        try:
            return self.config["account_sid"], self.config["auth_token"]
        except KeyError as exc:
            raise GatewayError(
                gettext("The Twilio gateway has no %(key)s in its config.") % {"key": exc.args[0]},
                permanent=True,
            ) from None

    def build_payload(self, messages: Sequence[OutgoingSms]) -> list[tuple[OutgoingSms, dict]]:
        # Twilio has no subject for SMS: an LMS title is not sent (docs/gateways.md).
        payload = []
        for sms in messages:
            fields = {
                "To": sms.to,
                "Body": sms.body,
                "StatusCallback": f"{self.status_callback}?"
                + urlencode({REFERENCE_PARAM: sms.reference}),
            }
            if self.config.get("messaging_service_sid"):
                fields["MessagingServiceSid"] = self.config["messaging_service_sid"]
            else:
                fields["From"] = sms.sender
            payload.append((sms, fields))
        return payload

    def post(self, payload: list[tuple[OutgoingSms, dict]]) -> list[tuple[Any, Outcome]]:
        account_sid, auth_token = self._credentials()
        url = f"{self.base_url}/2010-04-01/Accounts/{account_sid}/Messages.json"

        def post_one(item: tuple[OutgoingSms, dict]) -> requests.Response:
            return post_form(
                url, item[1], auth=(account_sid, auth_token), timeout=self.request_timeout
            )

        # A 400 is Twilio refusing this message (bad number, unsubscribed
        # recipient, region not enabled); 401/404 are the account's problem.
        return post_each(payload, post_one, concerns_only_this=lambda exc: exc.status == 400)

    def parse_results(
        self, messages: Sequence[OutgoingSms], response: list[tuple[Any, Outcome]]
    ) -> list[SendResult]:
        results = []
        for (sms, _fields), outcome in response:
            if isinstance(outcome, requests.Response):
                body = _json(outcome)
                results.append(SendResult(sms.reference, True, str(body.get("sid") or "")))
            elif isinstance(outcome, GatewayError) and outcome.status == 400:
                body = _json(outcome.response)
                results.append(
                    SendResult(
                        sms.reference,
                        accepted=False,
                        error_code=str(body.get("code") or "http_400"),
                        error_message=str(body.get("message") or outcome.message),
                        permanent=True,
                    )
                )
            else:
                results.append(interrupted_result(sms.reference, outcome))
        return results

    # --- status callbacks -------------------------------------------------------
    def verify_callback(self, request: HttpRequest) -> bool:
        signature = request.headers.get(SIGNATURE_HEADER, "")
        if not signature:
            return False
        params = [(name, value) for name, values in request.POST.lists() for value in values]
        account_sid = request.POST.get("AccountSid", "")
        query = request.META.get("QUERY_STRING", "")
        for config in self.callback_configs():
            if not config.get("auth_token"):
                continue
            if account_sid and config.get("account_sid") not in (None, "", account_sid):
                continue
            # Twilio signs the URL it was given; behind a proxy that is the
            # configured callback, not what Django sees.
            configured = TwilioBackend(config).status_callback
            for url in {configured + (f"?{query}" if query else ""), request.build_absolute_uri()}:
                expected = request_signature(config["auth_token"], url, params)
                if hmac.compare_digest(expected, signature):
                    return True
        return False

    def parse_delivery_reports(self, request: HttpRequest) -> list[DeliveryReport]:
        status = request.POST.get("MessageStatus") or request.POST.get("SmsStatus")
        message_sid = request.POST.get("MessageSid") or request.POST.get("SmsSid") or ""
        if not status:
            raise InvalidCallback(gettext("MessageStatus: a message status is required."))
        reference = request.GET.get(REFERENCE_PARAM, "")
        if not (message_sid or reference):
            raise InvalidCallback(gettext("MessageSid: the message's SID is required."))
        if status not in FINAL_STATUSES:
            return []  # queued, sending, sent: not final yet
        error_code = request.POST.get("ErrorCode", "") if status != "delivered" else ""
        return [
            DeliveryReport(
                gateway_backend=self.name,
                provider_message_id=message_sid,
                reference=reference,
                status=FINAL_STATUSES[status],
                error_code=error_code,
                error_message=(
                    gettext("Twilio reported the message %(status)s (error %(code)s).")
                    % {"status": status, "code": error_code or "?"}
                    if status != "delivered"
                    else ""
                ),
            )
        ]


def _json(response: requests.Response | None) -> dict[str, Any]:
    if response is None:
        return {}
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}
