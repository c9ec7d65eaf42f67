"""Benchmark: validate and store a 1,000,000-row audience file (csv and xlsx).

    .venv/bin/python bench/audience_file_validate.py [--rows N]

Generates (once, cached under bench/out/) a file of phoneNumber + 3 variables
with 1% bad rows of mixed kinds, as csv and as xlsx (openpyxl write-only).
Because a file with errors stores nothing, each format is measured twice:
the file with 1% bad rows (validation only, the errors are found and
reported) and the same file with the bad rows fixed (validation AND storing
and matching to users, the full path). Reading alone (csv module /
python-calamine iterating rows) is timed in the same run for the ratio; for
xlsx, python-calamine reads in a child process (it holds the whole sheet in
memory, which would otherwise count in this process's peak), and the reader
the validation used (calamine, or the streaming reader of console/lib/xlsx.py
for a sheet part above MUNJA_XLSX_STREAM_BYTES) is printed with its own
read-alone time.

Targets (issue 3): ≥ 100,000 rows/s csv, ≥ 50,000 rows/s xlsx, peak memory
≤ 400 MB. Uses its own SQLite database under bench/out/. Exits 1 on a miss.
"""

from __future__ import annotations

import argparse
import csv
import os
import random
import resource
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out"
sys.path.insert(0, str(ROOT))

CSV_TARGET = 100_000
XLSX_TARGET = 50_000
MEMORY_TARGET_MB = 400


def setup_django() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    data = OUT / "audience_file_data"
    data.mkdir(exist_ok=True)
    os.environ.setdefault("MUNJA_DATA_DIR", str(data))
    os.environ["MUNJA_SQLITE_PATH"] = str(data / "bench.sqlite3")
    os.environ.setdefault("MUNJA_Q_SYNC", "1")
    os.environ["MUNJA_AUDIENCE_FILE_MAX_ROWS"] = "1000000"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "console.settings")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def _bad(rng: random.Random, number: int, good: list[str]) -> str:
    kind = number % 5
    if kind == 0:
        return f"010-{rng.randrange(10_000):04d}-{rng.randrange(10_000):04d}"  # national
    if kind == 1:
        return f"+8210{rng.randrange(100_000):05d}"  # too short
    if kind == 2:
        return "not a number"
    if kind == 3:
        return ""  # missing
    return good[rng.randrange(len(good))] if good else "+821000000000"  # duplicate


