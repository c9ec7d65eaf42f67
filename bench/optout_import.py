"""A 1,000,000-number opt-out import while another project keeps writing.

Project Acme imports N numbers (csv, background path: `do_apply_optout_import`
as the queue task runs it, chunk by chunk, each chunk its own transaction);
meanwhile a thread plays project Bolt: every 50 ms it opts one number out
(a write: history row + webhook event, like a Track call's write) and reads
its list. Printed: import rows/s, the longest chunk transaction, and Bolt's
write and read latencies (median, 99th percentile, worst) during the import.

    .venv/bin/python bench/optout_import.py [--rows N]

Uses a throwaway SQLite database under bench/out/ (SQLite is the case with
one write lock for the whole installation).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "bench" / "out" / "optout_import"


def setup_django() -> None:
    shutil.rmtree(OUT, ignore_errors=True)
    OUT.mkdir(parents=True)
    os.environ["MUNJA_DATA_DIR"] = str(OUT)
    os.environ["MUNJA_SQLITE_PATH"] = str(OUT / "bench.sqlite3")
    os.environ.pop("DATABASE_URL", None)
    os.environ.pop("REDIS_URL", None)
    os.environ["MUNJA_OPTOUT_IMPORT_INLINE_KB"] = "0"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "console.settings")
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    call_command("createcachetable", verbosity=0)


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    args = parser.parse_args()
    setup_django()

    from django.core.files.uploadedfile import SimpleUploadedFile
    from django.db import connection

    import optout.actions as actions
    from optout.models import OptOut, OptOutImport, Source
    from projects.actions import do_create_project

    acme = do_create_project("Acme", "Acme Ltd")
    bolt = do_create_project("Bolt", "Bolt Ltd")
    data = "phoneNumber\n" + "".join(f"+8210{20_000_000 + i}\n" for i in range(args.rows))
    upload = SimpleUploadedFile("acme.csv", data.encode())
    optout_import = actions.do_upload_optout_import(acme, upload, None)

    chunk_seconds: list[float] = []
    apply_numbers = actions.apply_numbers

    def timed_apply(*a, **k):
        started = time.monotonic()
        try:
            return apply_numbers(*a, **k)
        finally:
            chunk_seconds.append(time.monotonic() - started)

    actions.apply_numbers = timed_apply

    writes: list[float] = []
    reads: list[float] = []
    done = threading.Event()

    def other_project() -> None:
        index = 0
        while not done.is_set():
            started = time.monotonic()
            actions.do_opt_out(bolt, [f"+8210{30_000_000 + index}"], Source.API)
            writes.append(time.monotonic() - started)
            started = time.monotonic()
            OptOut.objects.filter(project=bolt).count()
            reads.append(time.monotonic() - started)
            index += 1
            time.sleep(0.05)
        connection.close()

    thread = threading.Thread(target=other_project)
    thread.start()
    started = time.monotonic()
    outcome = actions.do_apply_optout_import(optout_import.pk)
    took = time.monotonic() - started
    done.set()
    thread.join()
    optout_import.refresh_from_db()
    assert optout_import.status == OptOutImport.Status.DONE, outcome
    assert optout_import.added == args.rows
    print(f"import: {args.rows:,} numbers in {took:.1f} s = {args.rows / took:,.0f} rows/s")
    print(
        f"chunks: {len(chunk_seconds)} of {actions.settings.OPTOUT_IMPORT_CHUNK_ROWS:,}, "
        f"median {statistics.median(chunk_seconds) * 1000:.0f} ms, "
        f"worst {max(chunk_seconds) * 1000:.0f} ms"
    )
    for name, values in (("other project's write", writes), ("other project's read", reads)):
        print(
            f"{name}: {len(values)} calls, median {statistics.median(values) * 1000:.1f} ms, "
            f"p99 {percentile(values, 0.99) * 1000:.1f} ms, worst {max(values) * 1000:.1f} ms"
        )


if __name__ == "__main__":
    main()
