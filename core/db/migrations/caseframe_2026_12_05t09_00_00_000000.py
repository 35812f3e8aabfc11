"""Defaults the table definitions give and earlier migrations left out: when a case's retention row or an
agency's retention period was last set, and when a subject access request was created, received and is due,
default to now (today) in the database too, as every other such column does.

PostgreSQL alters the defaults in place. SQLite cannot alter a column, so each table is rebuilt the way SQLite
documents: a copy made with the new definition, the rows copied over, the old table dropped, the copy renamed
and the indexes made again (none of these tables is referred to by a foreign key)."""
from __future__ import annotations

import re

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.table import Table

ID = "2026-12-05T09:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "Database defaults for the retention and subject access request dates"

#: table -> [(column, type, the default in PostgreSQL's words, in SQLite's)]
DEFAULTS = {
    "cf_case_retention": [("updated_at", "TIMESTAMPTZ", "CURRENT_TIMESTAMP", "current_timestamp")],
    "cf_retention_override": [("set_at", "TIMESTAMPTZ", "CURRENT_TIMESTAMP", "current_timestamp")],
    "cf_subject_access_request": [
        ("received_on", "DATE", "CURRENT_DATE", "CURRENT_DATE"),
        ("due_on", "DATE", "CURRENT_DATE", "CURRENT_DATE"),
        ("created_at", "TIMESTAMPTZ", "CURRENT_TIMESTAMP", "current_timestamp"),
    ],
}


class _Raw(Table, tablename="cf_case_retention", schema=None):
    pass


async def _rebuild_sqlite(table: str, columns: list[tuple[str, str, str, str]]) -> None:
    rows = await _Raw.raw("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = {}", table)
    sql = rows[0]["sql"]
    for column, kind, _, default in columns:
        sql, found = re.subn(rf'"{column}" {kind} NOT NULL DEFAULT null\b',
                             f'"{column}" {kind} NOT NULL DEFAULT {default}', sql)
        if found != 1:
            raise RuntimeError(f"{table}.{column} is not the NOT NULL column without a default this migration "
                               f"expects: {sql}")
    new = f"{table}__new"
    sql, found = re.subn(rf'^CREATE TABLE "?{table}"? ', f'CREATE TABLE "{new}" ', sql)
    if found != 1:
        raise RuntimeError(f"unexpected definition of {table}: {sql}")
    indexes = await _Raw.raw("SELECT sql FROM sqlite_master WHERE type = 'index' AND tbl_name = {} "
                             "AND sql IS NOT NULL", table)
    await _Raw.raw(sql)
    await _Raw.raw(f'INSERT INTO "{new}" SELECT * FROM "{table}"')
    await _Raw.raw(f'DROP TABLE "{table}"')
    await _Raw.raw(f'ALTER TABLE "{new}" RENAME TO "{table}"')
    for index in indexes:
        await _Raw.raw(index["sql"])


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="caseframe", description=DESCRIPTION)

    async def run():
        if _Raw._meta.db.engine_type == "sqlite":
            for table, columns in DEFAULTS.items():
                await _rebuild_sqlite(table, columns)
            return
        for table, columns in DEFAULTS.items():
            for column, _, default, _ in columns:
                await _Raw.raw(f'ALTER TABLE "{table}" ALTER COLUMN "{column}" SET DEFAULT {default}')

    manager.add_raw(run)
    return manager
