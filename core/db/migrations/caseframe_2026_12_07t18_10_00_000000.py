"""SQLite: a meeting's live news, counted in the database, so that every server process on the file hears it.

Live minutes wake everyone following a meeting when an entry is written. On PostgreSQL the signal goes through
NOTIFY, which every server process LISTENs for. SQLite has no such channel, and while it was served by one process
the signal never had to leave it. With several processes on one file (``caseframe serve --workers N``), a minute
written through one must reach members following through another. Each announcement counts up its meeting's row
here; a process with followers reads the rows of the meetings they follow a few times a second
(``core/panels/live.py``) and wakes those whose count moved. One small row a meeting ever followed; nothing
personal is in it, only the meeting's number. PostgreSQL keeps its NOTIFY and has no such table.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine.finder import engine_finder
from piccolo.engine.sqlite import SQLiteEngine
from piccolo.table import Table

ID = "2026-12-07T18:10:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "SQLite: each meeting's count of live news, read by every server process"

NEWS_TABLE = (
    "CREATE TABLE IF NOT EXISTS cf_live_news (meeting_id INTEGER PRIMARY KEY NOT NULL, "
    "generation INTEGER NOT NULL)"
)


class LiveNews(Table, tablename="cf_live_news", schema=None):
    pass


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="caseframe", description=DESCRIPTION)

    async def run():
        if isinstance(engine_finder(), SQLiteEngine):
            await LiveNews.raw(NEWS_TABLE)

    async def run_backwards():
        if isinstance(engine_finder(), SQLiteEngine):
            await LiveNews.raw("DROP TABLE IF EXISTS cf_live_news")

    manager.add_raw(run)
    manager.add_raw_backwards(run_backwards)
    return manager
