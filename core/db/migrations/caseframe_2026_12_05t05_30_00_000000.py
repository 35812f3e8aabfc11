"""Subject access requests: who asked, when it was received, its deadline, extension and closing."""
from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns import Boolean, Date, Integer, Text, Timestamptz, Varchar
from piccolo.columns.indexes import IndexMethod

ID = "2026-12-05T05:30:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "Subject access requests"

TABLES = {
    ("SubjectAccessRequest", "cf_subject_access_request"): [
        ("reference", Varchar, {"default": "", "length": 40, "unique": True}),
        ("agency_id", Integer, {"default": 0, "index": True}),
        ("person_id", Integer, {"default": 0, "index": True}),
        ("requester", Text, {"default": ""}),
        ("received_on", Date, {"default": None, "null": False}),
        ("due_on", Date, {"default": None, "null": False}),
        ("extended", Boolean, {"default": False}),
        ("extension_reason", Text, {"default": ""}),
        ("notes", Text, {"default": ""}),
        ("status", Varchar, {"default": "open", "length": 20, "index": True}),
        ("created_by", Integer, {"default": None, "null": True}),
        ("created_at", Timestamptz, {"default": None, "null": False}),
        ("closed_at", Timestamptz, {"default": None, "null": True}),
        ("closed_by", Integer, {"default": None, "null": True}),
        ("closing_note", Text, {"default": ""}),
        ("last_exported_at", Timestamptz, {"default": None, "null": True}),
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
