"""Retention: what was decided about each case (kept longer, legal hold, restricted, flagged, erased) and each
agency's own retention period per area."""
from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns import Boolean, Date, Integer, Text, Timestamptz, Varchar
from piccolo.columns.indexes import IndexMethod

ID = "2026-12-04T18:58:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "Retention: case retention decisions and agency retention periods"

TABLES = {
    ("CaseRetention", "cf_case_retention"): [
        ("case_id", Integer, {"default": 0, "unique": True}),
        ("keep_until", Date, {"default": None, "null": True}),
        ("extend_reason", Text, {"default": ""}),
        ("legal_hold", Boolean, {"default": False}),
        ("hold_reason", Text, {"default": ""}),
        ("restricted", Boolean, {"default": False}),
        ("restrict_reason", Text, {"default": ""}),
        ("flagged_at", Timestamptz, {"default": None, "null": True}),
        ("erased_at", Timestamptz, {"default": None, "null": True}),
        ("updated_at", Timestamptz, {"default": None, "null": False}),
    ],
    ("RetentionOverride", "cf_retention_override"): [
        ("agency_id", Integer, {"default": 0, "index": True}),
        ("area", Varchar, {"default": "", "length": 40}),
        ("years", Integer, {"default": 0}),
        ("reason", Text, {"default": ""}),
        ("set_by", Integer, {"default": None, "null": True}),
        ("set_at", Timestamptz, {"default": None, "null": False}),
    ],
}


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="caseframe", description=DESCRIPTION)
    for (class_name, tablename), columns in TABLES.items():
        manager.add_table(class_name=class_name, tablename=tablename, schema=None, columns=None)
        for name, kind, params in columns:
            manager.add_column(
                table_class_name=class_name, tablename=tablename, column_name=name, db_column_name=name,
                column_class_name=kind.__name__, column_class=kind,
                params={"null": False, "primary_key": False, "unique": False, "index": False,
                        "index_method": IndexMethod.btree, "choices": None, "db_column_name": None, "secret": False,
                        **params},
                schema=None)
    return manager
