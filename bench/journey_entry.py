"""Entry latency: Track call → message accepted by the carrier, at a steady rate.

    .venv/bin/python bench/journey_entry.py [--rate 1000] [--seconds 120] [--batch 100]
        [--clients 4] [--gunicorn 2] [--workers 2] [--drain 300] [--campaign N] [--postgres]

What it does, in one process tree on this machine:

- a throwaway SQLite database (the embedded default; ORM broker) with one
  project and enough users (phone numbers, consent) for every event: each
  event of the run is by a different, already known user, so each enters once;
- the sandbox carrier (5 ms latency, `--log`: one JSON line per accepted
  message with `receivedAt`), delivery reports to a sink in this process;
- gunicorn (`--gunicorn` workers) serving the Track API, and a `qcluster`
  (`--workers` workers): the journey runner and the send core's chains;
- rate limits raised so that they are not what is measured: the API limit
  (`MUNJA_API_RATE_PER_MINUTE`, and the project's) to 10,000,000/min, the
  project's send rate to 100,000,000/min and the gateway's to 1,000,000/s.

Phase 1 (no journey active): `--rate` events/s for `--seconds` through
POST /v1/projects/{id}/track in calls of `--batch` events, paced open-loop
(call i starts at t0 + i × batch / rate, by `--clients` concurrent
clients; a client that is behind starts its next call at once). Phase 2:
an event journey (trigger on `order` → send SMS, not promotional, Liquid
with the user's name and `entry_event.data.order` → exit) is activated with
the console's own actions (publish, activate), then the same paced load by
other users; then the bench waits (at most `--drain` s) for every phase-2
user's message at the carrier.

Printed:
- the entry latency of EVERY phase-2 event, measured, not estimated: from
  the moment its Track call was sent (the client's clock) to the carrier's
  `receivedAt` of that user's message (same machine clock; the message is
  matched by its phone number and its journey reference `c<outbox>-r<run>-<step>`):
  p50, p95, p99, max; a message that never arrived within the drain counts
  as infinitely late; also per 10 s of sending (does a backlog build up?);
- Track calls/s achieved in each phase and their ratio (with the journey ÷
  without; the offered rate is the same, so below 1.0 only when the server
  fell behind it), and the Track call's own latency in each phase.

`--campaign N` also starts, at the start of phase 2, a non-promotional
campaign to N other recipients (an audience file of N rows, raw inserts)
that sends while the journey works; its progress is printed. The ratio is
then not the target's (phase 1 had no campaign).

Targets (issue 13): p99 ≤ 5 s; Track throughput ratio ≥ 0.8. Exit 1 on a
miss. `--postgres` uses DATABASE_URL and REDIS_URL from the environment
(a scratch database: it is migrated and used as is).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import statistics
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import bench.dispatch as dispatch_bench  # noqa: E402
from bench.dispatch import cluster_memory_mb, free_port, report_sink, setup_django  # noqa: E402

OUT = dispatch_bench.OUT.parent / "journey_entry"
BODY = "{{ name }}님, 주문 {{ entry_event.data.order }}이 접수되었습니다."
CAMPAIGN_BODY = "{{ name }}님, 이번 주 배송 안내입니다."
P99_TARGET_S = 5.0
RATIO_TARGET = 0.8
WARM_CALLS = 20
# Journey users are +8210 00000000 …; campaign recipients from here on.
CAMPAIGN_OFFSET = 50_000_000


def phone(i: int) -> str:
    return f"+8210{i:08d}"


def build_world(users: int, carrier_url: str):
    from audiences.models import Customer
    from channels.models import Gateway, OptOutNumber, SenderNumber, SmsChannel
    from projects.actions import do_create_api_token, do_create_project

    project = do_create_project("Entry bench", "벤치마크 주식회사")
    project.api_rate_per_minute = 10_000_000
    project.send_rate_per_minute = 100_000_000
    project.save()
    sender = SenderNumber.objects.create(
        project=project,
        number="+8215881234",
        owner_type="company",
        owner_name="Bench",
        status="approved",
        is_default=True,
    )
    OptOutNumber.objects.create(number="+82801234567", project=project)
    gateway = Gateway.objects.create(
        name="Bench carrier",
        backend="sandbox",
        config={"url": carrier_url, "callback_url": report_sink()},
        messages_per_second=1_000_000,
    )
    SmsChannel.objects.create(project=project, gateway=gateway)
    for start in range(0, users, 5000):
        Customer.objects.bulk_create(
            [
                Customer(
                    project=project,
                    user_id=f"u{i}",
                    phone_number=phone(i),
                    name=f"고객{i}",
                    time_zone=project.time_zone,
                    promotional_consent=True,
                )
                for i in range(start, min(users, start + 5000))
            ]
        )
    _, token = do_create_api_token(project, "bench", None)
    return project, sender, token


def build_journey(project, sender):
    """An event journey order → send → exit, published but not yet active."""
    from journeys.actions import do_create_journey, do_publish, do_save_draft

    journey = do_create_journey(project, "Order received")
    graph = {
        "nodes": [
            {"key": "start", "kind": "trigger", "config": {"type": "event", "event": "order",
             "where": []}, "next": {"next": "send"}},
            {"key": "send", "kind": "send",
             "config": {"sender_number_id": sender.pk, "body": BODY, "is_promotional": False},
             "next": {"sent": "end", "not_sent": "end"}},
            {"key": "end", "kind": "exit", "config": {}, "next": {}},
        ]
    }  # fmt: skip
    do_save_draft(journey, graph=graph, settings={})
    do_publish(journey)
    return journey


def build_campaign(project, recipients: int):
    """A non-promotional campaign to an audience file of `recipients` rows."""
    from django.db import connection

    from audiences.models import AudienceFile, AudienceFileRow
    from campaigns.actions import do_create_campaign

    audience = AudienceFile.objects.create(
        project=project,
        name="bench.csv",
        format="csv",
        status="valid",
        rows=recipients,
        columns=["phoneNumber", "name"],
    )
    table = AudienceFileRow._meta.db_table
    file_id = AudienceFile._meta.pk.get_db_prep_value(audience.pk, connection)
    with connection.cursor() as cursor:
        for start in range(0, recipients, 50_000):
            cursor.executemany(
                f'INSERT INTO {table} (file_id, row_number, phone_number, "values") '
                "VALUES (%s, %s, %s, %s)",
                [
                    (file_id, i + 2, phone(CAMPAIGN_OFFSET + i), json.dumps([f"수신자{i}"]))
                    for i in range(start, min(recipients, start + 50_000))
                ],
            )
    return do_create_campaign(
        project,
        name="Bench campaign",
        audience=audience,
        sender_number="+8215881234",
        body=CAMPAIGN_BODY,
        is_promotional=False,
    )


def start_gunicorn(env: dict, port: int, workers: int, log: Path) -> subprocess.Popen:
    import requests

    process = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "console.wsgi", "--bind", f"127.0.0.1:{port}",
         "--workers", str(workers), "--log-level", "warning"],
        cwd=ROOT, env=env, stdout=log.open("wb"), stderr=subprocess.STDOUT,
        start_new_session=True,
    )  # fmt: skip
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if requests.get(f"http://127.0.0.1:{port}/healthz", timeout=1).ok:
                return process
        except requests.RequestException:
            pass
        if process.poll() is not None:
            break
        time.sleep(0.2)
    sys.exit(f"gunicorn did not start; see {log}:\n{log.read_text()[-2000:]}")


def body(first_user: int, count: int) -> bytes:
    now = datetime.now(UTC).isoformat()
    return json.dumps(
        {
            "events": [
                {"subjectType": "user", "subjectId": f"u{i}", "type": "order",
                 "data": {"order": f"O{i}", "amount": 1000 + i % 977}, "createdAt": now}
                for i in range(first_user, first_user + count)
            ]
        }
    ).encode()  # fmt: skip


class Paced:
    """Open-loop Track calls: call i is due at t0 + i × batch / rate."""

    def __init__(self, url: str, token: str, clients: int) -> None:
        import requests

        self.url = url
        self.headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        self.sessions = [requests.Session() for _ in range(clients)]
        self.clients = clients

    def run(self, first_user: int, calls: int, batch: int, rate: float, on_tick=None) -> dict:
        """Returns {"sent_at": {user: epoch}, "durations": [...], "lags": [...],
        "elapsed": s} (elapsed: first call's start to the last call's end)."""
        interval = batch / rate
        lock = threading.Lock()
        state = {"next": 0}
        sent_at: dict[int, float] = {}
        durations: list[float] = []
        lags: list[float] = []
        errors: list[str] = []
        t0 = time.monotonic() + 0.2

        def client(n: int) -> None:
            session = self.sessions[n]
            while True:
                with lock:
                    i = state["next"]
                    state["next"] += 1
                if i >= calls or errors:
                    return
                due = t0 + i * interval
                wait = due - time.monotonic()
                if wait > 0:
                    time.sleep(wait)
                first = first_user + i * batch
                payload = body(first, batch)
                started, wall = time.monotonic(), time.time()
                try:
                    response = session.post(
                        self.url, data=payload, headers=self.headers, timeout=120
                    )
                except Exception as exc:
                    errors.append(repr(exc))
                    return
                took = time.monotonic() - started
                if response.status_code != 200 or response.json()["accepted"]["events"] != batch:
                    errors.append(f"{response.status_code}: {response.text[:300]}")
                    return
                with lock:
                    for user in range(first, first + batch):
                        sent_at[user] = wall
                    durations.append(took)
                    lags.append(max(0.0, started - due))

        threads = [threading.Thread(target=client, args=(n,)) for n in range(self.clients)]
        for thread in threads:
            thread.start()
        while any(t.is_alive() for t in threads):
            time.sleep(0.5)
            if on_tick is not None:
                on_tick(time.monotonic() - t0, len(durations))
        if errors:
            sys.exit(f"a Track call failed: {errors[0]}")
        # The phase lasts at least its schedule (calls × interval): a last
        # call that returns fast does not make the rate exceed the offer.
        elapsed = max(time.monotonic() - t0, calls * interval)
        return {"sent_at": sent_at, "durations": durations, "lags": lags, "elapsed": elapsed}


class CarrierLog:
    """Reads the carrier's JSONL log as it grows: the journey's messages by
    user (the first acceptance; a repeat is counted, not timed)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.offset = 0
        self.received: dict[int, float] = {}
        self.repeats = 0
        self.others = 0  # campaign messages
        self._rest = b""

    def poll(self) -> None:
        if not self.path.exists():
            return
        with self.path.open("rb") as fh:
            fh.seek(self.offset)
            data = fh.read()
        self.offset += len(data)
        data = self._rest + data
        lines = data.split(b"\n")
        self._rest = lines.pop()
        for line in lines:
            if not line:
                continue
            entry = json.loads(line)
            if "-r" not in entry["reference"]:  # not a journey message: c<outbox>-r<run>-<step>
                self.others += 1
                continue
            if entry["repeat"]:
                self.repeats += 1
                continue
            user = int(entry["to"][5:])
            at = datetime.fromisoformat(entry["receivedAt"]).timestamp()
            self.received.setdefault(user, at)


