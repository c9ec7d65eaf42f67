"""Benchmark: the journey runner in one process, no cluster.

    .venv/bin/python bench/journey_runner_inprocess.py [--users N] [--profile]

Builds bench/journey_throughput.py's world on a fresh SQLite database (N
users at the trigger of trigger → condition → A/B → send → exit; the
carrier is never called), then times `journeys.runtime.run_due()` in this
process until every run has ended: wall and CPU time, steps/s. With
`--profile`, the cProfile of the runner (cumulative, top 45).
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import bench.dispatch as dispatch_bench  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=2000)
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()
    dispatch_bench.OUT = dispatch_bench.OUT.parent / "journey_runner_data"
    dispatch_bench.setup_django(False, 2)

    from bench.journey_throughput import build_world
    from journeys import runtime
    from journeys.models import Step

    _project, journey, _zone = build_world(args.users, "http://127.0.0.1:9")
    profile = cProfile.Profile() if args.profile else None
    wall, cpu = time.perf_counter(), time.process_time()
    if profile:
        profile.enable()
    runtime.run_due()
    if profile:
        profile.disable()
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    steps = Step.objects.filter(run__journey=journey).count()
    print(
        f"{args.users:,} users, {steps:,} steps in {wall:.2f} s wall ({cpu:.2f} s CPU) "
        f"= {steps / wall:,.0f} steps/s"
    )
    if profile:
        pstats.Stats(profile).sort_stats("cumulative").print_stats(45)
    return 0


if __name__ == "__main__":
    sys.exit(main())
