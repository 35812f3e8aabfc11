"""Database engines: embedded SQLite by default, PostgreSQL by URL; binding tables and migrating."""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import datetime as dt
import io
import logging
import os
import sqlite3
import threading
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

from piccolo.engine.base import Engine
from piccolo.engine.postgres import PostgresEngine
from piccolo.engine.sqlite import SQLiteEngine, SQLiteTransaction, TransactionType, dict_factory
from piccolo.table import Table

DEFAULT_SQLITE_PATH = "caseframe.sqlite"

# aiosqlite logs every statement with its parameters at DEBUG: case answers must never reach a log,
# whatever level an operator turns logging up to
logging.getLogger("aiosqlite").setLevel(logging.WARNING)


class _WriterTransaction(SQLiteTransaction):
    """A write transaction on the engine's one long-lived writer connection, taken in turn."""

    __slots__ = ()

    async def __aenter__(self):
        if self._parent is not None:
            return self._parent
        self.connection = await self.engine._acquire_writer()
        try:
            await self.begin()
        except BaseException:
            self.engine._release_writer()
            raise
        self.context = self.engine.current_transaction.set(self)
        return self

    async def __aexit__(self, exception_type, exception, traceback) -> bool:
        if self._parent:
            return exception is None
        try:
            if exception:
                if not self._rolled_back:
                    await self.rollback()
            elif not self._committed and not self._rolled_back:
                await self.commit()
        finally:
            self.engine.current_transaction.reset(self.context)
            self.engine._release_writer()
        return exception is None


#: the statements that write; anything else (SELECT, a read-only WITH, PRAGMA) runs on the shared read connection
_WRITE_VERBS = ("INSERT", "UPDATE", "DELETE", "REPLACE", "CREATE", "DROP", "ALTER")


def _is_write(query: str) -> bool:
    return query.lstrip()[:7].upper().startswith(_WRITE_VERBS)


_QUICK = contextvars.ContextVar("caseframe_quick_reads", default=False)

#: how long a quick read waits for a lock before it goes the usual way instead (in WAL mode a read waits for
#: nothing, save in rare moments such as another process recovering the database after a crash)
QUICK_BUSY_SECONDS = 0.05

#: what SQLite says when a quick read could not run on its connection at once; it then runs the usual way
_NOT_AT_ONCE = ("locked", "busy", "readonly")


@contextlib.contextmanager
def quick_reads() -> Iterator[None]:
    """Mark the reads of a block (and of the tasks it starts) as a few small indexed lookups, as the statements of
    a page everyone opens all day are: the session, the case page, My work, the menu's counts.

    On SQLite, outside a transaction, they then run on the event loop's own thread, on a read-only connection of
    that thread's: a lookup takes tens of microseconds there, where handing it to aiosqlite's thread and waking
    the loop with its answer cost several times that in CPU (a sixth of the case page's CPU on SQLite and a fifth
    of My work's, measured with ``bench/profile_case_page.py``). Reads that scan (a long list, a search, a report)
    stay unmarked: on aiosqlite's thread, SQLite's own work overlaps the loop serving other requests. PostgreSQL is unaffected, and
    so is every write, which takes its turn on the writer connection as ever."""
    token = _QUICK.set(True)
    try:
        yield
    finally:
        _QUICK.reset(token)


def _timestamptz(value: bytes) -> dt.datetime:
    """A TIMESTAMPTZ column's text as Piccolo reads it (the time, in UTC), in one call."""
    return dt.datetime.fromisoformat(value.decode()).replace(tzinfo=dt.UTC)


