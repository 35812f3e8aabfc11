"""Running the web app under uvicorn, in one process or several: on uvloop's event loop, with httptools' parser
(both C; asyncio's loop and the pure-Python h11 cost a large share of a request's CPU), its head bounded as h11's
was."""

from __future__ import annotations

import contextlib
import logging
import socket
import sys

import uvicorn
from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol
from uvicorn.server import STARTUP_FAILURE
from uvicorn.supervisors import Multiprocess

APP = "caseframe.core.web.app:create_app"
# an idle browser connection is kept 75 s (nginx's default), longer than a caseworker reads a page: at uvicorn's
# 5 s a request sent as the server closed the connection met a closed socket (seen as failures under load)
KEEP_ALIVE_SECONDS = 75
#: the most a request line and its headers may take: h11's bound, which uvicorn's httptools protocol has not
MAX_HEAD_BYTES = 16 * 1024


class BoundedHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol, refusing a request whose head (request line and headers) is larger than
    ``MAX_HEAD_BYTES`` with 431, and closing the connection.

    httptools keeps a header it has not seen the end of, and uvicorn every header it has, however large: one
    connection sending an endless header held as much memory as it sent (a 5 MB header was answered 200). h11,
    which served before, refused a head past 16 KiB. Two checks: the head's own size when it is complete (its URL
    and headers as the parser gives them), and, while a head is still incomplete, every byte received since the
    last body (all of it head), so an endless one is cut off. A body is never counted: uploads have their own
    limit in the app."""

    def __init__(self, *args, **kwargs) -> None:  # type: ignore[no-untyped-def]
        super().__init__(*args, **kwargs)
        self._received = 0  # bytes received outside a body
        self._head = 0  # the head's size, as parsed
        self._in_body = False
        self._too_large = False

    def data_received(self, data: bytes) -> None:
        if not self._in_body:
            self._received += len(data)
        super().data_received(data)
        if not self._in_body and self._received > MAX_HEAD_BYTES and not self.transport.is_closing():
            self._too_large = True
            self._refuse_large_head()

    def on_message_begin(self) -> None:
        self._head = 0
        super().on_message_begin()

    def on_url(self, url: bytes) -> None:
        self._head += len(url)
        super().on_url(url)

    def on_header(self, name: bytes, value: bytes) -> None:
        self._head += len(name) + len(value) + 4
        super().on_header(name, value)

    def on_headers_complete(self) -> None:
        self._in_body, self._received = True, 0
        if self._head > MAX_HEAD_BYTES:
            # httptools turns this into a parser error; uvicorn answers that with send_400_response, below
            self._too_large = True
            raise ValueError("request head too large")
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        self._in_body = False
        super().on_message_complete()

    def send_400_response(self, msg: str) -> None:
        if self._too_large:
            self._refuse_large_head()
        else:
            super().send_400_response(msg)

    def _refuse_large_head(self) -> None:
        message = b"Request headers too large."
        self.transport.write(
            STATUS_LINE[431]
            + b"content-type: text/plain; charset=utf-8\r\n"
            + b"content-length: "
            + str(len(message)).encode("ascii")
            + b"\r\nconnection: close\r\n\r\n"
            + message
        )
        self.transport.close()


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

    def bind_worker_socket(self) -> socket.socket:
        """A listening socket for one of several workers, of its own: TCP, bound with SO_REUSEPORT to the address
        the others' are bound to, so the kernel spreads new connections over the workers' sockets."""
        family = socket.AF_INET6 if self.host and ":" in self.host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
            sock.bind((self.host, self.port))
        except OSError as exc:  # taken since the start-up check: told as uvicorn tells it
            sock.close()
            logging.getLogger("uvicorn.error").error(exc)
            sys.exit(STARTUP_FAILURE)
        sock.set_inheritable(True)
        return sock


#: whether each worker can have a socket of its own: SO_REUSEPORT spreads connections over sockets on Linux only
#: (elsewhere the newest socket bound takes them all)
BALANCED = sys.platform.startswith("linux") and hasattr(socket, "SO_REUSEPORT")


class BalancedMultiprocess(Multiprocess):
    """uvicorn's supervisor of several workers, each worker listening on a socket of its own (SO_REUSEPORT), so
    the kernel spreads new connections evenly over them.

    With the one socket uvicorn shares, the worker that woke first accepted a whole burst of connections: 16
    keep-alive connections opened at once came out 14 and 2 (seen under bench_http.py), one worker queued the
    requests of 14 while the other idled, and the slowest responses waited for it. The supervisor is uvicorn's
    (start-up, health checks, restarts); only where each worker's socket comes from differs. The parent closes
    its copy of each once the worker has started, so a socket leaves the kernel's group when its worker ends.
    """

    def __init__(self, config: TcpConfig) -> None:
        # the port must be free: a plain bind tells (uvicorn's message and exit if not), where a socket with
        # SO_REUSEPORT would join another server of the same user listening there
        config.bind_socket().close()
        self._parents_copies: list[socket.socket] = []
        super().__init__(config, sockets=[])

    @property
    def sockets(self) -> list[socket.socket]:  # type: ignore[override]
        """Read by uvicorn each time it starts a worker: a new socket for that worker."""
        assert isinstance(self.config, TcpConfig)
        sock = self.config.bind_worker_socket()
        self._parents_copies.append(sock)
        return [sock]

    @sockets.setter
    def sockets(self, value: list[socket.socket]) -> None:
        pass  # uvicorn's __init__ sets the shared sockets; each worker makes its own (above)

    def _close_parents_copies(self) -> None:
        while self._parents_copies:
            self._parents_copies.pop().close()

    def init_processes(self) -> None:
        super().init_processes()
        self._close_parents_copies()

    def restart_all(self) -> None:
        super().restart_all()
        self._close_parents_copies()

    def keep_subprocess_alive(self) -> None:
        super().keep_subprocess_alive()
        self._close_parents_copies()


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
            http=BoundedHttpToolsProtocol,
            proxy_headers=False,  # X-Forwarded-For is read by core/web/client_address.py, from trusted proxies only
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
        http=BoundedHttpToolsProtocol,
        proxy_headers=False,
    )
    with contextlib.suppress(KeyboardInterrupt):
        if BALANCED:
            BalancedMultiprocess(config).run()
        else:
            Multiprocess(config, sockets=[config.bind_socket()]).run()
