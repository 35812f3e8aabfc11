"""The PostgreSQL pool: a connection goes back without asyncpg's session reset (a round trip and the server's work
for every statement outside a transaction), and a transaction left open is still rolled back on the way."""

from __future__ import annotations

import pytest

import caseframe.core.db.piccolo_conf as conf
from caseframe.core.audit.tables import AuditEvent
from caseframe.core.db.engine import PooledPostgresEngine, is_sqlite


@pytest.fixture
def pool(db):
    if is_sqlite(conf.DB):
        pytest.skip("PostgreSQL's connection pool (SQLite has no pool: one reader and one writer)")
    assert isinstance(conf.DB, PooledPostgresEngine)
    return conf.DB.pool


async def test_a_statement_outside_a_transaction_sends_no_reset_on_release(pool, monkeypatch):
    import asyncpg.connection

    sent: list[str] = []
    execute = asyncpg.connection.Connection.execute

    async def recording(connection, query, *args, **kwargs):
        sent.append(query)
        return await execute(connection, query, *args, **kwargs)

    monkeypatch.setattr(asyncpg.connection.Connection, "execute", recording)
    rows = await AuditEvent.raw("SELECT count(*) AS n FROM cf_audit")
    assert rows[0]["n"] >= 0
    assert not [q for q in sent if "RESET ALL" in q or "UNLISTEN" in q], sent


async def test_a_transaction_left_open_is_rolled_back_before_the_connection_is_reused(pool):
    async with pool.acquire() as connection:
        pid = connection.get_server_pid()
        await connection.execute("BEGIN")
        await connection.execute(
            "INSERT INTO cf_audit (at, action, object_type, purpose, detail, prev_hash, hash) "
            "VALUES (now(), 'test.abandoned', '', '', '{}', '', '')"
        )
        assert connection.is_in_transaction()
    # every connection of the pool, the one given back among them, is out of any transaction and kept nothing
    seen = set()
    connections = [await pool.acquire() for _ in range(pool.get_size())]
    try:
        for connection in connections:
            seen.add(connection.get_server_pid())
            assert not connection.is_in_transaction()
            assert (
                await connection.fetchval("SELECT count(*) FROM cf_audit WHERE action = 'test.abandoned'")
                == 0
            )
    finally:
        for connection in connections:
            await pool.release(connection)
    assert pid in seen
