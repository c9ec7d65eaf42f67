"""The sandbox carrier's HTTP server (stdlib only, plus requests for callbacks).

It accepts batches like a provider, answers with provider ids, posts signed
delivery reports back after a latency, can throttle (429) and fail (5xx
bursts) on demand, simulates calls to 080 numbers, and logs every message it
accepted (JSONL) so tests can count duplicates. docs/sandbox-carrier.md
describes the options and endpoints.
"""

from __future__ import annotations

import heapq
import json
import logging
import random
import re
import threading
import time
import uuid
from dataclasses import asdict, dataclass, fields
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import requests

from console.lib.signing import signature_headers

logger = logging.getLogger(__name__)

E164 = re.compile(r"^\+[1-9]\d{6,14}$")
SENDER = re.compile(r"\+?\d{3,15}")
# What the log and GET /messages say of each accepted message.
ENTRY_FIELDS = (
    "messageId",
    "reference",
    "to",
    "from",
    "text",
    "title",
    "kind",
    "receivedAt",
    "repeat",
)
MAX_BATCH = 1000
# Delays before each further attempt to post delivery reports to a console
# that is down; after the last one the reports are dropped (and logged).
REPORT_RETRY_DELAYS = (0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 32.0)
CALLBACK_TIMEOUT = (3.05, 30.0)
# Reports are posted in batches of at most this many, as providers do. The
# console applies a batch with one statement for the rows (dispatch.reports),
# so 500 answer well inside CALLBACK_TIMEOUT even on a loaded machine.
REPORT_BATCH_MAX = 500


@dataclass
class CarrierSettings:
    """What can change at run time through POST /config."""

    latency_ms: int = 200
    failure_rate: float = 0.0
    throttle_rate: float = 0.0
    burst_every: int = 0
    burst_length: int = 0
    retry_after: int = 1
    console_url: str = "http://127.0.0.1:8000"

    def update(self, changes: dict[str, Any]) -> None:
        """Validate every change before applying any; ValueError says which."""
        known = {f.name: f.type for f in fields(self)}
        staged = {}
        for key, value in changes.items():
            if key not in known:
                raise ValueError(f"{key}: unknown setting (known: {', '.join(sorted(known))})")
            if key == "console_url":
                if not isinstance(value, str) or not value.startswith(("http://", "https://")):
                    raise ValueError("console_url: must be an http(s) URL")
                staged[key] = value.rstrip("/")
                continue
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise ValueError(f"{key}: must be a number")
            if key.endswith("_rate"):
                if not 0 <= value <= 1:
                    raise ValueError(f"{key}: must be between 0 and 1")
                staged[key] = float(value)
            else:
                if value < 0 or int(value) != value:
                    raise ValueError(f"{key}: must be a whole number, 0 or more")
                staged[key] = int(value)
        for key, value in staged.items():
            setattr(self, key, value)


class ReportDispatcher:
    """Posts delivery reports when they fall due, batched per callback URL,
    signed, and retried while the console is down."""

    def __init__(self, secret: str) -> None:
        self.secret = secret
        self._heap: list[tuple[float, int, str, list[dict], int]] = []
        self._counter = 0
        self._cond = threading.Condition()
        self._stopped = False
        # Only the reports thread posts, so one keep-alive session serves all.
        self._session = requests.Session()
        self._thread = threading.Thread(target=self._run, name="reports", daemon=True)
        self._thread.start()

    def add(self, due: float, callback_url: str, reports: list[dict], attempt: int = 0) -> None:
        """Post `reports` to `callback_url` once `due` (a time.monotonic() value)."""
        with self._cond:
            self._counter += 1
            heapq.heappush(self._heap, (due, self._counter, callback_url, reports, attempt))
            self._cond.notify()

    def stop(self) -> None:
        with self._cond:
            self._stopped = True
            self._cond.notify()
        self._thread.join(timeout=5)

    def _take_due(self) -> list[tuple[float, int, str, list[dict], int]]:
        with self._cond:
            while not self._stopped:
                now = time.monotonic()
                if self._heap and self._heap[0][0] <= now:
                    due = []
                    while self._heap and self._heap[0][0] <= now:
                        due.append(heapq.heappop(self._heap))
                    return due
                self._cond.wait(timeout=(self._heap[0][0] - now) if self._heap else None)
            return []

    def _run(self) -> None:
        while True:
            due = self._take_due()
            if not due:
                return
            batches: dict[tuple[str, int], list[dict]] = {}
            for _, _, url, reports, attempt in due:
                batches.setdefault((url, attempt), []).extend(reports)
            for (url, attempt), reports in batches.items():
                for start in range(0, len(reports), REPORT_BATCH_MAX):
                    self._post(url, reports[start : start + REPORT_BATCH_MAX], attempt)

    def _post(self, url: str, reports: list[dict], attempt: int) -> None:
        for report in reports:
            report["occurredAt"] = report["occurredAt"] or _now_iso()
        body = json.dumps({"reports": reports}).encode()
        headers = signature_headers(self.secret, f"dr_{uuid.uuid4().hex}", body)
        headers["Content-Type"] = "application/json"
        try:
            response = self._session.post(url, data=body, headers=headers, timeout=CALLBACK_TIMEOUT)
            ok = response.status_code < 300
            problem = f"HTTP {response.status_code}"
        except requests.RequestException as exc:
            ok, problem = False, str(exc)
        if ok:
            return
        if attempt < len(REPORT_RETRY_DELAYS):
            logger.warning("delivery reports to %s failed (%s); retrying", url, problem)
            self.add(time.monotonic() + REPORT_RETRY_DELAYS[attempt], url, reports, attempt + 1)
        else:
            logger.error("gave up posting %d delivery reports to %s", len(reports), url)


