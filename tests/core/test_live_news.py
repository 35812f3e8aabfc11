"""Live minutes with several server processes on one SQLite file: a minute written through one process wakes the
members following the meeting through another (``cf_live_news``, read by each process with followers), and a
process's own announcements wake its followers once, at once. PostgreSQL's NOTIFY: test_live_relisten.py."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import caseframe.core.db.piccolo_conf as conf
from caseframe.core.db.engine import is_sqlite
from caseframe.core.panels import live, service
from tests.core.test_meetings import _run, world  # noqa: F401  (fixtures)

ROOT = Path(__file__).resolve().parents[2]

#: another process, as a second ``caseframe serve`` on the same file would be: its own engine, its own live state
ANNOUNCE_ELSEWHERE = textwrap.dedent(
    """
    import asyncio, sys
    from caseframe.core.db.engine import bind, close, engine_from_url
    from caseframe.core.panels import live

    async def main():
        engine = engine_from_url("sqlite:///" + sys.argv[1])
        bind(engine)
        await live.announce(int(sys.argv[2]))
        await close(engine)

    asyncio.run(main())
    """
)


@pytest.fixture(autouse=True)
def _sqlite_only():
    if not is_sqlite(conf.DB):
        pytest.skip("SQLite's news table; PostgreSQL's processes hear NOTIFY (test_live_relisten.py)")


async def _announce_in_another_process(meeting_id: int) -> None:
    database = conf.DB.connection_kwargs["database"]
    done = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-c", ANNOUNCE_ELSEWHERE, str(database), str(meeting_id)],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr[-2000:]


async def _woken(news: asyncio.Event, seconds: float) -> bool:
    try:
        await asyncio.wait_for(news.wait(), seconds)
    except TimeoutError:
        return False
    return True


async def test_a_minute_announced_by_another_process_wakes_the_followers_here(world):
    m = world["meeting"]
    news = await live.follow(m["id"])
    try:
        before = live.generation(m["id"])
        await _announce_in_another_process(m["id"])
        # the poller reads the news a few times a second; the periodic check would take 15 s
        assert await _woken(news, 2.0), "a minute written through another process never woke a follower here"
        assert live.generation(m["id"]) == before + 1
    finally:
        live.unfollow(m["id"], news)
        await live.stop()


async def test_a_minute_written_here_wakes_the_followers_here_once_and_at_once(world):
    item = await _run(world)
    m, ctx = world["meeting"], world["ctx"]
    news = await live.follow(m["id"])
    try:
        before = live.generation(m["id"])
        await service.add_minute(
            ctx, world["chair"], m["id"], item_id=item["id"], kind="discussion", text="Seen"
        )
        assert news.is_set()  # in this process, before the call returns: no wait for the poller
        await asyncio.sleep(live.POLL_SECONDS * 5)
        # the count this process wrote is its own news: the poller does not wake the followers for it again
        assert live.generation(m["id"]) == before + 1
    finally:
        live.unfollow(m["id"], news)
        await live.stop()


async def test_news_from_before_a_follower_came_does_not_wake_it(world):
    m = world["meeting"]
    await _announce_in_another_process(
        m["id"]
    )  # read by the follower's first read of the minutes, not a wake-up
    news = await live.follow(m["id"])
    try:
        assert not await _woken(news, live.POLL_SECONDS * 5)
        await _announce_in_another_process(m["id"])
        assert await _woken(news, 2.0)
    finally:
        live.unfollow(m["id"], news)
        await live.stop()


async def test_the_poller_stops_when_the_last_follower_leaves_and_starts_with_the_next(world):
    m = world["meeting"]
    first = await live.follow(m["id"])
    poller = live._poller["task"]
    live.unfollow(m["id"], first)
    await asyncio.wait_for(asyncio.shield(poller), live.POLL_SECONDS * 10)  # no reads while no one follows
    assert m["id"] not in live._seen
    again = await live.follow(m["id"])
    try:
        assert live._poller["task"] is not poller and not live._poller["task"].done()
        await _announce_in_another_process(m["id"])
        assert await _woken(again, 2.0)
    finally:
        live.unfollow(m["id"], again)
        await live.stop()


async def test_a_failed_read_of_the_news_is_logged_and_the_poller_goes_on(world, monkeypatch, caplog):
    m = world["meeting"]
    real = live._news_counts
    failures = []

    async def flaky(meeting_ids):
        if not failures:
            failures.append(1)
            raise OSError("disk I/O error")
        return await real(meeting_ids)

    news = await live.follow(m["id"])
    monkeypatch.setattr(live, "_news_counts", flaky)
    try:
        await _announce_in_another_process(m["id"])
        assert await _woken(news, 2.0), "the poller ended at its first failed read"
        assert failures and "cannot read live minutes' news: OSError" in caplog.text
    finally:
        live.unfollow(m["id"], news)
        await live.stop()
