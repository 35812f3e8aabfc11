"""Piccolo's configuration: the database comes from CASEFRAME_DATABASE_URL (default: embedded SQLite)."""

from piccolo.conf.apps import AppRegistry

from caseframe.core.db.engine import (
    DEFAULT_SQLITE_PATH,
    DatabaseURLError,
    engine_from_url,
    settings_database_url,
)

try:
    DB = engine_from_url(settings_database_url())
except DatabaseURLError:
    # a bad URL is reported by the command that uses it; importing tables must not fail on it
    DB = engine_from_url(f"sqlite:///{DEFAULT_SQLITE_PATH}")

APP_REGISTRY = AppRegistry(apps=["caseframe.core.db.piccolo_app"])