class Carrier:
    """The carrier's state and behaviour, independent of HTTP."""

    def __init__(
        self,
        settings: CarrierSettings,
        *,
        secret: str,
        api_key: str = "",
        seed: int | None = None,
        log_path: Path | None = None,
    ) -> None:
        self.settings = settings
        self.secret = secret
        self.api_key = api_key
        self.rng = random.Random(seed)
        self.log_path = log_path
        self.lock = threading.Lock()
        self.by_reference: dict[str, str] = {}
        # One tuple per accepted message, in ENTRY_FIELDS order (a million
        # dicts would cost the carrier more than the console's whole send).
        self.entries: list[tuple] = []
        self._id_prefix = f"sbx-{uuid.uuid4().hex[:20]}"
        self.batch_requests = 0
        self.reports = ReportDispatcher(secret)

    def close(self) -> None:
        self.reports.stop()

    # --- POST /v1/messages ----------------------------------------------------
    def accept_batch(self, headers: dict[str, str], body: Any) -> tuple[int, dict, dict]:
        """Returns (status, extra headers, JSON body)."""
        if self.api_key and headers.get("authorization") != f"Bearer {self.api_key}":
            return 401, {}, _error("unauthorized", "Missing or wrong API key.")
        with self.lock:
            cfg = self.settings
            self.batch_requests += 1
            count = self.batch_requests - 1
            if cfg.throttle_rate and self.rng.random() < cfg.throttle_rate:
                return (
                    429,
                    {"Retry-After": str(cfg.retry_after)},
                    _error("throttled", "Too many requests; slow down."),
                )
            # Each cycle is `burst_every` good requests then `burst_length` 503s.
            if cfg.burst_length and count % (cfg.burst_every + cfg.burst_length) >= cfg.burst_every:
                return 503, {}, _error("unavailable", "The carrier is having a bad moment.")
        problem = _batch_problem(body)
        if problem:
            return 400, {}, _error("invalid_request", problem)
        callback_url = body.get("callbackUrl") or ""
        results = [_check_message(m) for m in body["messages"]]
        received_at = _now_iso()
        logged, reports = [], []
        with self.lock:
            failure_rate = self.settings.failure_rate
            latency = self.settings.latency_ms / 1000
            for index, message in enumerate(body["messages"]):
                if results[index] is not None:
                    continue
                reference = message["reference"]
                message_id = self.by_reference.get(reference)
                repeat = message_id is not None
                if not repeat:
                    message_id = f"{self._id_prefix}{len(self.by_reference):012x}"
                    self.by_reference[reference] = message_id
                # Drawn for every new message, as seeded runs always have.
                failed = (not repeat) and self.rng.random() < failure_rate
                entry = (
                    message_id,
                    reference,
                    message["to"],
                    message["from"],
                    message["text"],
                    message.get("title") or "",
                    message.get("kind") or "SMS",
                    received_at,
                    repeat,
                )
                self.entries.append(entry)
                logged.append(entry)
                results[index] = _accepted(reference, message_id)
                # A provider that recognises a repeat does not deliver it again.
                if not repeat and callback_url:
                    reports.append(_report(message_id, reference, bool(failed)))
            if self.log_path is not None and logged:
                lines = "".join(
                    json.dumps(dict(zip(ENTRY_FIELDS, e, strict=True)), ensure_ascii=False) + "\n"
                    for e in logged
                )
                with self.log_path.open("a", encoding="utf-8") as fh:
                    fh.write(lines)
        if reports:
            self.reports.add(time.monotonic() + latency, callback_url, reports)
        return 200, {}, {"results": results}

    # --- GET /messages ----------------------------------------------------------
    def messages(self, reference: str | None = None) -> list[dict]:
        with self.lock:
            chosen = [e for e in self.entries if reference is None or e[1] == reference]
        return [dict(zip(ENTRY_FIELDS, e, strict=True)) for e in chosen]

    # --- POST /calls/080 --------------------------------------------------------
    def call_080(self, body: Any) -> tuple[int, dict]:
        if not isinstance(body, dict):
            return 400, _error("invalid_request", "The body must be a JSON object.")
        for field in ("optOutNumber", "phoneNumber"):
            if not isinstance(body.get(field), str) or not E164.match(body[field]):
                return 400, _error("invalid_request", f"{field}: an E.164 number is required.")
        if body.get("action") not in ("optout", "optin"):
            return 400, _error("invalid_request", "action: must be 'optout' or 'optin'.")
        call = {
            "optOutNumber": body["optOutNumber"],
            "phoneNumber": body["phoneNumber"],
            "action": body["action"],
            "calledAt": _now_iso(),
        }
        payload = json.dumps(call).encode()
        headers = signature_headers(self.secret, f"call_{uuid.uuid4().hex}", payload)
        headers["Content-Type"] = "application/json"
        url = f"{self.settings.console_url}/inbound/sandbox/080"
        try:
            response = requests.post(url, data=payload, headers=headers, timeout=CALLBACK_TIMEOUT)
        except requests.RequestException as exc:
            return 502, _error("console_unreachable", f"Could not reach {url}: {exc}")
        try:
            answer: Any = response.json()
        except ValueError:
            answer = response.text
        return 200, {"consoleStatus": response.status_code, "consoleResponse": answer}


