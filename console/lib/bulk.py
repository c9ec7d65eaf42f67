"""Many rows in few statements, the fastest way each database takes them.

SQLite parses a multi-row `VALUES (…), (…)` list once: about twice as fast as
executemany (measured: 100,000 message rows, 0.93 s against 1.78 s). The
statement goes to the sqlite3 cursor with `?` placeholders: Django's SQLite
cursor would otherwise rewrite every `%s` of a 2,000-parameter statement with
a regular expression, a fifth of the time of a million-row file insert.

PostgreSQL takes rows fastest through COPY (30,000 message rows: 0.46 s,
against 1.7 s for psycopg's pipelined executemany and twice that for a long
VALUES list). COPY cannot skip conflicting rows, so when conflicts are to be
ignored the rows are copied into a temporary table of the session and moved
with one `INSERT … SELECT … ON CONFLICT DO NOTHING` (0.51 s for the same rows).
"""

from __future__ import annotations

import hashlib
import sqlite3
from collections.abc import Sequence
from itertools import chain
from typing import Any

from django.db import connection, transaction

# Rows per statement on SQLite: 500 rows x 16 columns stays far below its
# limit of 32,766 bound parameters.
ROWS_PER_STATEMENT = 500


def insert_rows(
    cursor: Any,
    table: str,
    columns: Sequence[str],
    rows: Sequence[Sequence[object]],
    *,
    ignore_conflicts: bool = False,
) -> int:
    """Insert `rows` (values in `columns` order, prepared for the database)
    into `table`; how many were inserted. With `ignore_conflicts`, rows that
    would break a unique constraint are left out. `cursor` is a Django cursor."""
    if not rows:
        return 0
    q = connection.ops.quote_name
    names = ", ".join(q(c) for c in columns)
    if connection.vendor == "postgresql":
        return _copy_rows(cursor.cursor, q(table), names, columns, rows, ignore_conflicts)
    head = f"INSERT INTO {q(table)} ({names}) VALUES"
    tail = "ON CONFLICT DO NOTHING" if ignore_conflicts else ""
    if connection.vendor != "sqlite":
        one = "(" + ", ".join(["%s"] * len(columns)) + ")"
        cursor.executemany(f"{head} {one} {tail}", rows)
        return max(cursor.rowcount, 0)
    raw = cursor.cursor  # Django's SQLite cursor; its base class binds `?` as given
    one = "(" + ",".join("?" * len(columns)) + ")"
    per = max(1, min(ROWS_PER_STATEMENT, 32_000 // len(columns)))
    full = f"{head} {','.join([one] * per)} {tail}"
    inserted = 0
    for start in range(0, len(rows), per):
        part = rows[start : start + per]
        sql = full if len(part) == per else f"{head} {','.join([one] * len(part))} {tail}"
        sqlite3.Cursor.execute(raw, sql, list(chain.from_iterable(part)))
        inserted += max(raw.rowcount, 0)
    return inserted


def _copy_rows(
    raw: Any,
    table: str,
    names: str,
    columns: Sequence[str],
    rows: Sequence[Sequence[object]],
    ignore_conflicts: bool,
) -> int:
    if not ignore_conflicts:
        with raw.copy(f"COPY {table} ({names}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        return len(rows)
    # One staging table per target and column list, kept for the session.
    tag = hashlib.sha1(f"{table}:{names}".encode()).hexdigest()[:12]
    stage = f"munja_stage_{tag}"
    with transaction.atomic():
        raw.execute(
            f"CREATE TEMP TABLE IF NOT EXISTS {stage} AS SELECT {names} FROM {table} WITH NO DATA"
        )
        with raw.copy(f"COPY {stage} ({names}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        raw.execute(
            f"INSERT INTO {table} ({names}) SELECT {names} FROM {stage} ON CONFLICT DO NOTHING"
        )
        inserted = max(raw.rowcount, 0)
        raw.execute(f"TRUNCATE {stage}")
    return inserted
