"""Database engines: embedded SQLite by default, PostgreSQL by URL; binding tables and migrating."""
from __future__ import annotations

import contextlib
import io
import os
import sqlite3
import warnings
from pathlib import Path
from urllib.parse import unquote, urlparse

from piccolo.engine.base import Engine
from piccolo.engine.postgres import PostgresEngine
from piccolo.engine.sqlite import SQLiteEngine

DEFAULT_SQLITE_PATH = "caseframe.sqlite"


class DatabaseURLError(ValueError):
    """The database URL cannot be used; the message says why, in one line."""


def settings_database_url() -> str:
    return os.environ.get("CASEFRAME_DATABASE_URL") or f"sqlite:///{DEFAULT_SQLITE_PATH}"


def engine_from_url(url: str) -> Engine:
    """An engine for ``sqlite:///path`` or ``postgresql://user@host:port/db``."""
    parsed = urlparse(url)
    if parsed.scheme == "sqlite":
        path = unquote(parsed.path[1:] if parsed.path.startswith("/") and not parsed.netloc else parsed.path)
        if parsed.netloc:
            raise DatabaseURLError(f"use sqlite:///relative/path or sqlite:////absolute/path, not {url!r}")
        if not path:
            raise DatabaseURLError("the SQLite URL names no file, e.g. sqlite:///caseframe.sqlite")
        parent = Path(path).resolve().parent
        if not parent.is_dir():
            raise DatabaseURLError(f"the folder for the SQLite database does not exist: {parent}")
        # timeout is SQLite's busy timeout: writers wait for each other instead of failing at once
        return SQLiteEngine(path=path, timeout=15, check_same_thread=False)
    if parsed.scheme in ("postgres", "postgresql"):
        if not parsed.hostname and not parsed.path.strip("/"):
            raise DatabaseURLError(f"the PostgreSQL URL names no host or database: {url!r}")
        with warnings.catch_warnings():
            # Piccolo probes the server version on creation and warns if it is down; we check ourselves
            warnings.simplefilter("ignore")
            return PostgresEngine(config={"dsn": url.replace("postgres://", "postgresql://", 1)})
    raise DatabaseURLError(f"unsupported database URL {url!r}: use sqlite:///file.sqlite or "
                           "postgresql://user@host:5432/dbname")


def is_sqlite(engine: Engine) -> bool:
    return isinstance(engine, SQLiteEngine)


def bind(engine: Engine) -> None:
    """Point every table (and Piccolo's migration bookkeeping) at ``engine``."""
    from piccolo.apps.migrations.tables import Migration

    import core.db.piccolo_conf as conf
    from core.db.piccolo_app import TABLES

    conf.DB = engine
    for table in [*TABLES, Migration]:
        table._meta.db = engine


def prepare_sqlite(engine: SQLiteEngine) -> None:
    """WAL lets readers work while one writer writes; it is a property of the file, set once."""
    con = sqlite3.connect(engine.path)
    try:
        con.execute("PRAGMA journal_mode=WAL")
    finally:
        con.close()


async def check_connection(engine: Engine) -> None:
    """Fail with one clear line if the database cannot be reached."""
    try:
        if isinstance(engine, PostgresEngine):
            import asyncpg

            con = await asyncpg.connect(engine.config["dsn"], timeout=5)
            await con.close()
        else:
            prepare_sqlite(engine)
    except Exception as exc:  # any driver error becomes one line for the operator
        raise DatabaseURLError(f"cannot connect to the database: {exc.__class__.__name__}: {exc}") from None


async def migrate(engine: Engine) -> list[str]:
    """Apply every migration not yet applied; return the ids applied."""
    from piccolo.apps.migrations.commands.forwards import ForwardsMigrationManager
    from piccolo.apps.migrations.tables import Migration

    await check_connection(engine)
    bind(engine)
    await Migration.create_table(if_not_exists=True)
    before = set(await Migration.get_migrations_which_ran(app_name="caseframe"))
    manager = ForwardsMigrationManager(app_name="caseframe", migration_id="all", fake=False)
    with contextlib.redirect_stdout(io.StringIO()):  # Piccolo narrates with emoji; we report ourselves
        result = await manager.run()
    if not result.success:
        raise RuntimeError(f"migration failed: {result.message}")
    after = set(await Migration.get_migrations_which_ran(app_name="caseframe"))
    return sorted(after - before)
