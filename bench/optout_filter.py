"""What the opt-out list costs dispatch: 1,000,000 recipients with 1,000,000
numbers on the list vs. the same recipients with an empty list.

The campaigns pipeline does not exist yet, so this measures the part the
opt-out list owns, honestly: reading the recipients to send to through
`optout.queries.sendable` (the NOT EXISTS anti-join) plus a stand-in for the
per-message work — rendering a short personalised body per row with the
python-liquid environment dispatch will use. The same figure with a bare
f-string as the stand-in is printed too, as the worst case.

Two projects hold the same 1,000,000 customers (phone numbers); one has
1,000,000 numbers on its list, of which 10,000 are recipients (1 %), so both
runs do nearly the same per-row work and the difference is the anti-join.
Runs alternate (empty, full, empty, full, …) and the medians are compared.

    .venv/bin/python bench/optout_filter.py [--recipients N] [--rounds R]

Uses a throwaway SQLite database under bench/out/; exits 1 if the extra cost
exceeds 10 %.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "bench" / "out" / "optout_filter"
TARGET = 0.10


def setup_django() -> None:
    shutil.rmtree(OUT, ignore_errors=True)
    OUT.mkdir(parents=True)
    os.environ["MUNJA_DATA_DIR"] = str(OUT)
    os.environ["MUNJA_SQLITE_PATH"] = str(OUT / "bench.sqlite3")
    os.environ.pop("DATABASE_URL", None)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "console.settings")
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def number(n: int) -> str:
    return f"+8210{10_000_000 + n:08d}"


def fill(recipients: int) -> tuple[object, object]:
    from django.db import connection, transaction
    from django.utils import timezone

    from audiences.models import Customer
    from optout.models import OptOut
    from projects.models import Project

    empty = Project.objects.create(name="empty list", company_name="Bench")
    full = Project.objects.create(name="full list", company_name="Bench")
    now = timezone.now().isoformat()
    customer_sql = (
        f"INSERT INTO {Customer._meta.db_table} (project_id, user_id, phone_number, name, email, "
        "time_zone, country, language, promotional_consent, night_consent, created_at) "
        "VALUES (%s, %s, %s, %s, '', '', 'KR', 'ko', 1, 0, %s)"
    )
    optout_sql = (
        f"INSERT INTO {OptOut._meta.db_table} (project_id, phone_number, source, created_at) "
        "VALUES (%s, %s, 'import', %s)"
    )
    with transaction.atomic(), connection.cursor() as cursor:
        for project in (empty, full):
            cursor.executemany(
                customer_sql,
                (
                    (project.pk.hex, f"u{n}", number(n), f"Customer {n}", now)
                    for n in range(recipients)
                ),
            )
        # 1 % of recipients are on the list; the rest of the list is other numbers.
        overlap = recipients // 100
        listed = (number(n) for n in range(recipients - overlap, 2 * recipients - overlap))
        cursor.executemany(optout_sql, ((full.pk.hex, n, now) for n in listed))
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    return empty, full


def run(project: object, render: object, *, filtered: bool = True) -> tuple[float, int]:
    from audiences.models import Customer
    from optout.queries import sendable

    started = time.perf_counter()
    # filtered=False: what dispatch would cost with no opt-out list at all.
    recipients = sendable(
        Customer.objects.filter(project=project), project, is_promotional=filtered
    )
    sent = 0
    rows = recipients.order_by("id").values_list("id", "phone_number", "name")
    for _id, phone, name in rows.iterator(chunk_size=2000):
        render(name, phone)
        sent += 1
    return time.perf_counter() - started, sent


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--recipients", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()

    setup_django()
    from liquid import Environment

    template = Environment().from_string("(광고) Acme\n{{ name }}님, 봄 세일 20% 할인!")

    def liquid_render(name: str, phone: str) -> str:
        return template.render(name=name)

    def fstring_render(name: str, phone: str) -> str:
        return f"(광고) Acme\n{name}님, 봄 세일 20% 할인!"

    t0 = time.perf_counter()
    empty, full = fill(args.recipients)
    print(
        f"setup: {args.recipients:,} recipients in each of 2 projects, "
        f"{args.recipients:,} numbers on one list, in {time.perf_counter() - t0:.1f} s"
    )

    failed = False
    for label, render in (("liquid render", liquid_render), ("f-string render", fstring_render)):
        times: dict[str, list[float]] = {"none": [], "empty": [], "full": []}
        counts = {}
        for _ in range(args.rounds):
            for kind, project in (("none", empty), ("empty", empty), ("full", full)):
                elapsed, sent = run(project, render, filtered=kind != "none")
                times[kind].append(elapsed)
                counts[kind] = sent
        bare = statistics.median(times["none"])
        base = statistics.median(times["empty"])
        with_list = statistics.median(times["full"])
        extra = with_list / base - 1
        print(
            f"{label}: no anti-join {bare:.2f} s; empty list {base:.2f} s "
            f"({counts['empty']:,} sent); {args.recipients:,}-number list {with_list:.2f} s "
            f"({counts['full']:,} sent); extra cost vs empty list {extra:+.1%} "
            f"(target ≤ {TARGET:.0%}), vs no anti-join {with_list / bare - 1:+.1%}"
        )
        if label == "liquid render" and extra > TARGET:
            failed = True
    print(f"run {uuid.uuid4().hex[:8]} done; database at {OUT}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
