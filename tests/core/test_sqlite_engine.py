"""The embedded SQLite engine: a write outside a transaction queues on the writer connection, never fails."""

from __future__ import annotations

import sqlite3

import pytest

from caseframe.core import clock
from caseframe.core.audit.tables import AuditEvent
from caseframe.core.cases.tables import Submission
from caseframe.core.db.tx import transaction


async def _reader_holding_an_old_snapshot_after_another_commit(conf):
    """The shared read connection mid-read (its snapshot held), and then another writer commits."""
    reader = await conf.DB._shared_connection()
    cursor = await reader.execute("SELECT id FROM cf_submission")
    await cursor.fetchone()  # one of two rows read: the statement is still open
    async with transaction():
        await AuditEvent.insert(
            AuditEvent(action="test.other_writer", object_type="", purpose="", detail={}, at=clock.now())
        )
    return reader, cursor


async def test_a_write_outside_a_transaction_goes_to_the_writer_not_the_shared_read_connection(db):
    import caseframe.core.db.piccolo_conf as conf
    from caseframe.core.db.engine import is_sqlite

    if not is_sqlite(conf.DB):
        pytest.skip("SQLite's shared read connection")
    await Submission.insert(
        Submission(key="first-key-0000000", user_id=1, created_at=clock.now()),
        Submission(key="second-key-000000", user_id=1, created_at=clock.now()),
    )
    reader, cursor = await _reader_holding_an_old_snapshot_after_another_commit(conf)
    try:
        # the hazard itself: the same write straight on the read connection fails at once, without waiting
        with pytest.raises(sqlite3.OperationalError, match="locked"):
            await reader.execute(
                "INSERT INTO cf_submission (key, user_id, result_url, created_at) "
                "VALUES ('direct-key-000000', 1, '', '2026-12-04 00:00:00')"
            )
        # through the engine, outside any transaction: each goes to the writer connection and is committed
        await Submission.insert(Submission(key="bare-key-00000000", user_id=1, created_at=clock.now()))
        await Submission.update({Submission.result_url: "/done"}).where(Submission.key == "bare-key-00000000")
        await Submission.delete().where(Submission.key.is_in(["first-key-0000000", "second-key-000000"]))
    finally:
        await cursor.close()
    assert await Submission.select(Submission.key, Submission.result_url) == [
        {"key": "bare-key-00000000", "result_url": "/done"}
    ]
    # and another connection (another process) sees them: committed, not left in an open transaction
    other = sqlite3.connect(conf.DB.path)
    try:
        assert other.execute("SELECT key, result_url FROM cf_submission").fetchall() == [
            ("bare-key-00000000", "/done")
        ]
    finally:
        other.close()


async def test_a_connection_whose_first_statement_fails_is_closed_not_left_running(tmp_path, monkeypatch):
    """On a full disk the first statement on a new connection fails: the connection was left open, its thread kept
    the process alive, and `caseframe db migrate` hung for ever after printing the error."""
    import aiosqlite

    from caseframe.core.db.engine import engine_from_url

    engine = engine_from_url(f"sqlite:///{tmp_path / 'full.sqlite'}")
    opened: list[aiosqlite.Connection] = []
    execute = aiosqlite.Connection.execute

    async def disk_full(self, sql, *args, **kwargs):
        opened.append(self)
        if sql.startswith("PRAGMA synchronous"):
            raise sqlite3.OperationalError("disk I/O error")
        return await execute(self, sql, *args, **kwargs)

    monkeypatch.setattr(aiosqlite.Connection, "execute", disk_full)
    with pytest.raises(sqlite3.OperationalError, match="disk I/O error"):
        await engine.get_connection()
    assert opened
    opened[0]._thread.join(
        timeout=5
    )  # a closed connection's thread ends in a moment; an open one's never does
    left_running = opened[0]._thread.is_alive()
    if left_running:  # so that, broken again, this fails instead of hanging the test run at its end
        monkeypatch.undo()
        await opened[0].close()
    assert not left_running
