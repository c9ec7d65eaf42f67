"""Benchmark: users through trigger → condition → A/B → send → exit.

    .venv/bin/python bench/journey_throughput.py [--users N] [--workers N] [--postgres]

N users (default 100,000) with phone numbers are inserted, and N runs are
put at the trigger node of an active journey, due now (in bulk: entry has
its own bench, bench/journey_entry.py). Then a sandbox carrier (5 ms
latency, reports to a sink) and a `qcluster` are started on the embedded
default (SQLite, ORM broker), and the runner is woken once. The clock runs
from that wake-up until every run has ended and no message is queued or in
flight: each user's four steps taken (each its own transaction, conditional
on the run's step counter, with its Step row and counters), each message
rendered, checked and handed to the carrier.

Also printed, from the same database: a bare loop in this process that
takes the same steps with the least work the contract allows (per step one
transaction: the conditional UPDATE and the Step row; the message rendered
with the same template and inserted on the send step) and the ratio of the
two, as bench/dispatch.py prints it.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.dispatch import OUT as DISPATCH_OUT  # noqa: E402
from bench.dispatch import cluster_memory_mb, free_port, report_sink, setup_django  # noqa: E402

OUT = DISPATCH_OUT.parent / "journey_data"
BODY = "{{ name }}님, 장바구니에 담은 상품 {{ entry_event.data.item }}이 기다리고 있어요."
STEPS_PER_RUN = 5  # trigger, split, ab, send, exit


def build_world(users: int, carrier_url: str):
    from audiences.models import Customer
    from channels.models import Gateway, OptOutNumber, SenderNumber, SmsChannel
    from console.lib.compliance import night_release_at
    from journeys.models import Journey, JourneyVersion, NodeCounter, Run
    from projects.actions import do_create_project

    project = do_create_project("Journey bench", "벤치마크 주식회사")
    now = datetime.now(UTC)
    for zone in ("Asia/Seoul", "Europe/London", "America/New_York", "Pacific/Auckland"):
        if night_release_at(now, zone) is None:
            break
    project.time_zone = zone
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
                    phone_number=f"+8210{i:08d}",
                    name=f"고객{i}",
                    time_zone=zone,
                    promotional_consent=True,
                )
                for i in range(start, min(users, start + 5000))
            ]
        )
    graph = {
        "nodes": [
            {"key": "start", "kind": "trigger", "config": {"type": "event", "event": "cart"},
             "next": {"next": "vip"}},
            {"key": "vip", "kind": "split",
             "config": {"branches": [{"label": "big", "entry_data": [
                 {"field": "total", "op": "gt", "value": 50000}]}]},
             "next": {"b0": "ab", "else": "ab"}},
            {"key": "ab", "kind": "ab",
             "config": {"variants": [{"key": "a", "percent": 50}, {"key": "b", "percent": 50}]},
             "next": {"a": "send", "b": "send"}},
            {"key": "send", "kind": "send",
             "config": {"sender_number_id": sender.pk, "body": BODY},
             "next": {"sent": "end", "not_sent": "end"}},
            {"key": "end", "kind": "exit", "config": {}, "next": {}},
        ]
    }  # fmt: skip
    journey = Journey.objects.create(project=project, name="Bench", status="active")
    version = JourneyVersion.objects.create(
        journey=journey, number=1, state="published", graph=graph, settings={}
    )
    journey.live_version = version
    journey.save()
    ids = list(Customer.objects.filter(project=project).order_by("id").values_list("id", flat=True))
    for start in range(0, len(ids), 5000):
        Run.objects.bulk_create(
            [
                Run(
                    project=project,
                    journey=journey,
                    version=version,
                    customer_id=customer_id,
                    entry_key="bench",
                    entry_data={"item": f"상품{customer_id % 97}", "total": customer_id % 100000},
                    node="start",
                    state="active",
                    due_at=now,
                    started_at=now,
                )
                for customer_id in ids[start : start + 5000]
            ]
        )
    NodeCounter.objects.bulk_create(
        [
            NodeCounter(journey=journey, version=version, node="start", metric=m, value=users)
            for m in ("entered", "waiting")
        ]
    )
    return project, journey, zone


def bare_loop(journey, users: int) -> float:
    """The same steps for a copy of the runs with the least work: per step
    one transaction with the conditional UPDATE and the Step row; the send
    step renders the same template and inserts the message."""
    from django.db import connection, transaction
    from django.utils import timezone

    from campaigns.rendering import Renderer
    from dispatch.actions import _insert, do_create_outbox
    from journeys.models import Run, Step

    outbox = do_create_outbox(journey.project, producer_kind="bench")
    renderer = Renderer.for_parts(journey.project, BODY)
    run_table, step_table = Run._meta.db_table, Step._meta.db_table
    version_id = journey.live_version_id
    rows = list(
        Run.objects.filter(journey=journey).select_related("customer").order_by("id")[:users]
    )
    project_id = journey.project_id.hex
    path = [
        ("start", "trigger", "next", "vip"),
        ("vip", "split", "else", "ab"),
        ("ab", "ab", "a", "send"),
        ("send", "send", "sent", "end"),
        ("end", "exit", "", None),
    ]
    started = time.perf_counter()
    with connection.cursor() as cursor:
        for run in rows:
            for number, (node, kind, port, _next) in enumerate(path, start=1):
                now = timezone.now()
                with transaction.atomic():
                    # A no-op UPDATE (the runs are the runtime's, already ended).
                    cursor.execute(
                        f"UPDATE {run_table} SET claimed_at = %s WHERE id = %s AND step = %s",
                        [now, run.pk, run.step],
                    )
                    cursor.execute(
                        f"INSERT INTO {step_table} (run_id, number, version_id, node, kind, port, "
                        "detail, at) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)",
                        [run.pk, 100 + number, version_id, node, kind, port, "{}", now],
                    )
                    if kind == "send":
                        c = run.customer
                        r = renderer.render(
                            {"name": c.name, "entry_event": {"data": run.entry_data}}
                        )
                        _insert([(outbox.pk, f"r{run.pk}-4", project_id, c.pk, c.phone_number,
                                  c.time_zone, r.body, "", r.kind, r.bytes, "queued", "", "", 0,
                                  "", "", "")])  # fmt: skip
    return time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=100_000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--postgres", action="store_true")
    parser.add_argument("--bare-users", type=int, default=None, help="runs for the bare loop")
    args = parser.parse_args()
    import bench.dispatch as dispatch_bench

    dispatch_bench.OUT = OUT
    env = setup_django(args.postgres, args.workers)

    from django.db.models import Sum

    from dispatch.models import OutboxStats
    from journeys.models import Run, SendNodeOutbox, Step

    logs = OUT if not args.postgres else ROOT / "bench" / "out"
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
    _project, journey, zone = build_world(args.users, carrier_url)
    print(f"setup: {args.users:,} users and runs at the trigger, zone {zone}: "
          f"{time.perf_counter() - t:.1f} s")  # fmt: skip
    env["MUNJA_SANDBOX_URL"] = carrier_url
    cluster = subprocess.Popen(
        [*manage, "qcluster"],
        env=env,
        stdout=(logs / "qcluster.log").open("wb"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    runs = Run.objects.filter(journey=journey)
    try:
        deadline = time.monotonic() + 60
        while b"running." not in (logs / "qcluster.log").read_bytes():
            if time.monotonic() > deadline or cluster.poll() is not None:
                print((logs / "qcluster.log").read_text()[-3000:])
                return 2
            time.sleep(0.1)
        from django_q.conf import Conf

        from journeys.runtime import wake_now

        Conf.SYNC = False
        started = time.perf_counter()
        wake_now(force=True)
        last = 0.0
        memory: dict[int, float] = {}
        ended_at = None
        while True:
            time.sleep(0.5)
            memory.update(cluster_memory_mb(cluster.pid))
            elapsed = time.perf_counter() - started
            ended = runs.filter(state="ended").count()
            outboxes = SendNodeOutbox.objects.filter(version=journey.live_version_id)
            stats = OutboxStats.objects.filter(outbox__in=outboxes.values("outbox")).aggregate(
                recipients=Sum("recipients"), sent=Sum("sent"), queued=Sum("queued")
            )
            if ended == args.users and ended_at is None:
                ended_at = elapsed
            if elapsed - last >= 10:
                last = elapsed
                print(f"  {elapsed:5.0f} s: {ended:,} runs ended, {stats['sent'] or 0:,} sent")
            if ended == args.users and (stats["queued"] or 0) == 0:
                break
            if elapsed > 7200 or cluster.poll() is not None:
                print("gave up; qcluster log tail:")
                print((logs / "qcluster.log").read_text()[-3000:])
                return 2
        total = time.perf_counter() - started
    finally:
        for process in (cluster, carrier):
            try:
                os.killpg(process.pid, 15)
                process.wait(timeout=15)
            except Exception:
                os.killpg(process.pid, 9)
    steps = Step.objects.filter(run__journey=journey).count()
    assert steps == args.users * STEPS_PER_RUN, steps
    bare_users = args.bare_users or min(args.users, 20_000)
    bare = bare_loop(journey, bare_users) * args.users / bare_users
    print(
        f"journey: {args.users:,} users, {steps:,} steps in {total:.1f} s "
        f"(runs all ended at {ended_at:.1f} s) = {steps / total:,.0f} steps/s, "
        f"{stats['sent']:,} messages = {stats['sent'] / total:,.0f} messages/s"
    )
    print(
        f"bare loop ({bare_users:,} runs, scaled to {args.users:,}): {bare:.1f} s = "
        f"{steps / bare:,.0f} steps/s; journey / bare = {total / bare:.2f}"
    )
    print("peak RSS (VmHWM) per cluster process, MB: "
          + ", ".join(f"{pid}: {mb:.0f}" for pid, mb in sorted(memory.items())))  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