def _fast_converters() -> None:
    """SQLite's column converters, as cheap as the C library allows, for the same values Piccolo's give.

    Piccolo registers one converter per declared column type, process-wide; each is a Python wrapper that decodes
    the bytes and calls another function, and an INTEGER column's goes through ``Decimal`` too: three Python calls
    for every integer read, about 350 on a case page (2% of its worker CPU at the best of three runs in process;
    cProfile, which counts each Python call dearly, made it look far more). An INTEGER value comes back
    from SQLite as a Python int without any converter (Piccolo's exists for text or a fraction someone stored in
    an INTEGER column, which nothing here writes), so it has none; a BOOLEAN column stores 0 or 1, read by a
    C method; a TIMESTAMPTZ is read in one call instead of three."""
    sqlite3.converters.pop("INTEGER", None)
    sqlite3.register_converter("BOOLEAN", b"1".__eq__)
    sqlite3.register_converter("TIMESTAMPTZ", _timestamptz)


_fast_converters()


class SharedConnectionSQLiteEngine(SQLiteEngine):
    """Piccolo's SQLite engine with long-lived connections: one for reads, one for write transactions.

    Piccolo opens (and closes) a connection for every query outside a transaction and for every
    transaction, which costs more than most queries. In WAL mode a long-lived reader sees every
    committed write, and SQLite has one writer at a time anyway, so writers take turns on one
    connection (in each process; the busy timeout covers other processes).
    """

    __slots__ = ("_shared", "_writers", "_quick", "_quick_opened")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._shared: dict[int, object] = {}
        self._writers: dict[int, tuple[object, asyncio.Lock]] = {}
        # quick_reads(): a plain sqlite3 connection for each thread that runs an event loop, and all of them with
        # their threads, to close
        self._quick = threading.local()
        self._quick_opened: list[tuple[threading.Thread, sqlite3.Connection]] = []

    async def get_connection(self):
        import aiosqlite

        # Piccolo's, with the connection closed when a first statement fails: left open, its thread kept the
        # process alive, and a full disk left `caseframe db migrate` hanging after its message
        connection = await aiosqlite.connect(**self.connection_kwargs)
        connection.row_factory = dict_factory
        try:
            await connection.execute("PRAGMA foreign_keys = 1")
            # WAL with synchronous=NORMAL: commits survive a crash of the application; only an operating
            # system crash or power cut can lose the last moments. It makes each commit several times cheaper.
            await connection.execute("PRAGMA synchronous = NORMAL")
        except BaseException:
            await connection.close()
            raise
        return connection

    async def _shared_connection(self):
        loop = id(asyncio.get_running_loop())  # a connection belongs to the loop that opened it
        connection = self._shared.get(loop)
        if connection is None:
            connection = await self.get_connection()
            self._shared[loop] = connection
        return connection

    async def _acquire_writer(self):
        loop = id(asyncio.get_running_loop())
        if loop not in self._writers:
            self._writers[loop] = (None, asyncio.Lock())
        _, lock = self._writers[loop]
        await lock.acquire()
        connection, _ = self._writers[loop]
        if connection is None:
            try:
                connection = await self.get_connection()
            except BaseException:
                lock.release()
                raise
            self._writers[loop] = (connection, lock)
        return connection

    def _release_writer(self) -> None:
        self._writers[id(asyncio.get_running_loop())][1].release()

    def transaction(
        self, transaction_type: TransactionType = TransactionType.deferred, allow_nested: bool = True
    ) -> SQLiteTransaction:
        return _WriterTransaction(engine=self, transaction_type=transaction_type, allow_nested=allow_nested)

    async def _run_in_new_connection(self, query, args=None, query_type="generic", table=None):
        if _is_write(query):
            # a write outside a transaction goes to the writer connection, in its turn, so it queues behind other
            # writers. On the shared read connection it would fail at once ("database is locked") whenever a read
            # there holds a snapshot older than another writer's commit. One statement on its own is a transaction
            # of its own (the connections are in autocommit mode): it takes the write lock as it starts, waiting
            # out another process's writer (the busy timeout), so no BEGIN and COMMIT of ours are needed (each was
            # a trip to the connection's thread; every page view appends an audit event this way).
            connection = await self._acquire_writer()
            try:
                return await self._run_in_existing_connection(
                    connection=connection, query=query, args=args, query_type=query_type, table=table
                )
            finally:
                self._release_writer()
        if _QUICK.get():
            rows = self._run_quick(query, args)
            if rows is not None:
                return rows
        connection = await self._shared_connection()
        return await self._run_in_existing_connection(
            connection=connection, query=query, args=args, query_type=query_type, table=table
        )

    def _run_quick(self, query: str, args: Any) -> list[dict[str, Any]] | None:
        """A read marked quick (:func:`quick_reads`), on this thread's read-only connection; None if it could not
        run there at once (a lock, or a statement that writes after all, such as ``WITH ... INSERT``)."""
        connection = getattr(self._quick, "connection", None)
        if connection is None:
            # the same file, types and converters as every other connection of the engine's
            connection = sqlite3.connect(
                **{**self.connection_kwargs, "timeout": QUICK_BUSY_SECONDS, "check_same_thread": False}
            )
            try:
                connection.row_factory = dict_factory
                connection.execute("PRAGMA query_only = 1")
            except BaseException:
                connection.close()
                raise
            self._quick.connection = connection
            # one connection a live thread: those of threads that have ended (a test client's, say) are closed
            for thread, ended in [pair for pair in self._quick_opened if not pair[0].is_alive()]:
                ended.close()
                self._quick_opened.remove((thread, ended))
            self._quick_opened.append((threading.current_thread(), connection))
        try:
            return connection.execute(query, args or []).fetchall()
        except sqlite3.OperationalError as exc:
            if any(word in str(exc).lower() for word in _NOT_AT_ONCE):
                return None
            raise

    async def _run_in_existing_connection(
        self, connection, query, args=None, query_type="generic", table=None
    ):
        # foreign keys are switched on when each connection opens; Piccolo repeats it per query. One trip to
        # aiosqlite's thread runs the statement and fetches its rows (executing, fetching and closing a cursor
        # one by one took three, and each trip costs more CPU than most of this application's queries)
        return await connection.execute_fetchall(query, args or [])

    async def close_shared(self) -> None:
        self._quick = threading.local()
        for _, quick in self._quick_opened:
            quick.close()
        self._quick_opened.clear()
        for connection in self._shared.values():
            await connection.close()
        self._shared.clear()
        for connection, _ in self._writers.values():
            if connection is not None:
                await connection.close()
        self._writers.clear()


