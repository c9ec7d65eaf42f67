"""The `nhn` backend: NHN Cloud Notification SMS API v3.0 (api-sms.cloud.toast.com).

`POST /sms/v3.0/appKeys/{appKey}/sender/sms` (SMS) and `/sender/mms` (LMS,
with `title`), authenticated by the `X-Secret-Key` header. One request has one
`body` for up to 1,000 recipients, so the batch step groups messages with the
same kind, sender, title and body into one request each (personalised bodies
mean one request a message) and posts them in turn with `post_each`.

Our client reference is each recipient's `recipientGroupingKey`, which NHN
echoes in the per-recipient results and in its delivery queries. The provider
message id is `{requestId}:{recipientSeq}`, the pair NHN's query API takes.

NHN Cloud does not push delivery reports: `poll_delivery_reports` asks
`GET /message-results` for the results updated in a time window (at most a
day a query, Korean time, paged), which `channels.tasks.poll_delivery_reports`
does every minute. Its only webhook is the 080 `UNSUBSCRIBE` event, signed
with the `X-Toast-Webhook-Signature` value set in NHN's console, which this
backend turns into an `OptOutCall`.

Config keys: `app_key`, `secret_key` (required), `url` (default
https://api-sms.cloud.toast.com), `webhook_signature` (verifies the 080
webhook), `timeout`. See docs/gateways.md.
"""

from __future__ import annotations

import hmac
import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import requests
from django.http import HttpRequest
from django.utils.translation import gettext

from channels.gateways.base import (
    DeliveryReport,
    GatewayBackend,
    GatewayError,
    InvalidCallback,
    OptOutCall,
    Outcome,
    OutgoingSms,
    SendResult,
    get_json,
    interrupted_result,
    national_number,
    parse_timestamp,
    post_each,
    post_json,
)
from console.lib.phone import check_e164

DEFAULT_URL = "https://api-sms.cloud.toast.com"
MAX_RECIPIENTS = 1000
SIGNATURE_HEADER = "X-Toast-Webhook-Signature"

# header.resultCode values (NHN docs: error-code). The app key or secret is
# wrong or the project is closed: every request would fail the same way.
ACCOUNT_CODES = {-1000, -1001, -1002, -1003, -1004, -1007, -1008}
# NHN's own trouble: retry later.
TRANSIENT_CODES = {-9999, -2021, -2009}
# Delivery results (NHN docs: error-code, "EMMA v.3 Result Code of Receiving"):
# 1000 is delivered (MTR1 in NHN's older scheme), every other receive result
# code a failure (10xx are gateway errors, not successes); no code yet means
# the result is not final.
DELIVERED_CODES = {"1000", "MTR1"}
# NHN's dates are Korean local time, and a results query spans at most a day.
NHN_ZONE = ZoneInfo("Asia/Seoul")
POLL_WINDOW = timedelta(days=1)


@dataclass
class NhnRequest:
    """One POST: the path, its JSON body and the messages it carries."""

    path: str
    body: dict[str, Any]
    messages: list[OutgoingSms] = field(default_factory=list)


