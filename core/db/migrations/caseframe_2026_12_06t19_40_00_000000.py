"""Sign-in throttle rows say what they count: an email address's failures (kept, for the back-off) or a source
network's failures in a window (deleted once the window is over)."""
from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.column_types import Varchar
from piccolo.columns.indexes import IndexMethod

ID = "2026-12-06T19:40:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "Sign-in throttle per source network: the kind of each throttle row"


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="caseframe", description=DESCRIPTION)

    manager.add_column(
        table_class_name="SignInThrottle",
        tablename="cf_sign_in_throttle",
        column_name="kind",
        db_column_name="kind",
        column_class_name="Varchar",
        column_class=Varchar,
        params={
            "default": "address",
            "length": 10,
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
