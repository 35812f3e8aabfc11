"""Notifications: the indexes the bell's count reads on every page (piccolo runs raw SQL before creating tables,
so they come in a migration of their own)."""
from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.table import Table

ID = "2026-12-04T18:26:23:000000"
VERSION = "1.38.0"
DESCRIPTION = "Notifications: indexes for the unread count"


class Notification(Table, tablename="cf_notification", schema=None):
    pass


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="caseframe", description=DESCRIPTION)

    async def run():
        # a user's own and their agency's newest notifications, and the ones they read one by one
        await Notification.raw("CREATE INDEX IF NOT EXISTS cf_notification_recipient_id ON cf_notification (recipient, id)")
        await Notification.raw("CREATE INDEX IF NOT EXISTS cf_notification_agency_id ON cf_notification (agency, id)")
        await Notification.raw("CREATE INDEX IF NOT EXISTS cf_notification_read_reader "
                               "ON cf_notification_read (reader, notification)")

    manager.add_raw(run)
    return manager
