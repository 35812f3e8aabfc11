"""caseframe serve with several workers: connections get TCP_NODELAY, as with one worker."""

from __future__ import annotations

import asyncio
import socket

import uvicorn

from caseframe.core.web.serving import TcpConfig


async def nodelay_of_accepted(config: uvicorn.Config) -> int:
    listening = config.bind_socket()
    accepted: asyncio.Future = asyncio.get_running_loop().create_future()

    class Probe(asyncio.Protocol):
        def connection_made(self, transport):
            sock = transport.get_extra_info("socket")
            accepted.set_result(sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))
            transport.close()

    server = await asyncio.get_running_loop().create_server(Probe, sock=listening)
    try:
        _, writer = await asyncio.open_connection("127.0.0.1", listening.getsockname()[1])
        value = await asyncio.wait_for(accepted, 5)
        writer.close()
    finally:
        server.close()
    return value


async def test_the_workers_socket_gives_connections_tcp_nodelay():
    # uvicorn's own socket for several workers leaves Nagle on: a response in two writes waited ~40 ms
    assert await nodelay_of_accepted(uvicorn.Config("x:y", host="127.0.0.1", port=0, workers=2)) == 0
    assert await nodelay_of_accepted(TcpConfig("x:y", host="127.0.0.1", port=0, workers=2)) != 0


def test_idle_connections_outlive_a_caseworker_reading_a_page(monkeypatch):
    """uvicorn closes an idle keep-alive connection after 5 s by default; a browser sending its next request as
    the server closed it met a closed socket. Both ways of serving keep it for KEEP_ALIVE_SECONDS."""
    from caseframe.core.web import serving

    seen = []
    monkeypatch.setattr(serving.uvicorn, "run", lambda *a, **kw: seen.append(kw))

    class FakeMultiprocess:
        def __init__(self, config, sockets):
            seen.append({"timeout_keep_alive": config.timeout_keep_alive})
            for s in sockets:
                s.close()

        def run(self):
            pass

    monkeypatch.setattr(serving, "Multiprocess", FakeMultiprocess)
    serving.serve("127.0.0.1", 0, 1)
    serving.serve("127.0.0.1", 0, 2)
    assert [kw["timeout_keep_alive"] for kw in seen] == [serving.KEEP_ALIVE_SECONDS] * 2
    assert serving.KEEP_ALIVE_SECONDS >= 60


def test_templates_are_read_once_unless_reloading_is_asked_for(monkeypatch):
    from caseframe.core.context import build_context
    from caseframe.core.templating import build_environment

    ctx = build_context()
    monkeypatch.delenv("CASEFRAME_TEMPLATE_RELOAD", raising=False)
    assert build_environment(ctx).auto_reload is False
    monkeypatch.setenv("CASEFRAME_TEMPLATE_RELOAD", "1")
    assert build_environment(ctx).auto_reload is True
