"""Track ingest through HTTP on the embedded default (SQLite): events per second.

Run: .venv/bin/python bench/track_ingest.py [--batches N] [--workers N] [--clients N]
     [--goals [--goal-campaigns 10] [--goal-recipients 100000] [--rounds 2]]

Builds a throwaway SQLite database in a temp dir, starts gunicorn on a free
port against it, and POSTs batches of 100 events to /v1/projects/{id}/track:
first for users not seen before (each batch creates 100 customers), then for
existing users. Prints events/s for each phase and, as a noise-robust
reference from the same run, the ratio of Track calls per second to calls of
the cheapest authenticated endpoint (GET /v1/projects/{id}). Exits non-zero
when either phase is under the target of 2,000 events/s.

`--goals` (issue 6) then adds, in the same run, 10 running campaigns of
100,000 recipients each (1,000,000 users, each campaign's messages sent an
hour ago: 1,000,000 Message rows) and compares Track ingest of recipients
without conversion goals and with a `purchase` goal (revenue from `amount`)
on each of the 10 campaigns, in alternating rounds over fresh users: each
round's users have not converted yet, so with goals every purchase (2 events
in 3) is a new conversion. `--overlap` gives the 10 campaigns one audience of
100,000 users instead, so every purchase is 10 conversions (the worst case).
Target: with goals ≥ 80 % of the throughput without; exits non-zero when missed.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TARGET_EVENTS_PER_SECOND = 2000
BATCH = 100
GOALS_TARGET_RATIO = 0.8


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def prepare(data_dir: Path) -> tuple[str, str]:
    """Migrate the temp database and create a project with an API token."""
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "console.settings")
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0, interactive=False)
    call_command("createcachetable", verbosity=0)
    from projects.actions import do_create_api_token, do_create_project

    project = do_create_project("Bench", "Bench Ltd")
    _, token = do_create_api_token(project, "bench", None)
    return str(project.id), token


def start_server(port: int, workers: int, log: Path) -> subprocess.Popen:
    command = [
        sys.executable, "-m", "gunicorn", "console.wsgi",
        "--bind", f"127.0.0.1:{port}", "--workers", str(workers),
        "--log-level", "warning",
    ]  # fmt: skip
    process = subprocess.Popen(
        command, cwd=ROOT, env=os.environ.copy(), stdout=log.open("wb"), stderr=subprocess.STDOUT
    )
    import requests

    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if requests.get(f"http://127.0.0.1:{port}/healthz", timeout=1).ok:
                return process
        except requests.RequestException:  # not up yet, or slow on a loaded machine
            pass
        if process.poll() is not None:
            break
        time.sleep(0.2)
    process.kill()
    sys.exit(f"gunicorn did not start; see {log}:\n{log.read_text()[-2000:]}")


def bodies(
    prefix: str,
    batches: int,
    existing: int = 0,
    offset: int = 0,
    spread: float = 1.0,
    consent: bool | None = None,
) -> list[bytes]:
    """Batches of 100 events; with `consent` (True/False) each call also sets
    promotionalConsent of its 100 users (a change on every call when the
    phases alternate), the path that writes consent history."""
    now = datetime.now(UTC)
    out = []
    for b in range(batches):
        events = []
        attributes = []
        for i in range(BATCH):
            n = (b * BATCH + i) % existing if existing else b * BATCH + i
            user = f"{prefix}-{offset + n}"
            events.append(
                {
                    "subjectType": "user",
                    "subjectId": user,
                    "type": "purchase" if i % 3 else "view_item",
                    "data": {"sku": f"SKU-{i % 17}", "amount": 1000 + i},
                    "createdAt": (now - timedelta(seconds=(b * BATCH + i) * spread)).isoformat(),
                }
            )
            if consent is not None:
                attributes.append({"userId": user, "promotionalConsent": consent})
        body = (
            {"events": events, "userAttributes": attributes} if attributes else {"events": events}
        )
        out.append(json.dumps(body).encode())
    return out


def build_campaigns(project_id: str, campaigns: int, recipients: int, overlap: bool) -> None:
    """Users `r-<i>` and `campaigns` running campaigns of `recipients` each
    whose messages were sent an hour ago (raw inserts): campaign n goes to
    users n × recipients … (n + 1) × recipients − 1, or with `overlap` all
    campaigns to the same `recipients` users."""
    from django.db import connection, transaction
    from django.utils import timezone

    from audiences.models import Customer
    from campaigns.models import Campaign, CampaignStats, Message

    now = timezone.now()
    project_hex = project_id.replace("-", "")

    def stamp(moment: datetime) -> object:
        return connection.ops.adapt_datetimefield_value(moment)

    with transaction.atomic(), connection.cursor() as cursor:
        cursor.executemany(
            f"INSERT INTO {Customer._meta.db_table} (project_id, user_id, phone_number, name, "
            "email, time_zone, country, language, promotional_consent, night_consent, created_at) "
            "VALUES (%s, %s, %s, '', '', '', 'KR', '', 1, 0, %s)",
            [
                (project_hex, f"r-{i}", f"+8210{i:08d}", stamp(now))
                for i in range(recipients if overlap else recipients * campaigns)
            ],
        )
    ids = list(
        Customer.objects.filter(project_id=project_id, user_id__startswith="r-")
        .order_by("id")
        .values_list("id", "phone_number")
    )
    sent_at = stamp(now - timedelta(hours=1))
    for n in range(campaigns):
        campaign = Campaign.objects.create(
            project_id=project_id,
            name=f"Goal campaign {n}",
            status=Campaign.Status.SENDING,
            body="Spring sale",
            started_at=now - timedelta(hours=2),
        )
        CampaignStats.objects.create(campaign=campaign, recipients=recipients, sent=recipients)
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.executemany(
                f"INSERT INTO {Message._meta.db_table} (campaign_id, project_id, customer_id, "
                "phone_number, time_zone, body, title, kind, bytes, status, skip_reason, "
                "provider_message_id, attempts, claim_token, error_code, error_message, sent_at) "
                "VALUES (%s, %s, %s, %s, '', 'Spring sale', '', 'SMS', 11, 'sent', '', '', 1, "
                "'', '', '', %s)",
                [
                    (campaign.pk, project_hex, cid, phone, sent_at)
                    for cid, phone in (
                        ids if overlap else ids[n * recipients : (n + 1) * recipients]
                    )
                ],
            )
    if connection.vendor == "sqlite":
        # A million rows just went through the WAL: fold it into the database
        # so the rounds do not read through it.
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)")


def set_goals(project_id: str, active: bool) -> None:
    from campaigns.models import Campaign
    from conversions.models import ConversionGoal

    if not active:
        ConversionGoal.objects.filter(campaign__project_id=project_id).delete()
        return
    ConversionGoal.objects.bulk_create(
        ConversionGoal(
            campaign=campaign,
            position=1,
            event_name="purchase",
            window_seconds=86400,
            revenue_field="amount",
        )
        for campaign in Campaign.objects.filter(project_id=project_id)
    )


def conversions_so_far(project_id: str) -> int:
    from conversions.models import Conversion

    return Conversion.objects.filter(campaign__project_id=project_id).count()


def run(url: str, headers: dict, payloads: list[bytes | None], clients: int) -> float:
    """Seconds to send every payload (None → GET) with `clients` concurrent sessions."""
    import requests

    sessions = [requests.Session() for _ in range(clients)]

    def send(args: tuple[int, bytes | None]) -> None:
        n, payload = args
        session = sessions[n % clients]
        if payload is None:
            response = session.get(url, headers=headers, timeout=60)
        else:
            response = session.post(url, data=payload, headers=headers, timeout=60)
        if response.status_code != 200:
            raise SystemExit(f"{response.status_code}: {response.text[:500]}")
        if payload is not None and response.json()["accepted"]["events"] != BATCH:
            raise SystemExit(f"not all events accepted: {response.text[:500]}")

    started = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        list(pool.map(send, enumerate(payloads)))
    return time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batches", type=int, default=100, help="batches of 100 per phase")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers")
    parser.add_argument("--clients", type=int, default=4, help="concurrent HTTP clients")
    parser.add_argument("--goals", action="store_true", help="compare with conversion goals")
    parser.add_argument("--goal-campaigns", type=int, default=10)
    parser.add_argument("--goal-recipients", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=2, help="rounds without/with goals")
    parser.add_argument("--overlap", action="store_true", help="one audience for all campaigns")
    parser.add_argument(
        "--consent",
        action="store_true",
        help="each call also grants (new users) or withdraws (existing) promotional consent",
    )
    args = parser.parse_args()
    goal_rates: dict[bool, list[float]] = {False: [], True: []}
    converted = 0

    with tempfile.TemporaryDirectory(prefix="munja-bench-track-") as tmp:
        data_dir = Path(tmp)
        os.environ.update(
            {
                "MUNJA_DATA_DIR": str(data_dir),
                "MUNJA_SQLITE_PATH": str(data_dir / "bench.sqlite3"),
                "MUNJA_DEBUG": "0",
                "MUNJA_SECURE": "0",
                "MUNJA_STATIC_MANIFEST": "0",
                "MUNJA_LOG_LEVEL": "WARNING",
                "MUNJA_API_RATE_PER_MINUTE": "10000000",
            }
        )
        os.environ.pop("DATABASE_URL", None)
        os.environ.pop("REDIS_URL", None)
        project_id, token = prepare(data_dir)
        port = free_port()
        server = start_server(port, args.workers, data_dir / "gunicorn.log")
        try:
            base = f"http://127.0.0.1:{port}/v1/projects/{project_id}"
            auth = {"Authorization": f"Bearer {token}"}
            post = {**auth, "Content-Type": "application/json"}
            # Warm up every worker (imports, connections) before timing anything.
            run(f"{base}/track", post, bodies("warm", 2 * args.workers), args.clients)
            run(base, auth, [None] * 20, args.clients)

            get_seconds = run(base, auth, [None] * args.batches, args.clients)
            consent = True if args.consent else None
            new_payloads = bodies("new", args.batches, consent=consent)
            new_seconds = run(f"{base}/track", post, new_payloads, args.clients)
            withdraw = False if args.consent else None
            existing = bodies("new", args.batches, existing=args.batches * BATCH, consent=withdraw)
            old_seconds = run(f"{base}/track", post, existing, args.clients)
            if args.goals:
                started = time.perf_counter()
                build_campaigns(project_id, args.goal_campaigns, args.goal_recipients, args.overlap)
                print(
                    f"built {args.goal_campaigns} campaigns x {args.goal_recipients:,} sent "
                    f"messages in {time.perf_counter() - started:.1f} s"
                )
                per_round = args.batches * BATCH
                if per_round * 2 * args.rounds > args.goal_recipients:
                    sys.exit("--goal-recipients must cover batches x 100 x 2 x rounds users")
                for n in range(2 * args.rounds):
                    with_goals = n % 2 == 1
                    set_goals(project_id, with_goals)
                    before = conversions_so_far(project_id)
                    # Events of the last minute or so: inside every goal's window.
                    payloads = bodies("r", args.batches, offset=n * per_round, spread=0.01)
                    seconds = run(f"{base}/track", post, payloads, args.clients)
                    goal_rates[with_goals].append(per_round / seconds)
                    made = conversions_so_far(project_id) - before
                    converted += made
                    print(
                        f"round {n // 2 + 1} {'with' if with_goals else 'without'} goals: "
                        f"{per_round / seconds:,.0f} events/s, {made:,} conversions"
                    )
        finally:
            server.terminate()
            server.wait(timeout=10)

    events = args.batches * BATCH
    new_rate = events / new_seconds
    old_rate = events / old_seconds
    get_rate = args.batches / get_seconds
    print(
        f"machine: {os.cpu_count()} CPUs; gunicorn workers {args.workers}; clients {args.clients}"
    )
    print(f"new users:      {events} events in {new_seconds:.2f} s = {new_rate:,.0f} events/s")
    print(f"existing users: {events} events in {old_seconds:.2f} s = {old_rate:,.0f} events/s")
    print(f"reference GET /v1/projects/{{id}}: {get_rate:,.0f} requests/s")
    print(
        "track calls per reference call: "
        f"new {new_rate / BATCH / get_rate:.2f}, existing {old_rate / BATCH / get_rate:.2f}"
    )
    worst = min(new_rate, old_rate)
    ok = worst >= TARGET_EVENTS_PER_SECOND
    print(f"target {TARGET_EVENTS_PER_SECOND:,} events/s: {'met' if ok else 'MISSED'}")
    if args.goals:
        without = sum(goal_rates[False]) / len(goal_rates[False])
        with_goals = sum(goal_rates[True]) / len(goal_rates[True])
        ratio = with_goals / without
        goals_ok = ratio >= GOALS_TARGET_RATIO and converted > 0
        print(
            f"existing recipients, mean of {args.rounds} rounds: without goals "
            f"{without:,.0f} events/s, with goals on {args.goal_campaigns} campaigns "
            f"{with_goals:,.0f} events/s ({converted:,} conversions"
            f"{', one audience' if args.overlap else ''}); ratio {ratio:.2f} "
            f"(target >= {GOALS_TARGET_RATIO}): {'met' if goals_ok else 'MISSED'}"
        )
        ok = ok and goals_ok
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
