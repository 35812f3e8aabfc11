"""Live minutes: wake everyone following a meeting when something new is written.

The signal carries only the meeting's id; each follower then reads what is new and what it may see
from the database, so nothing personal travels through the channel and a follower that missed a
signal catches up on the next one (or on its periodic check). On PostgreSQL it goes through NOTIFY,
and every server process LISTENs, so members connected to different workers see the same minute. SQLite
has no such channel: followers in the announcing process wake at once, and the announcement counts up the
meeting's row in ``cf_live_news``, which every other process with followers reads a few times a second
(``POLL_SECONDS``), so several server processes may share one SQLite file.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

import caseframe.core.db.piccolo_conf as conf
from caseframe.core.db.engine import is_sqlite
from caseframe.core.numbers import whole_number

log = logging.getLogger("caseframe.live")

CHANNEL = "caseframe_minutes"
_followers: dict[int, set[asyncio.Event]] = {}
_listener: dict[str, Any] = {}


_generation: dict[int, int] = {}

#: SQLite: how often a process with followers reads the news other processes wrote (a lookup of one row a
#: followed meeting, on the event loop's own read connection)
POLL_SECONDS = 0.1
#: SQLite: the count of news in ``cf_live_news`` this process last acted on, per meeting it follows
_seen: dict[int, int] = {}
_poller: dict[str, Any] = {}
_COUNT_UP = (
    "INSERT INTO cf_live_news (meeting_id, generation) VALUES ({}, 1) ON CONFLICT (meeting_id) "
    "DO UPDATE SET generation = cf_live_news.generation + 1 RETURNING generation"
)


def generation(meeting_id: int) -> int:
    """How many times this process has heard the meeting has news: part of a shared read's key, so a
    read made before the news is never served to a follower woken by it."""
    return _generation.get(meeting_id, 0)


def _wake(meeting_id: int) -> None:
    _generation[meeting_id] = _generation.get(meeting_id, 0) + 1
    for event in list(_followers.get(meeting_id, ())):
        event.set()


def _on_notify(connection: Any, pid: int, channel: str, payload: str) -> None:
    if whole_number(payload) is not None:
        _wake(whole_number(payload))


async def _news_counts(meeting_ids: list[int]) -> dict[int, int]:
    """SQLite: each meeting's count of news in ``cf_live_news`` (0 for one never announced)."""
    from caseframe.core.db.engine import quick_reads
    from caseframe.core.panels.tables import Meeting

    marks = ", ".join(["{}"] * len(meeting_ids))
    with quick_reads():
        rows = await Meeting.raw(
            f"SELECT meeting_id, generation FROM cf_live_news WHERE meeting_id IN ({marks})", *meeting_ids
        )
    counts = dict.fromkeys(meeting_ids, 0)
    counts.update((row["meeting_id"], row["generation"]) for row in rows)
    return counts


async def _poll() -> None:
    """SQLite: while anyone here follows a meeting, wake the followers of each meeting whose news another process
    counted up. A failed read is logged and tried again at the next turn (followers also have their periodic
    check)."""
    while _followers:
        await asyncio.sleep(POLL_SECONDS)
        followed = [m for m in _followers if m in _seen]
        if not followed:
            continue
        try:
            counts = await _news_counts(followed)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.warning("cannot read live minutes' news: %s", exc.__class__.__name__)
            continue
        for meeting_id, count in counts.items():
            if meeting_id in _seen and count > _seen[meeting_id]:
                _seen[meeting_id] = count
                _wake(meeting_id)


async def _ensure_poller(meeting_id: int) -> None:
    """SQLite: the meeting's count of news as followers start (news before it is read by their first read),
    and one poller per event loop of this process."""
    if meeting_id not in _seen:
        count = (await _news_counts([meeting_id]))[meeting_id]
        _seen.setdefault(meeting_id, count)
    loop = asyncio.get_running_loop()
    task = _poller.get("task")
    if task is None or task.done() or _poller.get("loop") is not loop:
        _poller.update(task=loop.create_task(_poll()), loop=loop)


async def _ensure_listener() -> bool:
    """One LISTEN connection per event loop of this process (PostgreSQL only); whether it is listening."""
    if is_sqlite(conf.DB):
        return True
    loop = asyncio.get_running_loop()
    conn = _listener.get("conn")
    if conn is not None and _listener.get("loop") is loop and not conn.is_closed():
        return True
    import asyncpg

    try:
        conn = await asyncpg.connect(**conf.DB.config)
        await conn.add_listener(CHANNEL, _on_notify)
        conn.add_termination_listener(_on_lost)
    except Exception as exc:  # followers still catch up on their periodic check
        log.warning("cannot listen for live minutes: %s", exc.__class__.__name__)
        return False
    _listener.update(conn=conn, loop=loop)
    return True


