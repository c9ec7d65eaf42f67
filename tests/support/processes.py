"""Real subprocesses against the TEST database: the sandbox carrier and a
django-q2 cluster. Tests that use them need committed data (`live_server` or
`transactional_db`)."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
import requests
from django.conf import settings
from django.db import connection

ROOT = Path(__file__).resolve().parents[2]
# Deadlines for waits on real processes. Generous on purpose: a wait returns
# as soon as its condition holds, so only a failing test runs into them, and
# a loaded 2-core machine (a full suite beside other work) has taken longer
# than 20 s to start a qcluster. MUNJA_TEST_WAIT_SCALE stretches them all.
WAIT_SCALE = float(os.environ.get("MUNJA_TEST_WAIT_SCALE", "1") or 1)
START_TIMEOUT = 120.0 * WAIT_SCALE
WAIT_TIMEOUT = 120.0 * WAIT_SCALE
# One HTTP answer from a process the test started (the carrier, the console).
REQUEST_TIMEOUT = 60.0 * WAIT_SCALE


def subprocess_env(**extra: str) -> dict[str, str]:
    """The environment for a `manage.py` subprocess that must see the test database."""
    env = dict(os.environ)
    db = connection.settings_dict
    if db["ENGINE"].endswith("sqlite3"):
        env["MUNJA_SQLITE_PATH"] = str(db["NAME"])
        env.pop("DATABASE_URL", None)
    else:
        auth = quote(db["USER"] or "", safe="")
        if db.get("PASSWORD"):
            auth += ":" + quote(db["PASSWORD"], safe="")
        host = db["HOST"] or "127.0.0.1"
        port = f":{db['PORT']}" if db.get("PORT") else ""
        env["DATABASE_URL"] = f"postgres://{auth}@{host}{port}/{db['NAME']}"
    env["MUNJA_Q_SYNC"] = "0"
    env.setdefault("MUNJA_Q_NAME", f"test-{uuid.uuid4().hex[:8]}")
    # Both sides must sign and verify callbacks with the same secret.
    env["MUNJA_SANDBOX_SECRET"] = settings.SANDBOX_CARRIER_SECRET
    env["PYTHONUNBUFFERED"] = "1"
    if settings.REDIS_URL:
        env["REDIS_URL"] = settings.REDIS_URL
    env.update({k: str(v) for k, v in extra.items()})
    return env


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until(
    predicate: Callable[[], Any],
    *,
    timeout: float | None = None,
    interval: float = 0.05,
    what: str | Callable[[], str] = "",
) -> Any:
    """Poll until `predicate()` is truthy; fail the test with `what` on timeout
    (WAIT_TIMEOUT unless given)."""
    timeout = WAIT_TIMEOUT if timeout is None else timeout
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            described = what() if callable(what) else what
            pytest.fail(f"timed out after {timeout}s waiting for {described or predicate}")
        time.sleep(interval)


class ManagedProcess:
    """A `manage.py` subprocess with its output in a log file."""

    def __init__(self, args: list[str], env: dict[str, str], log_path: Path) -> None:
        self.args = args
        self.env = env
        self.log_path = log_path
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            [sys.executable, str(ROOT / "manage.py"), *self.args],
            cwd=ROOT,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def output(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def stop(self, timeout: float = 10.0) -> None:
        """SIGTERM the main process (it stops its own children), then SIGKILL
        the whole group: nothing may outlive the test."""
        if self.alive():
            self.process.send_signal(signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(timeout=timeout)
        self._kill_group()

    def _kill_group(self) -> None:
        if self.process is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)

    def kill(self) -> None:
        """SIGKILL the whole group at once, as a crash would."""
        self._kill_group()


class SandboxCarrier:
    def __init__(self, tmp: Path, *args: str) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = tmp / "carrier-messages.jsonl"
        self.process = ManagedProcess(
            [
                "sandbox_carrier",
                "--port",
                str(self.port),
                "--latency-ms",
                "50",
                "--seed",
                "1",
                "--log",
                str(self.log_path),
                *args,
            ],
            subprocess_env(),
            tmp / "carrier.log",
        )

    def start(self) -> None:
        self.process.start()
        wait_until(
            self._healthy,
            timeout=START_TIMEOUT,
            what=lambda: f"the sandbox carrier to start:\n{self.process.output()}",
        )

    def _healthy(self) -> bool:
        if not self.process.alive():
            pytest.fail(f"the sandbox carrier exited:\n{self.process.output()}")
        try:
            return requests.get(f"{self.url}/health", timeout=1).ok
        except requests.RequestException:
            return False

    def messages(self, reference: str | None = None) -> list[dict]:
        params = {"reference": reference} if reference else {}
        return requests.get(f"{self.url}/messages", params=params, timeout=REQUEST_TIMEOUT).json()

    def configure(self, **changes: Any) -> dict:
        response = requests.post(f"{self.url}/config", json=changes, timeout=REQUEST_TIMEOUT)
        assert response.ok, response.text
        return response.json()

    def call_080(self, opt_out_number: str, phone_number: str, action: str = "optout") -> dict:
        body = {"optOutNumber": opt_out_number, "phoneNumber": phone_number, "action": action}
        return requests.post(f"{self.url}/calls/080", json=body, timeout=REQUEST_TIMEOUT).json()


@pytest.fixture
def sandbox_carrier(tmp_path: Path) -> Iterator[SandboxCarrier]:
    carrier = SandboxCarrier(tmp_path)
    try:
        carrier.start()
        yield carrier
    finally:
        carrier.process.stop()


class QCluster:
    """`manage.py qcluster` against the test database; tasks the test process
    enqueues (async_task) go to this cluster's queue."""

    def __init__(self, tmp: Path, public_url: str, carrier_url: str) -> None:
        self.name = f"test-{uuid.uuid4().hex[:8]}"
        self.process = ManagedProcess(
            ["qcluster"],
            subprocess_env(
                MUNJA_Q_NAME=self.name,
                MUNJA_PUBLIC_URL=public_url,
                MUNJA_SANDBOX_URL=carrier_url,
                MUNJA_Q_TIMEOUT="30",
                MUNJA_Q_RETRY="60",
            ),
            tmp / "qcluster.log",
        )

    def start(self) -> None:
        seen = self.process.output().count("running.")
        self.process.start()
        wait_until(lambda: self._running(seen), timeout=START_TIMEOUT, what="the qcluster to start")

    def _running(self, seen: int) -> bool:
        if not self.process.alive():
            pytest.fail(f"the qcluster exited:\n{self.process.output()}")
        return self.process.output().count("running.") > seen

    def kill(self) -> None:
        self.process.kill()

    def restart(self, *, crash: bool = True) -> None:
        """SIGKILL (or stop cleanly) and start again."""
        if crash:
            self.process.kill()
        else:
            self.process.stop()
        self.start()

    def stop(self) -> None:
        self.process.stop()


