"""The person search's postings: each person's name words under each agency that may come to see the person.

A search for a common family name alone ("Wilkinson") matches its close spellings too, so about 1,200 of 100,000
persons hold one of the words; PostgreSQL then read each of them to learn whether the searcher's agency may see them
(about 280 may): 4.3 ms of a 7 ms statement, the p95 of the search page. cf_name_posting holds (agency, word,
person) for every agency that recorded the person, owns a case naming them, or was shared such a case (the share not
revoked), so the search walks only its own agency's postings of the words and reads only those persons.

It is a superset of who may see: an ISA's dates and retention's withholding change with the day and the reader's role,
so the search keeps its exact condition on each person it reads (core.persons.service._VISIBLE) and is answered
exactly as before. What it must never be is short of an agency that may see. Triggers keep it, in the transaction of
every change to what it depends on, whoever writes it (a merge moving case subjects, an erasure deleting them, a
share revoked): a person's name words, their recording agency and merge, a case's subjects and owner, a case's
shares. Each recomputes the postings of the persons the change touches. Merged records (tombstones) have none.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine.finder import engine_finder
from piccolo.engine.sqlite import SQLiteEngine
from piccolo.table import Table

ID = "2026-12-06T22:40:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "Person search: name words posted under each agency that may see the person, kept by triggers"


def readers(persons: str) -> str:
    """(person, agency) for each agency that may come to see each of ``persons`` (SQL for their ids): the agency
    that recorded them, the owner of a case naming them, an agency that case is shared with (not revoked)."""
    return (
        f"SELECT p.id AS person, p.created_by_agency AS agency FROM cf_person p "
        f"WHERE p.id IN ({persons}) AND p.merged_into IS NULL "
        f'UNION SELECT s.person, c.owning_agency FROM cf_case_subject s JOIN cf_case c ON c.id = s."case" '
        f"JOIN cf_person p ON p.id = s.person "
        f"WHERE s.person IN ({persons}) AND s.removed_at IS NULL AND p.merged_into IS NULL "
        f'UNION SELECT s.person, sh.agency FROM cf_case_subject s JOIN cf_case_share sh ON sh."case" = s."case" '
        f"JOIN cf_person p ON p.id = s.person "
        f"WHERE s.person IN ({persons}) AND s.removed_at IS NULL AND sh.revoked_at IS NULL AND p.merged_into IS NULL"
    )


def posted(persons: str) -> str:
    """SELECT of the postings ``persons`` should have."""
    return (
        f"SELECT DISTINCT r.agency, w.word, w.person FROM cf_person_name_word w "
        f"JOIN ({readers(persons)}) r ON r.person = w.person WHERE w.person IN ({persons})"
    )


def refresh(persons: str, *, postgresql: bool = False) -> str:
    """Statements (each ending with ;) that make the postings of ``persons`` what they should be. On PostgreSQL
    two transactions may refresh the same person at once: each statement reads what is committed when it starts,
    so the second's insert may find rows the first committed meanwhile, and keeps them."""
    insert = (
        f"INSERT INTO cf_name_posting (agency, word, person) {posted(persons)} ON CONFLICT DO NOTHING"
        if postgresql
        else f"INSERT OR IGNORE INTO cf_name_posting (agency, word, person) {posted(persons)}"
    )
    return f"DELETE FROM cf_name_posting WHERE person IN ({persons}); {insert}; "


