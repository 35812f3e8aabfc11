"""The live minutes stream takes where to start from the browser (``Last-Event-ID`` when it reconnects, ``?after=``
otherwise): a number past any id is read as "after the last id", never handed to the database. Found by a hostile
review: the route walks skip the stream (it does not end), and a number past 2**31 (PostgreSQL) or 2**63 (SQLite)
made the driver raise after the response had started, a traceback in the log and a broken stream."""

from __future__ import annotations

import asyncio
import contextlib

import pytest

from caseframe.core.testing import sign_in, web_client
from tests.security.test_leaks import COOKIE, _session_cookie, world  # noqa: F401

HUGE = [str(2**31), str(2**63), "9" * 30]


async def _stream(app, path: str, query: bytes, headers: list[tuple[bytes, bytes]]) -> tuple[str, list[str]]:
    """What the stream sends in its first second, and what the app raised."""
    body: list[str] = []
    raised: list[str] = []
    disconnect = asyncio.Event()
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": query,
        "root_path": "",
        "headers": [(b"host", b"localhost"), (b"accept", b"text/event-stream"), *headers],
        "client": ("127.0.0.1", 1234),
        "server": ("localhost", 80),
    }

    async def receive():
        await disconnect.wait()
        return {"type": "http.disconnect"}

    async def send(message):
        if message["type"] == "http.response.body":
            body.append(message.get("body", b"").decode())

    async def run():
        try:
            await app(scope, receive, send)
        except Exception as exc:  # noqa: BLE001 (what the server would log as a traceback)
            raised.append(repr(exc))

    task = asyncio.create_task(run())
    await asyncio.sleep(1.0)
    disconnect.set()
    task.cancel()
    with contextlib.suppress(BaseException):
        await task
    return "".join(body), raised


@pytest.mark.parametrize("where", ["header", "query"])
async def test_a_huge_last_event_id_or_after_is_read_as_the_last_entry_not_a_crash(
    world, db, where, monkeypatch
):
    from caseframe.core.panels import web as panel_web
    from caseframe.core.settings import Settings
    from caseframe.core.web.app import create_app

    monkeypatch.setattr(panel_web, "HEARTBEAT_SECONDS", 0.2)
    async with web_client(world["ctx"], db) as client:
        await sign_in(client, world["officer"])
        cookie = _session_cookie(client)
    app = create_app(
        Settings(local_demo=True, database_url="sqlite:///unused.sqlite"), ctx=world["ctx"], engine=db
    )
    path = f"/meetings/{world['meeting']['id']}/events"
    for number in HUGE:
        headers = [(b"cookie", f"{COOKIE}={cookie}".encode())]
        query = b""
        if where == "header":
            headers.append((b"last-event-id", number.encode()))
        else:
            query = f"after={number}".encode()
        text, raised = await _stream(app, path, query, headers)
        assert raised == [], f"{where} {number}: {raised}"
        # nothing after the last entry: the stream is alive (its heartbeat) and sends no entry
        assert "still here" in text and "Joint visit" not in text
    # and from the start, the entries so far
    text, raised = await _stream(app, path, b"after=0", [(b"cookie", f"{COOKIE}={cookie}".encode())])
    assert raised == [] and "Joint visit" in text
