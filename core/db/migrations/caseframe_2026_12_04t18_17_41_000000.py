"""Documents attached to cases: name, detected type, size, hash, sensitivity, who uploaded it, where its content
is kept, its virus-scan status, and its removal."""
from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.base import OnDelete, OnUpdate
from piccolo.columns.column_types import BigInt, ForeignKey, Serial, Text, Timestamptz, Varchar
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.columns.indexes import IndexMethod
from piccolo.table import Table

ID = "2026-12-04T18:17:41:000000"
VERSION = "1.38.0"
DESCRIPTION = "Documents on cases"


class Case(Table, tablename="cf_case", schema=None):
    id = Serial(null=False, primary_key=True, unique=False, index=False, index_method=IndexMethod.btree,
                choices=None, db_column_name="id", secret=False)


class User(Table, tablename="cf_user", schema=None):
    id = Serial(null=False, primary_key=True, unique=False, index=False, index_method=IndexMethod.btree,
                choices=None, db_column_name="id", secret=False)


def _params(**extra):
    return {"null": False, "primary_key": False, "unique": False, "index": False, "index_method": IndexMethod.btree,
            "choices": None, "db_column_name": None, "secret": False, **extra}


def _foreign(references, *, null: bool, index: bool):
    return _params(references=references, on_delete=OnDelete.cascade, on_update=OnUpdate.cascade,
                   target_column=None, null=null, index=index, **({"default": None} if null else {}))


COLUMNS = [
    ("case", ForeignKey, _foreign(Case, null=False, index=True)),
    ("filename", Varchar, _params(length=255, default="")),
    ("kind", Varchar, _params(length=20, default="")),
    ("content_type", Varchar, _params(length=120, default="")),
    ("size", BigInt, _params(default=0)),
    ("sha256", Varchar, _params(length=64, default="")),
    ("sensitivity", Varchar, _params(length=30, default="official")),
    ("uploaded_by", ForeignKey, _foreign(User, null=True, index=False)),
    ("uploaded_at", Timestamptz, _params(default=TimestamptzNow())),
    ("storage_key", Varchar, _params(length=80, default="", unique=True)),
    ("scan_status", Varchar, _params(length=20, default="")),
    ("scanner", Varchar, _params(length=100, default="")),
    ("removed_at", Timestamptz, _params(default=None, null=True)),
    ("removed_by", ForeignKey, _foreign(User, null=True, index=False)),
    ("removal_reason", Text, _params(default="")),
]


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="caseframe", description=DESCRIPTION)
    manager.add_table(class_name="Document", tablename="cf_document", schema=None, columns=None)
    for name, column_class, params in COLUMNS:
        manager.add_column(table_class_name="Document", tablename="cf_document", column_name=name,
                           db_column_name=name, column_class_name=column_class.__name__, column_class=column_class,
                           params=params, schema=None)
    return manager
