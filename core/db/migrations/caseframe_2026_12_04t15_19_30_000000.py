from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.table import Table


class AuditEvent(Table, tablename="cf_audit", schema=None):
    pass


ID = "2026-12-04T15:19:30:000000"
VERSION = "1.38.0"
DESCRIPTION = "Audit sealing: no two events share a place in the chain"


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="caseframe", description=DESCRIPTION)

    async def unique_seq():
        # SQLite cannot add a UNIQUE column (the migration before this one added it plain); a unique index does
        # the same on both databases, even if two sealers ever ran at once
        await AuditEvent.raw("CREATE UNIQUE INDEX IF NOT EXISTS cf_audit_seq_unique ON cf_audit (seq)")

    manager.add_raw(unique_seq)
    return manager
