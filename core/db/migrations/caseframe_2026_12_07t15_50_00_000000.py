"""The audit sealer finds the events it has not sealed yet through an index of those events alone.

Each second the sealer reads the oldest unsealed events (``seq IS NULL``) in id order, 500 at a time. The only
indexes it had to choose from were the primary key and the unique index on ``seq``. PostgreSQL took the primary
key whenever its statistics were older than the sealing, as they are after a bulk load or with autovacuum
behind: it then walked every sealed event, from the first ever written, to reach the few unsealed ones. That is
a read of the whole trail each second, growing with every event anyone records: under bench_http.py's load the
case page lost a sixth of its throughput in a minute (408 to 340 pages a second) as the walk grew.

An index of the unsealed events in id order answers the sealer from the index whatever the statistics say, and
stays small: an event leaves it when it is sealed. SQLite plans from the schema alone and already searches the
``seq`` index for the empty ones (``tests/core/test_audit_chain.py`` holds both to it), so it is made on
PostgreSQL only: on SQLite it would be one more index written with every event.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine.finder import engine_finder
from piccolo.engine.sqlite import SQLiteEngine
from piccolo.table import Table

ID = "2026-12-07T15:50:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "An index of the audit events not yet sealed, in id order, for the sealer"

UNSEALED_INDEX = "CREATE INDEX IF NOT EXISTS cf_audit_unsealed ON cf_audit (id) WHERE seq IS NULL"


class AuditEvent(Table, tablename="cf_audit", schema=None):
    pass


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="caseframe", description=DESCRIPTION)

    async def run():
        if not isinstance(engine_finder(), SQLiteEngine):
            await AuditEvent.raw(UNSEALED_INDEX)

    async def run_backwards():
        if not isinstance(engine_finder(), SQLiteEngine):
            await AuditEvent.raw("DROP INDEX IF EXISTS cf_audit_unsealed")

    manager.add_raw(run)
    manager.add_raw_backwards(run_backwards)
    return manager
