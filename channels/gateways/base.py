"""The gateway backend interface, django-anymail style.

Every provider runs the same fixed steps — build payload → post → parse the
per-recipient results — and fills in only those steps. Inbound callbacks are
verified and normalised here into `DeliveryReport` and `OptOutCall`, so the
rest of the app never sees provider JSON.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import phonenumbers
import requests
from django.http import HttpRequest
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext

# (connect, read) seconds: a provider that hangs must not hold a worker for
# longer than the queue's task timeout.
DEFAULT_TIMEOUT = (3.05, 10.0)


@dataclass(frozen=True)
class OutgoingSms:
    """One message to hand to a provider. `reference` is our deterministic
    client reference: sent again after a crash, the provider sees a repeat."""

    reference: str
    to: str
    sender: str
    body: str
    title: str = ""
    kind: str = "SMS"


@dataclass(frozen=True)
class SendResult:
    reference: str
    accepted: bool
    provider_message_id: str = ""
    error_code: str = ""
    error_message: str = ""
    # A rejected message that will never succeed (bad number); otherwise the
    # caller may try again later.
    permanent: bool = False


@dataclass(frozen=True)
class DeliveryReport:
    """A normalised delivery report, whatever the provider."""

    gateway_backend: str
    provider_message_id: str
    reference: str
    status: str  # "delivered" | "failed"
    error_code: str = ""
    error_message: str = ""
    occurred_at: datetime | None = None


@dataclass(frozen=True)
class OptOutCall:
    """A person called a project's 080 number to opt out (or back in)."""

    gateway_backend: str
    opt_out_number: str
    phone_number: str
    subscribed: bool
    occurred_at: datetime | None = None


