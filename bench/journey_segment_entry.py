"""Segment entry: the added cost per Track call of 100 events when the project
has an active segment-entry journey, on the segment bench data (1,000,000
users, bench/segment_count.py's generator), embedded default (SQLite).
Target: ≤ 5 ms added per call.

    .venv/bin/python bench/journey_segment_entry.py [--users N] [--calls N]
        [--keep] [--reuse] [--profile FILE]

Builds the segment bench database, saves its definition (country KR AND tag
plan gold AND purchase at least twice in 30 days) as a segment, activates a
segment-entry journey on it (recording the ~3,800 current members: timed),
then makes the same Track calls of 100 purchase events by random users twice,
alternating: once with the journey paused (no segment journey: the cost of
the Track call alone) and once with it active. The verdict is on the process
CPU time added per call (median difference), since on this shared machine the
wall time mostly measures waiting for a core; both are printed. Each call is do_track() in its
transaction followed by its after-commit callbacks (events_tracked,
customers_changed), as a request would run them. Entry itself (the runtime's
do_enter_journey) is replaced by a counter: this measures the trigger's
re-evaluation, not the run it starts. Also times a boundary scan over one
minute and over one hour of "within 30 days" edges. Exits non-zero when the
added median cost is over the target.

`--keep` keeps the database under bench/out/; `--reuse` then starts from it
instead of building it again (the build takes minutes at 1,000,000 users; the
expected member count is then not known). `--profile FILE` writes a cProfile
of the calls with the journey active (pstats format). `--checkpoint` empties
SQLite's WAL into the database before each timed call, untimed: a call that
crosses the automatic checkpoint's 1,000 pages pays 10–30 ms for the pages
of the calls before it, every few calls, and which calls do (alone or with
the journey) otherwise decides the medians more than what they do. The
means are printed too (with the checkpoints, they are the cost in total).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import shutil
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))

import segment_count  # noqa: E402  (the generator of the segment bench data)

OUT = ROOT / "bench" / "out" / "journey_segment_entry"
TARGET_MS = 5.0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=1_000_000)
    parser.add_argument("--calls", type=int, default=200)
    parser.add_argument("--keep", action="store_true", help="keep bench/out/ afterwards")
    parser.add_argument("--reuse", action="store_true", help="reuse a database kept by --keep")
    parser.add_argument("--profile", default="", help="cProfile the journey calls into FILE")
    parser.add_argument(
        "--checkpoint", action="store_true", help="checkpoint the WAL before each call, untimed"
    )
    parser.add_argument(
        "--seed",
        type=int,
        default=11,
        help="picks the calls' users; give each run on a reused database its own",
    )
    args = parser.parse_args()

    reuse = args.reuse and (OUT / "bench.sqlite3").exists()
    if not reuse:
        shutil.rmtree(OUT, ignore_errors=True)
        OUT.mkdir(parents=True)
    segment_count.setup_django(OUT / "bench.sqlite3")
    from django.db import connection, transaction
    from django.utils import timezone

    from audiences.actions import do_track
    from audiences.models import Customer, Event, Segment
    from audiences.track import parse_track
    from journeys import triggers
    from journeys.models import Journey, JourneyVersion, SegmentMember
    from projects.models import Project

    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    started = time.perf_counter()
    if reuse:
        expected = "not known: database reused"
        print(f"reused {OUT / 'bench.sqlite3'}: {Customer.objects.count():,} users")
    else:
        expected = f"{segment_count.build(args.users, now):,}"
        print(
            f"built {args.users:,} users and {Event.objects.count():,} events "
            f"in {time.perf_counter() - started:.1f} s"
        )
    project = Project.objects.get(name="Bench")
    # A reused database keeps the previous run's journey: remove it (versions first).
    Journey.objects.filter(project=project).update(live_version=None)
    JourneyVersion.objects.filter(journey__project=project).delete()
    Journey.objects.filter(project=project).delete()
    Segment.objects.filter(project=project).delete()
    segment = Segment.objects.create(
        project=project, name="gold KR buyers", definition=segment_count.DEFINITION
    )
    journey = Journey.objects.create(project=project, name="Welcome to gold")
    version = JourneyVersion.objects.create(
        journey=journey,
        number=1,
        state="published",
        graph={
            "nodes": [
                {
                    "key": "start",
                    "kind": "trigger",
                    "config": {"type": "segment", "segment_id": segment.pk},
                    "next": {"next": "end"},
                },
                {"key": "end", "kind": "exit", "config": {}, "next": {}},
            ]
        },
    )
    Journey.objects.filter(pk=journey.pk).update(
        live_version=version, status="active", activated_at=timezone.now()
    )
    journey.refresh_from_db()
    entered = {"n": 0}

    def count_entry(journey: object, customer: object, **kwargs: object) -> bool:
        entered["n"] += 1
        return True

    triggers._enter = count_entry  # the runtime's entry is not what is measured

    started = time.perf_counter()
    triggers.on_activated(journey, enter_current_members=False)
    members = SegmentMember.objects.filter(journey=journey).count()
    print(
        f"activation recorded {members:,} current members (expected {expected}) "
        f"in {time.perf_counter() - started:.1f} s"
    )

    user_ids = list(Customer.objects.filter(project=project).values_list("user_id", flat=True))
    rng = random.Random(args.seed)
    moment = now.isoformat()

    cpu: dict[str, list[float]] = {"alone": [], "journey": []}
    profiler = None
    if args.profile:
        import cProfile

        profiler = cProfile.Profile()

    def call(kind: str = "warm") -> float:
        if args.checkpoint:
            with connection.cursor() as cursor:
                cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        body = {
            "events": [
                {
                    "subjectType": "user",
                    "subjectId": rng.choice(user_ids),
                    "type": "purchase",
                    "data": {"amount": rng.randrange(1, 500)},
                    "createdAt": moment,
                }
                for _ in range(100)
            ]
        }
        began, began_cpu = time.perf_counter(), time.process_time()
        if kind == "journey" and profiler is not None:
            profiler.enable()
        batch = parse_track(body)
        with transaction.atomic():
            do_track(project, batch)
        # The after-commit callbacks ran when the atomic block closed.
        if kind == "journey" and profiler is not None:
            profiler.disable()
        if kind in cpu:
            cpu[kind].append((time.process_time() - began_cpu) * 1000)
        return (time.perf_counter() - began) * 1000

    def set_status(status: str) -> None:
        Journey.objects.filter(pk=journey.pk).update(status=status)

    for _ in range(10):  # warm the caches
        call()
    alone, with_journey, reevaluation, reevaluation_cpu = [], [], [], []
    calls_entered = entered["n"]
    for _ in range(args.calls):
        set_status("paused")
        alone.append(call("alone"))
        set_status("active")
        with_journey.append(call("journey"))
    # The re-evaluation alone, for 100 random users.
    for _ in range(args.calls):
        ids = list(
            Customer.objects.filter(
                project=project, user_id__in=[rng.choice(user_ids) for _ in range(100)]
            ).values_list("pk", flat=True)
        )
        before = entered["n"]
        began, began_cpu = time.perf_counter(), time.process_time()
        triggers.on_customers_changed(project, ids)
        reevaluation.append((time.perf_counter() - began) * 1000)
        if entered["n"] == before:  # the evaluation alone, no entry
            reevaluation_cpu.append((time.process_time() - began_cpu) * 1000)
    if profiler is not None:
        profiler.dump_stats(args.profile)
    print(f"load average at the end: {os.getloadavg()[0]:.1f} ({os.cpu_count()} cores)")

    def describe(values: list[float]) -> str:
        ordered = sorted(values)
        p95 = ordered[int(len(ordered) * 0.95) - 1]
        return f"median {statistics.median(values):.2f} ms, p95 {p95:.2f} ms"

    calls_entered = entered["n"] - calls_entered
    added = statistics.median(with_journey) - statistics.median(alone)
    added_cpu = statistics.median(cpu["journey"]) - statistics.median(cpu["alone"])
    print(f"Track call of 100 events, no segment journey: {describe(alone)}")
    print(f"Track call of 100 events, one segment journey: {describe(with_journey)}")
    print(
        f"process CPU time per call (this process, SQLite included): alone median "
        f"{statistics.median(cpu['alone']):.2f} ms, with the journey "
        f"{statistics.median(cpu['journey']):.2f} ms, added {added_cpu:.2f} ms"
    )
    print(
        f"process CPU time per call, means: alone {statistics.mean(cpu['alone']):.2f} ms, "
        f"with the journey {statistics.mean(cpu['journey']):.2f} ms, added "
        f"{statistics.mean(cpu['journey']) - statistics.mean(cpu['alone']):.2f} ms"
    )
    print(f"re-evaluation of 100 users (on_customers_changed): {describe(reevaluation)}")
    print(
        f"re-evaluation of 100 users that entered nobody, process CPU: "
        f"{describe(reevaluation_cpu)} ({len(reevaluation_cpu)} of {len(reevaluation)} calls)"
    )
    print(
        f"wall time added per Track call (median difference): {added:.2f} ms, and process "
        f"CPU (the verdict's): {added_cpu:.2f} ms; target ≤ {TARGET_MS:.1f} ms (CPU added/target "
        f"= {added_cpu / TARGET_MS:.2f}); users entered by those calls: "
        f"{calls_entered} ({calls_entered / args.calls:.1f} per call)"
    )

    # Boundary scans: the users whose 30-day purchase edge passed.
    definition = segment_count.DEFINITION
    for span in (dt.timedelta(minutes=1), dt.timedelta(hours=1)):
        began = time.perf_counter()
        candidates = list(
            triggers.boundary_candidates(project, definition, timezone.now(), timezone.now() + span)
        )
        found = time.perf_counter() - began
        began = time.perf_counter()
        triggers.reconcile_members(
            journey, definition, candidates, now=timezone.now() + span, enter=False
        )
        print(
            f"boundary scan over {span}: {len(candidates):,} candidates found in {found:.3f} s, "
            f"re-evaluated in {time.perf_counter() - began:.3f} s"
        )
    connection.close()
    if not args.keep:
        shutil.rmtree(OUT, ignore_errors=True)
    if added_cpu > TARGET_MS:
        print("FAIL: over the target (process CPU time added per call)")
        return 1
    print("OK")
    return 0


if __name__ == "__main__":
    sys.exit(main())
