"""Live minutes across a lost database connection: when the LISTEN connection dies (a PostgreSQL restart, a
terminated backend) the process listens again at once, so followers do not wait for their periodic check."""

from __future__ import annotations

import asyncio

import pytest

import caseframe.core.db.piccolo_conf as conf
from caseframe.core.db.engine import is_sqlite
from caseframe.core.panels import live, service
from tests.core.test_meetings import _run, world  # noqa: F401  (fixtures)


async def _wait_for(condition, timeout: float) -> bool:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while loop.time() < deadline:
        if condition():
            return True
        await asyncio.sleep(0.02)
    return condition()


async def test_a_minute_still_arrives_at_once_after_the_listeners_backend_is_terminated(world):
    if is_sqlite(conf.DB):
        pytest.skip("LISTEN/NOTIFY is PostgreSQL's; SQLite's processes read cf_live_news (test_live_news.py)")
    import asyncpg

    item = await _run(world)
    m, ctx = world["meeting"], world["ctx"]
    news = await live.follow(m["id"])
    try:
        old = live._listener["conn"]
        old_pid = old.get_server_pid()
        admin = await asyncpg.connect(**conf.DB.config)
        try:
            assert await admin.fetchval("SELECT pg_terminate_backend($1)", old_pid)
        finally:
            await admin.close()
        # listening again within moments, on a new backend, without any new follower asking
        assert await _wait_for(
            lambda: live._listener.get("conn") not in (None, old) and not live._listener["conn"].is_closed(),
            3.0,
        ), "the listener did not come back"
        assert live._listener["conn"].get_server_pid() != old_pid
        await asyncio.sleep(0.1)
        news.clear()
        started = asyncio.get_running_loop().time()
        await service.add_minute(
            ctx,
            world["chair"],
            m["id"],
            item_id=item["id"],
            kind="discussion",
            text="Written after the database connection was lost",
        )
        await asyncio.wait_for(news.wait(), 2.0)  # the periodic check would take 15 s
        assert asyncio.get_running_loop().time() - started < 2.0
    finally:
        live.unfollow(m["id"], news)
        await live.stop()


async def test_stopping_does_not_listen_again(world):
    if is_sqlite(conf.DB):
        pytest.skip("PostgreSQL only")
    m = world["meeting"]
    news = await live.follow(m["id"])
    try:
        await live.stop()
        await asyncio.sleep(0.2)
        assert "conn" not in live._listener and "relisten" not in live._listener
    finally:
        live.unfollow(m["id"], news)


async def test_stopping_forgets_what_another_event_loop_started(world):
    """The server stops live minutes as it shuts down; in a process that ran other event loops before (a test
    run), what those started (a LISTEN connection, a news poller) belongs to them. Closing it from this loop
    raised "attached to a different loop" (seen in CI): it is now forgotten, and this loop's own is stopped."""
    m = world["meeting"]

    async def follow_and_leave() -> asyncio.Event:
        return await live.follow(m["id"])  # left running, as a loop that ends without stopping leaves it

    elsewhere = await asyncio.to_thread(asyncio.run, follow_and_leave())
    try:
        await live.stop()
        assert not live._listener and not live._poller
        news = await live.follow(m["id"])  # this loop's own, started afresh
        try:
            assert asyncio.get_running_loop() in (live._listener.get("loop"), live._poller.get("loop"))
        finally:
            live.unfollow(m["id"], news)
        await live.stop()
        assert not live._listener and not live._poller
    finally:
        live.unfollow(m["id"], elsewhere)