class GatewayError(Exception):
    """The whole batch failed. `permanent` says whether retrying can help;
    `retry_after` is the provider's requested wait in seconds, if any."""

    def __init__(
        self,
        message: str,
        permanent: bool = False,
        retry_after: float | None = None,
        *,
        response: requests.Response | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.permanent = permanent
        self.retry_after = retry_after
        # The HTTP answer behind the error, when there was one: providers that
        # take one message a request read their per-message code from it.
        self.response = response

    @property
    def status(self) -> int | None:
        return self.response.status_code if self.response is not None else None


class InvalidCallback(ValueError):
    """An inbound callback body we cannot read; the message says what is wrong."""


class GatewayBackend:
    """Base class. Subclasses set `name` and implement the steps."""

    name = ""

    def __init__(self, config: dict[str, Any] | None = None) -> None:
        self.config = dict(config or {})

    @property
    def request_timeout(self) -> tuple[float, float]:
        """(connect, read) seconds; the config's `timeout` sets the read part."""
        return (DEFAULT_TIMEOUT[0], float(self.config.get("timeout", DEFAULT_TIMEOUT[1])))

    def callback_configs(self) -> list[dict[str, Any]]:
        """The configs an inbound callback may be signed with: this backend's
        own, or — when built without one, as the inbound endpoint builds it —
        those of every gateway that uses this backend."""
        if self.config:
            return [self.config]
        # Imported here: the models import nothing from gateways, but the
        # registry must stay importable before the app registry is ready.
        from channels.models import Gateway

        return [gateway.config or {} for gateway in Gateway.objects.filter(backend=self.name)]

    # --- sending: the fixed sequence ------------------------------------------
    def send_batch(self, messages: Sequence[OutgoingSms]) -> list[SendResult]:
        """Send a batch; one SendResult per message, in the same order.
        Raises GatewayError when the provider refused the whole batch."""
        if not messages:
            return []
        payload = self.build_payload(messages)
        response = self.post(payload)
        results = {r.reference: r for r in self.parse_results(messages, response)}
        # A message the provider did not answer for is in an unknown state;
        # trying again is safe because the provider sees the same reference.
        return [
            results.get(m.reference)
            or SendResult(
                m.reference,
                accepted=False,
                error_code="no_result",
                error_message=gettext("The provider returned no result for this message."),
            )
            for m in messages
        ]

    def build_payload(self, messages: Sequence[OutgoingSms]) -> Any:
        raise NotImplementedError(f"{type(self).__name__} must implement build_payload()")

    def post(self, payload: Any) -> Any:
        raise NotImplementedError(f"{type(self).__name__} must implement post()")

    def parse_results(self, messages: Sequence[OutgoingSms], response: Any) -> list[SendResult]:
        raise NotImplementedError(f"{type(self).__name__} must implement parse_results()")

    # --- inbound callbacks ----------------------------------------------------
    def verify_callback(self, request: HttpRequest) -> bool:
        raise NotImplementedError(f"{type(self).__name__} must implement verify_callback()")

    def parse_delivery_reports(self, request: HttpRequest) -> list[DeliveryReport]:
        raise NotImplementedError(f"{type(self).__name__} must implement parse_delivery_reports()")

    def parse_optout_call(self, request: HttpRequest) -> OptOutCall:
        raise NotImplementedError(f"{type(self).__name__} does not receive 080 calls")

    # --- delivery reports a provider keeps for us to fetch ------------------------
    # A provider that does not push delivery reports sets this and implements
    # `poll_delivery_reports`; `channels.tasks.poll_delivery_reports` calls it.
    polls_delivery_reports = False

    def poll_delivery_reports(self, start: datetime, end: datetime) -> list[DeliveryReport]:
        """The final results the provider recorded between `start` and `end`
        (aware datetimes). Raises GatewayError when the provider cannot answer."""
        raise NotImplementedError(f"{type(self).__name__} does not poll delivery reports")


# --- helpers for HTTP providers ------------------------------------------------


def post_json(
    url: str,
    payload: Any,
    *,
    headers: dict[str, str] | None = None,
    timeout: float | tuple[float, float] = DEFAULT_TIMEOUT,
) -> requests.Response:
    """POST JSON and map transport failures and error statuses to GatewayError:
    429 → transient with Retry-After; 5xx, connection errors, timeouts →
    transient; any other 4xx → permanent."""
    return _post(url, headers=headers, timeout=timeout, json=payload)


def post_form(
    url: str,
    fields: dict[str, str],
    *,
    auth: tuple[str, str] | None = None,
    headers: dict[str, str] | None = None,
    timeout: float | tuple[float, float] = DEFAULT_TIMEOUT,
) -> requests.Response:
    """POST application/x-www-form-urlencoded fields (with optional HTTP Basic
    auth); errors are mapped exactly as in `post_json`."""
    return _post(url, headers=headers, timeout=timeout, data=fields, auth=auth)


def get_json(
    url: str,
    params: dict[str, Any],
    *,
    headers: dict[str, str] | None = None,
    timeout: float | tuple[float, float] = DEFAULT_TIMEOUT,
) -> requests.Response:
    """GET with query parameters; errors are mapped exactly as in `post_json`."""
    return _request("GET", url, headers=headers, timeout=timeout, params=params)


def _post(
    url: str,
    *,
    headers: dict[str, str] | None,
    timeout: float | tuple[float, float],
    **body: Any,
) -> requests.Response:
    return _request("POST", url, headers=headers, timeout=timeout, **body)


def _request(
    method: str,
    url: str,
    *,
    headers: dict[str, str] | None,
    timeout: float | tuple[float, float],
    **body: Any,
) -> requests.Response:
    try:
        response = requests.request(method, url, headers=headers or {}, timeout=timeout, **body)
    except requests.Timeout as exc:
        raise GatewayError(
            gettext("The provider did not answer in time (%(error)s).") % {"error": exc}
        ) from exc
    except requests.RequestException as exc:
        raise GatewayError(
            gettext("Could not reach the provider (%(error)s).") % {"error": exc}
        ) from exc
    status = response.status_code
    if status < 400:
        return response
    values = {"status": status, "detail": _error_detail(response)}
    if status == 429:
        raise GatewayError(
            gettext("The provider is throttling requests (HTTP 429)%(detail)s.") % values,
            retry_after=parse_retry_after(response.headers.get("Retry-After")),
            response=response,
        )
    if status >= 500:
        raise GatewayError(
            gettext("The provider failed with HTTP %(status)s%(detail)s.") % values,
            response=response,
        )
    raise GatewayError(
        gettext("The provider refused the request with HTTP %(status)s%(detail)s.") % values,
        permanent=True,
        response=response,
    )


Outcome = requests.Response | GatewayError | None


def post_each[Item](
    items: Sequence[Item],
    post_one: Callable[[Item], requests.Response],
    *,
    concerns_only_this: Callable[[GatewayError], bool],
) -> list[tuple[Item, Outcome]]:
    """For providers that take one message (or one body) a request: post the
    items in turn and return each with its response, its error, or None when
    it was never tried.

    An error that `concerns_only_this` item (a bad number) is recorded and the
    rest go on. Any other error (credentials, 429, 5xx, network) stops the
    batch: raised as is while nothing has been accepted, so the caller gets the
    provider's Retry-After; after that it is recorded and the untried items
    come back as None — raising would have the accepted ones sent twice by
    providers that cannot recognise a repeat.
    """
    outcomes: list[tuple[Item, Outcome]] = []
    for index, item in enumerate(items):
        try:
            outcomes.append((item, post_one(item)))
        except GatewayError as exc:
            if concerns_only_this(exc):
                outcomes.append((item, exc))
                continue
            if not any(isinstance(outcome, requests.Response) for _, outcome in outcomes):
                raise
            outcomes.append((item, exc))
            outcomes.extend((rest, None) for rest in items[index + 1 :])
            break
    return outcomes


def interrupted_result(reference: str, error: GatewayError | None) -> SendResult:
    """The result for a message whose request failed transiently, or that was
    never tried because an earlier request in its batch did."""
    if error is None:
        return SendResult(
            reference,
            accepted=False,
            error_code="not_attempted",
            error_message=gettext(
                "Not sent: an earlier request in the same batch failed; it will be retried."
            ),
        )
    return SendResult(
        reference,
        accepted=False,
        error_code=f"http_{error.status}" if error.status else "transport",
        error_message=error.message,
    )


def national_number(e164: str) -> tuple[str, str]:
    """`+821012345678` → ("82", "01012345678"): the country code and the number
    as dialled inside that country, which Korean providers expect."""
    try:
        parsed = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return "", e164.lstrip("+")
    national = phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.NATIONAL)
    return str(parsed.country_code), "".join(ch for ch in national if ch.isdigit())


def _error_detail(response: requests.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return ""
    if not isinstance(body, dict):
        return ""
    error = body.get("error")
    if isinstance(error, dict) and error.get("message"):
        return f": {error['message']}"
    # Solapi answers {"errorCode", "errorMessage"}; Twilio {"code", "message"}.
    for key in ("errorMessage", "message"):
        if isinstance(body.get(key), str) and body[key]:
            return f": {body[key]}"
    return ""


def parse_retry_after(value: str | None) -> float | None:
    """Retry-After in seconds (the HTTP-date form is rare among providers)."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None


def parse_timestamp(value: Any, field: str) -> datetime | None:
    if value in (None, ""):
        return None
    parsed = parse_datetime(value) if isinstance(value, str) else None
    if parsed is None:
        raise InvalidCallback(
            gettext("%(field)s: %(value)r is not an ISO 8601 date-time.")
            % {"field": field, "value": value}
        )
    return parsed
