"""`make run`'s command: seeds the demo, starts the console, the task cluster
and the sandbox carrier, and stops all three on Ctrl-C."""

from __future__ import annotations

import json
import signal

import pytest
import requests

from projects.models import ApiToken, Project
from tests.support.processes import (
    REQUEST_TIMEOUT,
    START_TIMEOUT,
    WAIT_TIMEOUT,
    ManagedProcess,
    free_port,
    subprocess_env,
    wait_until,
)

pytestmark = pytest.mark.processes


def _up(url: str) -> bool:
    try:
        return requests.get(url, timeout=1).status_code == 200
    except requests.RequestException:
        return False


def test_run_console_seeds_the_demo_serves_everything_and_stops_on_ctrl_c(
    transactional_db, tmp_path
):
    port, sandbox_port = free_port(), free_port()
    proc = ManagedProcess(
        ["run_console", "--port", str(port), "--sandbox-port", str(sandbox_port)],
        subprocess_env(MUNJA_DATA_DIR=str(tmp_path), MUNJA_DEBUG="1"),
        tmp_path / "run.log",
    )
    proc.start()
    try:
        wait_until(lambda: "Press Ctrl-C" in proc.output(), timeout=START_TIMEOUT, what=proc.output)
        wait_until(
            lambda: _up(f"http://127.0.0.1:{port}/healthz"), timeout=START_TIMEOUT, what=proc.output
        )
        wait_until(lambda: _up(f"http://127.0.0.1:{sandbox_port}/health"), timeout=START_TIMEOUT)
        wait_until(
            lambda: "Q Cluster" in proc.output() and "running" in proc.output(),
            timeout=START_TIMEOUT,
        )

        demo = json.loads((tmp_path / "demo.json").read_text())
        assert f"Demo API token:  {demo['token']}" in proc.output()
        project = Project.objects.get(pk=demo["projectId"])
        assert ApiToken.objects.filter(project=project, revoked_at=None).count() == 1
        answer = requests.get(
            f"http://127.0.0.1:{port}/v1/projects/{project.pk}",
            headers={"Authorization": f"Bearer {demo['token']}"},
            timeout=REQUEST_TIMEOUT,
        )
        assert answer.status_code == 200
        assert answer.json()["optOutNumber"] == "+82801234567"

        proc.process.send_signal(signal.SIGINT)
        assert proc.process.wait(timeout=WAIT_TIMEOUT) == 0
        assert "Stopped." in proc.output()
        assert not _up(f"http://127.0.0.1:{port}/healthz")
        assert not _up(f"http://127.0.0.1:{sandbox_port}/health")
    finally:
        proc.kill()
