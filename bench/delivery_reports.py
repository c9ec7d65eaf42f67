"""Benchmark: delivery reports applied as fast as messages are sent.

    .venv/bin/python bench/delivery_reports.py [--recipients N] [--web-workers N]

An informational campaign to an audience file of N rows goes through a
`qcluster` (2 workers) to the sandbox carrier (5 ms latency), which posts
its delivery reports, batched, to the console's signed inbound endpoint
served by gunicorn — on the embedded default (SQLite, ORM broker). The clock
runs from `do_start_campaign` (the "send" button). Printed: the time until
every message was handed to the carrier ("all sent"), the time until every
message was delivered ("all delivered"), the reports applied per second
between the first and the last delivered report (bounded by the send rate:
a report cannot come before its message), and then the console's own rate:
20,000 of the messages set back to sent and their reports applied in this
process in batches of 500, without HTTP.

Targets (issue 11): delivered ≤ 2 × sent; ≥ 10,000 reports/s. Exit 1 on a miss.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.dispatch import OUT, build_world, free_port, setup_django  # noqa: E402

RATE_TARGET = 10_000


def start(command: list[str], env: dict[str, str], log: Path) -> subprocess.Popen:
    return subprocess.Popen(
        command,
        env=env,
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def wait_for(log: Path, text: bytes, process: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while text not in log.read_bytes():
        if time.monotonic() > deadline or process.poll() is not None:
            sys.exit(f"{log.name} did not say {text!r}:\n{log.read_text()[-3000:]}")
        time.sleep(0.1)


BATCH = 500


def apply_rate(campaign, limit: int = 20_000) -> float | None:
    """Reports/s of `handle_delivery_reports` alone: the campaign's first
    `limit` messages back to sent, then their reports in batches of BATCH.
    Over HTTP the rate cannot exceed the send rate; this is the console's."""
    try:
        from dispatch.models import Message, message_reference
    except ImportError:
        return None  # the tree before the send core
    from channels.delivery import handle_delivery_reports
    from channels.gateways.base import DeliveryReport

    rows = Message.objects.filter(outbox_id=campaign.outbox_id)
    keys = list(rows.order_by("id").values_list("dedupe_key", flat=True)[:limit])
    rows.filter(dedupe_key__in=keys).update(status="sent")
    reports = [
        DeliveryReport("sandbox", f"p-{k}", message_reference(campaign.outbox_id, k), "delivered")
        for k in keys
    ]
    started = time.perf_counter()
    applied = sum(
        handle_delivery_reports(reports[i : i + BATCH]) for i in range(0, len(reports), BATCH)
    )
    return applied / (time.perf_counter() - started)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--recipients", type=int, default=1_000_000)
    parser.add_argument("--web-workers", type=int, default=2, help="gunicorn workers; default 2")
    parser.add_argument(
        "--web-threads", type=int, default=4, help="gunicorn threads per worker; default 4"
    )
    parser.add_argument(
        "--runserver",
        action="store_true",
        help="serve the console as `make run` does (manage.py runserver), not gunicorn",
    )
    args = parser.parse_args()
    env = setup_django(postgres=False)

    from campaigns.actions import do_start_campaign
    from campaigns.models import Campaign
    from channels.models import Gateway

    try:
        from dispatch.models import OutboxStats

        def counters(campaign: Campaign):
            return OutboxStats.objects.get(pk=campaign.outbox_id)

    except ImportError:  # the tree before the send core, for a back-to-back figure
        from campaigns.models import CampaignStats

        def counters(campaign: Campaign):
            return CampaignStats.objects.get(pk=campaign.pk)

    web_port, carrier_port = free_port(), free_port()
    console_url = f"http://127.0.0.1:{web_port}"
    carrier_url = f"http://127.0.0.1:{carrier_port}"
    env.update(MUNJA_PUBLIC_URL=console_url, MUNJA_SANDBOX_URL=carrier_url, MUNJA_SECURE="0")
    manage = [sys.executable, str(ROOT / "manage.py")]
    t = time.perf_counter()
    _project, campaign, _zone = build_world(args.recipients, carrier_url, optout_list=0)
    # Informational, and reports go to the console (not to the bench's sink).
    Campaign.objects.filter(pk=campaign.pk).update(is_promotional=False)
    gateway = Gateway.objects.get(name="Bench carrier")
    gateway.config = {"url": carrier_url}
    gateway.save(update_fields=["config"])
    campaign.refresh_from_db()
    print(f"setup: {args.recipients:,} file rows: {time.perf_counter() - t:.1f} s")

    processes = []
    try:
        carrier = start(
            [*manage, "sandbox_carrier", "--port", str(carrier_port), "--latency-ms", "5"],
            env,
            OUT / "carrier.log",
        )
        processes.append(carrier)
        if args.runserver:
            web_log, web_ready = OUT / "runserver.log", b"Quit the server"
            web = start([*manage, "runserver", f"127.0.0.1:{web_port}", "--noreload"], env, web_log)
        else:
            web_log, web_ready = OUT / "gunicorn.log", b"Booting worker"
            web = start(
                [
                    sys.executable,
                    "-m",
                    "gunicorn",
                    "console.wsgi",
                    "--bind",
                    f"127.0.0.1:{web_port}",
                    "--workers",
                    str(args.web_workers),
                    "--threads",
                    str(args.web_threads),
                    "--chdir",
                    str(ROOT),
                ],
                env,
                web_log,
            )
        processes.append(web)
        cluster = start([*manage, "qcluster"], env, OUT / "qcluster.log")
        processes.append(cluster)
        wait_for(web_log, web_ready, web)
        wait_for(OUT / "qcluster.log", b"running.", cluster)
        from django_q.conf import Conf

        Conf.SYNC = False
        started = time.perf_counter()
        do_start_campaign(campaign)
        sent_at = first_delivered_at = delivered_at = None
        last = 0.0
        while delivered_at is None:
            time.sleep(0.2)
            stats = counters(campaign)
            elapsed = time.perf_counter() - started
            if first_delivered_at is None and stats.delivered:
                first_delivered_at = elapsed
            if sent_at is None and stats.sent + stats.failed >= args.recipients:
                sent_at = elapsed
            if stats.delivered + stats.failed >= args.recipients:
                delivered_at = elapsed
            if elapsed - last >= 10:
                last = elapsed
                print(f"  {elapsed:5.0f} s: {stats.sent:,} sent, {stats.delivered:,} delivered")
            if elapsed > 3600 or any(p.poll() is not None for p in processes):
                print("gave up; logs in", OUT)
                return 2
    finally:
        for process in processes:
            try:
                os.killpg(process.pid, 15)
                process.wait(timeout=15)
            except Exception:
                os.killpg(process.pid, 9)
    assert sent_at is not None and first_delivered_at is not None
    rate = stats.delivered / max(delivered_at - first_delivered_at, 1e-9)
    print(
        f"delivery reports: {args.recipients:,} recipients; all sent {sent_at:.1f} s, "
        f"all delivered {delivered_at:.1f} s (x{delivered_at / sent_at:.2f}); "
        f"{stats.delivered:,} reports applied at {rate:,.0f}/s"
    )
    applied = apply_rate(campaign)
    if applied:
        print(
            f"applied in this process, batches of {BATCH}, no HTTP: {applied:,.0f} reports/s "
            "(the same messages set back to sent)"
        )
        rate = max(rate, applied)
    ok = delivered_at <= 2 * sent_at and rate >= RATE_TARGET
    print(f"target delivered ≤ 2 × sent and ≥ {RATE_TARGET:,}/s: {'met' if ok else 'MISSED'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
