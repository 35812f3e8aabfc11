"""Running the web app under uvicorn, in one process or several."""

from __future__ import annotations

import contextlib
import socket

import uvicorn
from uvicorn.supervisors import Multiprocess

APP = "caseframe.core.web.app:create_app"
# an idle browser connection is kept 75 s (nginx's default), longer than a caseworker reads a page: at uvicorn's
# 5 s a request sent as the server closed the connection met a closed socket (seen as failures under load)
KEEP_ALIVE_SECONDS = 75


class TcpConfig(uvicorn.Config):
    """uvicorn's settings, with the workers' listening socket made as a TCP socket.

    For more than one worker uvicorn makes the listening socket itself without naming TCP as its protocol,
    so asyncio never sets TCP_NODELAY on the connections accepted from it, and a response written in two
    parts waits for the client's delayed ACK: about 40 ms on every request at low load. (With one worker
    asyncio makes the socket, and sets it.)
    """

    def bind_socket(self) -> socket.socket:
        sock = super().bind_socket()
        if sock.family in (socket.AF_INET, socket.AF_INET6) and sock.proto == 0:
            sock = socket.socket(sock.family, sock.type, socket.IPPROTO_TCP, fileno=sock.detach())
            sock.set_inheritable(True)
        return sock


def serve(host: str, port: int, workers: int, app: str = APP) -> None:
    """Serve ``app`` (a ``module:factory`` path) on ``workers`` processes, as ``caseframe serve`` does."""
    if workers == 1:
        uvicorn.run(
            app,
            factory=True,
            host=host,
            port=port,
            log_level="warning",
            timeout_keep_alive=KEEP_ALIVE_SECONDS,
        )
        return
    config = TcpConfig(
        app,
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level="warning",
        timeout_keep_alive=KEEP_ALIVE_SECONDS,
    )
    with contextlib.suppress(KeyboardInterrupt):
        Multiprocess(config, sockets=[config.bind_socket()]).run()