class NhnBackend(GatewayBackend):
    name = "nhn"

    @property
    def base_url(self) -> str:
        return (self.config.get("url") or DEFAULT_URL).rstrip("/")

    def build_payload(self, messages: Sequence[OutgoingSms]) -> list[NhnRequest]:
        requests_by_content: dict[tuple[str, str, str, str], list[NhnRequest]] = {}
        ordered: list[NhnRequest] = []
        for sms in messages:
            lms = sms.kind == "LMS"
            key = ("mms" if lms else "sms", sms.sender, sms.title if lms else "", sms.body)
            group = requests_by_content.setdefault(key, [])
            if not group or len(group[-1].messages) >= MAX_RECIPIENTS:
                body: dict[str, Any] = {
                    "body": sms.body,
                    "sendNo": national_number(sms.sender)[1],
                    "recipientList": [],
                }
                if lms:
                    body["title"] = sms.title
                group.append(NhnRequest(f"/sender/{key[0]}", body))
                ordered.append(group[-1])
            request = group[-1]
            request.messages.append(sms)
            request.body["recipientList"].append(_recipient(sms))
        return ordered

    def _credentials(self) -> tuple[str, dict[str, str]]:
        """The app key and the headers every request carries."""
        try:
            app_key, secret_key = self.config["app_key"], self.config["secret_key"]
        except KeyError as exc:
            raise GatewayError(
                gettext("The NHN Cloud gateway has no %(key)s in its config.")
                % {"key": exc.args[0]},
                permanent=True,
            ) from None
        return app_key, {"X-Secret-Key": secret_key}

    def _refuse_on_header(self, response: requests.Response) -> None:
        # NHN answers 200 with header.isSuccessful=false for most errors.
        code, message = _header(response)
        if code in ACCOUNT_CODES or code in TRANSIENT_CODES:
            raise GatewayError(
                gettext("NHN Cloud refused the request (%(code)s: %(message)s).")
                % {"code": code, "message": message},
                permanent=code in ACCOUNT_CODES,
                response=response,
            )

    def post(self, payload: list[NhnRequest]) -> list[tuple[NhnRequest, Outcome]]:
        app_key, headers = self._credentials()

        def post_one(request: NhnRequest) -> requests.Response:
            url = f"{self.base_url}/sms/v3.0/appKeys/{app_key}{request.path}"
            response = post_json(url, request.body, headers=headers, timeout=self.request_timeout)
            self._refuse_on_header(response)
            return response

        # No HTTP error concerns only one request's messages.
        return post_each(payload, post_one, concerns_only_this=lambda exc: False)

    def parse_results(
        self, messages: Sequence[OutgoingSms], response: list[tuple[NhnRequest, Outcome]]
    ) -> list[SendResult]:
        results = []
        for request, outcome in response:
            if not isinstance(outcome, requests.Response):
                results.extend(interrupted_result(m.reference, outcome) for m in request.messages)
                continue
            code, message = _header(outcome)
            if code != 0:
                # Refused as a whole for something about its content (bad
                # number, emoji, unregistered sender): the same every time.
                results.extend(
                    SendResult(m.reference, False, "", str(code), message, permanent=True)
                    for m in request.messages
                )
                continue
            data = (outcome.json().get("body") or {}).get("data") or {}
            request_id = str(data.get("requestId") or "")
            for row in data.get("sendResultList") or []:
                row_code = row.get("resultCode")
                accepted = row_code == 0
                results.append(
                    SendResult(
                        reference=str(row.get("recipientGroupingKey") or ""),
                        accepted=accepted,
                        provider_message_id=f"{request_id}:{row.get('recipientSeq')}",
                        error_code="" if accepted else str(row_code),
                        error_message="" if accepted else str(row.get("resultMessage") or ""),
                        permanent=not accepted and row_code not in TRANSIENT_CODES,
                    )
                )
        return results

    # --- delivery results, polled ------------------------------------------------------
    polls_delivery_reports = True
    POLL_PAGE_SIZE = 1000

    def poll_delivery_reports(self, start: datetime, end: datetime) -> list[DeliveryReport]:
        app_key, headers = self._credentials()
        url = f"{self.base_url}/sms/v3.0/appKeys/{app_key}/message-results"
        reports = []
        for window_start, window_end in _windows(start, end):
            page = 1
            while True:
                params = {
                    "startUpdateDate": _nhn_time(window_start),
                    "endUpdateDate": _nhn_time(window_end),
                    "pageNum": page,
                    "pageSize": self.POLL_PAGE_SIZE,
                }
                response = get_json(url, params, headers=headers, timeout=self.request_timeout)
                code, message = _header(response)
                if code != 0:
                    raise GatewayError(
                        gettext("NHN Cloud refused the results query (%(code)s: %(message)s).")
                        % {"code": code, "message": message},
                        permanent=code in ACCOUNT_CODES,
                        response=response,
                    )
                body = response.json().get("body") or {}
                rows = _result_rows(body)
                reports.extend(r for r in map(self._report, rows) if r is not None)
                total = body.get("totalCount")
                if len(rows) < self.POLL_PAGE_SIZE or (
                    isinstance(total, int) and page * self.POLL_PAGE_SIZE >= total
                ):
                    break
                page += 1
        return reports

    def _report(self, row: Any) -> DeliveryReport | None:
        if not isinstance(row, dict):
            return None
        code = str(row.get("resultCode") or "")
        if not code:
            return None  # handed to the carrier, no result yet
        delivered = code in DELIVERED_CODES
        return DeliveryReport(
            gateway_backend=self.name,
            provider_message_id=f"{row.get('requestId') or ''}:{row.get('recipientSeq')}",
            reference=str(row.get("recipientGroupingKey") or ""),
            status="delivered" if delivered else "failed",
            error_code="" if delivered else code,
            error_message="" if delivered else str(row.get("resultCodeName") or ""),
            occurred_at=_parse_nhn_time(row.get("resultDate") or row.get("updateDate")),
        )

    # --- the 080 unsubscribe webhook ------------------------------------------------
    def verify_callback(self, request: HttpRequest) -> bool:
        signature = request.headers.get(SIGNATURE_HEADER, "")
        return bool(signature) and any(
            hmac.compare_digest(signature, str(config["webhook_signature"]))
            for config in self.callback_configs()
            if config.get("webhook_signature")
        )

    def parse_delivery_reports(self, request: HttpRequest) -> list[DeliveryReport]:
        raise InvalidCallback(
            gettext("NHN Cloud does not push delivery reports; Munja polls them every minute.")
        )

    def parse_optout_call(self, request: HttpRequest) -> OptOutCall:
        try:
            body = json.loads(request.body)
        except (ValueError, UnicodeDecodeError) as exc:
            raise InvalidCallback(
                gettext("The body is not valid JSON (%(error)s).") % {"error": exc}
            ) from exc
        if not isinstance(body, dict) or body.get("event") != "UNSUBSCRIBE":
            raise InvalidCallback(gettext("event: only UNSUBSCRIBE events are handled."))
        hooks = body.get("hooks")
        # The inbound endpoint takes one call a request; NHN's documented
        # event carries one hook.
        if not isinstance(hooks, list) or len(hooks) != 1 or not isinstance(hooks[0], dict):
            raise InvalidCallback(gettext("hooks: exactly one unsubscribe hook is required."))
        hook = hooks[0]
        numbers = {}
        for name in ("recipientNo", "unsubscribeNo"):
            number = _korean_e164(str(hook.get(name) or ""))
            problem = check_e164(number)
            if problem is not None:
                raise InvalidCallback(f"hooks[0].{name}: {problem.message}")
            numbers[name] = number
        return OptOutCall(
            gateway_backend=self.name,
            opt_out_number=numbers["unsubscribeNo"],
            phone_number=numbers["recipientNo"],
            subscribed=False,
            occurred_at=parse_timestamp(hook.get("createdDateTime"), "hooks[0].createdDateTime"),
        )


