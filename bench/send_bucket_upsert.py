"""Benchmark: the send core's bucket bump alone, the one statement per batch
that buckets per second changed: an upsert that inserts a new row (a new
second) against one that updates the same row (as a per-minute bucket did
for the batches of a minute), each in its own transaction, on the database
`bench/stats_page.py` left behind in this tree (SQLite), on its campaign's
outbox in 2030 (those rows are deleted afterwards).

    .venv/bin/python bench/stats_page.py && .venv/bin/python bench/send_bucket_upsert.py
"""

from __future__ import annotations

import statistics
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from send_series_cpu import setup_django

T = datetime(2030, 1, 1, tzinfo=UTC)


def run(outbox_id: int, key: Callable[[int], datetime], runs: int = 3000) -> tuple[float, float]:
    from django.db import transaction

    from dispatch.counters import bump_second

    times = []
    for i in range(runs):
        started = time.process_time()
        with transaction.atomic():
            bump_second(outbox_id, key(i), sent=500)
        times.append((time.process_time() - started) * 1e6)
    return statistics.median(times), statistics.mean(times)


def main() -> int:
    setup_django()
    from dispatch.models import Outbox, SendBucket

    outbox_id = Outbox.objects.values_list("pk", flat=True).first()
    SendBucket.objects.filter(outbox_id=outbox_id, second__gte=T).delete()
    cases = {
        "the same second (an update)": lambda i: T + timedelta(days=1),
        "a new second each time (an insert)": lambda i: T + timedelta(seconds=i),
    }
    for _ in range(2):
        for name, key in cases.items():
            median, mean = run(outbox_id, key)
            print(f"{name}: median {median:.0f} µs, mean {mean:.0f} µs CPU per bump")
        cases = {
            name: (lambda i, key=key: key(i) + timedelta(days=7)) for name, key in cases.items()
        }
    # Leave the page's data as bench/stats_page.py built it.
    SendBucket.objects.filter(outbox_id=outbox_id, second__gte=T).delete()
    return 0


if __name__ == "__main__":
    sys.exit(main())
