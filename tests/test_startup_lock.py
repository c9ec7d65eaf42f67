"""Starting up while another process holds SQLite's write lock (a long
write of another process): the checks that `make run` and `migrate` run must
not mistake "database is locked" for "SQLite has no JSON support"."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.skipif(bool(os.environ.get("DATABASE_URL")), reason="SQLite's write lock")
def test_the_start_up_checks_pass_while_another_process_holds_the_write_lock(tmp_path):
    path = tmp_path / "locked.sqlite3"
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("PRAGMA journal_mode=WAL")
    holder.execute("CREATE TABLE busy (x)")
    holder.execute("BEGIN IMMEDIATE")
    holder.execute("INSERT INTO busy VALUES (1)")
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    env["MUNJA_SQLITE_PATH"] = str(path)
    try:
        done = subprocess.run(
            [sys.executable, "manage.py", "check", "--database", "default"],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    output = done.stdout + done.stderr
    assert "does not support JSONFields" not in output
    assert done.returncode == 0, output
