"""Running the web app under uvicorn, in one process or several: on uvloop's event loop, with httptools' parser
(both C; asyncio's loop and the pure-Python h11 cost a large share of a request's CPU), its head bounded as h11's
was."""

from __future__ import annotations

import contextlib
import fcntl
import logging
import mmap
import os
import socket
import struct
import sys
import tempfile

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


#: names the file in which several workers count their open connections (set by the supervisor for its workers)
SHARES_ENV = "CASEFRAME_WORKER_SHARES"


class ConnectionShares:
    """How many connections each of several workers holds open, in a small file every worker maps: one slot
    (pid, open connections) a worker.

    The kernel hashes each new connection to a worker's socket, so a pool of long-lived keep-alive connections (a
    reverse proxy's, a load tool's) comes out uneven by chance: 16 came out 10 and 6, and the requests on the 10
    waited longer for their worker. A worker that holds more than its share answers its next request with
    ``Connection: close``; the client opens a new connection, which the kernel hashes again, so the pool settles
    at an even split within a few requests. Each worker writes only its own slot; the counts are read without a
    lock, as an estimate (a wrong read at most closes one connection too many, or one too few)."""

    SLOT = struct.Struct("=qq")

    def __init__(self, path: str) -> None:
        with open(path, "r+b") as f:
            self._map = mmap.mmap(f.fileno(), 0)
        self.path = path
        self.slots = len(self._map) // self.SLOT.size
        self._mine = -1
        self._open = 0

    @classmethod
    def create(cls, workers: int) -> str:
        """A new file of ``workers`` empty slots (the supervisor's); its path."""
        fd, path = tempfile.mkstemp(
            prefix="caseframe-shares-", dir="/dev/shm" if os.path.isdir("/dev/shm") else None
        )
        with os.fdopen(fd, "wb") as f:
            f.write(bytes(cls.SLOT.size * workers))
        return path

    def _slot(self, index: int) -> tuple[int, int]:
        return self.SLOT.unpack_from(self._map, index * self.SLOT.size)

    def _write(self, index: int, pid: int, count: int) -> None:
        self.SLOT.pack_into(self._map, index * self.SLOT.size, pid, count)

    def claim(self) -> bool:
        """Take a free slot for this process (one never used, or a worker's that has ended); whether one was."""
        with open(self.path, "r+b") as f:
            fcntl.flock(f, fcntl.LOCK_EX)  # two workers starting together never take the same slot
            for index in range(self.slots):
                pid, _ = self._slot(index)
                if pid == 0 or not _alive(pid):
                    self._mine = index
                    self._write(index, os.getpid(), self._open)
                    return True
        return False

    def release(self) -> None:
        if self._mine >= 0:
            self._write(self._mine, 0, 0)
            self._mine = -1

    def opened(self) -> None:
        self._open += 1
        if self._mine >= 0:
            self._write(self._mine, os.getpid(), self._open)

    def closed(self) -> None:
        self._open -= 1
        if self._mine >= 0:
            self._write(self._mine, os.getpid(), self._open)

    def over_share(self) -> bool:
        """Whether this worker holds more connections than an even split of all the workers' gives it."""
        if self._mine < 0:
            return False
        workers = total = 0
        for pid, count in self.SLOT.iter_unpack(self._map):
            if pid:
                workers, total = workers + 1, total + count
        if self._open <= -(-total // workers):
            return False
        # a worker that ended without saying so (killed) still shows its connections, gone with it: skip it
        workers = total = 0
        for index in range(self.slots):
            pid, count = self._slot(index)
            if pid and (index == self._mine or _alive(pid)):
                workers, total = workers + 1, total + count
        return self._open > -(-total // workers)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


_shares: ConnectionShares | None = None
_shares_read = False


def worker_shares() -> ConnectionShares | None:
    """This worker's view of the connection counts, if its supervisor keeps them (several workers on Linux)."""
    global _shares, _shares_read
    if not _shares_read:
        _shares_read = True
        path = os.environ.get(SHARES_ENV)
        if path:
            try:
                shares = ConnectionShares(path)
            except (OSError, ValueError):
                logging.getLogger("uvicorn.error").warning(
                    "connection counts unreadable at %s: not balancing", path
                )
            else:
                _shares = shares if shares.claim() else None
    return _shares


class BoundedHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol, refusing a request whose head (request line and headers) is larger than
    ``MAX_HEAD_BYTES`` with 431, and closing the connection.

    httptools keeps a header it has not seen the end of, and uvicorn every header it has, however large: one
    connection sending an endless header held as much memory as it sent (a 5 MB header was answered 200). h11,
    which served before, refused a head past 16 KiB. Two checks: the head's own size when it is complete (its URL
    and headers as the parser gives them), and, while a head is still incomplete, every byte received since the
    last body (all of it head), so an endless one is cut off. A body is never counted: uploads have their own
    limit in the app.

    With several workers it also counts its connections in :class:`ConnectionShares` and, while its worker holds
    more than its share, closes a connection after its response (``Connection: close``) so the client reconnects,
    perhaps to another worker."""

    def __init__(self, *args, **kwargs) -> None:  # type: ignore[no-untyped-def]
        super().__init__(*args, **kwargs)
        self._received = 0  # bytes received outside a body
        self._head = 0  # the head's size, as parsed
        self._in_body = False
        self._too_large = False
        self._shares = worker_shares()

    def connection_made(self, transport) -> None:  # type: ignore[no-untyped-def]
        super().connection_made(transport)
        if self._shares is not None:
            self._shares.opened()

    def connection_lost(self, exc: Exception | None) -> None:
        if self._shares is not None:
            self._shares.closed()
            self._shares = None  # counted once, however often the transport reports it
        super().connection_lost(exc)

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
        if self._shares is not None and self.cycle is not None and self._shares.over_share():
            self.cycle.keep_alive = False  # answered with Connection: close, then closed
            # counted out now, so the worker's other connections answering meanwhile do not leave too
            self._shares.closed()
            self._shares = None

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

    The kernel hashes each connection, so a pool of keep-alive connections still comes out uneven by chance (16 as
    10 and 6); the workers then even it out themselves, closing a connection where one holds more than its share
    (:class:`ConnectionShares`).
    """

    def __init__(self, config: TcpConfig) -> None:
        # the port must be free: a plain bind tells (uvicorn's message and exit if not), where a socket with
        # SO_REUSEPORT would join another server of the same user listening there
        config.bind_socket().close()
        self._parents_copies: list[socket.socket] = []
        super().__init__(config, sockets=[])

    def run(self) -> None:
        """uvicorn's supervisor, its workers counting their connections in a file of their own (ConnectionShares:
        the file's path reaches them in the environment they are started with)."""
        path = ConnectionShares.create(self.config.workers)
        before = os.environ.get(SHARES_ENV)
        os.environ[SHARES_ENV] = path
        try:
            super().run()
        finally:
            if before is None:
                os.environ.pop(SHARES_ENV, None)
            else:
                os.environ[SHARES_ENV] = before
            with contextlib.suppress(OSError):
                os.unlink(path)

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