class DatabaseURLError(ValueError):
    """The database URL cannot be used; the message says why, in one line."""


def settings_database_url() -> str:
    return os.environ.get("CASEFRAME_DATABASE_URL") or f"sqlite:///{DEFAULT_SQLITE_PATH}"


async def _keep_session(connection: Any) -> None:
    """What a pooled connection needs on its way back to the pool beyond asyncpg's own rollback of a transaction
    left open: nothing, since Caseframe keeps no session state on a pooled connection."""


class PooledPostgresEngine(PostgresEngine):
    """Piccolo's PostgreSQL engine whose pool hands a connection back without resetting its session.

    Every statement outside a transaction takes a connection from the pool and gives it back; asyncpg's default
    reset then sends ``SELECT pg_advisory_unlock_all(); CLOSE ALL; UNLISTEN *; RESET ALL`` each time: a round trip
    and the server's work for every statement (five a person search, more a case page). Caseframe keeps nothing
    in a pooled connection's session for it to undo: its advisory locks are transaction-scoped
    (``pg_advisory_xact_lock``), live minutes LISTEN on a connection of their own, nothing SETs a session
    setting or declares a cursor outside a transaction. asyncpg still rolls back a transaction left open before
    the connection goes back (``tests/core/test_sqlite_engine.py``'s PostgreSQL pool tests show both).
    """

    async def start_connection_pool(self, **kwargs: Any) -> None:
        kwargs.setdefault("reset", _keep_session)
        await super().start_connection_pool(**kwargs)


def _shown(url: str) -> str:
    """A database URL as a message may quote it: any password replaced by ***."""
    try:
        parsed = urlparse(url)
        if parsed.password:
            return url.replace(f":{parsed.password}@", ":***@", 1)
    except ValueError:
        return url.split("@", 1)[-1] if "@" in url else url
    return url


