"""Rule firings indexed by (case, rule): every case event that has rules reads what already fired on the case,
so a rule fires at most once per person (or once per case) without scanning every firing ever made."""
from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.table import Table

ID = "2026-12-04T18:32:19:000000"
VERSION = "1.38.0"
DESCRIPTION = "Rule firings: index by case and rule"


class RuleFiring(Table, tablename="cf_rule_firing", schema=None):
    pass


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="caseframe", description=DESCRIPTION)

    async def run():
        # "case" is a keyword in SQL: quoted, as both SQLite and PostgreSQL accept
        await RuleFiring.raw('CREATE INDEX IF NOT EXISTS cf_rule_firing_case_rule ON cf_rule_firing ("case", rule_id)')

    manager.add_raw(run)
    return manager