@pytest.fixture
def qcluster(
    tmp_path: Path, live_server, sandbox_carrier: SandboxCarrier, monkeypatch
) -> Iterator[QCluster]:
    from django_q.conf import Conf

    cluster = QCluster(tmp_path, live_server.url, sandbox_carrier.url)
    # Enqueue from this process (and the live server's thread) into the
    # subprocess's queue instead of running tasks inline.
    monkeypatch.setattr(Conf, "SYNC", False)
    monkeypatch.setattr(Conf, "PREFIX", cluster.name)
    monkeypatch.setattr(Conf, "CLUSTER_NAME", cluster.name)
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.stop()


# --- rows the test-SMS producer makes ----------------------------------------------


def make_test_message(project, *, gateway=None, to: str = "+821012345678", **fields: Any):
    """A test SMS (a message of the project's test outbox, queued unless
    `status` says otherwise) from an approved sender number of `project`;
    `gateway` becomes the project's SMS channel gateway. Written directly,
    so nothing is woken: the caller sends it, if at all."""
    from django.db import transaction

    from campaigns.test_sends import new_dedupe_key, open_test_outbox
    from channels.models import SenderNumber, SmsChannel
    from console.lib.sms import cp949_length, sms_kind
    from dispatch.counters import bump
    from dispatch.models import Message

    sender, _created = SenderNumber.objects.get_or_create(
        project=project,
        number=fields.pop("sender", "+8215881234"),
        defaults={
            "owner_type": SenderNumber.OwnerType.COMPANY,
            "owner_name": project.company_name,
            "status": fields.pop("sender_status", SenderNumber.Status.APPROVED),
        },
    )
    if gateway is not None:
        SmsChannel.objects.update_or_create(project=project, defaults={"gateway": gateway})
    body = fields.pop("body", "Munja test message")
    with transaction.atomic():
        outbox = open_test_outbox(project, sender)
        message = Message.objects.create(
            outbox=outbox,
            dedupe_key=new_dedupe_key(),
            project=project,
            phone_number=to,
            body=body,
            kind=sms_kind(body),
            bytes=cp949_length(body),
            **fields,
        )
        bump(outbox.pk, recipients=1, queued=int(message.status == Message.Status.QUEUED))
    return message


def make_project(name: str = "Acme"):
    """A project with no members: pipeline tests need no users (and hashing
    their passwords costs most of a second each)."""
    from projects.actions import do_create_project

    return do_create_project(name, f"{name} Ltd")