def _batch_problem(body: Any) -> str:
    if not isinstance(body, dict):
        return "The body must be a JSON object."
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        return "messages: a non-empty list is required."
    if len(messages) > MAX_BATCH:
        return f"messages: at most {MAX_BATCH} per request."
    callback = body.get("callbackUrl")
    if callback is not None and not (
        isinstance(callback, str) and callback.startswith(("http://", "https://"))
    ):
        return "callbackUrl: must be an http(s) URL."
    return ""


def _check_message(message: Any) -> dict | None:
    """The rejection of one message of a batch, or None when it can be accepted."""
    reference = message.get("reference") if isinstance(message, dict) else None
    if not isinstance(message, dict) or not reference or not isinstance(reference, str):
        return _rejected(str(reference or ""), "missing_reference", "reference is required.")
    to, sender, text = message.get("to"), message.get("from"), message.get("text")
    if not isinstance(to, str) or not E164.match(to):
        return _rejected(reference, "invalid_number", f"to: {to!r} is not an E.164 number.")
    if not isinstance(sender, str) or not SENDER.fullmatch(sender):
        return _rejected(reference, "invalid_sender", f"from: {sender!r} is not a number.")
    if not isinstance(text, str) or not text:
        return _rejected(reference, "empty_text", "text is required.")
    return None


def _accepted(reference: str, message_id: str) -> dict:
    return {
        "reference": reference,
        "messageId": message_id,
        "status": "accepted",
        "errorCode": "",
        "errorMessage": "",
    }


def _report(message_id: str, reference: str, failed: bool) -> dict:
    return {
        "messageId": message_id,
        "reference": reference,
        "status": "failed" if failed else "delivered",
        "errorCode": "undeliverable" if failed else "",
        "errorMessage": "The handset could not be reached." if failed else "",
        "occurredAt": None,  # the handset answers when the latency is over
    }


def _rejected(reference: str, code: str, message: str) -> dict:
    return {
        "reference": reference,
        "messageId": "",
        "status": "rejected",
        "errorCode": code,
        "errorMessage": message,
    }


def _error(code: str, message: str) -> dict:
    return {"error": {"code": code, "message": message}}


def _now_iso() -> str:
    return datetime.now(UTC).isoformat()


class CarrierHandler(BaseHTTPRequestHandler):
    server: CarrierHTTPServer
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        logger.debug("%s " + format, self.address_string(), *args)

    def _send(self, status: int, body: Any, headers: dict | None = None) -> None:
        data = json.dumps(body, ensure_ascii=False).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def _json_body(self) -> tuple[bool, Any]:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            return True, json.loads(raw or b"null")
        except ValueError:
            return False, None

    def do_GET(self) -> None:
        carrier = self.server.carrier
        parts = urlsplit(self.path)
        if parts.path == "/health":
            self._send(200, {"status": "ok"})
        elif parts.path == "/messages":
            reference = parse_qs(parts.query).get("reference", [None])[0]
            self._send(200, carrier.messages(reference))
        elif parts.path == "/config":
            self._send(200, asdict(carrier.settings))
        else:
            self._send(404, _error("not_found", f"No endpoint {parts.path}."))

    def do_POST(self) -> None:
        carrier = self.server.carrier
        path = urlsplit(self.path).path
        ok, body = self._json_body()
        if not ok:
            self._send(400, _error("invalid_json", "The body is not valid JSON."))
            return
        if path == "/v1/messages":
            headers = {k.lower(): v for k, v in self.headers.items()}
            status, extra, answer = carrier.accept_batch(headers, body)
            self._send(status, answer, extra)
        elif path == "/config":
            if not isinstance(body, dict):
                self._send(400, _error("invalid_request", "The body must be a JSON object."))
                return
            try:
                with carrier.lock:
                    carrier.settings.update(body)
            except ValueError as exc:
                self._send(400, _error("invalid_setting", str(exc)))
                return
            self._send(200, asdict(carrier.settings))
        elif path == "/calls/080":
            status, answer = carrier.call_080(body)
            self._send(status, answer)
        else:
            self._send(404, _error("not_found", f"No endpoint {path}."))


class CarrierHTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], carrier: Carrier) -> None:
        super().__init__(address, CarrierHandler)
        self.carrier = carrier