#: the first wait before listening again after the connection is lost, doubling up to the last
RELISTEN_DELAYS = (0.05, 5.0)


def _on_lost(conn: Any) -> None:
    """The LISTEN connection ended (a database restart, a terminated backend): listen again at once rather
    than leave followers to their periodic check. Not after ``stop()``, which forgets the connection first."""
    if _listener.get("conn") is not conn:
        return
    _listener.pop("conn", None)
    loop = _listener.get("loop")
    if loop is None or loop.is_closed():
        return
    log.warning("lost the connection listening for live minutes: listening again")
    _listener["relisten"] = loop.create_task(_relisten())


async def _relisten() -> None:
    """Reconnect with a short back-off while anyone follows a meeting; then wake every follower, since a
    minute written while no one was listening sent its signal to no one."""
    delay, longest = RELISTEN_DELAYS
    while _followers:
        if await _ensure_listener():
            for meeting_id in list(_followers):
                _wake(meeting_id)
            log.warning("listening for live minutes again")
            return
        await asyncio.sleep(delay)
        delay = min(delay * 2, longest)


async def follow(meeting_id: int) -> asyncio.Event:
    """An event set whenever the meeting has news; pass it to ``unfollow`` when the follower leaves."""
    if is_sqlite(conf.DB):
        await _ensure_poller(meeting_id)
    else:
        await _ensure_listener()
    event = asyncio.Event()
    _followers.setdefault(meeting_id, set()).add(event)
    return event


def unfollow(meeting_id: int, event: asyncio.Event) -> None:
    found = _followers.get(meeting_id)
    if found is not None:
        found.discard(event)
        if not found:
            _followers.pop(meeting_id, None)
            _seen.pop(meeting_id, None)


_reads: dict[Any, tuple[float, asyncio.Future]] = {}
#: how long one read of "what is new" serves every follower asking the same question
SHARED_READ_SECONDS = 1.0


async def shared_read(key: Any, load) -> Any:
    """Run ``load()`` once for all followers asking the same ``key`` at about the same time.

    When a minute is written, every follower wakes and asks what is new since the same entry: one
    database read answers them all, and only the per-follower access check and rendering remain.
    """
    loop = asyncio.get_running_loop()
    now = loop.time()
    for stale in [k for k, (at, _) in _reads.items() if now - at > SHARED_READ_SECONDS]:
        _reads.pop(stale, None)
    hit = _reads.get(key)
    if hit is not None and hit[1].get_loop() is loop and not (hit[1].done() and hit[1].exception()):
        return await asyncio.shield(hit[1])
    future = loop.create_task(load())
    _reads[key] = (now, future)
    return await asyncio.shield(future)


def followers(meeting_id: int) -> int:
    return len(_followers.get(meeting_id, ()))


async def announce(meeting_id: int) -> None:
    """Call after the change is committed: followers in every server process wake (here at once; elsewhere through
    NOTIFY on PostgreSQL, or at their process's next read of ``cf_live_news`` on SQLite)."""
    if is_sqlite(conf.DB):
        _wake(meeting_id)
        try:
            from caseframe.core.panels.tables import Meeting

            rows = await Meeting.raw(_COUNT_UP, meeting_id)
        except Exception as exc:  # followers elsewhere catch up on their periodic check
            log.warning("cannot announce live minutes to other processes: %s", exc.__class__.__name__)
            return
        if meeting_id in _seen:  # followers here are awake already: the poller need not wake them again
            _seen[meeting_id] = max(_seen[meeting_id], rows[0]["generation"])
        return
    try:
        from caseframe.core.panels.tables import Meeting

        await Meeting.raw("SELECT pg_notify({}, {})", CHANNEL, str(meeting_id))
    except Exception as exc:
        log.warning("cannot announce live minutes: %s", exc.__class__.__name__)
        _wake(meeting_id)


async def stop() -> None:
    """Stop listening (PostgreSQL) and reading the news (SQLite), as the server stops. What was started on another
    event loop (a test's, ended or not) is only forgotten here: its connection and tasks belong to that loop and
    cannot be closed or cancelled from this one."""
    here = asyncio.get_running_loop()
    poller, polling_here = _poller.pop("task", None), _poller.pop("loop", None) is here
    if poller is not None and not poller.done() and polling_here:
        poller.cancel()
    conn = _listener.pop("conn", None)
    ours = _listener.pop("loop", None) is here
    relisten = _listener.pop("relisten", None)
    if relisten is not None and not relisten.done() and ours:
        relisten.cancel()
    if conn is not None and not conn.is_closed():
        if ours:
            await conn.close()
        else:
            with contextlib.suppress(Exception):  # its loop's transport, which may be closed with its loop
                conn.terminate()
