"""caseframe serve with several workers: connections get TCP_NODELAY, as with one worker, and are spread evenly over
the workers."""

from __future__ import annotations

import asyncio
import collections
import contextlib
import os
import socket

import pytest
import uvicorn

from caseframe.core.web.serving import BALANCED, TcpConfig


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


def served_settings(monkeypatch) -> list[dict]:
    """Serve in one process and in several without serving: what ``uvicorn.run`` is given, then the settings of
    the config the several workers run, as dicts of uvicorn.run's keywords (the same names)."""
    from caseframe.core.web import serving

    seen: list[dict] = []
    monkeypatch.setattr(serving.uvicorn, "run", lambda *a, **kw: seen.append(kw))

    class FakeMultiprocess:
        def __init__(self, config, sockets):
            seen.append({"timeout_keep_alive": config.timeout_keep_alive, "http": config.http})
            for s in sockets:
                s.close()

        def run(self):
            pass

    monkeypatch.setattr(serving, "Multiprocess", FakeMultiprocess)
    monkeypatch.setattr(serving, "BALANCED", False)  # uvicorn's supervisor, faked above
    serving.serve("127.0.0.1", 0, 1)
    serving.serve("127.0.0.1", 0, 2)
    return seen


def test_idle_connections_outlive_a_caseworker_reading_a_page(monkeypatch):
    """uvicorn closes an idle keep-alive connection after 5 s by default; a browser sending its next request as
    the server closed it met a closed socket. Both ways of serving keep it for KEEP_ALIVE_SECONDS."""
    from caseframe.core.web import serving

    seen = served_settings(monkeypatch)
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


def test_serving_runs_on_uvloop_and_httptools_with_a_bounded_head(monkeypatch):
    """Both ways of serving use httptools' parser through BoundedHttpToolsProtocol, and uvicorn's "auto" loop
    finds uvloop installed (pyproject.toml's dependencies)."""
    from uvicorn.loops.auto import auto_loop_factory

    from caseframe.core.web import serving

    assert [kw["http"] for kw in served_settings(monkeypatch)] == [serving.BoundedHttpToolsProtocol] * 2
    assert auto_loop_factory(use_subprocess=False).__module__.startswith("uvloop")


