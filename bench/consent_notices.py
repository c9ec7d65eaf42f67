"""The day's two-year reminders of a large project on the embedded default (SQLite).

Run: .venv/bin/python bench/consent_notices.py [--users 1000000] [--due 100000]

Builds a throwaway SQLite database with one project of `--users` users, all
with promotional consent: `--due` of them consented on one day two years
less 30 days before the benchmark day (their reminders fall due on it), the
others on days spread over the following year (not due). Then times, as the
daily run will do it, `do_schedule_reminders(project, end of day)` (select
the candidates, compute each due time in the user's zone, create the rows
set-based) and `due_notices(project, end of day)` (the day's selection, read
to the end). Target: both together ≤ 30 s.

Then the day's hand-over to the send core as the minute task does it
(`consent.sending.hand_over`): select each batch of due notices, render the
Korean default reminder, enqueue the messages into the day's outbox and mark
the notices queued, a batch per transaction. Target: ≤ 30 s. Exits non-zero
when either target is missed.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TARGET_SECONDS = 30


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=1_000_000)
    parser.add_argument("--due", type=int, default=100_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="munja-bench-consent-") as tmp:
        os.environ.update(
            {
                "MUNJA_DATA_DIR": tmp,
                "MUNJA_SQLITE_PATH": str(Path(tmp) / "bench.sqlite3"),
                "MUNJA_DEBUG": "0",
                "MUNJA_LOG_LEVEL": "WARNING",
            }
        )
        os.environ.pop("DATABASE_URL", None)
        os.environ.pop("REDIS_URL", None)
        sys.path.insert(0, str(ROOT))
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "console.settings")
        import django

        django.setup()
        from django.core.management import call_command
        from django.db import connection, transaction

        from audiences.models import Customer
        from channels.models import OptOutNumber, SenderNumber
        from consent.actions import do_schedule_reminders
        from consent.models import Notice
        from consent.queries import due_notices
        from consent.sending import hand_over
        from dispatch.models import Message
        from projects.actions import do_create_project

        call_command("migrate", verbosity=0, interactive=False)
        project = do_create_project("Bench", "Bench Ltd")
        # Notices are on (an 080 number) and can go (an approved sender).
        OptOutNumber.objects.create(number="+8280123456", project=project)
        SenderNumber.objects.create(
            project=project,
            number="+8215881234",
            owner_type=SenderNumber.OwnerType.COMPANY,
            owner_name="Bench Ltd",
            status=SenderNumber.Status.APPROVED,
            is_default=True,
        )
        day = datetime(2026, 12, 7, tzinfo=UTC)
        # Second anniversary 2027-01-06: the reminder is due 30 days before,
        # on `day` at 10:00 Seoul (01:00 UTC).
        due_consent = datetime(2025, 1, 6, 3, 0, tzinfo=UTC)

        def stamp(moment: datetime) -> object:
            return connection.ops.adapt_datetimefield_value(moment)

        started = time.perf_counter()
        rows = []
        for i in range(args.users):
            if i < args.due:
                consent_at = due_consent
            else:
                consent_at = due_consent + timedelta(days=1 + i % 365, seconds=i % 3600)
            rows.append((project.pk.hex, f"u{i}", f"+8210{i:08d}", stamp(consent_at), stamp(day)))
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.executemany(
                f"INSERT INTO {Customer._meta.db_table} (project_id, user_id, phone_number, "
                "name, email, time_zone, country, language, promotional_consent, "
                "promotional_consent_at, night_consent, created_at) "
                "VALUES (%s, %s, %s, '', '', '', 'KR', '', 1, %s, 0, %s)",
                rows,
            )
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        print(f"built {args.users:,} users in {time.perf_counter() - started:.1f} s")

        now = day
        until = day + timedelta(days=1)
        started = time.perf_counter()
        created = do_schedule_reminders(project, until, now)
        scheduled = time.perf_counter() - started
        started = time.perf_counter()
        selected = sum(1 for _ in due_notices(project, until).values_list("pk").iterator(5000))
        selection = time.perf_counter() - started
        total = scheduled + selection
        print(f"machine: {os.cpu_count()} CPUs")
        print(f"scheduled {created:,} reminders in {scheduled:.1f} s")
        print(f"selected {selected:,} due notices in {selection:.1f} s")
        print(f"total {total:.1f} s; target {TARGET_SECONDS} s: ", end="")
        ok = total <= TARGET_SECONDS and created == args.due == selected
        print("met" if ok else "MISSED")

        started = time.perf_counter()
        handed = hand_over(project, until)
        enqueue = time.perf_counter() - started
        queued = Notice.objects.filter(project=project, state=Notice.State.QUEUED).count()
        messages = Message.objects.filter(project=project).count()
        print(
            f"handed over {handed:,} notices ({queued:,} queued, {messages:,} messages) "
            f"in {enqueue:.1f} s; target {TARGET_SECONDS} s: ",
            end="",
        )
        enqueue_ok = enqueue <= TARGET_SECONDS and handed == queued == messages == args.due
        print("met" if enqueue_ok else "MISSED")
        return 0 if ok and enqueue_ok else 1


if __name__ == "__main__":
    sys.exit(main())
