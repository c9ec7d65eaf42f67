"""The sandbox carrier as a real HTTP server in a subprocess."""

from __future__ import annotations

import json
import signal

import pytest
import requests

from tests.support.processes import REQUEST_TIMEOUT, WAIT_TIMEOUT

pytestmark = pytest.mark.processes


def batch(*references: str, to: str = "+821012345678") -> dict:
    return {
        "messages": [
            {"reference": ref, "to": to, "from": "+8215881234", "text": f"hello {ref}"}
            for ref in references
        ]
    }


def test_carrier_accepts_a_batch_and_answers_provider_ids(sandbox_carrier):
    response = requests.post(
        f"{sandbox_carrier.url}/v1/messages", json=batch("a", "b"), timeout=REQUEST_TIMEOUT
    )
    assert response.status_code == 200
    results = response.json()["results"]
    assert [r["reference"] for r in results] == ["a", "b"]
    assert all(r["status"] == "accepted" for r in results)
    assert len({r["messageId"] for r in results}) == 2


def test_a_repeated_reference_gets_the_same_id_and_is_logged_as_a_repeat(sandbox_carrier):
    first = requests.post(
        f"{sandbox_carrier.url}/v1/messages", json=batch("a"), timeout=REQUEST_TIMEOUT
    )
    again = requests.post(
        f"{sandbox_carrier.url}/v1/messages", json=batch("a", "b"), timeout=REQUEST_TIMEOUT
    )
    first_id = first.json()["results"][0]["messageId"]
    assert again.json()["results"][0]["messageId"] == first_id

    entries = sandbox_carrier.messages(reference="a")
    assert [e["repeat"] for e in entries] == [False, True]
    logged = [json.loads(line) for line in sandbox_carrier.log_path.read_text().splitlines()]
    assert [(e["reference"], e["repeat"]) for e in logged] == [
        ("a", False),
        ("a", True),
        ("b", False),
    ]
    assert logged[0]["messageId"] == first_id
    assert logged[0]["text"] == "hello a"


def test_carrier_rejects_bad_numbers_per_message_and_logs_only_accepted(sandbox_carrier):
    body = batch("good")
    body["messages"].append({"reference": "bad", "to": "010-1234", "from": "1588", "text": "x"})
    body["messages"].append({"to": "+821012345678", "from": "1588", "text": "x"})
    results = requests.post(
        f"{sandbox_carrier.url}/v1/messages", json=body, timeout=REQUEST_TIMEOUT
    ).json()["results"]
    assert [(r["status"], r["errorCode"]) for r in results] == [
        ("accepted", ""),
        ("rejected", "invalid_number"),
        ("rejected", "missing_reference"),
    ]
    assert [m["reference"] for m in sandbox_carrier.messages()] == ["good"]


def test_carrier_refuses_a_malformed_batch_with_a_clear_error(sandbox_carrier):
    url = f"{sandbox_carrier.url}/v1/messages"
    empty = requests.post(url, json={"messages": []}, timeout=REQUEST_TIMEOUT)
    assert empty.status_code == 400
    assert "messages" in empty.json()["error"]["message"]
    garbage = requests.post(url, data=b"{nope", timeout=REQUEST_TIMEOUT)
    assert garbage.status_code == 400
    assert garbage.json()["error"]["code"] == "invalid_json"


def test_config_changes_at_run_time_and_refuses_bad_values(sandbox_carrier):
    assert sandbox_carrier.configure(latency_ms=5, failure_rate=0.5)["failure_rate"] == 0.5
    bad = requests.post(
        f"{sandbox_carrier.url}/config", json={"failure_rate": 2}, timeout=REQUEST_TIMEOUT
    )
    assert bad.status_code == 400
    assert "failure_rate" in bad.json()["error"]["message"]
    unknown = requests.post(
        f"{sandbox_carrier.url}/config", json={"speed": 1}, timeout=REQUEST_TIMEOUT
    )
    assert unknown.status_code == 400
    current = requests.get(f"{sandbox_carrier.url}/config", timeout=REQUEST_TIMEOUT).json()
    assert current["failure_rate"] == 0.5
    assert current["latency_ms"] == 5


def test_carrier_throttles_with_retry_after(sandbox_carrier):
    sandbox_carrier.configure(throttle_rate=1, retry_after=3)
    response = requests.post(
        f"{sandbox_carrier.url}/v1/messages", json=batch("a"), timeout=REQUEST_TIMEOUT
    )
    assert response.status_code == 429
    assert response.headers["Retry-After"] == "3"
    assert sandbox_carrier.messages() == []


def test_carrier_fails_in_bursts(sandbox_carrier):
    sandbox_carrier.configure(burst_every=2, burst_length=1)
    codes = [
        requests.post(
            f"{sandbox_carrier.url}/v1/messages", json=batch(str(i)), timeout=REQUEST_TIMEOUT
        ).status_code
        for i in range(6)
    ]
    assert codes == [200, 200, 503, 200, 200, 503]


def test_carrier_stops_cleanly_on_sigterm(sandbox_carrier):
    process = sandbox_carrier.process.process
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=WAIT_TIMEOUT) == 0
    assert "Sandbox carrier stopped." in sandbox_carrier.process.output()


def test_carrier_refuses_a_bad_command_line_option(tmp_path):
    from tests.support.processes import SandboxCarrier

    carrier = SandboxCarrier(tmp_path, "--failure-rate", "1.5")
    carrier.process.start()
    assert carrier.process.process.wait(timeout=WAIT_TIMEOUT) != 0
    assert "failure-rate: must be between 0 and 1" in carrier.process.output()