async def _serve_and_send(chunks: list[bytes]) -> bytes:
    """Serve a tiny app with BoundedHttpToolsProtocol, send ``chunks`` on one connection, give what came back."""
    from caseframe.core.web.serving import BoundedHttpToolsProtocol

    async def app(scope, receive, send):
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        await send(
            {"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]}
        )
        await send({"type": "http.response.body", "body": b"got %d" % len(body)})

    config = uvicorn.Config(app, host="127.0.0.1", port=0, http=BoundedHttpToolsProtocol, log_level="error")
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    try:
        while not server.started:
            await asyncio.sleep(0.01)
        port = server.servers[0].sockets[0].getsockname()[1]
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            for chunk in chunks:
                writer.write(chunk)
                await writer.drain()
        except ConnectionError:
            pass  # the server closed the connection while the rest was still being sent
        answer = await asyncio.wait_for(reader.read(), 10)
        writer.close()
        return answer
    finally:
        server.should_exit = True
        await task


async def test_a_request_head_past_16_kib_is_refused_with_431_not_held():
    from caseframe.core.web.serving import MAX_HEAD_BYTES

    # one header sent in pieces and not ended: httptools alone would keep reading it for as long as it came (it
    # kept and answered a 5 MB one)
    pieces = [b"GET / HTTP/1.1\r\nHost: x\r\nX-Big: "] + [b"a" * 4096] * 5
    answer = await _serve_and_send(pieces)
    assert answer.startswith(b"HTTP/1.1 431 ")
    assert b"Request headers too large." in answer
    # many headers, each small, past the bound in one go
    many = b"".join(b"X-H%d: %s\r\n" % (n, b"b" * 100) for n in range(MAX_HEAD_BYTES // 100))
    answer = await _serve_and_send([b"GET / HTTP/1.1\r\nHost: x\r\n" + many + b"\r\n"])
    assert answer.startswith(b"HTTP/1.1 431 ")


async def test_a_large_body_and_a_head_under_the_bound_are_served():
    body = b"x" * (256 * 1024)  # a body is never counted as head: uploads have their own limit in the app
    head = b"POST / HTTP/1.1\r\nHost: x\r\nConnection: close\r\nX-Fine: " + b"c" * 8000 + b"\r\n"
    answer = await _serve_and_send([head + b"Content-Length: %d\r\n\r\n" % len(body) + body])
    assert answer.startswith(b"HTTP/1.1 200 ")
    assert b"got %d" % len(body) in answer
    # two requests on one keep-alive connection, each head near the bound: the count starts again for each
    one = b"GET / HTTP/1.1\r\nHost: x\r\nX-Fine: " + b"d" * 12000 + b"\r\n\r\n"
    last = b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\nX-Fine: " + b"d" * 12000 + b"\r\n\r\n"
    answer = await _serve_and_send([one, last])
    assert answer.count(b"HTTP/1.1 200 ") == 2


def test_a_served_app_freezes_what_start_up_made(tmp_path):
    """The server's last step of start-up puts the long-lived heap out of the cyclic collector's reach, so a full
    collection does not walk it (a ~50 ms pause under load before)."""
    import gc

    from litestar.testing import TestClient

    from caseframe.core.context import build_context
    from caseframe.core.settings import Settings
    from caseframe.core.web.app import create_app

    app = create_app(
        Settings(local_demo=True, database_url=f"sqlite:///{tmp_path / 'served.sqlite'}"), ctx=build_context()
    )
    try:
        with TestClient(app) as client:
            assert gc.get_freeze_count() > 10_000
            assert client.get("/health").status_code == 200
    finally:
        gc.unfreeze()


@contextlib.contextmanager
def _served(workers: int):
    """Serve tests/fixtures/pid_app.py on ``workers`` processes as ``caseframe serve`` does, until every worker
    answers; the port."""
    import subprocess
    import sys
    import time
    from pathlib import Path

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    root = Path(__file__).resolve().parents[2]
    code = "import sys; from caseframe.core.web.serving import serve; serve('127.0.0.1', int(sys.argv[1]), int(sys.argv[2]), 'tests.fixtures.pid_app:create')"
    server = subprocess.Popen([sys.executable, "-c", code, str(port), str(workers)], cwd=root)
    try:
        pids: set[int] = set()
        deadline = time.monotonic() + 60
        while len(pids) < workers:  # every worker up (each answers some of a stream of new connections)
            assert time.monotonic() < deadline and server.poll() is None, "the server did not start"
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=2) as c:
                    c.sendall(b"GET /pid HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
                    pids.add(int(c.makefile("rb").read().split(b"\r\n\r\n", 1)[1]))
            except OSError:
                time.sleep(0.2)
        yield port
    finally:
        server.terminate()
        server.wait(timeout=30)


def _pids_of_connections(workers: int, connections: int, bursts: int = 1) -> list[int]:
    """Open ``connections`` keep-alive connections at once to a server of ``workers`` processes, and send a request
    on each, ``bursts`` times over: the worker pid that answered each."""

    async def burst(port: int) -> list[int]:
        opened = await asyncio.gather(
            *[asyncio.open_connection("127.0.0.1", port) for _ in range(connections)]
        )
        answered = []
        for _, writer in opened:
            writer.write(b"GET /pid HTTP/1.1\r\nHost: t\r\n\r\n")
        for reader, writer in opened:
            await reader.readuntil(b"\r\n\r\n")
            answered.append(int(await reader.read(20)))
            writer.close()
        return answered

    with _served(workers) as port:
        return [pid for _ in range(bursts) for pid in asyncio.run(burst(port))]


@pytest.mark.skipif(not BALANCED, reason="SO_REUSEPORT spreads connections on Linux only")
def test_connections_opened_at_once_are_spread_over_the_workers():
    """With the one listening socket uvicorn shares, the worker that woke first accepted a whole burst: 16
    keep-alive connections came out 14 and 2, and one worker queued the requests of 14 while the other idled.
    Each worker now listens on a socket of its own (SO_REUSEPORT) and the kernel spreads them. Four bursts of 32
    connections over two workers: each takes at least a third of the 128. With the shared socket the four came out
    1, 6, 7 and 10 of 32 (24 of 128); a fair coin gives fewer than 43 of 128 once in 8,000 runs, where one burst
    judged alone (at least 8 of 32) failed once in 500, and once in CI (7 of 32)."""
    answered = _pids_of_connections(2, 32, bursts=4)
    counts = sorted(answered.count(pid) for pid in set(answered))
    assert len(counts) == 2 and counts[0] >= 43, counts


async def _keep_asking(port: int, connections: int, rounds: int) -> list[list[int]]:
    """``connections`` clients each sending ``rounds`` requests, one after another, on a keep-alive connection, and
    opening a new one whenever a response says ``Connection: close`` (as browsers, proxies and wrk do): for each
    round, the pid of the worker that answered each client."""
    answered: list[list[int]] = [[] for _ in range(rounds)]
    # in step: a client done early closing its connection would unsettle the others' last rounds
    in_step = asyncio.Barrier(connections)

    async def client() -> None:
        reader = writer = None
        for round_ in range(rounds):
            if writer is None:
                reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(b"GET /pid HTTP/1.1\r\nHost: t\r\n\r\n")
            head = (await reader.readuntil(b"\r\n\r\n")).lower()
            length = int(head.split(b"content-length:", 1)[1].split(b"\r\n", 1)[0])
            answered[round_].append(int(await reader.readexactly(length)))
            if b"connection: close" in head:
                writer.close()
                writer = None
            await in_step.wait()
        if writer is not None:
            writer.close()

    await asyncio.gather(*[client() for _ in range(connections)])
    return answered


@pytest.mark.skipif(not BALANCED, reason="SO_REUSEPORT spreads connections on Linux only")
def test_a_pool_of_keep_alive_connections_settles_evenly_over_the_workers():
    """The kernel hashes each connection, so 16 keep-alive connections came out 10 and 6 by chance, and stayed so:
    the requests on the 10 waited longer. A worker holding more than its share now closes a connection after
    answering (Connection: close), its client reconnects and is hashed again: within a few requests the split is
    even, and stays even."""
    with _served(2) as port:
        answered = asyncio.run(_keep_asking(port, 16, 40))
    last = answered[-10:]
    assert all(sorted(collections.Counter(pids).values()) == [8, 8] for pids in last), str(
        [sorted(collections.Counter(pids).values()) for pids in answered]
    )


def test_connection_shares_count_each_workers_connections_and_say_who_holds_too_many(tmp_path, monkeypatch):
    """The counts the workers keep: a worker takes a free slot (or an ended worker's), counts its connections in
    it, and holds more than its share only past an even split of the live workers' connections."""
    from caseframe.core.web.serving import ConnectionShares

    path = ConnectionShares.create(2)
    try:
        mine = ConnectionShares(path)
        assert mine.claim()
        other = ConnectionShares(path)
        monkeypatch.setattr(os, "getpid", lambda: 999_999_1)  # another worker, not a live process
        assert other.claim() and other._mine != mine._mine
        for _ in range(3):
            other.opened()
        monkeypatch.undo()
        for _ in range(5):
            mine.opened()
        # 5 of 8: more than half, but the other worker's slot belongs to no live process: its 3 are gone with it
        assert not mine.over_share()
        assert ConnectionShares(path).claim()  # the ended worker's slot is free again
        full = ConnectionShares(path)
        assert not full.claim() and not full.over_share()  # no slot: counts nothing, never closes
    finally:
        os.unlink(path)


def test_connection_shares_close_past_an_even_split_of_live_workers(tmp_path):
    from caseframe.core.web.serving import ConnectionShares

    path = ConnectionShares.create(2)
    try:
        mine = ConnectionShares(path)
        assert mine.claim()
        parent = os.getppid()  # a live process standing for the other worker
        ConnectionShares.SLOT.pack_into(mine._map, (1 - mine._mine) * ConnectionShares.SLOT.size, parent, 7)
        for _ in range(8):
            mine.opened()
        assert not mine.over_share()  # 8 of 15: an even split of 15 gives 8
        mine.opened()
        assert mine.over_share()  # 9 of 16
        mine.closed()
        assert not mine.over_share()
    finally:
        os.unlink(path)


def _worker_pids(supervisor: int) -> set[int]:
    """The worker processes ``supervisor`` started (not multiprocessing's resource tracker), from /proc."""
    found = set()
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            with contextlib.suppress(OSError):
                with open(f"/proc/{entry}/stat") as f:
                    parent = int(f.read().rsplit(")", 1)[1].split()[1])
                with open(f"/proc/{entry}/cmdline", "rb") as f:
                    spawned = b"multiprocessing.spawn" in f.read()
                if parent == supervisor and spawned:
                    found.add(int(entry))
    return found


@pytest.mark.skipif(not os.path.isdir("/proc"), reason="counts the workers from /proc (Linux)")
@pytest.mark.own_sqlite
def test_sqlite_is_served_by_two_workers_that_write_one_exact_audit_trail(tmp_path):
    """``caseframe serve --workers 2`` on the embedded SQLite file: both workers serve signed-in caseworkers
    reading cases at once (each view an audit event, written by either process, sealed by either process's
    sealer), nothing is refused or fails, and ``caseframe audit verify`` finds the one chain exact."""
    import subprocess
    import sys
    import time
    from pathlib import Path
    from types import SimpleNamespace

    import httpx

    from caseframe.core.demo import DEMO_PASSWORD, DEMO_USERS, demo_email
    from caseframe.core.testing import sign_in
    from tests.core.test_cli import caseframe  # the command as a user runs it

    root = Path(__file__).resolve().parents[2]
    database = f"sqlite:///{tmp_path / 'two.sqlite'}"
    env = {
        **os.environ,
        "PYTHONPATH": str(root),
        "CASEFRAME_LOCAL_DEMO": "1",
        "CASEFRAME_AUDIT_KEY_FILE": str(tmp_path / "audit.key"),
    }
    env.pop("CASEFRAME_DATABASE_URL", None)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    log = tmp_path / "server.log"
    with open(log, "w") as out:
        server = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "caseframe",
                "--database",
                database,
                "serve",
                "--workers",
                "2",
                "--demo",
                "--port",
                str(port),
            ],
            cwd=tmp_path,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while len(_worker_pids(server.pid)) < 2 or not _answers(base + "/health"):
            assert time.monotonic() < deadline and server.poll() is None, log.read_text()[-3000:]
            time.sleep(0.3)
        workers = _worker_pids(server.pid)

        async def caseworkers() -> list[int]:
            user = SimpleNamespace(email=demo_email(DEMO_USERS[0][0], DEMO_USERS[0][1]))
            # a connection each, which the kernel gives to either worker
            clients = [httpx.AsyncClient(base_url=base, timeout=60) for _ in range(8)]
            statuses = []
            try:
                for client in clients:
                    await sign_in(client, user, DEMO_PASSWORD)
                for _ in range(5):
                    answers = await asyncio.gather(
                        *[client.get(f"/cases/{n % 4 + 1}") for n, client in enumerate(clients)],
                        *[client.get("/") for client in clients],
                    )
                    statuses += [a.status_code for a in answers]
            finally:
                for client in clients:
                    await client.aclose()
            return statuses

        before = {pid: _cpu_ticks(pid) for pid in workers}
        statuses = asyncio.run(caseworkers())
        assert collections.Counter(statuses) == {200: 80}
        assert _worker_pids(server.pid) == workers, "a worker died"
        assert all(_cpu_ticks(pid) > before[pid] for pid in workers), "one worker served every request"
    finally:
        server.terminate()
        server.wait(timeout=30)
    text = log.read_text()
    assert "Traceback" not in text and "database is locked" not in text, text[-3000:]
    verify = caseframe("--database", database, "audit", "verify", env=env, cwd=tmp_path)
    assert verify.returncode == 0, verify.stdout + verify.stderr


def _cpu_ticks(pid: int) -> int:
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])  # utime + stime


def _answers(url: str) -> bool:
    import urllib.request

    try:
        with urllib.request.urlopen(url, timeout=1) as r:
            return r.status == 200
    except OSError:
        return False