def _sqlite_path(parsed: Any) -> str:
    return unquote(parsed.path[1:] if parsed.path.startswith("/") and not parsed.netloc else parsed.path)


def sqlite_file(url: str) -> Path | None:
    """The file a ``sqlite:///`` URL names (relative to the working folder if it is relative); None for another
    kind of URL, or one that cannot be read (:func:`engine_from_url` says what is wrong with it)."""
    try:
        parsed = urlparse(url)
    except ValueError:
        return None
    path = _sqlite_path(parsed) if parsed.scheme == "sqlite" and not parsed.netloc else ""
    return Path(path) if path else None


def engine_from_url(url: str) -> Engine:
    """An engine for ``sqlite:///path`` or ``postgresql://user@host:port/db``."""
    try:
        parsed = urlparse(url)
        parsed.port  # noqa: B018  (reading it checks it: a port that is not a number raises here, not later)
    except ValueError as exc:  # e.g. an unclosed [ of an IPv6 address
        raise DatabaseURLError(f"the database URL cannot be read ({exc}): {_shown(url)!r}") from None
    if parsed.scheme == "sqlite":
        path = _sqlite_path(parsed)
        if parsed.netloc:
            raise DatabaseURLError(f"use sqlite:///relative/path or sqlite:////absolute/path, not {url!r}")
        if not path:
            raise DatabaseURLError("the SQLite URL names no file, e.g. sqlite:///caseframe.sqlite")
        if "\x00" in path:
            raise DatabaseURLError(f"the SQLite file name holds a NUL character: {url!r}")
        parent = Path(path).resolve().parent
        if not parent.is_dir():
            raise DatabaseURLError(f"the folder for the SQLite database does not exist: {parent}")
        # timeout is SQLite's busy timeout: writers wait for each other instead of failing at once
        return SharedConnectionSQLiteEngine(path=path, timeout=15, check_same_thread=False)
    if parsed.scheme in ("postgres", "postgresql"):
        if not parsed.hostname and not parsed.path.strip("/"):
            raise DatabaseURLError(f"the PostgreSQL URL names no host or database: {_shown(url)!r}")
        with warnings.catch_warnings():
            # Piccolo probes the server version on creation and warns if it is down; we check ourselves
            warnings.simplefilter("ignore")
            return PooledPostgresEngine(config={"dsn": url.replace("postgres://", "postgresql://", 1)})
    raise DatabaseURLError(
        f"unsupported database URL {_shown(url)!r}: use sqlite:///file.sqlite or postgresql://user@host:5432/dbname"
    )


def is_sqlite(engine: Engine) -> bool:
    return isinstance(engine, SQLiteEngine)


class Binding:
    """What every table (and Piccolo's default engine) pointed at before a ``bind()``; ``restore()`` points them
    back. Whatever binds for a while (an app from start-up to shutdown, a command, a migration) restores it when
    it ends, so what the process had bound before (a test run's database, another app's) is bound again, not an
    engine that has been closed."""

    __slots__ = ("default", "tables")

    def __init__(self, default: Engine, tables: list[tuple[type[Table], Engine]]):
        self.default = default
        self.tables = tables

    def restore(self) -> None:
        import caseframe.core.db.piccolo_conf as conf
        from caseframe.core.cache import forget_everything

        forget_everything()  # lists read from the database bound until now
        conf.DB = self.default
        for table, engine in self.tables:
            table._meta.db = engine


def _bound_tables() -> list[type[Table]]:
    from piccolo.apps.migrations.tables import Migration

    from caseframe.core.db.piccolo_app import TABLES

    return [*TABLES, Migration]


def bind(engine: Engine) -> Binding:
    """Point every table (and Piccolo's migration bookkeeping) at ``engine``; return what they pointed at before,
    for ``restore()``."""
    import caseframe.core.db.piccolo_conf as conf
    from caseframe.core.cache import forget_everything

    tables = _bound_tables()
    previous = Binding(conf.DB, [(table, table._meta.db) for table in tables])
    forget_everything()  # lists read from another database
    conf.DB = engine
    for table in tables:
        table._meta.db = engine
    return previous


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


