"""Benchmark: the statistics page of a campaign with 1,000,000 messages and
50,000 conversions, server-side, on the embedded default (SQLite).

    .venv/bin/python bench/stats_page.py [--messages N] [--conversions N] [--runs N]

The rows are built with raw executemany inserts in a scratch database under
`bench/out/stats_page_data/`: the messages (99 % delivered, 1 % failed; 5 %
LMS), 50,000 conversions over 5 goals, and the counters and buckets the
pipeline would have kept — a 2-hour send at about 8,300 messages a minute
(7,200 per-second send buckets; 120 per-minute ones before issue 15) and 30
days of hourly conversion buckets for 5 goals and both bases. Then the page
is fetched with Django's test Client as a logged-in viewer: one warm-up,
then `--runs` timed GETs (median, p90, max) and one more under
CaptureQueriesContext for the SQL query count. The API (`GET
/v1/projects/{id}/campaigns/{id}/stats`) and the CSV export are timed the
same way.

Target (issue 6): the page in ≤ 300 ms server-side (median). Exit 1 on a miss.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
import warnings
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out" / "stats_page_data"
sys.path.insert(0, str(ROOT))

from bench._support import inprocess_django  # noqa: E402

TARGET_MS = 300
SEND_MINUTES = 120
GOALS = 5
CONVERSION_DAYS = 30


def setup_django() -> None:
    inprocess_django(OUT)


def build(messages: int, conversions: int):
    from django.contrib.auth.models import User
    from django.db import connection, transaction

    from campaigns.models import Campaign, Price
    from conversions.models import Conversion, ConversionBucket, ConversionGoal
    from dispatch.models import Message, OutboxStats, SendBucket
    from projects.actions import do_create_api_token, do_create_project
    from projects.models import Membership, Role

    adapt = connection.ops.adapt_datetimefield_value
    viewer = User.objects.create_user("viewer@bench.test", "viewer@bench.test", "x" * 20)
    project = do_create_project("Bench", "벤치마크 주식회사")
    Membership.objects.create(project=project, user=viewer, role=Role.VIEWER)
    _, token = do_create_api_token(project, "bench", None)
    started = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(days=CONVERSION_DAYS)
    campaign = Campaign.objects.create(
        project=project,
        name="Bench campaign",
        status=Campaign.Status.COMPLETED,
        body="{{ name }}님, 봄맞이 쿠폰을 드립니다.",
        started_at=started,
        finished_at=started + timedelta(minutes=SEND_MINUTES),
        materialised_at=started,
    )
    Price.objects.create(kind="SMS", amount=Decimal("8.40"))
    Price.objects.create(kind="LMS", amount=Decimal("25.00"))
    project_id = Message._meta.get_field("project").get_db_prep_value(project.pk, connection)
    per_minute = -(-messages // SEND_MINUTES)
    failed = lms = 0
    columns = (
        "outbox_id, dedupe_key, project_id, customer_id, phone_number, time_zone, body, title, "
        "kind, "
        "bytes, status, skip_reason, provider_message_id, attempts, claim_token, error_code, "
        "error_message, sent_at, delivered_at"
    )
    sql = f"INSERT INTO {Message._meta.db_table} ({columns}) VALUES ({', '.join(['%s'] * 19)})"
    clock = time.perf_counter()
    with transaction.atomic(), connection.cursor() as cursor:
        for begin in range(0, messages, 50_000):
            rows = []
            for i in range(begin, min(messages, begin + 50_000)):
                sent_at = started + timedelta(minutes=i // per_minute, seconds=i % 60)
                kind = "LMS" if i % 20 == 0 else "SMS"
                bad = i % 100 == 99
                failed += bad
                lms += kind == "LMS"
                rows.append(
                    (
                        campaign.outbox_id,
                        f"8210{i:08d}",
                        project_id,
                        i + 1,
                        f"+8210{i:08d}",
                        "",
                        f"고객{i}님, 봄맞이 쿠폰을 드립니다.",
                        "",
                        kind,
                        40,
                        "failed" if bad else "delivered",
                        "",
                        f"p-{i}",
                        1,
                        "",
                        "undeliverable" if bad else "",
                        "",
                        adapt(sent_at),
                        None if bad else adapt(sent_at + timedelta(seconds=3)),
                    )
                )
            cursor.executemany(sql, rows)
    print(f"  {messages:,} messages inserted in {time.perf_counter() - clock:.1f} s")
    OutboxStats.objects.filter(outbox_id=campaign.outbox_id).update(
        recipients=messages,
        queued=0,
        sent=messages,
        sent_lms=lms,
        delivered=messages - failed,
        failed=failed,
        clicks=messages // 40,
        clicked_recipients=messages // 50,
        optouts_after_send=messages // 1000,
    )
    # Per second, as the pipeline keeps them: one row for every second of
    # the two hours (sent and, for the page's purpose, delivered alike).
    seconds = SEND_MINUTES * 60
    per_second = -(-messages // seconds)
    SendBucket.objects.bulk_create(
        (
            SendBucket(
                outbox_id=campaign.outbox_id,
                second=started + timedelta(seconds=s),
                width=1,
                sent=min(per_second, messages - s * per_second),
                delivered=min(per_second, messages - s * per_second) * 99 // 100,
                failed=min(per_second, messages - s * per_second) // 100,
            )
            for s in range(seconds)
            if messages - s * per_second > 0
        ),
        batch_size=2000,
    )
    goals = [
        ConversionGoal.objects.create(
            campaign=campaign,
            position=g + 1,
            event_name=f"event_{g + 1}",
            window_seconds=CONVERSION_DAYS * 86400,
            revenue_field="amount",
        )
        for g in range(GOALS)
    ]
    # Conversions: spread over the goals and the 30 days, both bases.
    hours = CONVERSION_DAYS * 24
    buckets: dict[tuple[int, str, int], list] = {}
    rows = []
    for i in range(conversions):
        goal = goals[i % GOALS]
        basis = "click" if i % 7 == 0 else "send"
        hour = (i * 7919) % hours
        at = started + timedelta(hours=hour, minutes=i % 60)
        revenue = Decimal(1000 + i % 50 * 100)
        rows.append(
            (goal.pk, campaign.pk, basis, i // GOALS + 1, i // GOALS + 1, None, adapt(at), revenue)
        )
        bucket = buckets.setdefault((goal.pk, basis, hour), [0, Decimal(0)])
        bucket[0] += 1
        bucket[1] += revenue
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.executemany(
            f"INSERT INTO {Conversion._meta.db_table} (goal_id, campaign_id, basis, customer_id, "
            "message_id, event_id, converted_at, revenue) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)",
            [(*row[:7], str(row[7])) for row in rows],
        )
    # Every hour of the 30 days has a bucket for every goal (zeros too, as a
    # busy campaign would), so the page reads the full 3,600 × 2 rows.
    ConversionBucket.objects.bulk_create(
        (
            ConversionBucket(
                goal_id=goal.pk,
                basis=basis,
                hour=started + timedelta(hours=hour),
                conversions=buckets.get((goal.pk, basis, hour), [0, 0])[0],
                revenue=buckets.get((goal.pk, basis, hour), [0, Decimal(0)])[1],
            )
            for goal in goals
            for basis in ("send", "click")
            for hour in range(hours)
        ),
        batch_size=2000,
    )
    for goal in goals:
        for basis, count_field, revenue_field in (
            ("send", "conversions", "revenue"),
            ("click", "click_conversions", "click_revenue"),
        ):
            mine = [v for (g, b, _h), v in buckets.items() if g == goal.pk and b == basis]
            setattr(goal, count_field, sum(v[0] for v in mine))
            setattr(goal, revenue_field, sum((v[1] for v in mine), Decimal(0)))
        goal.save()
    return project, campaign, viewer, token


def timed(client, url: str, runs: int, **headers) -> tuple[list[float], int, int]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    response = client.get(url, **headers)  # warm-up
    assert response.status_code == 200, (url, response.status_code)
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        response = client.get(url, **headers)
        times.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200
    with CaptureQueriesContext(connection) as queries:
        client.get(url, **headers)
    return times, len(queries.captured_queries), len(response.content)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=1_000_000)
    parser.add_argument("--conversions", type=int, default=50_000)
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()
    setup_django()
    # WhiteNoise warns that there is no collectstatic output; the page does not need it.
    warnings.filterwarnings("ignore", message="No directory at")
    from django.db import connection
    from django.test import Client

    from conversions.models import Conversion, ConversionBucket
    from dispatch.models import Message, SendBucket

    clock = time.perf_counter()
    project, campaign, viewer, token = build(args.messages, args.conversions)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    print(
        f"setup: {Message.objects.count():,} messages, {Conversion.objects.count():,} "
        f"conversions, {SendBucket.objects.count():,} send buckets, "
        f"{ConversionBucket.objects.count():,} conversion buckets: "
        f"{time.perf_counter() - clock:.1f} s"
    )
    client = Client()
    client.force_login(viewer)
    base = f"/p/{project.pk}/campaigns/{campaign.pk}/stats"
    api = f"/v1/projects/{project.pk}/campaigns/{campaign.pk}/stats"
    results = {
        "statistics page": timed(client, base, args.runs),
        "API JSON": timed(Client(), api, args.runs, HTTP_AUTHORIZATION=f"Bearer {token}"),
        "CSV export": timed(client, base + ".csv", args.runs),
        "dashboard": timed(client, f"/p/{project.pk}/", args.runs),
    }
    for name, (times, queries, size) in results.items():
        ordered = sorted(times)
        print(
            f"{name}: median {statistics.median(times):.1f} ms, "
            f"p90 {ordered[int(len(ordered) * 0.9) - 1]:.1f} ms, max {ordered[-1]:.1f} ms "
            f"over {len(times)} runs; {queries} SQL queries; {size:,} bytes"
        )
    median = statistics.median(results["statistics page"][0])
    ok = median <= TARGET_MS
    print(f"target: statistics page ≤ {TARGET_MS} ms (median): {'met' if ok else 'MISSED'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
