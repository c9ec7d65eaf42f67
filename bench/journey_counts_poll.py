"""Benchmark: what the journey builder's live refresh costs per poll, the
counters alone (`journey_counts`, polled every 2 s) against the whole graph
(`journey_graph`, what the builder polled every 10 s before: the SVG, the
draft's validation and the counters), server-side, on the embedded default
(SQLite).

    .venv/bin/python bench/journey_counts_poll.py [--nodes N] [--runs N]

A live journey of `--nodes` nodes (a trigger, then send / delay / wait for
an event / split / A/B nodes in a chain) with an open draft of its next
version (the builder shows the draft, so the whole-graph answer validates
it) and counters on every node. Each URL: one warm-up, then `--runs` timed
GETs as a logged-in viewer (median, p90), the answer's size and its SQL
query count. Uses its own SQLite database under bench/out/.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out" / "journey_counts_data"
sys.path.insert(0, str(ROOT))

from bench._support import inprocess_django  # noqa: E402


def setup_django() -> None:
    inprocess_django(OUT)


def graph_of(nodes: int, sender_id: int) -> dict:
    kinds = ["send", "delay", "wait_event", "split", "ab"]
    chain = [f"n{i}" for i in range(1, nodes - 1)]
    items = [
        {
            "key": "start",
            "kind": "trigger",
            "config": {"type": "event", "event": "cart_abandoned"},
            "next": {"next": chain[0]},
        }
    ]
    for index, key in enumerate(chain):
        after = chain[index + 1] if index + 1 < len(chain) else "end"
        kind = kinds[index % len(kinds)]
        config, nexts = {
            "send": (
                {"sender_number_id": sender_id, "body": "{{ name }}님, 장바구니를 확인하세요"},
                {"sent": after},
            ),
            "delay": ({"seconds": 3600}, {"next": after}),
            "wait_event": (
                {"event": "purchase", "match_field": "cartId", "timeout_seconds": 86400},
                {"event": "end", "timeout": after},
            ),
            "split": (
                {
                    "branches": [
                        {"label": "big", "entry_data": [{"field": "total", "op": "gt", "value": 5}]}
                    ]
                },
                {"b0": after, "else": "end"},
            ),
            "ab": (
                {"variants": [{"key": "a", "percent": 50}, {"key": "b", "percent": 50}]},
                {"a": after, "b": "end"},
            ),
        }[kind]
        items.append({"key": key, "kind": kind, "config": config, "next": nexts})
    items.append({"key": "end", "kind": "exit", "config": {}, "next": {}})
    return {"nodes": items}


def build(nodes: int):
    from django.contrib.auth.models import User

    from channels.models import SenderNumber
    from journeys.actions import (
        do_activate,
        do_create_journey,
        do_open_draft,
        do_publish,
        do_save_draft,
    )
    from journeys.graph import node_map
    from journeys.models import NodeCounter
    from projects.actions import do_create_project
    from projects.models import Membership, Role

    viewer = User.objects.create_user("viewer@bench.test", "viewer@bench.test", "x" * 20)
    project = do_create_project("Bench", "벤치마크 주식회사")
    Membership.objects.create(project=project, user=viewer, role=Role.MARKETER)
    sender = SenderNumber.objects.create(
        project=project,
        number="+8215881234",
        owner_type=SenderNumber.OwnerType.COMPANY,
        owner_name=project.company_name,
        status=SenderNumber.Status.APPROVED,
        is_default=True,
    )
    journey = do_create_journey(project, "Bench", viewer)
    graph = graph_of(nodes, sender.pk)
    do_save_draft(journey, graph, {}, viewer)
    do_publish(journey, viewer)
    do_activate(journey, viewer)
    journey.refresh_from_db()
    do_open_draft(journey, viewer)
    NodeCounter.objects.bulk_create(
        NodeCounter(
            journey=journey, version=journey.live_version, node=key, metric=metric, value=value
        )
        for key in node_map(graph)
        for metric, value in (("entered", 1000), ("waiting", 10), ("port:next", 990))
    )
    return viewer, journey


def timed(client, url: str, runs: int) -> dict:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client.get(url)
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        response = client.get(url)
        times.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, response.status_code
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    times.sort()
    return {
        "median_ms": statistics.median(times),
        "p90_ms": times[int(len(times) * 0.9) - 1],
        "bytes": len(response.content),
        "queries": len(queries),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--nodes", type=int, default=40)
    parser.add_argument("--runs", type=int, default=200)
    args = parser.parse_args()
    setup_django()
    from django.test import Client
    from django.urls import reverse

    viewer, journey = build(args.nodes)
    client = Client()
    client.force_login(viewer)
    ids = [journey.project_id, journey.pk]
    results = {
        "counts (every 2 s)": timed(client, reverse("journey_counts", args=ids), args.runs),
        "whole graph (every 10 s before)": timed(
            client, reverse("journey_graph", args=ids), args.runs
        ),
    }
    print(f"journey of {args.nodes} nodes, a draft open, {args.runs} GETs each")
    for name, r in results.items():
        print(
            f"  {name:32} median {r['median_ms']:7.2f} ms  p90 {r['p90_ms']:7.2f} ms  "
            f"{r['bytes']:7d} bytes  {r['queries']:3d} queries"
        )
    counts, whole = results.values()
    print(
        f"  ratio whole/counts per request: {whole['median_ms'] / counts['median_ms']:.1f}x; "
        f"server time per minute: counts every 2 s {30 * counts['median_ms']:.0f} ms, "
        f"whole graph every 10 s {6 * whole['median_ms']:.0f} ms"
    )


if __name__ == "__main__":
    main()
