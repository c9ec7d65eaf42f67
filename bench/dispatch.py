"""Benchmark: a 1,000,000-recipient personalised promotional campaign.

    .venv/bin/python bench/dispatch.py [--recipients N] [--postgres] [--workers N]

A valid audience file of N rows (phoneNumber, name, coupon) is built with raw
inserts, 1% of its numbers are put on the opt-out list, and a sandbox carrier
(5 ms latency, delivery reports posted to a sink in this process that answers
204 and does nothing else) and a `qcluster`
with 2 workers are started as subprocesses on the embedded default (SQLite,
ORM broker). The clock runs from `do_start_campaign` (the "send" button) to
the moment no message is queued or in flight: every recipient rendered,
wrapped, checked and handed to the carrier (or skipped as opted out).

Also printed, from the same run: a bare loop in this process that only
renders (the same template, the same promotional wrapping and byte counting)
and inserts the same rows, and the ratio of the two; the peak RSS (VmHWM) of
each cluster process.

Targets (issue 4): ≥ 10,000 messages/s; ≤ 500 MB per worker. Exit 1 on a miss.
`--postgres` uses DATABASE_URL and REDIS_URL from the environment instead
(the database named there is used as is: give it a scratch database).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out" / "dispatch_data"
sys.path.insert(0, str(ROOT))

RATE_TARGET = 10_000
MEMORY_TARGET_MB = 500
BODY = "{{ name }}님, 봄맞이 쿠폰 {{ coupon }}을 드립니다. 이번 주말까지 사용하세요."


def setup_django(postgres: bool, workers: int = 2) -> dict[str, str]:
    env = dict(os.environ)
    if postgres:
        if not (env.get("DATABASE_URL") and env.get("REDIS_URL")):
            sys.exit("--postgres needs DATABASE_URL and REDIS_URL")
    else:
        shutil.rmtree(OUT, ignore_errors=True)
        OUT.mkdir(parents=True)
        env.pop("DATABASE_URL", None)
        env.pop("REDIS_URL", None)
        env["MUNJA_DATA_DIR"] = str(OUT)
        env["MUNJA_SQLITE_PATH"] = str(OUT / "bench.sqlite3")
    env.update(
        MUNJA_Q_SYNC="0",
        MUNJA_Q_NAME=f"bench-{uuid.uuid4().hex[:6]}",
        MUNJA_Q_WORKERS=str(workers),
        MUNJA_DISPATCH_BATCH_SIZE="1000",
        MUNJA_DISPATCH_CHUNK_SIZE="10000",
        MUNJA_LANGUAGE="en",
        PYTHONUNBUFFERED="1",
    )
    os.environ.clear()
    os.environ.update(env)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "console.settings")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    return env


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def report_sink() -> str:
    """Start a thread answering every POST with 204; returns its URL."""
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    class Sink(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Sink)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return f"http://127.0.0.1:{server.server_address[1]}/reports"


def build_world(recipients: int, carrier_url: str, optout_list: int | None = None):
    from django.db import connection

    from audiences.models import AudienceFile, AudienceFileRow
    from campaigns.actions import do_create_campaign
    from channels.models import Gateway, OptOutNumber, SenderNumber, SmsChannel
    from console.lib.compliance import night_release_at
    from optout.models import OptOut
    from projects.actions import do_create_project

    project = do_create_project("Bench", "벤치마크 주식회사")
    # A promotional campaign at night would (rightly) be held: run it in a
    # zone where it is daytime now.
    now = datetime.now(UTC)
    for zone in ("Asia/Seoul", "Europe/London", "America/New_York", "Pacific/Auckland"):
        if night_release_at(now, zone) is None:
            break
    project.time_zone = zone
    project.send_rate_per_minute = 100_000_000
    project.save()
    SenderNumber.objects.create(
        project=project,
        number="+8215881234",
        owner_type="company",
        owner_name="Bench",
        status="approved",
        is_default=True,
    )
    OptOutNumber.objects.create(number="+82801234567", project=project)
    # Delivery reports are not part of "handed to the carrier"; a sink takes
    # them so the carrier, on the same cores, does not retry them for minutes
    # (a closed port here cost it ~80,000 failed requests per million).
    sink = report_sink()
    gateway = Gateway.objects.create(
        name="Bench carrier",
        backend="sandbox",
        config={"url": carrier_url, "callback_url": sink},
        messages_per_second=1_000_000,
    )
    SmsChannel.objects.create(project=project, gateway=gateway)
    audience = AudienceFile.objects.create(
        project=project,
        name="bench.csv",
        format="csv",
        status="valid",
        rows=recipients,
        columns=["phoneNumber", "name", "coupon"],
    )
    table = AudienceFileRow._meta.db_table
    file_id = AudienceFile._meta.pk.get_db_prep_value(audience.pk, connection)
    project_id = OptOut._meta.get_field("project").get_db_prep_value(project.pk, connection)
    now_text = now.isoformat()
    with connection.cursor() as cursor:
        for start in range(0, recipients, 50_000):
            rows = [
                (file_id, i + 2, f"+8210{i:08d}", json.dumps([f"고객{i}", f"C{i % 99991:05d}"]))
                for i in range(start, min(recipients, start + 50_000))
            ]
            cursor.executemany(
                f'INSERT INTO {table} (file_id, row_number, phone_number, "values") '
                "VALUES (%s, %s, %s, %s)",
                rows,
            )
        # Default: 1% of the recipients are on the list. With --optout-list N
        # the list holds N numbers (those 1% plus numbers that are not
        # recipients); N = 0 is an empty list.
        opted = [] if optout_list == 0 else [f"+8210{i:08d}" for i in range(37, recipients, 100)]
        if optout_list:
            opted += [f"+8219{i:08d}" for i in range(max(optout_list - len(opted), 0))]
        sql = (
            f"INSERT INTO {OptOut._meta.db_table} (project_id, phone_number, source, created_at) "
            "VALUES (%s, %s, '080', %s)"
        )
        for start in range(0, len(opted), 50_000):
            cursor.executemany(
                sql, [(project_id, n, now_text) for n in opted[start : start + 50_000]]
            )
    campaign = do_create_campaign(
        project,
        name="Bench",
        audience=audience,
        sender_number="+8215881234",
        body=BODY,
        is_promotional=True,
        file_consent_confirmed=True,
    )
    return project, campaign, zone


def bare_loop(campaign) -> float:
    """Render + wrap + count + insert the same rows, nothing else."""
    from django.db import transaction

    from campaigns.materialise import _file_chunk
    from campaigns.models import Campaign
    from campaigns.rendering import Renderer
    from dispatch.actions import _insert

    shadow = Campaign.objects.get(pk=campaign.pk)
    shadow.pk = None
    shadow.outbox = None  # a new outbox of its own
    shadow.name = "bare loop"
    shadow.status = Campaign.Status.SENDING
    shadow.save()
    shadow = Campaign.objects.select_related("project", "audience_file").get(pk=shadow.pk)
    started = time.perf_counter()
    renderer = Renderer.for_campaign(shadow)
    after = 0
    while True:
        rows = _file_chunk(shadow, renderer, after, 10_000)
        if not rows:
            break
        values = []
        for recipient in rows:
            r = renderer.render(recipient.context)
            values.append(
                (
                    shadow.outbox_id,
                    recipient.phone_number[1:],
                    shadow.project_id.hex,
                    recipient.customer_id,
                    recipient.phone_number,
                    recipient.time_zone,
                    r.body,
                    "",
                    r.kind,
                    r.bytes,
                    "queued",
                    "",
                    "",
                    0,
                    "",
                    "",
                    "",
                )
            )
        with transaction.atomic():
            _insert(values)
        after = rows[-1].key
    return time.perf_counter() - started


def cluster_memory_mb(root_pid: int) -> dict[int, float]:
    """VmHWM of the cluster process and all its descendants."""
    found: dict[int, float] = {}
    todo = [root_pid]
    while todo:
        pid = todo.pop()
        try:
            status = Path(f"/proc/{pid}/status").read_text()
        except OSError:
            continue
        for line in status.splitlines():
            if line.startswith("VmHWM:"):
                found[pid] = int(line.split()[1]) / 1024
        try:
            children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        except OSError:
            children = []
        todo.extend(int(c) for c in children)
    return found


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--recipients", type=int, default=1_000_000)
    parser.add_argument("--postgres", action="store_true")
    parser.add_argument(
        "--optout-list",
        type=int,
        default=None,
        help="numbers on the opt-out list (default: 1%% of the recipients; 0: empty list)",
    )
    parser.add_argument(
        "--workers", type=int, default=2, help="qcluster workers (and sender slots); default 2"
    )
    args = parser.parse_args()
    env = setup_django(args.postgres, args.workers)

    from campaigns.actions import do_start_campaign
    from campaigns.models import Campaign
    from dispatch.models import OutboxStats

    logs = OUT if not args.postgres else Path(ROOT / "bench" / "out")
    logs.mkdir(parents=True, exist_ok=True)
    port = free_port()
    carrier_url = f"http://127.0.0.1:{port}"
    manage = [sys.executable, str(ROOT / "manage.py")]
    carrier = subprocess.Popen(
        [*manage, "sandbox_carrier", "--port", str(port), "--latency-ms", "5"],
        env=env,
        stdout=(logs / "carrier.log").open("wb"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    t = time.perf_counter()
    _project, campaign, zone = build_world(args.recipients, carrier_url, args.optout_list)
    listed = "1% of recipients" if args.optout_list is None else f"{args.optout_list:,} numbers"
    print(
        f"setup: {args.recipients:,} file rows, opt-out list {listed}, zone {zone}: "
        f"{time.perf_counter() - t:.1f} s"
    )
    env["MUNJA_SANDBOX_URL"] = carrier_url
    cluster = subprocess.Popen(
        [*manage, "qcluster"],
        env=env,
        stdout=(logs / "qcluster.log").open("wb"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 30
        while b"running." not in (logs / "qcluster.log").read_bytes():
            if time.monotonic() > deadline or cluster.poll() is not None:
                print((logs / "qcluster.log").read_text()[-3000:])
                return 2
            time.sleep(0.1)
        from django_q.conf import Conf

        Conf.SYNC = False
        started = time.perf_counter()
        do_start_campaign(campaign)
        last = 0.0
        memory: dict[int, float] = {}
        while True:
            time.sleep(0.5)
            memory.update(cluster_memory_mb(cluster.pid))
            stats = OutboxStats.objects.get(pk=campaign.outbox_id)
            c = Campaign.objects.get(pk=campaign.pk)
            elapsed = time.perf_counter() - started
            if elapsed - last >= 10:
                last = elapsed
                print(
                    f"  {elapsed:5.0f} s: {stats.recipients:,} materialised, "
                    f"{stats.sent:,} sent, {stats.skipped_opted_out:,} opted out"
                )
            if c.materialised_at and stats.queued == 0 and stats.recipients == args.recipients:
                break
            if elapsed > 3600 or cluster.poll() is not None:
                print("gave up; qcluster log tail:")
                print((logs / "qcluster.log").read_text()[-3000:])
                return 2
        total = time.perf_counter() - started
        memory.update(cluster_memory_mb(cluster.pid))
    finally:
        for process in (cluster, carrier):
            try:
                os.killpg(process.pid, 15)
                process.wait(timeout=15)
            except Exception:
                os.killpg(process.pid, 9)
    stats = OutboxStats.objects.get(pk=campaign.outbox_id)
    rate = args.recipients / total
    bare = bare_loop(campaign)
    peak = max(memory.values()) if memory else 0.0
    print(
        f"dispatch: {args.recipients:,} recipients in {total:.1f} s = {rate:,.0f} messages/s "
        f"({stats.sent:,} handed to the carrier, {stats.skipped_opted_out:,} opted out, "
        f"{stats.failed:,} failed)"
    )
    print(
        f"bare render+insert loop: {bare:.1f} s = {args.recipients / bare:,.0f} rows/s; "
        f"dispatch / bare = {total / bare:.2f}"
    )
    print(
        "peak RSS (VmHWM) per cluster process, MB: "
        + ", ".join(f"{pid}: {mb:.0f}" for pid, mb in sorted(memory.items()))
    )
    ok = rate >= RATE_TARGET and peak <= MEMORY_TARGET_MB
    print(f"target ≥ {RATE_TARGET:,}/s and ≤ {MEMORY_TARGET_MB} MB: {'met' if ok else 'MISSED'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
