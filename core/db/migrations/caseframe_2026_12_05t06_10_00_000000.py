"""Case subjects indexed by person and by case. Who may see a person asks, for each person a search finds, whether
a case naming them is the agency's own or shared with it; without an index on the person each such question read
every case subject. A case's people are read by case on every case page and list."""
from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.table import Table

ID = "2026-12-05T06:10:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "Indexes on the case subjects' person and case"


class CaseSubject(Table, tablename="cf_case_subject", schema=None):
    pass


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="caseframe", description=DESCRIPTION)

    async def run():
        await CaseSubject.raw('CREATE INDEX IF NOT EXISTS cf_case_subject_person ON cf_case_subject (person)')
        await CaseSubject.raw('CREATE INDEX IF NOT EXISTS cf_case_subject_case ON cf_case_subject ("case")')

    manager.add_raw(run)
    return manager
