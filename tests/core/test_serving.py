"""caseframe serve with several workers: connections get TCP_NODELAY, as with one worker."""
from __future__ import annotations

import asyncio
import socket

import uvicorn

from core.web.serving import TcpConfig


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