def tree_cpu(roots: dict[str, int]) -> dict[str, float]:
    """CPU seconds (user + system) used so far by each named process and
    its descendants (Linux /proc; a child that already exited is counted
    once reaped, as its parent's cutime)."""
    parents: dict[int, int] = {}
    ticks: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        with contextlib.suppress(OSError):
            fields = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
            parents[int(entry)] = int(fields[1])
            ticks[int(entry)] = sum(int(x) for x in fields[11:15])
    hz = os.sysconf("SC_CLK_TCK")
    result = {}
    for name, root in roots.items():
        total, todo = 0, [root]
        while todo:
            pid = todo.pop()
            total += ticks.get(pid, 0)
            todo += [child for child, parent in parents.items() if parent == pid]
        result[name] = total / hz
    return result


def server_pid(command: str) -> int | None:
    """The root process of a local server (`postgres`, `redis-server`): one
    named so whose parent is not, for its CPU beside the bench's own."""
    names: dict[int, tuple[str, int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            with contextlib.suppress(OSError):
                stat = Path(f"/proc/{entry}/stat").read_text()
                name = stat[stat.index("(") + 1 : stat.rindex(")")]
                names[int(entry)] = (name, int(stat.rsplit(")", 1)[1].split()[1]))
    for pid, (name, parent) in sorted(names.items()):
        if name == command and names.get(parent, ("", 0))[0] != command:
            return pid
    return None


def percentile(ordered: list[float], p: float) -> float:
    """Nearest rank."""
    return ordered[max(0, math.ceil(p * len(ordered)) - 1)]


def fmt(seconds: float) -> str:
    return (
        "never (not at the carrier by the end of the drain)"
        if seconds == math.inf
        else (f"{seconds:.3f} s")
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rate", type=float, default=1000, help="events/s offered (default 1000)")
    parser.add_argument(
        "--seconds", type=float, default=120, help="seconds per phase (default 120)"
    )
    parser.add_argument("--batch", type=int, default=100, help="events per Track call")
    parser.add_argument("--clients", type=int, default=4, help="concurrent HTTP clients")
    parser.add_argument("--gunicorn", type=int, default=2, help="gunicorn workers")
    parser.add_argument("--workers", type=int, default=2, help="qcluster workers")
    parser.add_argument("--drain", type=float, default=300, help="max wait for the last messages")
    parser.add_argument("--campaign", type=int, default=0, help="also send a campaign to N")
    parser.add_argument("--postgres", action="store_true")
    args = parser.parse_args()

    dispatch_bench.OUT = OUT
    os.environ.update(
        MUNJA_DEBUG="0",
        MUNJA_SECURE="0",
        MUNJA_STATIC_MANIFEST="0",
        MUNJA_API_RATE_PER_MINUTE="10000000",
    )
    env = setup_django(args.postgres, args.workers)
    from django.core.management import call_command

    call_command("createcachetable", verbosity=0)
    from django.db.models import Sum

    from dispatch.models import OutboxStats
    from journeys.models import Run

    logs = OUT if not args.postgres else ROOT / "bench" / "out" / "journey_entry_pg"
    logs.mkdir(parents=True, exist_ok=True)
    carrier_log = logs / "carrier-messages.jsonl"
    carrier_log.unlink(missing_ok=True)
    calls = max(1, round(args.rate * args.seconds / args.batch))
    per_phase = calls * args.batch
    warm_users = WARM_CALLS * args.batch
    users = warm_users + 2 * per_phase

    port = free_port()
    carrier_url = f"http://127.0.0.1:{port}"
    manage = [sys.executable, str(ROOT / "manage.py")]
    processes: list[subprocess.Popen] = []
    carrier = subprocess.Popen(
        [*manage, "sandbox_carrier", "--port", str(port), "--latency-ms", "5",
         "--log", str(carrier_log)],
        env=env, stdout=(logs / "carrier.log").open("wb"), stderr=subprocess.STDOUT,
        start_new_session=True,
    )  # fmt: skip
    processes.append(carrier)
    t = time.perf_counter()
    project, sender, token = build_world(users, carrier_url)
    journey = build_journey(project, sender)
    campaign = build_campaign(project, args.campaign) if args.campaign else None
    print(
        f"setup: {users:,} users"
        + (f", a campaign of {args.campaign:,} file rows" if campaign else "")
        + f": {time.perf_counter() - t:.1f} s"
    )
    if not args.postgres:
        from django.db import connection

        with connection.cursor() as cursor:
            cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    env["MUNJA_SANDBOX_URL"] = carrier_url
    web_port = free_port()
    try:
        gunicorn = start_gunicorn(env, web_port, args.gunicorn, logs / "gunicorn.log")
        processes.append(gunicorn)
        cluster = subprocess.Popen(
            [*manage, "qcluster"], env=env, stdout=(logs / "qcluster.log").open("wb"),
            stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
        processes.insert(0, cluster)
        deadline = time.monotonic() + 60
        while b"running." not in (logs / "qcluster.log").read_bytes():
            if time.monotonic() > deadline or cluster.poll() is not None:
                print((logs / "qcluster.log").read_text()[-3000:])
                return 2
            time.sleep(0.1)
        from django_q.conf import Conf

        Conf.SYNC = False
        print(
            f"machine: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f} at the start; "
            f"{'PostgreSQL + Redis' if args.postgres else 'SQLite, ORM broker'}; gunicorn "
            f"{args.gunicorn} workers, qcluster {args.workers} workers, {args.clients} clients; "
            f"offered {args.rate:,.0f} events/s in calls of {args.batch} for {args.seconds:.0f} s "
            f"per phase ({calls:,} calls, {per_phase:,} events)"
        )
        print(
            "rate limits raised for the bench: API 10,000,000/min (MUNJA_API_RATE_PER_MINUTE "
            "and the project's), project send rate 100,000,000/min, gateway 1,000,000/s"
        )
        paced = Paced(f"http://127.0.0.1:{web_port}/v1/projects/{project.pk}/track", token,
                      args.clients)  # fmt: skip
        paced.run(0, WARM_CALLS, args.batch, args.rate)  # warm every gunicorn worker

        def ticker(label: str, carrier_messages=None):
            last = {"at": 0.0}

            def tick(elapsed: float, done: int) -> None:
                if elapsed - last["at"] < 10:
                    return
                last["at"] = elapsed
                extra = carrier_messages() if carrier_messages else ""
                print(f"  {label} {elapsed:5.0f} s: {done:,} calls done{extra}", flush=True)

            return tick

        roots = {"web": gunicorn.pid, "cluster": cluster.pid, "carrier": carrier.pid}
        if args.postgres:
            # The servers share the 2 cores: their CPU is part of the cost.
            for name, command in (("PostgreSQL", "postgres"), ("Redis", "redis-server")):
                if (pid := server_pid(command)) is not None:
                    roots[name] = pid
        cpu = [tree_cpu(roots)]
        without = paced.run(warm_users, calls, args.batch, args.rate, ticker("no journey"))
        cpu.append(tree_cpu(roots))
        print(f"phase 1 (no journey): {calls / without['elapsed']:.2f} calls/s", flush=True)

        from journeys.actions import do_activate

        seen = CarrierLog(carrier_log)
        first = warm_users + per_phase
        runs = Run.objects.filter(journey=journey)

        def progress() -> str:
            seen.poll()
            got = sum(1 for u in seen.received if u >= first)
            text = f", {got:,} journey messages at the carrier, {runs.count():,} runs"
            if campaign is not None:
                stats = OutboxStats.objects.filter(pk=campaign.outbox_id).first()
                text += f", campaign {seen.others:,} at the carrier"
                if stats is not None:
                    text += f" ({stats.recipients:,} materialised)"
            return text

        do_activate(journey)
        if campaign is not None:
            from campaigns.actions import do_start_campaign

            do_start_campaign(campaign)
        memory: dict[int, float] = {}
        cpu.append(tree_cpu(roots))
        with_journey = paced.run(first, calls, args.batch, args.rate, ticker("journey", progress))
        print(f"phase 2 (journey): {calls / with_journey['elapsed']:.2f} calls/s", flush=True)
        drain_started = time.monotonic()
        last = drain_started
        while time.monotonic() - drain_started < args.drain:
            seen.poll()
            memory.update(cluster_memory_mb(cluster.pid))
            if sum(1 for u in seen.received if u >= first) >= per_phase:
                break
            if time.monotonic() - last >= 10:
                last = time.monotonic()
                print(f"  drain {last - drain_started:4.0f} s{progress()}", flush=True)
            if cluster.poll() is not None:
                print("qcluster died; log tail:\n" + (logs / "qcluster.log").read_text()[-3000:])
                break
            time.sleep(0.5)
        drained = time.monotonic() - drain_started
        cpu.append(tree_cpu(roots))
        seen.poll()
        campaign_line = ""
        if campaign is not None:
            stats = OutboxStats.objects.filter(pk=campaign.outbox_id).aggregate(
                sent=Sum("sent"), recipients=Sum("recipients")
            )
            campaign_line = (
                f"campaign of {args.campaign:,}: {stats['recipients'] or 0:,} materialised, "
                f"{stats['sent'] or 0:,} handed to the carrier by the end"
            )
        load = os.getloadavg()
    finally:
        for process in processes:
            try:
                os.killpg(process.pid, 15)
                process.wait(timeout=15)
            except Exception:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, 9)

    sent_at = with_journey["sent_at"]
    latencies = sorted(
        (seen.received[u] - at) if u in seen.received else math.inf for u, at in sent_at.items()
    )
    missing = sum(1 for x in latencies if x == math.inf)
    ended = runs.filter(state="ended").count()
    print()
    print(f"load average at the end: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    print(
        f"entry latency, Track call sent → message accepted by the carrier, {len(latencies):,} "
        f"events (each a different user), measured per event:"
    )
    print(
        f"  p50 {fmt(percentile(latencies, 0.5))}, p95 {fmt(percentile(latencies, 0.95))}, "
        f"p99 {fmt(percentile(latencies, 0.99))}, max {fmt(latencies[-1])}; "
        f"{missing:,} not at the carrier after a drain of {drained:.0f} s; "
        f"{seen.repeats} repeats; runs ended {ended:,}"
    )
    print("  by 10 s of sending (when the Track call was sent): median / p99 / max, s")
    start = min(sent_at.values())
    windows: dict[int, list[float]] = {}
    for u, at in sent_at.items():
        windows.setdefault(int((at - start) // 10), []).append(
            seen.received[u] - at if u in seen.received else math.inf
        )
    for w in sorted(windows):
        values = sorted(windows[w])
        print(
            f"    {w * 10:4d}–{w * 10 + 10:<4d} s: {statistics.median(values):7.2f} "
            f"{percentile(values, 0.99):7.2f} {values[-1]:7.2f}"
        )
    rate_without = calls / without["elapsed"]
    rate_with = calls / with_journey["elapsed"]
    ratio = rate_with / rate_without
    offered = args.rate / args.batch
    for label, phase, rate in (("no journey", without, rate_without),
                               ("journey active", with_journey, rate_with)):  # fmt: skip
        d = sorted(phase["durations"])
        print(
            f"Track, {label}: {rate:.2f} calls/s = {rate * args.batch:,.0f} events/s "
            f"(offered {offered:.2f} calls/s); call latency median "
            f"{statistics.median(d) * 1000:.0f} ms, p99 {percentile(d, 0.99) * 1000:.0f} ms; "
            "client behind schedule at most "
            f"{max(phase['lags']):.2f} s"
        )
    per_1000 = 1000 / per_phase
    for label, (a, b) in (("no journey", (cpu[0], cpu[1])),
                          ("journey, until drained", (cpu[2], cpu[3]))):  # fmt: skip
        used = {name: (b[name] - a[name]) * per_1000 for name in a}
        print(
            f"CPU per 1,000 events, {label}: "
            + ", ".join(f"{name} {value:.2f} s" for name, value in used.items())
            + f"; total {sum(used.values()):.2f} s"
        )
    if campaign_line:
        print(campaign_line)
    print(
        "peak RSS (VmHWM) per cluster process, MB: "
        + ", ".join(f"{pid}: {mb:.0f}" for pid, mb in sorted(memory.items()))
    )
    p99 = percentile(latencies, 0.99)
    p99_ok = p99 <= P99_TARGET_S
    ratio_ok = ratio >= RATIO_TARGET
    note = " (phase 2 also had the campaign: not the target's ratio)" if campaign else ""
    print(
        f"target p99 ≤ {P99_TARGET_S:.0f} s: {'met' if p99_ok else 'MISSED'} "
        f"(p99 / target = {p99 / P99_TARGET_S:.2f}); Track throughput ratio "
        f"{ratio:.2f}{note} (target ≥ {RATIO_TARGET}): {'met' if ratio_ok else 'MISSED'}"
    )
    return 0 if p99_ok and ratio_ok else 1


if __name__ == "__main__":
    sys.exit(main())
