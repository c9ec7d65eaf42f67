"""Segment count over 1,000,000 users with tags and events, on the embedded
default (SQLite). Target: count() ≤ 2 s.

    .venv/bin/python bench/segment_count.py [--users N] [--keep] [--plan]

Builds a throwaway database under bench/out/ (the real migrations, so the
indexes are the ones the models and migrations declare), fills it with raw
executemany inserts, then times `audiences.segments.count()` for a realistic
definition: country is KR AND tag plan is gold AND performed purchase at least
2 times within the last 30 days. The answer is checked against the count
computed while generating the data. Exits non-zero when the target is missed
or the answer is wrong.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import shutil
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out" / "segment_count"
TARGET_SECONDS = 2.0
DEFINITION = {
    "match": "all",
    "conditions": [
        {"kind": "attribute", "field": "country", "op": "eq", "value": "KR"},
        {"kind": "tag", "key": "plan", "op": "eq", "value": "gold"},
        {"kind": "event", "type": "purchase", "min_count": 2, "within_days": 30},
    ],
}
COUNTRIES = ["KR"] * 6 + ["US", "JP", "VN", ""]
PLANS = ["gold", "silver", "bronze", "free"]
EVENT_TYPES = ["purchase", "view", "view", "cart"]


def setup_django(db_path: Path) -> None:
    sys.path.insert(0, str(ROOT))
    os.environ.pop("DATABASE_URL", None)
    os.environ["MUNJA_SQLITE_PATH"] = str(db_path)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "console.settings")
    os.environ.setdefault("MUNJA_DEBUG", "1")
    import django

    django.setup()


def _sqlite_stamp(moment: dt.datetime) -> str:
    # Django's own storage format for an aware datetime on SQLite (UTC, space
    # separator), so string comparison in SQL orders it correctly.
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S.%f")


def build(users: int, now: dt.datetime, seed: int = 7) -> int:
    """Insert the data; return the number of users the definition must match."""
    from django.core.management import call_command
    from django.db import connection, transaction

    from projects.actions import do_create_project

    call_command("migrate", verbosity=0)
    other = do_create_project("Other", "Other Ltd")
    project = do_create_project("Bench", "Bench Ltd")
    rng = random.Random(seed)
    since = now - dt.timedelta(days=30)
    expected = 0
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA synchronous=OFF")
    with transaction.atomic(), connection.cursor() as cursor:
        batch = 50_000
        next_event_id = 1
        for start in range(0, users, batch):
            customers, tags, events = [], [], []
            for cid in range(start + 1, min(start + batch, users) + 1):
                # Every 50th user belongs to another project, to show the
                # count keeps to its project.
                project_id = (other if cid % 50 == 0 else project).id.hex
                country = rng.choice(COUNTRIES)
                customers.append(
                    (cid, project_id, f"u{cid}", f"+8210{cid:08d}", country, _sqlite_stamp(now))
                )
                plan = rng.choice(PLANS)
                tags.append((cid, "plan", plan))
                if cid % 3 == 0:
                    tags.append((cid, "city", rng.choice(["Seoul", "Busan", "Incheon"])))
                recent_purchases = 0
                for _ in range(rng.choice([0, 1, 1, 2, 3, 4, 5, 6])):
                    kind = rng.choice(EVENT_TYPES)
                    at = now - dt.timedelta(seconds=rng.randrange(0, 90 * 86400))
                    data = json.dumps({"amount": rng.randrange(1, 500)})
                    stamp = _sqlite_stamp(at)
                    events.append((next_event_id, project_id, cid, kind, data, stamp, stamp))
                    next_event_id += 1
                    recent_purchases += kind == "purchase" and at >= since
                if (
                    project_id == project.id.hex
                    and country == "KR"
                    and plan == "gold"
                    and recent_purchases >= 2
                ):
                    expected += 1
            cursor.executemany(
                "INSERT INTO audiences_customer (id, project_id, user_id, phone_number, name,"
                " email, time_zone, country, language, promotional_consent, night_consent,"
                " created_at) VALUES (?, ?, ?, ?, '', '', '', ?, '', 0, 0, ?)",
                customers,
            )
            cursor.executemany(
                "INSERT INTO audiences_customertag (customer_id, key, value) VALUES (?, ?, ?)",
                tags,
            )
            cursor.executemany(
                "INSERT INTO audiences_event (id, project_id, customer_id, type, data, created_at,"
                " received_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                events,
            )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    return expected


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=1_000_000)
    parser.add_argument("--keep", action="store_true", help="keep bench/out/ afterwards")
    parser.add_argument("--plan", action="store_true", help="always print the query plan")
    args = parser.parse_args()

    shutil.rmtree(OUT, ignore_errors=True)
    OUT.mkdir(parents=True)
    setup_django(OUT / "bench.sqlite3")
    from django.db import connection

    from audiences.models import Event
    from audiences.segments import count, segment_queryset
    from projects.models import Project

    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    started = time.perf_counter()
    expected = build(args.users, now)
    built = time.perf_counter() - started
    project = Project.objects.get(name="Bench")
    events = Event.objects.count()
    print(f"built {args.users:,} users and {events:,} events in {built:.1f} s")

    timings = []
    answer = None
    for _ in range(3):
        started = time.perf_counter()
        answer = count(project, DEFINITION, now=now)
        timings.append(time.perf_counter() - started)
    best, first = min(timings), timings[0]
    print(f"definition: {json.dumps(DEFINITION)}")
    print(f"count() = {answer:,} (expected {expected:,})")
    print(
        f"count() first run {first:.3f} s, best of 3 {best:.3f} s; "
        f"target ≤ {TARGET_SECONDS:.1f} s (best/target = {best / TARGET_SECONDS:.2f})"
    )
    slow = best > TARGET_SECONDS
    if slow or args.plan:
        sql, params = segment_queryset(project, DEFINITION, now=now).query.sql_with_params()
        with connection.cursor() as cursor:
            cursor.execute(f"EXPLAIN QUERY PLAN SELECT COUNT(*) FROM ({sql})", params)
            print("EXPLAIN QUERY PLAN:")
            for row in cursor.fetchall():
                print("  ", row[-1])
    connection.close()
    if not args.keep:
        shutil.rmtree(OUT, ignore_errors=True)
    if answer != expected:
        print("FAIL: wrong answer")
        return 1
    if slow:
        print("FAIL: slower than the target")
        return 1
    print("OK")
    return 0


if __name__ == "__main__":
    sys.exit(main())