async def database_answers(engine: Engine, timeout: float = 2.0) -> bool:
    """Whether the database answers ``SELECT 1`` within ``timeout`` seconds (a server's readiness check). Any
    failure is an answer of False, never an exception: the caller says "unavailable"; why is logged, for the
    operator."""
    from piccolo.querystring import QueryString

    try:
        async with asyncio.timeout(timeout):
            await engine.run_querystring(QueryString("SELECT 1 AS one"))
    except TimeoutError:
        logging.getLogger("caseframe.health").warning("the database did not answer within %s s", timeout)
        return False
    except Exception as exc:  # a closed pool, a refused connection: all mean "not now"
        logging.getLogger("caseframe.health").warning(
            "the database did not answer: %s: %s", exc.__class__.__name__, exc
        )
        return False
    return True


class MigrationError(RuntimeError):
    """A migration failed and was rolled back; the message names it and says why, in one line."""


async def migrate(engine: Engine, *, upto: str | None = None) -> list[str]:
    """Apply every migration not yet applied (or those up to and including the id ``upto``), in order, each in
    one transaction with the row recording it; return the ids applied.

    A migration that fails is rolled back (the ones before it stay applied) and raises MigrationError naming it.
    The tables point at ``engine`` while it runs and back where they pointed after: ``bind(engine)`` to use it.
    """
    from piccolo.apps.migrations.auto.migration_manager import MigrationManager
    from piccolo.apps.migrations.commands.forwards import ForwardsMigrationManager
    from piccolo.apps.migrations.tables import Migration

    await check_connection(engine)
    previous = bind(engine)
    try:
        await Migration.create_table(if_not_exists=True)
        done = set(await Migration.get_migrations_which_ran(app_name="caseframe"))
        finder = ForwardsMigrationManager(app_name="caseframe")
        modules = finder.get_migration_modules(
            finder.get_app_config("caseframe").resolved_migrations_folder_path
        )
        ids = finder.get_migration_ids(modules)
        for module in modules.values():
            # a migration's own table classes took the engine current when Python first imported it: point them
            # at this one (a second database migrated in one process had them write to the first)
            for value in vars(module).values():
                if isinstance(value, type) and issubclass(value, Table) and value is not Table:
                    value._meta.db = engine
        if upto is not None:
            if upto not in ids:
                raise MigrationError(f"there is no migration {upto!r}")
            ids = ids[: ids.index(upto) + 1]
        applied = []
        for migration_id in ids:
            if migration_id in done:
                continue
            module = modules[migration_id]
            try:
                # Piccolo narrates with emoji; we report ourselves
                with contextlib.redirect_stdout(io.StringIO()):
                    manager = await module.forwards()
                    if isinstance(manager, MigrationManager) and not manager.wrap_in_transaction:
                        await manager.run()
                        await Migration.insert(Migration(name=migration_id, app_name="caseframe"))
                    else:
                        async with engine.transaction():
                            if isinstance(manager, MigrationManager):
                                await manager.run()
                            await Migration.insert(Migration(name=migration_id, app_name="caseframe"))
            except Exception as exc:  # whatever the migration raised becomes one line for the operator
                description = getattr(module, "DESCRIPTION", "")
                name = f"{migration_id} ({description})" if description else migration_id
                reason = " ".join(str(exc).split()) or "no message"
                raise MigrationError(
                    f"migration {name} failed and was rolled back: {exc.__class__.__name__}: {reason}"
                ) from exc
            applied.append(migration_id)
        return applied
    finally:
        previous.restore()
        await close(engine)


async def close(engine: Engine) -> None:
    """Close what an engine holds open (a shared SQLite connection's thread would keep the process alive)."""
    if isinstance(engine, SharedConnectionSQLiteEngine):
        await engine.close_shared()
