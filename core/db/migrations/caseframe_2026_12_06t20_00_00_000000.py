"""The person search's vocabulary head: one row saying how many name words there are and how often they changed.

Every search asks whether the vocabulary its process holds is current. It read ``count(*)`` and ``max(id)`` of
cf_name_word for that, a scan of the whole vocabulary: 0.2 ms at the benchmark's thousand words, 4-6 ms on
PostgreSQL at the thirty thousand or so distinct names a county's 100,000 persons have. The row here is kept by
triggers in the same transaction as each change to the vocabulary, whoever writes it, so in any snapshot it agrees
with the words that snapshot sees; reading it costs the same at any size. On PostgreSQL one statement-level trigger
a change (an insert that adds no word, ON CONFLICT DO NOTHING, takes no lock on the row); on SQLite a trigger a row.
"""
from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine.finder import engine_finder
from piccolo.engine.sqlite import SQLiteEngine
from piccolo.table import Table

ID = "2026-12-06T20:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "Person search: the vocabulary's size and version in one row, kept by triggers"

TABLE = [
    "CREATE TABLE IF NOT EXISTS cf_name_vocabulary (id INTEGER PRIMARY KEY, words BIGINT NOT NULL, "
    "version BIGINT NOT NULL)",
    "INSERT INTO cf_name_vocabulary (id, words, version) SELECT 1, count(*), 1 FROM cf_name_word "
    "WHERE NOT EXISTS (SELECT 1 FROM cf_name_vocabulary)",
]
SQLITE = [
    "CREATE TRIGGER IF NOT EXISTS cf_name_vocabulary_insert AFTER INSERT ON cf_name_word BEGIN "
    "UPDATE cf_name_vocabulary SET words = words + 1, version = version + 1; END",
    "CREATE TRIGGER IF NOT EXISTS cf_name_vocabulary_delete AFTER DELETE ON cf_name_word BEGIN "
    "UPDATE cf_name_vocabulary SET words = words - 1, version = version + 1; END",
]
POSTGRESQL = [
    # the table is named without a schema: each connection's search_path finds its own (tests use a schema each)
    "CREATE OR REPLACE FUNCTION cf_name_vocabulary_added() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
    "UPDATE cf_name_vocabulary SET words = words + n, version = version + 1 "
    "FROM (SELECT count(*) AS n FROM added) a WHERE a.n > 0; RETURN NULL; END $$",
    "CREATE OR REPLACE FUNCTION cf_name_vocabulary_removed() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
    "UPDATE cf_name_vocabulary SET words = words - n, version = version + 1 "
    "FROM (SELECT count(*) AS n FROM removed) r WHERE r.n > 0; RETURN NULL; END $$",
    "DROP TRIGGER IF EXISTS cf_name_vocabulary_insert ON cf_name_word",
    "CREATE TRIGGER cf_name_vocabulary_insert AFTER INSERT ON cf_name_word REFERENCING NEW TABLE AS added "
    "FOR EACH STATEMENT EXECUTE FUNCTION cf_name_vocabulary_added()",
    "DROP TRIGGER IF EXISTS cf_name_vocabulary_delete ON cf_name_word",
    "CREATE TRIGGER cf_name_vocabulary_delete AFTER DELETE ON cf_name_word REFERENCING OLD TABLE AS removed "
    "FOR EACH STATEMENT EXECUTE FUNCTION cf_name_vocabulary_removed()",
]


class NameWord(Table, tablename="cf_name_word", schema=None):
    pass


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="caseframe", description=DESCRIPTION)

    async def run():
        sqlite = isinstance(engine_finder(), SQLiteEngine)
        for sql in TABLE + (SQLITE if sqlite else POSTGRESQL):
            await NameWord.raw(sql)

    manager.add_raw(run)
    return manager
