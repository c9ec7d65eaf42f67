"""Journey conversion goals: the cost they add to a Track call's inline
attribution (conversions.attribution.attribute_events), embedded default
(SQLite).

    .venv/bin/python bench/journey_goal_attribution.py [--users N] [--calls N]

Builds a project of N users (default 100,000), a live journey with two send
nodes whose messages were sent to every user in the last hours (2 × N sent
messages, the run and step rows behind them) and a campaign goal-less
project otherwise. Then times Track-call-sized attributions of 100 purchase
events by random users, alternating three ways on the same events:

- `campaigns only`: the campaigns' attribution alone (the code before
  journey goals);
- `no journey goal`: the whole attribution when the project's journeys have
  no goal (the cost of looking: one query);
- `journey goal`: the whole attribution with the journey's goal on, every
  event converting (insert, node counters) — the worst case.

Each call runs inside a transaction that is rolled back, so every round
converts again. Prints medians of process CPU time and wall time per call.
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import shutil
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))

import segment_count  # noqa: E402  (its Django setup for a bench database)

OUT = ROOT / "bench" / "out" / "journey_goal_attribution"
GOAL = {"event": "purchase", "window_seconds": 86400, "revenue_field": "amount"}


class Rollback(Exception):
    pass


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=100_000)
    parser.add_argument("--calls", type=int, default=60)
    parser.add_argument("--keep", action="store_true", help="keep bench/out/ afterwards")
    args = parser.parse_args()

    shutil.rmtree(OUT, ignore_errors=True)
    OUT.mkdir(parents=True)
    segment_count.setup_django(OUT / "bench.sqlite3")
    from django.core.management import call_command
    from django.db import connection, transaction
    from django.utils import timezone

    from audiences.models import Customer, Event
    from channels.models import SenderNumber
    from conversions import attribution
    from dispatch.actions import do_create_outbox
    from dispatch.models import Message
    from journeys.models import Journey, JourneyVersion, Run, SendNodeOutbox, Step
    from projects.actions import do_create_project

    call_command("migrate", verbosity=0)
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA synchronous=OFF")
    now = timezone.now()
    started = time.perf_counter()
    project = do_create_project("Bench", "Bench Ltd")
    sender = SenderNumber.objects.create(
        project=project,
        number="+8215881234",
        owner_type=SenderNumber.OwnerType.COMPANY,
        owner_name="Bench",
        status=SenderNumber.Status.APPROVED,
    )
    graph = {
        "nodes": [
            {"key": "start", "kind": "trigger", "config": {"type": "event", "event": "cart"}},
            *(
                {"key": key, "kind": "send", "config": {"sender_number_id": sender.pk}}
                for key in ("a", "b")
            ),
        ]
    }
    journey = Journey.objects.create(project=project, name="Cart", status="active")
    version = JourneyVersion.objects.create(
        journey=journey, number=1, state="published", graph=graph, settings={}
    )
    journey.live_version = version
    journey.save(update_fields=["live_version"])
    outboxes = {}
    for key in ("a", "b"):
        outbox = do_create_outbox(
            project, producer_kind="journey", producer_id=f"{journey.pk}:{key}", status="open"
        )
        SendNodeOutbox.objects.create(version=version, node=key, outbox=outbox)
        outboxes[key] = outbox.pk
    with transaction.atomic():
        Customer.objects.bulk_create(
            (
                Customer(project=project, user_id=f"u{i}", phone_number=f"+8210{i:08d}")
                for i in range(args.users)
            ),
            batch_size=5000,
        )
        ids = list(Customer.objects.filter(project=project).values_list("pk", flat=True))
        Run.objects.bulk_create(
            (
                Run(
                    project=project,
                    journey=journey,
                    version=version,
                    customer_id=cid,
                    entry_key=f"e{cid}",
                    node="b",
                    step=3,
                    state="ended",
                    started_at=now - dt.timedelta(hours=5),
                )
                for cid in ids
            ),
            batch_size=5000,
        )
        runs = dict(Run.objects.filter(journey=journey).values_list("customer_id", "pk"))
        for number, key, hours in ((2, "a", 4), (3, "b", 2)):
            Step.objects.bulk_create(
                (
                    Step(
                        run_id=runs[cid],
                        number=number,
                        version=version,
                        node=key,
                        kind="send",
                        port="sent",
                        at=now - dt.timedelta(hours=hours),
                    )
                    for cid in ids
                ),
                batch_size=5000,
            )
            Message.objects.bulk_create(
                (
                    Message(
                        outbox_id=outboxes[key],
                        dedupe_key=f"r{runs[cid]}-{number}",
                        project=project,
                        customer_id=cid,
                        phone_number=f"+8210{i:08d}",
                        body="hello",
                        status="sent",
                        sent_at=now - dt.timedelta(hours=hours),
                    )
                    for i, cid in enumerate(ids)
                ),
                batch_size=5000,
            )
    print(
        f"built {args.users:,} users, {2 * args.users:,} sent journey messages "
        f"in {time.perf_counter() - started:.1f} s"
    )
    rng = random.Random(7)
    calls = []
    for _ in range(args.calls):
        chosen = rng.sample(ids, 100)
        events = Event.objects.bulk_create(
            Event(
                project=project,
                customer_id=cid,
                type="purchase",
                data={"amount": 1000},
                created_at=now,
            )
            for cid in chosen
        )
        calls.append([e.pk for e in events])

    def timed(run) -> tuple[float, float, int]:
        cpu, wall = time.process_time(), time.perf_counter()
        made = 0
        try:
            with transaction.atomic():
                made = run()
                raise Rollback
        except Rollback:
            pass
        return time.process_time() - cpu, time.perf_counter() - wall, made

    def set_goal(goal: dict | None) -> None:
        # Published versions are immutable through the model; the bench flips
        # the setting underneath it.
        JourneyVersion.objects.filter(pk=version.pk).update(
            settings={"conversion_goal": goal} if goal else {}
        )

    ways = {
        "campaigns only": (None, attribution._attribute_campaign_events),
        "no journey goal": (None, attribution.attribute_events),
        "journey goal": (GOAL, attribution.attribute_events),
    }
    results: dict[str, list[tuple[float, float, int]]] = {name: [] for name in ways}
    for call in calls:
        for name, (goal, function) in ways.items():
            set_goal(goal)
            results[name].append(timed(lambda f=function, c=call: f(project.pk, c)))
    print(f"{args.calls} calls of 100 purchase events each (median per call):")
    for name, rows in results.items():
        cpu = statistics.median(r[0] for r in rows) * 1000
        wall = statistics.median(r[1] for r in rows) * 1000
        made = statistics.median(r[2] for r in rows)
        print(f"  {name:16} cpu {cpu:7.2f} ms  wall {wall:7.2f} ms  conversions {made:.0f}")
    if not args.keep:
        shutil.rmtree(OUT, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
