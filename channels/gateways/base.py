"""The gateway backend interface, django-anymail style.

Every provider runs the same fixed steps — build payload → post → parse the
per-recipient results — and fills in only those steps. Inbound callbacks are
verified and normalised here into `DeliveryReport` and `OptOutCall`, so the
rest of the app never sees provider JSON.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

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
        self, message: str, permanent: bool = False, retry_after: float | None = None
    ) -> None:
        super().__init__(message)
        self.message = message
        self.permanent = permanent
        self.retry_after = retry_after


class InvalidCallback(ValueError):
    """An inbound callback body we cannot read; the message says what is wrong."""


class GatewayBackend:
    """Base class. Subclasses set `name` and implement the steps."""

    name = ""

    def __init__(self, config: dict[str, Any] | None = None) -> None:
        self.config = dict(config or {})

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
    try:
        response = requests.post(url, json=payload, headers=headers or {}, timeout=timeout)
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
        )
    if status >= 500:
        raise GatewayError(gettext("The provider failed with HTTP %(status)s%(detail)s.") % values)
    raise GatewayError(
        gettext("The provider refused the request with HTTP %(status)s%(detail)s.") % values,
        permanent=True,
    )


def _error_detail(response: requests.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return ""
    error = body.get("error") if isinstance(body, dict) else None
    if isinstance(error, dict) and error.get("message"):
        return f": {error['message']}"
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
