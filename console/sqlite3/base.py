"""Django's SQLite backend, with one change: the JSON-support probe is a plain
read.

Django probes `SELECT JSON(...)` inside a transaction. With
`transaction_mode=IMMEDIATE` (see settings) that BEGIN takes SQLite's write
lock, so while another process writes for longer than the busy timeout the
probe fails with "database is locked" and Django concludes that SQLite has no
JSON support: `migrate`/`check` then stop with the misleading "SQLite does not
support JSONFields". A read needs no lock in WAL mode, so the probe runs
without a transaction, and any error other than a missing JSON function is
raised as it is (naming the lock, not JSON).
"""

from __future__ import annotations

from django.db import OperationalError
from django.db.backends.sqlite3 import base, features
from django.utils.functional import cached_property


class DatabaseFeatures(features.DatabaseFeatures):
    @cached_property
    def supports_json_field(self) -> bool:
        with self.connection.cursor() as cursor:
            try:
                cursor.execute('SELECT JSON(\'{"a": "b"}\')')
            except OperationalError as exc:
                if "no such function" in str(exc).lower():
                    return False
                raise
        return True


class DatabaseWrapper(base.DatabaseWrapper):
    features_class = DatabaseFeatures