def rows(count: int, *, bad: bool):
    rng = random.Random(42)
    step = 100  # 1% bad rows
    recent: list[str] = []
    for i in range(count):
        phone = f"+8210{i:08d}"
        if bad and i % step == 57:
            phone = _bad(rng, i // step, recent)
        elif len(recent) < 1000:
            recent.append(phone)
        yield [phone, f"Name {i}", f"C{i % 9973:05d}", str(i % 365)]


def make_files(count: int) -> dict[str, Path]:
    files = {}
    header = ["phoneNumber", "name", "coupon", "days"]
    for bad in (True, False):
        tag = f"{count}{'_bad' if bad else ''}"
        path = OUT / f"audience_{tag}.csv"
        if not path.exists():
            with open(path, "w", newline="", encoding="utf-8") as fh:
                writer = csv.writer(fh)
                writer.writerow(header)
                writer.writerows(rows(count, bad=bad))
        files[f"csv{'_bad' if bad else ''}"] = path
        xpath = OUT / f"audience_{tag}.xlsx"
        if not xpath.exists():
            from openpyxl import Workbook

            wb = Workbook(write_only=True)
            ws = wb.create_sheet("Audience")
            ws.append(header)
            for row in rows(count, bad=bad):
                ws.append(row)
            wb.save(xpath)
        files[f"xlsx{'_bad' if bad else ''}"] = xpath
    return files


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


CALAMINE_READ = """
import resource, sys, time
from python_calamine import CalamineWorkbook
start = time.perf_counter()
sheet = CalamineWorkbook.from_path(sys.argv[1]).get_sheet_by_index(0)
for _row in sheet.iter_rows():
    pass
print(time.perf_counter() - start, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
"""


def read_only(path: Path) -> float:
    """Seconds to read the file alone: csv module, or python-calamine in a
    child process (prints its peak RSS)."""
    if path.suffix == ".csv":
        start = time.perf_counter()
        with open(path, encoding="utf-8-sig", newline="") as fh:
            for _row in csv.reader(fh):
                pass
        return time.perf_counter() - start
    import subprocess

    out = subprocess.run(
        [sys.executable, "-c", CALAMINE_READ, str(path)], capture_output=True, text=True, check=True
    ).stdout.split()
    print(f"python-calamine alone: {float(out[0]):.2f} s, its peak RSS {float(out[1]):,.0f} MB")
    return float(out[0])


def stream_read_only(path: Path) -> float:
    from console.lib.xlsx import open_sheet

    start = time.perf_counter()
    with open_sheet(path) as sheet:
        for _row in sheet.rows():
            pass
    return time.perf_counter() - start


def run(path: Path, project) -> tuple[float, object]:
    from audiences.files.actions import do_validate_audience_file
    from audiences.models import AudienceFile

    # Linked into the private storage (no copy through an upload) so the time
    # is validation + storage.
    audience_file = AudienceFile.objects.create(
        project=project, name=path.name, format=path.suffix[1:], size=path.stat().st_size
    )
    storage = audience_file.file.storage
    link = Path(storage.path(f"bench/{path.name}"))
    link.parent.mkdir(parents=True, exist_ok=True)
    if not link.exists():
        link.symlink_to(path)
    audience_file.file.name = f"bench/{path.name}"
    audience_file.save(update_fields=["file"])
    start = time.perf_counter()
    do_validate_audience_file(audience_file.id)
    elapsed = time.perf_counter() - start
    audience_file.refresh_from_db()
    return elapsed, audience_file


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument(
        "--formats",
        nargs="+",
        default=["csv", "xlsx"],
        choices=["csv", "xlsx"],
        help="which formats to run (default both)",
    )
    args = parser.parse_args()
    setup_django()
    from audiences.models import AudienceFile, Customer
    from projects.models import Project

    print(f"generating / reusing {args.rows:,}-row files under {OUT} …", flush=True)
    files = make_files(args.rows)
    AudienceFile.objects.all().delete()
    project, _ = Project.objects.get_or_create(name="bench", defaults={"company_name": "Bench"})
    if not Customer.objects.filter(project=project).exists():
        Customer.objects.bulk_create(
            Customer(project=project, user_id=f"u{i}", phone_number=f"+8210{i * 97:08d}")
            for i in range(10_000)
        )
    ok = True
    parser_formats = [f for f in ("csv", "xlsx") if f in args.formats]
    for fmt, target in [
        (f, t) for f, t in (("csv", CSV_TARGET), ("xlsx", XLSX_TARGET)) if f in parser_formats
    ]:
        read = read_only(files[fmt])
        if fmt == "xlsx":
            from audiences.files.reading import xlsx_reader

            reader = xlsx_reader(files[fmt])
            print(f"xlsx reader used by validation: {reader}", flush=True)
            if reader == "stream":
                print(f"streaming reader alone: {stream_read_only(files[fmt]):.2f} s", flush=True)
        for key in (fmt + "_bad", fmt):
            elapsed, result = run(files[key], project)
            rate = args.rows / elapsed
            print(
                f"{key:9s} {result.status:8s} rows={result.rows:,} errors={result.error_count:,} "
                f"matched={result.matched_customers:,}  {elapsed:6.2f} s  {rate:10,.0f} rows/s  "
                f"read alone {read:5.2f} s  ratio {elapsed / read:4.1f}× reading"
                + (" (python-calamine)" if fmt == "xlsx" else "")
                + f"  max RSS so far {_rss_mb():,.0f} MB"
                + ("" if rate >= target else f"  MISSED {target:,}/s"),
                flush=True,
            )
            ok &= rate >= target
        AudienceFile.objects.all().delete()
    peak_mb = _rss_mb()
    print(
        f"peak memory (max RSS of the whole run): {peak_mb:,.0f} MB (target ≤ {MEMORY_TARGET_MB})"
    )
    ok &= peak_mb <= MEMORY_TARGET_MB
    print("OK" if ok else "TARGET MISSED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
