"""Set-up shared by the benches that run Django in their own process (no
cluster, no web server): a throwaway SQLite database under bench/out/."""

from __future__ import annotations

import os
import shutil
from pathlib import Path


def inprocess_django(out: Path, *, fresh: bool = True) -> None:
    """Django on the SQLite database in `out` (tasks run inline). `fresh`:
    empty `out` first and migrate; otherwise use the database left there."""
    if fresh:
        shutil.rmtree(out, ignore_errors=True)
        out.mkdir(parents=True)
    for name in ("DATABASE_URL", "REDIS_URL"):
        os.environ.pop(name, None)
    os.environ.update(
        MUNJA_DATA_DIR=str(out),
        MUNJA_SQLITE_PATH=str(out / "bench.sqlite3"),
        MUNJA_ALLOWED_HOSTS="testserver",
        MUNJA_SECURE="0",
        MUNJA_STATIC_MANIFEST="0",
        MUNJA_LANGUAGE="en",
        MUNJA_Q_SYNC="1",
    )
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "console.settings")
    import django

    django.setup()
    if fresh:
        from django.core.management import call_command

        call_command("migrate", verbosity=0)
        call_command("createcachetable", verbosity=0)
