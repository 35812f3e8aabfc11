from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.column_types import Boolean
from piccolo.columns.indexes import IndexMethod

ID = "2026-12-04T15:35:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "Temporary passwords: a user whose password an admin set must change it at the next sign-in"


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="caseframe", description=DESCRIPTION)

    manager.add_column(
        table_class_name="User",
        tablename="cf_user",
        column_name="must_change_password",
        db_column_name="must_change_password",
        column_class_name="Boolean",
        column_class=Boolean,
        params={
            "default": False,
            "null": False,
            "primary_key": False,
            "unique": False,
            "index": False,
            "index_method": IndexMethod.btree,
            "choices": None,
            "db_column_name": None,
            "secret": False,
        },
        schema=None,
    )

    return manager
