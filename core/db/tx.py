"""Write transactions: one per service call; on SQLite an immediate one so writers queue, not fail.

Work that must only happen once a change is safely stored (plugin event hooks, e-mails, notices to other
processes) is handed to :func:`after_commit`. Inside a transaction it waits for the *outermost* one to
commit, and is dropped if that rolls back; a service called inside another service's transaction (a
referral accepted by opening a case) therefore never announces a case that is then rolled back.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from typing import Any

from piccolo.engine.sqlite import SQLiteEngine, TransactionType

import caseframe.core.db.piccolo_conf as conf

log = logging.getLogger("caseframe")

AfterCommit = Callable[[], Any]

#: callbacks waiting for the outermost transaction of this task (and the tasks it spawned) to commit
_pending: ContextVar[list[AfterCommit] | None] = ContextVar("caseframe_after_commit", default=None)
#: background tasks started by callbacks outside any transaction, kept so they are not collected mid-run
_running: set[asyncio.Task] = set()


class _Transaction:
    """The engine's transaction, plus the after-commit queue when it is the outermost one."""

    __slots__ = ("_inner", "_token")

    def __init__(self, inner: Any) -> None:
        self._inner = inner
        self._token = None

    async def __aenter__(self) -> Any:
        if not in_transaction():
            self._token = _pending.set([])
        try:
            return await self._inner.__aenter__()
        except BaseException:
            self._reset()
            raise

    async def __aexit__(self, exception_type, exception, traceback) -> None:
        # never swallows the exception (the engine's rolls back and lets it go on): so a ``return`` inside
        # ``async with transaction():`` is known to return
        try:
            await self._inner.__aexit__(exception_type, exception, traceback)
        except BaseException:
            self._reset()
            raise
        queued = self._reset()
        if exception is None and queued:
            for callback in queued:
                await run_after_commit(callback)

    def _reset(self) -> list[AfterCommit]:
        if self._token is None:
            return []
        queued = _pending.get() or []
        _pending.reset(self._token)
        self._token = None
        return queued


def transaction() -> _Transaction:
    engine = conf.DB
    if isinstance(engine, SQLiteEngine):
        return _Transaction(engine.transaction(transaction_type=TransactionType.immediate))
    return _Transaction(engine.transaction())


def in_transaction() -> bool:
    return conf.DB.current_transaction.get() is not None


def after_commit(callback: AfterCommit) -> None:
    """Run ``callback`` (plain or async) once the outermost transaction commits; at once outside one."""
    queue = _pending.get()
    if queue is not None and in_transaction():
        queue.append(callback)
        return
    result = _call(callback)
    if inspect.isawaitable(result):
        task = asyncio.get_running_loop().create_task(_await(result))
        _running.add(task)
        task.add_done_callback(_running.discard)


def _call(callback: AfterCommit) -> Any:
    try:
        return callback()
    except Exception as exc:  # one failing listener must not undo or hide a stored change
        log.error(
            "after-commit callback %s failed: %s",
            getattr(callback, "__qualname__", callback),
            exc.__class__.__name__,
        )
        return None


async def _await(result: Awaitable) -> None:
    try:
        await result
    except Exception as exc:
        log.error("after-commit callback failed: %s", exc.__class__.__name__)


async def run_after_commit(callback: AfterCommit) -> None:
    """Run one callback now, awaiting it if it is async; a failure is logged, never raised."""
    result = _call(callback)
    if inspect.isawaitable(result):
        await _await(result)