SUBJECTS_OF_CASES = 'SELECT person FROM cf_case_subject WHERE "case" IN ({})'
OF_NEW_CASE = SUBJECTS_OF_CASES.format('NEW."case"')
OF_OLD_CASE = SUBJECTS_OF_CASES.format('OLD."case"')
OF_EITHER_CASE = SUBJECTS_OF_CASES.format('OLD."case", NEW."case"')
OF_CASE = SUBJECTS_OF_CASES.format("NEW.id")
# an update that changes none of what the postings depend on (a case saved, a person's address) changes nothing
SUBJECT_CHANGED = (
    'OLD.person {0} NEW.person OR OLD."case" {0} NEW."case" OR OLD.removed_at {0} NEW.removed_at'
)
SHARE_CHANGED = 'OLD."case" {0} NEW."case" OR OLD.agency {0} NEW.agency OR OLD.revoked_at {0} NEW.revoked_at'
PERSON_CHANGED = "OLD.created_by_agency {0} NEW.created_by_agency OR OLD.merged_into {0} NEW.merged_into"
OWNER_CHANGED = "OLD.owning_agency {0} NEW.owning_agency"
SQLITE_DIFFERENT, POSTGRESQL_DIFFERENT = "IS NOT", "IS DISTINCT FROM"
SQLITE = [
    "CREATE TABLE IF NOT EXISTS cf_name_posting (agency INTEGER NOT NULL, word TEXT NOT NULL, "
    "person INTEGER NOT NULL, PRIMARY KEY (agency, word, person)) WITHOUT ROWID",
    "CREATE INDEX IF NOT EXISTS cf_name_posting_by_person ON cf_name_posting (person)",
    # a name word added or removed: only that word's postings
    "CREATE TRIGGER IF NOT EXISTS cf_name_posting_word_insert AFTER INSERT ON cf_person_name_word BEGIN "
    "INSERT OR IGNORE INTO cf_name_posting (agency, word, person) "
    f"SELECT r.agency, NEW.word, NEW.person FROM ({readers('NEW.person')}) r; END",
    "CREATE TRIGGER IF NOT EXISTS cf_name_posting_word_delete AFTER DELETE ON cf_person_name_word BEGIN "
    "DELETE FROM cf_name_posting WHERE person = OLD.person AND word = OLD.word; END",
    "CREATE TRIGGER IF NOT EXISTS cf_name_posting_word_update AFTER UPDATE ON cf_person_name_word BEGIN "
    f"{refresh('OLD.person, NEW.person')} END",
    "CREATE TRIGGER IF NOT EXISTS cf_name_posting_person AFTER UPDATE OF created_by_agency, merged_into "
    f"ON cf_person WHEN {PERSON_CHANGED.format(SQLITE_DIFFERENT)} BEGIN {refresh('NEW.id')} END",
    "CREATE TRIGGER IF NOT EXISTS cf_name_posting_subject_insert AFTER INSERT ON cf_case_subject BEGIN "
    f"{refresh('NEW.person')} END",
    'CREATE TRIGGER IF NOT EXISTS cf_name_posting_subject_update AFTER UPDATE OF person, "case", removed_at '
    f"ON cf_case_subject WHEN {SUBJECT_CHANGED.format(SQLITE_DIFFERENT)} "
    f"BEGIN {refresh('OLD.person, NEW.person')} END",
    "CREATE TRIGGER IF NOT EXISTS cf_name_posting_subject_delete AFTER DELETE ON cf_case_subject BEGIN "
    f"{refresh('OLD.person')} END",
    "CREATE TRIGGER IF NOT EXISTS cf_name_posting_case AFTER UPDATE OF owning_agency ON cf_case "
    f"WHEN {OWNER_CHANGED.format(SQLITE_DIFFERENT)} BEGIN {refresh(OF_CASE)} END",
    "CREATE TRIGGER IF NOT EXISTS cf_name_posting_share_insert AFTER INSERT ON cf_case_share BEGIN "
    f"{refresh(OF_NEW_CASE)} END",
    'CREATE TRIGGER IF NOT EXISTS cf_name_posting_share_update AFTER UPDATE OF "case", agency, revoked_at '
    f"ON cf_case_share WHEN {SHARE_CHANGED.format(SQLITE_DIFFERENT)} BEGIN {refresh(OF_EITHER_CASE)} END",
    "CREATE TRIGGER IF NOT EXISTS cf_name_posting_share_delete AFTER DELETE ON cf_case_share BEGIN "
    f"{refresh(OF_OLD_CASE)} END",
]
# named without a schema, as the vocabulary head's: each connection's search_path finds its own
IDS = "SELECT unnest(ids)"
POSTGRESQL = [
    "CREATE TABLE IF NOT EXISTS cf_name_posting (agency INTEGER NOT NULL, word TEXT NOT NULL, "
    "person INTEGER NOT NULL, PRIMARY KEY (agency, word, person))",
    "CREATE INDEX IF NOT EXISTS cf_name_posting_by_person ON cf_name_posting (person)",
    "CREATE OR REPLACE FUNCTION cf_name_posting_refresh(ids integer[]) RETURNS void LANGUAGE plpgsql AS $$ BEGIN "
    f"{refresh(IDS, postgresql=True)} END $$",
    # name words come in thousands at a time from a bulk load: one statement for each statement that adds them
    "CREATE OR REPLACE FUNCTION cf_name_posting_words_added() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
    "INSERT INTO cf_name_posting (agency, word, person) SELECT DISTINCT r.agency, a.word, a.person FROM added a "
    f"JOIN ({readers('SELECT person FROM added')}) r ON r.person = a.person ON CONFLICT DO NOTHING; "
    "RETURN NULL; END $$",
    "CREATE OR REPLACE FUNCTION cf_name_posting_words_removed() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
    "DELETE FROM cf_name_posting n USING removed r WHERE n.person = r.person AND n.word = r.word; "
    "RETURN NULL; END $$",
    "CREATE OR REPLACE FUNCTION cf_name_posting_persons_changed() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
    "IF TG_TABLE_NAME = 'cf_person' THEN PERFORM cf_name_posting_refresh(ARRAY[NEW.id]); "
    "ELSIF TG_OP = 'INSERT' THEN PERFORM cf_name_posting_refresh(ARRAY[NEW.person]); "
    "ELSIF TG_OP = 'DELETE' THEN PERFORM cf_name_posting_refresh(ARRAY[OLD.person]); "
    "ELSE PERFORM cf_name_posting_refresh(ARRAY[OLD.person, NEW.person]); END IF; RETURN NULL; END $$",
    "CREATE OR REPLACE FUNCTION cf_name_posting_cases_changed() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
    f"IF TG_TABLE_NAME = 'cf_case' THEN PERFORM cf_name_posting_refresh(ARRAY({OF_CASE})); "
    f"ELSIF TG_OP = 'INSERT' THEN PERFORM cf_name_posting_refresh(ARRAY({OF_NEW_CASE})); "
    f"ELSIF TG_OP = 'DELETE' THEN PERFORM cf_name_posting_refresh(ARRAY({OF_OLD_CASE})); "
    f"ELSE PERFORM cf_name_posting_refresh(ARRAY({OF_EITHER_CASE})); END IF; RETURN NULL; END $$",
    *(
        f"DROP TRIGGER IF EXISTS {name} ON {table}"
        for name, table in (
            ("cf_name_posting_word_insert", "cf_person_name_word"),
            ("cf_name_posting_word_delete", "cf_person_name_word"),
            ("cf_name_posting_word_update", "cf_person_name_word"),
            ("cf_name_posting_person", "cf_person"),
            ("cf_name_posting_subject", "cf_case_subject"),
            ("cf_name_posting_subject_update", "cf_case_subject"),
            ("cf_name_posting_case", "cf_case"),
            ("cf_name_posting_share", "cf_case_share"),
            ("cf_name_posting_share_update", "cf_case_share"),
        )
    ),
    "CREATE TRIGGER cf_name_posting_word_insert AFTER INSERT ON cf_person_name_word REFERENCING NEW TABLE AS added "
    "FOR EACH STATEMENT EXECUTE FUNCTION cf_name_posting_words_added()",
    "CREATE TRIGGER cf_name_posting_word_delete AFTER DELETE ON cf_person_name_word "
    "REFERENCING OLD TABLE AS removed FOR EACH STATEMENT EXECUTE FUNCTION cf_name_posting_words_removed()",
    "CREATE TRIGGER cf_name_posting_word_update AFTER UPDATE ON cf_person_name_word "
    "FOR EACH ROW EXECUTE FUNCTION cf_name_posting_persons_changed()",
    "CREATE TRIGGER cf_name_posting_person AFTER UPDATE OF created_by_agency, merged_into ON cf_person FOR EACH ROW "
    f"WHEN ({PERSON_CHANGED.format(POSTGRESQL_DIFFERENT)}) EXECUTE FUNCTION cf_name_posting_persons_changed()",
    "CREATE TRIGGER cf_name_posting_subject AFTER INSERT OR DELETE ON cf_case_subject "
    "FOR EACH ROW EXECUTE FUNCTION cf_name_posting_persons_changed()",
    'CREATE TRIGGER cf_name_posting_subject_update AFTER UPDATE OF person, "case", removed_at ON cf_case_subject '
    f"FOR EACH ROW WHEN ({SUBJECT_CHANGED.format(POSTGRESQL_DIFFERENT)}) "
    "EXECUTE FUNCTION cf_name_posting_persons_changed()",
    "CREATE TRIGGER cf_name_posting_case AFTER UPDATE OF owning_agency ON cf_case FOR EACH ROW "
    f"WHEN ({OWNER_CHANGED.format(POSTGRESQL_DIFFERENT)}) EXECUTE FUNCTION cf_name_posting_cases_changed()",
    "CREATE TRIGGER cf_name_posting_share AFTER INSERT OR DELETE ON cf_case_share "
    "FOR EACH ROW EXECUTE FUNCTION cf_name_posting_cases_changed()",
    'CREATE TRIGGER cf_name_posting_share_update AFTER UPDATE OF "case", agency, revoked_at ON cf_case_share '
    f"FOR EACH ROW WHEN ({SHARE_CHANGED.format(POSTGRESQL_DIFFERENT)}) "
    "EXECUTE FUNCTION cf_name_posting_cases_changed()",
]
# the persons there are when the migration runs
BACKFILL = f"INSERT INTO cf_name_posting (agency, word, person) {posted('SELECT id FROM cf_person')}"


class NamePosting(Table, tablename="cf_person_name_word", schema=None):
    pass


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="caseframe", description=DESCRIPTION)

    async def run():
        sqlite = isinstance(engine_finder(), SQLiteEngine)
        for sql in SQLITE if sqlite else POSTGRESQL:
            await NamePosting.raw(sql)
        if not (await NamePosting.raw("SELECT 1 AS x FROM cf_name_posting LIMIT 1")):
            await NamePosting.raw(BACKFILL)

    manager.add_raw(run)
    return manager
