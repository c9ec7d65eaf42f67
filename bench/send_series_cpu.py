"""Benchmark: the CPU time of a campaign's send series and of the
dashboard's sends per day, alone, on the database `bench/stats_page.py`
left behind in this tree (run that first, from the same tree).

    .venv/bin/python bench/stats_page.py && .venv/bin/python bench/send_series_cpu.py [--trunc]

CPU time (time.process_time: SQLite runs in this process) is far less
disturbed by a loaded machine than the page's wall-clock time. `--trunc`
also times the same per-minute sums with Django's Trunc, the alternative
the series does not use (SQLite calls a Python function per row for it).
"""

from __future__ import annotations

import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out" / "stats_page_data"
sys.path.insert(0, str(ROOT))

from bench._support import inprocess_django  # noqa: E402


def setup_django() -> None:
    inprocess_django(OUT, fresh=False)


def measure(work: Callable[[], object], runs: int = 40) -> tuple[float, float]:
    """Median CPU and wall milliseconds of `work` over `runs` runs after a warm-up."""
    work()
    cpu, wall = [], []
    for _ in range(runs):
        started_cpu, started = time.process_time(), time.perf_counter()
        work()
        cpu.append((time.process_time() - started_cpu) * 1000)
        wall.append((time.perf_counter() - started) * 1000)
    return statistics.median(cpu), statistics.median(wall)


def main() -> int:
    setup_django()
    from campaigns.models import Campaign
    from stats.queries import send_series_of, sends_per_day

    campaign = Campaign.objects.select_related("project").get(name="Bench campaign")
    series = send_series_of(campaign)
    sent = sum(p["sent"] for p in series["points"])
    print(f"{ROOT}: step {series['stepSeconds']} s, {len(series['points'])} points, sent {sent:,}")
    cases = {
        "send series": lambda: send_series_of(campaign),
        # 31 days: the bench's send began 30 days ago.
        "sends per day (31 days)": lambda: sends_per_day(campaign.project, days=31),
    }
    if "--trunc" in sys.argv:
        from zoneinfo import ZoneInfo

        from django.db.models import Sum
        from django.db.models.functions import Trunc

        from dispatch.models import SendBucket

        field = "second" if hasattr(SendBucket, "width") else "minute"
        minute = Trunc(field, "minute", tzinfo=ZoneInfo("Asia/Seoul"))
        cases["per-minute sums with Trunc"] = lambda: list(
            SendBucket.objects.filter(outbox_id=campaign.outbox_id)
            .annotate(at=minute)
            .order_by()
            .values("at")
            .annotate(s=Sum("sent"))
        )
    for name, work in cases.items():
        cpu, wall = measure(work)
        print(f"  {name}: median CPU {cpu:.2f} ms, wall {wall:.2f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
