"""Person search: name words indexed by (word, person) and (person, word), so both ways of reading them
(the persons holding a word; a person's words) are answered from the index alone."""
from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.table import Table

ID = "2026-12-04T15:50:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "Person search: covering indexes on the name words"


class PersonNameWord(Table, tablename="cf_person_name_word", schema=None):
    pass


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="caseframe", description=DESCRIPTION)

    async def run():
        await PersonNameWord.raw("CREATE INDEX IF NOT EXISTS cf_person_name_word_word_person "
                                 "ON cf_person_name_word (word, person)")
        await PersonNameWord.raw("CREATE INDEX IF NOT EXISTS cf_person_name_word_person_word "
                                 "ON cf_person_name_word (person, word)")

    manager.add_raw(run)
    return manager
