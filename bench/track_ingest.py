"""Track ingest through HTTP on the embedded default (SQLite): events per second.

Run: .venv/bin/python bench/track_ingest.py [--batches N] [--workers N] [--clients N]

Builds a throwaway SQLite database in a temp dir, starts gunicorn on a free
port against it, and POSTs batches of 100 events to /v1/projects/{id}/track:
first for users not seen before (each batch creates 100 customers), then for
existing users. Prints events/s for each phase and, as a noise-robust
reference from the same run, the ratio of Track calls per second to calls of
the cheapest authenticated endpoint (GET /v1/projects/{id}). Exits non-zero
when either phase is under the target of 2,000 events/s.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TARGET_EVENTS_PER_SECOND = 2000
BATCH = 100


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def prepare(data_dir: Path) -> tuple[str, str]:
    """Migrate the temp database and create a project with an API token."""
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "console.settings")
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0, interactive=False)
    call_command("createcachetable", verbosity=0)
    from projects.actions import do_create_api_token, do_create_project

    project = do_create_project("Bench", "Bench Ltd")
    _, token = do_create_api_token(project, "bench", None)
    return str(project.id), token


def start_server(port: int, workers: int, log: Path) -> subprocess.Popen:
    command = [
        sys.executable, "-m", "gunicorn", "console.wsgi",
        "--bind", f"127.0.0.1:{port}", "--workers", str(workers),
        "--log-level", "warning",
    ]  # fmt: skip
    process = subprocess.Popen(
        command, cwd=ROOT, env=os.environ.copy(), stdout=log.open("wb"), stderr=subprocess.STDOUT
    )
    import requests

    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if requests.get(f"http://127.0.0.1:{port}/healthz", timeout=1).ok:
                return process
        except requests.ConnectionError:
            pass
        if process.poll() is not None:
            break
        time.sleep(0.2)
    process.kill()
    sys.exit(f"gunicorn did not start; see {log}:\n{log.read_text()[-2000:]}")


def bodies(prefix: str, batches: int, existing: int = 0) -> list[bytes]:
    now = datetime.now(UTC)
    out = []
    for b in range(batches):
        events = []
        for i in range(BATCH):
            user = f"{prefix}-{(b * BATCH + i) % existing if existing else b * BATCH + i}"
            events.append(
                {
                    "subjectType": "user",
                    "subjectId": user,
                    "type": "purchase" if i % 3 else "view_item",
                    "data": {"sku": f"SKU-{i % 17}", "amount": 1000 + i},
                    "createdAt": (now - timedelta(seconds=b * BATCH + i)).isoformat(),
                }
            )
        out.append(json.dumps({"events": events}).encode())
    return out


def run(url: str, headers: dict, payloads: list[bytes | None], clients: int) -> float:
    """Seconds to send every payload (None → GET) with `clients` concurrent sessions."""
    import requests

    sessions = [requests.Session() for _ in range(clients)]

    def send(args: tuple[int, bytes | None]) -> None:
        n, payload = args
        session = sessions[n % clients]
        if payload is None:
            response = session.get(url, headers=headers, timeout=60)
        else:
            response = session.post(url, data=payload, headers=headers, timeout=60)
        if response.status_code != 200:
            raise SystemExit(f"{response.status_code}: {response.text[:500]}")
        if payload is not None and response.json()["accepted"]["events"] != BATCH:
            raise SystemExit(f"not all events accepted: {response.text[:500]}")

    started = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        list(pool.map(send, enumerate(payloads)))
    return time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batches", type=int, default=100, help="batches of 100 per phase")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers")
    parser.add_argument("--clients", type=int, default=4, help="concurrent HTTP clients")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="munja-bench-track-") as tmp:
        data_dir = Path(tmp)
        os.environ.update(
            {
                "MUNJA_DATA_DIR": str(data_dir),
                "MUNJA_SQLITE_PATH": str(data_dir / "bench.sqlite3"),
                "MUNJA_DEBUG": "0",
                "MUNJA_SECURE": "0",
                "MUNJA_STATIC_MANIFEST": "0",
                "MUNJA_LOG_LEVEL": "WARNING",
                "MUNJA_API_RATE_PER_MINUTE": "10000000",
            }
        )
        os.environ.pop("DATABASE_URL", None)
        os.environ.pop("REDIS_URL", None)
        project_id, token = prepare(data_dir)
        port = free_port()
        server = start_server(port, args.workers, data_dir / "gunicorn.log")
        try:
            base = f"http://127.0.0.1:{port}/v1/projects/{project_id}"
            auth = {"Authorization": f"Bearer {token}"}
            post = {**auth, "Content-Type": "application/json"}
            # Warm up every worker (imports, connections) before timing anything.
            run(f"{base}/track", post, bodies("warm", 2 * args.workers), args.clients)
            run(base, auth, [None] * 20, args.clients)

            get_seconds = run(base, auth, [None] * args.batches, args.clients)
            new_seconds = run(f"{base}/track", post, bodies("new", args.batches), args.clients)
            existing = bodies("new", args.batches, existing=args.batches * BATCH)
            old_seconds = run(f"{base}/track", post, existing, args.clients)
        finally:
            server.terminate()
            server.wait(timeout=10)

    events = args.batches * BATCH
    new_rate = events / new_seconds
    old_rate = events / old_seconds
    get_rate = args.batches / get_seconds
    print(
        f"machine: {os.cpu_count()} CPUs; gunicorn workers {args.workers}; clients {args.clients}"
    )
    print(f"new users:      {events} events in {new_seconds:.2f} s = {new_rate:,.0f} events/s")
    print(f"existing users: {events} events in {old_seconds:.2f} s = {old_rate:,.0f} events/s")
    print(f"reference GET /v1/projects/{{id}}: {get_rate:,.0f} requests/s")
    print(
        "track calls per reference call: "
        f"new {new_rate / BATCH / get_rate:.2f}, existing {old_rate / BATCH / get_rate:.2f}"
    )
    worst = min(new_rate, old_rate)
    ok = worst >= TARGET_EVENTS_PER_SECOND
    print(f"target {TARGET_EVENTS_PER_SECOND:,} events/s: {'met' if ok else 'MISSED'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