def _recipient(sms: OutgoingSms) -> dict[str, str]:
    country, national = national_number(sms.to)
    recipient = {"recipientGroupingKey": sms.reference}
    if country == "82":
        recipient["recipientNo"] = national
    else:
        recipient["internationalRecipientNo"] = sms.to.lstrip("+")
    return recipient


def _header(response: requests.Response) -> tuple[int | None, str]:
    try:
        header = response.json()["header"]
        return int(header["resultCode"]), str(header.get("resultMessage") or "")
    except (ValueError, KeyError, TypeError) as exc:
        raise GatewayError(
            gettext("NHN Cloud's answer is not readable (%(error)s).") % {"error": exc}
        ) from exc


def _korean_e164(number: str) -> str:
    """NHN writes Korean numbers the national way (`01012341234`)."""
    digits = "".join(ch for ch in number if ch.isdigit() or ch == "+")
    if digits.startswith("0"):
        return "+82" + digits[1:]
    return digits


def _windows(start: datetime, end: datetime) -> Iterator[tuple[datetime, datetime]]:
    """[start, end] in pieces of at most a day, as NHN's results query takes."""
    while start < end:
        stop = min(start + POLL_WINDOW, end)
        yield start, stop
        start = stop


def _nhn_time(moment: datetime) -> str:
    return moment.astimezone(NHN_ZONE).strftime("%Y-%m-%d %H:%M:%S")


def _parse_nhn_time(value: Any) -> datetime | None:
    """NHN's `yyyy-MM-dd HH:mm:ss.S` in Korean time; None when absent or unreadable."""
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.strptime(value.split(".")[0], "%Y-%m-%d %H:%M:%S")
    except ValueError:
        return None
    return parsed.replace(tzinfo=NHN_ZONE)


def _result_rows(body: dict[str, Any]) -> list[Any]:
    """The results of a `/message-results` page. NHN's guide shows them as
    `body.data[]` in its example and as `body.data.resultUpdateList[]` in its
    field table; both are read."""
    data = body.get("data")
    if isinstance(data, dict):
        data = data.get("resultUpdateList")
    return data if isinstance(data, list) else []
