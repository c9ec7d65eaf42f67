"""CPU time of audience-file validation alone (no database) on the 200k-row
bench csv files (made by `bench/audience_file_validate.py --rows 200000`), in
the source tree given, so two trees can be compared back to back on a shared
machine, where wall time is mostly waiting for a core. Usage:

    .venv/bin/python bench/audience_file_validate_cpu.py TREE [OUT_DIR]
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

REPEATS = 5
FILES = ("audience_200000.csv", "audience_200000_bad.csv")


def main() -> None:
    tree = Path(sys.argv[1]).resolve()
    out = Path(sys.argv[2]) if len(sys.argv) > 2 else Path(__file__).resolve().parent / "out"
    sys.path.insert(0, str(tree))
    os.chdir(tree)
    os.environ["DJANGO_SETTINGS_MODULE"] = "console.settings"
    os.environ["MUNJA_DATA_DIR"] = tempfile.mkdtemp()
    import django

    django.setup()
    from audiences.files.validation import validate_file

    for name in FILES:
        best = float("inf")
        for _ in range(REPEATS):
            spool = Path(tempfile.mkdtemp()) / "spool"
            started = time.process_time()
            outcome = validate_file(out / name, "csv", max_rows=1_000_000, spool=spool)
            best = min(best, time.process_time() - started)
            spool.unlink(missing_ok=True)
        print(
            f"{tree.name} {name} rows={outcome.rows:,} errors={outcome.error_count:,} "
            f"CPU best of {REPEATS}: {best:.3f} s = {outcome.rows / best:,.0f} rows/s",
            flush=True,
        )


if __name__ == "__main__":
    main()
