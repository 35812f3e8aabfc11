"""quick_reads(): on SQLite the marked reads run on the event loop's thread, give what the usual read gives, and
never change where a write or a transaction's read goes."""

from __future__ import annotations

import datetime as dt
import sqlite3

import pytest

from caseframe.core import clock
from caseframe.core.audit.tables import AuditEvent
from caseframe.core.cases.tables import Submission
from caseframe.core.db.engine import is_sqlite, quick_reads
from caseframe.core.db.tx import transaction

_AUDIT = "SELECT * FROM cf_audit WHERE action LIKE 'test.quick%' ORDER BY id"


def _engine():
    import caseframe.core.db.piccolo_conf as conf

    return conf.DB


@pytest.fixture
def sqlite_engine(db):
    engine = _engine()
    if not is_sqlite(engine):
        pytest.skip("quick reads change where SQLite runs a read; on PostgreSQL they are the usual reads")
    return engine


async def _some_rows() -> None:
    await AuditEvent.insert(
        AuditEvent(action="test.quick.one", object_type="case", purpose="", detail={"n": 1}, at=clock.now()),
        AuditEvent(action="test.quick.two", object_type="", purpose="", detail={"a": [1, 2]}, at=clock.now()),
    )


async def test_a_quick_read_runs_on_the_loops_thread_and_gives_what_the_usual_read_gives(
    sqlite_engine, monkeypatch
):
    await _some_rows()
    usual_raw = await AuditEvent.raw(_AUDIT)
    usual_orm = await AuditEvent.select().where(AuditEvent.action.like("test.quick%")).order_by(AuditEvent.id)

    async def not_the_shared_connection(self):
        raise AssertionError("a quick read went to aiosqlite's thread")

    monkeypatch.setattr(type(sqlite_engine), "_shared_connection", not_the_shared_connection)
    with quick_reads():
        quick_raw = await AuditEvent.raw(_AUDIT)
        quick_orm = (
            await AuditEvent.select().where(AuditEvent.action.like("test.quick%")).order_by(AuditEvent.id)
        )
    assert quick_raw == usual_raw and len(quick_raw) == 2
    assert quick_orm == usual_orm
    # the same types as the usual read: timestamps, JSON as the ORM loads it
    assert isinstance(quick_orm[0]["at"], dt.datetime)
    assert quick_orm[1]["detail"] == usual_orm[1]["detail"]
    # outside the block a read goes the usual way again
    with pytest.raises(AssertionError, match="aiosqlite"):
        await AuditEvent.raw(_AUDIT)


async def test_a_write_in_a_quick_block_goes_to_the_writer_and_the_next_quick_read_sees_it(sqlite_engine):
    with quick_reads():
        before = await Submission.count()
        await Submission.insert(Submission(key="quick-key-0000000", user_id=1, created_at=clock.now()))
        await Submission.update({Submission.result_url: "/done"}).where(Submission.key == "quick-key-0000000")
        assert await Submission.count() == before + 1
        assert await Submission.select(Submission.result_url).where(
            Submission.key == "quick-key-0000000"
        ) == [{"result_url": "/done"}]
    # committed: another connection (another process) sees it
    other = sqlite3.connect(sqlite_engine.path)
    try:
        assert other.execute(
            "SELECT result_url FROM cf_submission WHERE key = 'quick-key-0000000'"
        ).fetchall() == [("/done",)]
    finally:
        other.close()


async def test_a_read_inside_a_transaction_reads_the_transactions_own_writes_not_the_quick_connection(
    sqlite_engine,
):
    with quick_reads():
        async with transaction():
            await Submission.insert(Submission(key="in-transaction-00", user_id=1, created_at=clock.now()))
            # the transaction's own connection: its uncommitted row is there
            assert await Submission.exists().where(Submission.key == "in-transaction-00")
            # the quick connection does not see it before the commit
            assert (
                sqlite_engine._run_quick("SELECT key FROM cf_submission WHERE key = 'in-transaction-00'", [])
                == []
            )
        assert await Submission.exists().where(Submission.key == "in-transaction-00")


async def test_a_statement_that_writes_after_all_is_refused_by_the_read_only_connection_and_goes_the_usual_way(
    sqlite_engine,
):
    # WITH ... INSERT does not start with a writing verb, so it is taken for a read
    with quick_reads():
        await Submission.raw(
            "WITH k AS (SELECT 'cte-key-000000000' AS key) INSERT INTO cf_submission (key, user_id, result_url, "
            "created_at) SELECT key, 1, '', '2026-12-04 00:00:00' FROM k"
        )
        assert await Submission.exists().where(Submission.key == "cte-key-000000000")


class _Locked:
    def __init__(self, message: str) -> None:
        self.message = message
        self.tries = 0

    def execute(self, query, args):
        self.tries += 1
        raise sqlite3.OperationalError(self.message)

    def close(self) -> None:
        pass


async def test_a_quick_read_that_meets_a_lock_goes_the_usual_way_and_another_error_is_raised_as_ever(
    sqlite_engine,
):
    await _some_rows()
    usual = await AuditEvent.raw(_AUDIT)
    locked = _Locked("database is locked")
    sqlite_engine._quick.connection = locked
    try:
        with quick_reads():
            assert await AuditEvent.raw(_AUDIT) == usual
        assert locked.tries == 1
        sqlite_engine._quick.connection = _Locked("no such table: cf_nothing")
        with quick_reads(), pytest.raises(sqlite3.OperationalError, match="no such table"):
            await AuditEvent.raw(_AUDIT)
    finally:
        del sqlite_engine._quick.connection


async def test_closing_the_engine_closes_the_quick_connections_and_the_next_quick_read_opens_one(
    sqlite_engine,
):
    await _some_rows()
    with quick_reads():
        first = await AuditEvent.raw(_AUDIT)
    mine = sqlite_engine._quick.connection
    opened = [connection for _, connection in sqlite_engine._quick_opened]
    assert mine in opened
    await sqlite_engine.close_shared()
    assert sqlite_engine._quick_opened == []
    for connection in opened:
        with pytest.raises(sqlite3.ProgrammingError, match="closed"):
            connection.execute("SELECT 1")
    with quick_reads():
        assert await AuditEvent.raw(_AUDIT) == first
    assert [connection is not mine for _, connection in sqlite_engine._quick_opened] == [True]


async def test_a_thread_that_has_ended_has_its_quick_connection_closed_when_another_opens(sqlite_engine):
    import asyncio
    import threading

    def a_thread_of_its_own() -> None:
        async def read() -> None:
            with quick_reads():
                await Submission.count()

        asyncio.run(read())

    await sqlite_engine.close_shared()
    for _ in range(3):
        worker = threading.Thread(target=a_thread_of_its_own)
        worker.start()
        worker.join()
    # each ended thread's connection was closed as the next thread opened its own: one is left, not three
    assert len(sqlite_engine._quick_opened) == 1


async def test_quick_reads_give_the_same_rows_on_either_database(db):
    await _some_rows()
    usual = await AuditEvent.raw(_AUDIT)
    with quick_reads():
        assert await AuditEvent.raw(_AUDIT) == usual
