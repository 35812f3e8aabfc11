"""The person search index's trigram lookup and its contents for the persons already recorded.

PostgreSQL: pg_trgm (created in the public schema if missing, so a schema dropped later never takes it
away) and a GIN index on the vocabulary of name words. SQLite: an FTS5 trigram table of the vocabulary,
kept in step by triggers. Then every existing person's name words and identifier keys are indexed.
"""
import json

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine.finder import engine_finder
from piccolo.engine.sqlite import SQLiteEngine
from piccolo.table import Table

ID = "2026-12-04T15:17:27:000000"
VERSION = "1.38.0"
DESCRIPTION = "Person search: a trigram index on name words (pg_trgm or FTS5) and the index of existing persons"


class Person(Table, tablename="cf_person", schema=None):
    pass


SQLITE = [
    "CREATE VIRTUAL TABLE IF NOT EXISTS cf_name_word_fts USING fts5(word, tokenize = 'trigram')",
    "CREATE TRIGGER IF NOT EXISTS cf_name_word_fts_insert AFTER INSERT ON cf_name_word BEGIN "
    "INSERT INTO cf_name_word_fts (rowid, word) VALUES (new.id, new.word); END",
    "CREATE TRIGGER IF NOT EXISTS cf_name_word_fts_delete AFTER DELETE ON cf_name_word BEGIN "
    "DELETE FROM cf_name_word_fts WHERE rowid = old.id; END",
]


async def _trigram_index() -> None:
    engine = engine_finder()
    if isinstance(engine, SQLiteEngine):
        for sql in SQLITE:
            await Person.raw(sql)
        return
    # parallel migrations (e.g. test runs, each in its own schema) would race to create the extension
    await Person.raw("SELECT pg_advisory_xact_lock(7460151)")
    await Person.raw("CREATE EXTENSION IF NOT EXISTS pg_trgm SCHEMA public")
    schema = (await Person.raw(
        "SELECT n.nspname AS schema FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace "
        "WHERE e.extname = 'pg_trgm'"))[0]["schema"]
    await Person.raw(f'CREATE INDEX IF NOT EXISTS cf_name_word_trgm ON cf_name_word USING gin '
                     f'(word "{schema}".gin_trgm_ops)')


async def _index_existing() -> None:
    from caseframe.core.persons.service import index_persons

    last = 0
    while True:
        rows = await Person.raw("SELECT id, search_text, identifiers FROM cf_person WHERE id > {} "
                                "ORDER BY id LIMIT 5000", last)
        if not rows:
            return
        await index_persons([(r["id"], r["search_text"] or "",
                              json.loads(r["identifiers"]) if isinstance(r["identifiers"], str) else r["identifiers"])
                             for r in rows])
        last = rows[-1]["id"]


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="caseframe", description=DESCRIPTION)

    async def run():
        await _trigram_index()
        await _index_existing()

    manager.add_raw(run)
    return manager
