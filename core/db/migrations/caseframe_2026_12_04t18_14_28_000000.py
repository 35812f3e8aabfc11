"""Persons can be merged: a merged record points at its survivor, and each merge is kept so it can be undone."""
from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.column_types import JSON, Integer, Timestamptz
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.columns.indexes import IndexMethod

ID = "2026-12-04T18:14:28:000000"
VERSION = "1.38.0"
DESCRIPTION = "Person merges: merged_into on cf_person and the cf_person_merge record of what moved"


def _params(**extra):
    return {"null": False, "primary_key": False, "unique": False, "index": False,
            "index_method": IndexMethod.btree, "choices": None, "db_column_name": None, "secret": False, **extra}


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="caseframe", description=DESCRIPTION)

    manager.add_column(
        table_class_name="Person", tablename="cf_person", column_name="merged_into", db_column_name="merged_into",
        column_class_name="Integer", column_class=Integer, params=_params(default=None, null=True, index=True),
        schema=None,
    )

    manager.add_table(class_name="PersonMerge", tablename="cf_person_merge", schema=None, columns=None)
    for name, cls, params in (
        ("survivor_id", Integer, _params(default=0, index=True)),
        ("merged_id", Integer, _params(default=0, index=True)),
        ("merged_by", Integer, _params(default=0)),
        ("merging_agency", Integer, _params(default=0)),
        ("merged_at", Timestamptz, _params(default=TimestamptzNow())),
        ("detail", JSON, _params(default="{}")),
        ("undone_at", Timestamptz, _params(default=None, null=True)),
        ("undone_by", Integer, _params(default=None, null=True)),
    ):
        manager.add_column(
            table_class_name="PersonMerge", tablename="cf_person_merge", column_name=name, db_column_name=name,
            column_class_name=cls.__name__, column_class=cls, params=params, schema=None,
        )

    return manager
