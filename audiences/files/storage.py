"""Store a validated file's rows and match them to the project's users.

Rows go in with console.lib.bulk (multi-row VALUES on SQLite, COPY on PostgreSQL) in the
spool's batches inside one transaction, after the file's previous rows (from an
earlier run of the same task) are deleted: a crash leaves the old state,
never a half-written file. Matching to users is one set-based UPDATE using
the (project, phone_number) index of Customer.
"""

from __future__ import annotations

from pathlib import Path

from django.db import connection, transaction

from audiences.files.validation import read_spool
from audiences.models import AudienceFile, AudienceFileRow, Customer
from console.lib.bulk import insert_rows


def store_rows(audience_file: AudienceFile, spool: Path) -> tuple[int, int]:
    """Replace the file's rows with those in `spool`; returns (rows, matched users)."""
    file_id = AudienceFile._meta.pk.get_db_prep_value(audience_file.pk, connection)
    table = AudienceFileRow._meta.db_table
    columns = ("file_id", "row_number", "phone_number", "values")
    stored = 0
    with transaction.atomic(), connection.cursor() as cursor:
        AudienceFileRow.objects.filter(file=audience_file).delete()
        for batch in read_spool(spool):
            stored += insert_rows(cursor, table, columns, [(file_id, *row) for row in batch])
        matched = match_customers(cursor, audience_file, file_id)
    return stored, matched


def match_customers(cursor, audience_file: AudienceFile, file_id: object) -> int:
    """Point each row at the project's user with that phone number (the
    oldest, if several share it). Returns how many rows matched."""
    q = connection.ops.quote_name
    rows_table = q(AudienceFileRow._meta.db_table)
    customers = q(Customer._meta.db_table)
    same_phone = (
        f"FROM {customers} c WHERE c.{q('project_id')} = %s "
        f"AND c.{q('phone_number')} = {rows_table}.{q('phone_number')}"
    )
    project_id = Customer._meta.get_field("project").get_db_prep_value(
        audience_file.project_id, connection
    )
    cursor.execute(
        f"UPDATE {rows_table} SET {q('customer_id')} = "
        f"(SELECT MIN(c.{q('id')}) {same_phone}) "
        f"WHERE {q('file_id')} = %s AND EXISTS (SELECT 1 {same_phone})",
        [project_id, file_id, project_id],
    )
    return max(cursor.rowcount, 0)
