"""What the HTTP benchmarks share: a database of their own, servers under uvicorn, signing in over HTTP.

    from _server import Server, caseframe_server, prepare_database, drop_database, sign_in

* ``prepare_database(url)``: a temporary SQLite file, or with a PostgreSQL URL a schema of its own (every
  worker finds it through ``search_path``); migrated and bound, ready for data. ``drop_database`` removes it.
* ``caseframe_server(url, workers)``: the real server, started by ``caseframe serve`` as an operator would.
* ``Server(name, argv, workers)``: any command that serves HTTP on ``server.port`` (a bare baseline app).
* ``bare_rows(url)``: for a bare baseline app, a coroutine ``rows(sql, *args)`` running plain SQL with ``?``
  placeholders on the same database (aiosqlite, or an asyncpg pool on the schema), rows as dicts.
* ``sign_in(base, email)``: the sign-in page as a browser uses it, accepting the memorandum of understanding
  when one is published; returns the session cookie header value and the open client.
* ``bench_arguments(doc, duration=...)`` and ``parse_bench_arguments(parser)``: the options every HTTP benchmark
  takes (``--database-url``, ``--workers``, ``--duration``, ``--check``), checked the same way everywhere.
* ``seeded_database(url, seed, prefix)``: ``prepare_database``, ``seed()`` to write the data, unbind, ``vacuum`` (on
  PostgreSQL, as autovacuum would); yields the URL and the data, and drops the database on the way out.
* ``timed_statements()``: every statement asyncpg sends until ``stop()``, grouped, with ``report(requests)``.
* ``Server.cpu_seconds()`` and ``cpu_ms_per_request(server, wrk, ...)``: the server's CPU time per request served,
  a figure other work on a shared machine does not inflate the way it inflates wall-clock rates.

The scripts run from the repository root or anywhere: this folder and the root are put on ``sys.path``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
BENCH = Path(__file__).resolve().parent
for _path in (str(ROOT), str(BENCH)):
    if _path not in sys.path:
        sys.path.insert(0, _path)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def prepare_database(url: str | None, *, prefix: str = "caseframe-bench-") -> tuple[str, str | None]:
    """Create, migrate and bind a database; return the URL servers use and the schema to drop (or None).

    Call ``unbind_database`` after writing the data, before servers start (they open their own engine).
    """
    from caseframe.core.db.engine import bind, engine_from_url, is_sqlite, migrate

    schema = None
    if url is None:
        url = f"sqlite:///{Path(tempfile.mkdtemp(prefix=prefix)) / 'bench.sqlite'}"
    else:
        import asyncpg

        schema = f"cf_bench_{uuid.uuid4().hex[:10]}"
        con = await asyncpg.connect(url, timeout=5)
        try:
            await con.execute(f'CREATE SCHEMA "{schema}"')
        finally:
            await con.close()
        # asyncpg passes unknown DSN parameters on as server settings: every worker uses the schema
        url = f"{url}{'&' if '?' in url else '?'}search_path={schema}"
    engine = engine_from_url(url)
    await migrate(engine)
    if not is_sqlite(engine):
        await engine.start_connection_pool(min_size=1, max_size=4)
    bind(engine)
    _bound[url] = engine
    return url, schema


_bound: dict[str, object] = {}


@contextlib.asynccontextmanager
async def seeded_database(url: str | None, seed, prefix: str = "caseframe-bench-"):
    """A database of its own with ``await seed()``'s data in it; yields ``(url, data)`` and drops it afterwards.

    Stop the servers using it inside the ``async with``."""
    url, schema = await prepare_database(url, prefix=prefix)
    try:
        try:
            data = await seed()
        finally:
            await unbind_database(url)
        await vacuum(url, schema)
        yield url, data
    finally:
        await drop_database(url, schema)


def bench_arguments(
    doc: str, *, duration: float, duration_help: str = "seconds per wrk run"
) -> argparse.ArgumentParser:
    """A parser with the options every HTTP benchmark takes; add a script's own before ``parse_bench_arguments``."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument(
        "--database-url",
        help="postgresql://... to run on PostgreSQL in a fresh schema (default: a temporary SQLite file)",
    )
    parser.add_argument(
        "--workers", type=int, help="server processes, caseframe's and the baseline's (default 2)"
    )
    parser.add_argument(
        "--duration", type=float, default=duration, help=f"{duration_help} (default {duration:g})"
    )
    parser.add_argument("--check", action="store_true", help="exit 1 if a target is missed")
    return parser


def parse_bench_arguments(parser: argparse.ArgumentParser) -> argparse.Namespace:
    """Parse, refuse what cannot run (a non-PostgreSQL URL), default the workers (2: one a core of the 2-core machine
    issue 13 names, on either database)."""
    args = parser.parse_args()
    if args.database_url and not args.database_url.startswith(("postgres://", "postgresql://")):
        parser.error("--database-url takes a PostgreSQL URL; SQLite is the default")
    args.workers = args.workers or 2
    if args.workers < 1:
        parser.error("--workers must be at least 1")
    if args.duration <= 0:
        parser.error("--duration must be more than 0 seconds")
    return args


async def vacuum(url: str, schema: str | None) -> None:
    """PostgreSQL: VACUUM ANALYZE every table of ``schema``, as autovacuum would have done to a database this size
    long before anyone searched it. Straight after a bulk load the visibility map is empty, so PostgreSQL cannot
    answer from an index alone and reads the table's rows too (this machine's PostgreSQL runs with autovacuum
    off); a benchmark of that state measures the load, not the product."""
    if not schema:
        return
    import asyncpg

    con = await asyncpg.connect(url.split("?search_path=")[0].split("&search_path=")[0], timeout=5)
    try:
        tables = await con.fetch("SELECT tablename FROM pg_tables WHERE schemaname = $1", schema)
        for row in tables:
            await con.execute(f'VACUUM (ANALYZE) "{schema}"."{row["tablename"]}"')
    finally:
        await con.close()


async def unbind_database(url: str) -> None:
    from caseframe.core.db.engine import close, is_sqlite

    engine = _bound.pop(url)
    if is_sqlite(engine):
        await close(engine)
    else:
        await engine.close_connection_pool()


async def drop_database(url: str, schema: str | None) -> None:
    """Drop the schema ``prepare_database`` made (PostgreSQL) or the temporary folder (SQLite)."""
    if schema:
        import asyncpg

        base = url.split("?search_path=")[0].split("&search_path=")[0]
        con = await asyncpg.connect(base, timeout=5)
        try:
            await con.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        finally:
            await con.close()
    elif url.startswith("sqlite:///"):
        shutil.rmtree(Path(url[len("sqlite:///") :]).parent, ignore_errors=True)


class Server:
    """A command serving HTTP on a free local port, in a process group of its own; ``stop()`` ends it."""

    def __init__(
        self, name: str, argv: list[str], port: int, workers: int = 1, env: dict[str, str] | None = None
    ):
        self.name, self.workers, self.port = name, workers, port
        self.base = f"http://127.0.0.1:{port}"
        self.log = Path(tempfile.mkstemp(prefix=f"bench-{name}-", suffix=".log")[1])
        self.process = subprocess.Popen(
            argv,
            cwd=ROOT,
            env={**os.environ, **(env or {})},
            stdout=subprocess.DEVNULL,
            stderr=self.log.open("w"),
            start_new_session=True,
        )

    def pids(self) -> list[int]:
        """The server's processes: uvicorn's supervisor and its workers (from /proc; Linux only)."""
        found = [self.process.pid]
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                if int(stat.read_text().rsplit(")", 1)[1].split()[1]) == self.process.pid:
                    found.append(int(stat.parent.name))
            except (OSError, ValueError, IndexError):
                continue
        return found

    def cpu_seconds(self) -> float:
        """CPU time (user + system) the server's processes have used so far, from /proc (Linux only).

        Divided by the requests served between two readings it gives CPU per request, which a busy machine
        does not inflate the way it does wall-clock rates (see ``cpu_ms_per_request``)."""
        total = 0
        for pid in self.pids():
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            total += int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15 of stat)
        return total / _CLOCK_TICKS

    def worker_pids(self) -> list[int]:
        """The processes that answer requests: the workers, or the one process when there are none."""
        if self.workers == 1:
            return [self.process.pid]
        children = self.pids()[1:]
        return [p for p in children if "multiprocessing.spawn" in _cmdline(p)] or children

    async def ready(self, timeout: float = 120.0) -> None:
        deadline = time.monotonic() + timeout
        async with httpx.AsyncClient(base_url=self.base, timeout=2) as client:
            while time.monotonic() < deadline:
                if self.process.poll() is not None:
                    raise SystemExit(
                        f"{self.name} server stopped at start-up:\n{self.log.read_text()[-3000:]}"
                    )
                try:
                    up = (await client.get("/health")).status_code == 200
                except httpx.TransportError:
                    up = False
                if up and (self.workers == 1 or len(self.pids()) > self.workers):
                    if self.workers > 1:
                        await asyncio.sleep(2.0)  # the last worker to fork is still importing
                    return
                await asyncio.sleep(0.2)
        raise SystemExit(f"{self.name} server not ready in {timeout:.0f} s:\n{self.log.read_text()[-3000:]}")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        text = self.log.read_text(errors="replace") if self.log.exists() else ""
        if any(m in text for m in ("Traceback", "ERROR", "unhandled ")):  # a failed request is worth reading
            print(f"{self.name} server logged errors; its log is kept at {self.log}", file=sys.stderr)
        else:
            self.log.unlink(missing_ok=True)


class timed_statements:
    """Every statement asyncpg sends while this is running: how often, and the wall time from sending it to its
    answer (on a quiet machine, mostly PostgreSQL's own time), grouped by the statement's text."""

    def __init__(self) -> None:
        import asyncpg.connection

        self.cls = asyncpg.connection.Connection
        self.spent: dict[str, list[float]] = {}
        self.saved = {name: getattr(self.cls, name) for name in ("fetch", "execute", "fetchrow", "fetchval")}
        for name, original in self.saved.items():
            setattr(self.cls, name, self._timed(original))

    def _timed(self, original):
        spent = self.spent

        async def timed(connection, query, *args, **kwargs):
            t0 = time.perf_counter()
            try:
                return await original(connection, query, *args, **kwargs)
            finally:
                spent.setdefault(" ".join(query.split()), []).append(time.perf_counter() - t0)

        return timed

    def stop(self) -> None:
        for name, original in self.saved.items():
            setattr(self.cls, name, original)

    def report(self, requests: int, per: str = "request") -> None:
        rows = sorted(self.spent.items(), key=lambda item: -sum(item[1]))
        total = sum(sum(times) for _, times in rows)
        print(f"statements sent: {sum(len(t) for _, t in rows)} ({total * 1000 / requests:.2f} ms a {per})")
        print(f"{'count':>7}{'ms/' + per:>11}{'mean ms':>9}{'max ms':>8}  statement")
        for text, times in rows[:15]:
            print(
                f"{len(times):>7}{sum(times) * 1000 / requests:>11.2f}{statistics.mean(times) * 1000:>9.2f}"
                f"{max(times) * 1000:>8.2f}  {text[:300]}"
            )


_CLOCK_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def database_cpu_seconds() -> float:
    """CPU time (user + system) used so far by every PostgreSQL server process on this machine (its backends
    included), from /proc; 0 where there is none (SQLite runs inside the server)."""
    total = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:
            continue
        if "(postgres)" not in text:
            continue
        fields = text.rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])
    return total / _CLOCK_TICKS


def cpu_ms_per_request(server: Server, run, *args, **kwargs) -> dict:
    """Call ``run(*args, **kwargs)`` (a wrk run returning a dict with ``requests``) and add to its result
    ``cpu_ms``: the server's CPU milliseconds per request served meanwhile, and ``db_cpu_ms``: PostgreSQL's (all
    of its processes on the machine, so other work on the database counts too; 0 on SQLite)."""
    before, db_before = server.cpu_seconds(), database_cpu_seconds()
    result = run(*args, **kwargs)
    used, db_used = server.cpu_seconds() - before, database_cpu_seconds() - db_before
    served = result.get("requests")
    result["cpu_ms"] = used * 1000 / served if served else float("nan")
    result["db_cpu_ms"] = db_used * 1000 / served if served else float("nan")
    return result


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def caseframe_server(url: str, workers: int = 1) -> Server:
    """The real server: ``caseframe serve`` on a free port (it migrates, then runs uvicorn)."""
    port = free_port()
    exe = Path(sys.executable).with_name("caseframe")
    argv = [str(exe)] if exe.exists() else [sys.executable, "-m", "caseframe"]
    # the code of this checkout, not whichever one the virtualenv's editable install points at (a worktree
    # benchmarked with the main checkout's .venv ran the main checkout's code)
    path = os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH", "")) if p)
    return Server(
        "caseframe",
        [*argv, "serve", "--port", str(port), "--workers", str(workers)],
        port,
        workers,
        {"CASEFRAME_DATABASE_URL": url, "CASEFRAME_LOCAL_DEMO": "1", "PYTHONPATH": path},
    )


def uvicorn_server(name: str, target: str, workers: int = 1, env: dict[str, str] | None = None) -> Server:
    """A uvicorn factory ``module:function`` from this folder (a bare baseline), served as caseframe is: by
    ``caseframe.core.web.serving.serve``, so both have the same keep-alive and, with several workers, the same
    TCP_NODELAY listening socket (plain ``uvicorn --workers 2`` leaves it off: about 40 ms of delayed ACK a
    request at one connection, which made the bare baseline slower than caseframe there)."""
    port = free_port()
    path = os.pathsep.join(p for p in (str(BENCH), str(ROOT), os.environ.get("PYTHONPATH", "")) if p)
    code = (
        "import sys; from caseframe.core.web.serving import serve; "
        "serve(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4])"
    )
    return Server(
        name,
        [sys.executable, "-c", code, "127.0.0.1", str(port), str(workers), target],
        port,
        workers,
        {**(env or {}), "PYTHONPATH": path},
    )


def bare_rows(url: str):
    """Plain SQL for a bare baseline on the benchmark's database: no ORM, one connection or a small pool."""
    import sqlite3

    db: dict = {}

    async def rows(sql: str, *args) -> list[dict]:
        if url.startswith("sqlite"):
            if "con" not in db:
                import aiosqlite

                db["con"] = await aiosqlite.connect(url[len("sqlite:///") :])
                db["con"].row_factory = sqlite3.Row
            async with db["con"].execute(sql, args) as cursor:
                return [dict(r) for r in await cursor.fetchall()]
        if "pool" not in db:
            import asyncpg

            db["pool"] = await asyncpg.create_pool(
                url.split("?")[0],
                min_size=1,
                max_size=10,
                server_settings={"search_path": url.split("search_path=")[1]},
            )
        parts = sql.split("?")
        sql = parts[0] + "".join(f"${i}{p}" for i, p in enumerate(parts[1:], 1))
        return [dict(r) for r in await db["pool"].fetch(sql, *args)]

    async def close() -> None:
        if "con" in db:
            await db["con"].close()
        if "pool" in db:
            await db["pool"].close()

    rows.close = close  # type: ignore[attr-defined]  # the bare app closes it on shutdown
    return rows


async def sign_in(
    base: str, email: str, password: str | None = None, *, transport: httpx.AsyncBaseTransport | None = None
) -> tuple[str, httpx.AsyncClient]:
    """Sign in through the sign-in page as a browser would (and accept the MoU if asked); return the
    ``caseframe_session=...`` cookie and the client, still open. ``transport=httpx.ASGITransport(app=app)``
    signs in to an app called in-process."""
    from caseframe.core.testing import TEST_PASSWORD, csrf_token_of

    client = httpx.AsyncClient(base_url=base, timeout=60, transport=transport)
    page = await client.get("/sign-in")
    response = await client.post(
        "/sign-in",
        data={"email": email, "password": password or TEST_PASSWORD, "csrf_token": csrf_token_of(page.text)},
    )
    if response.status_code != 303:
        raise SystemExit(f"signing in {email} answered {response.status_code}")
    home = await client.get(response.headers.get("location", "/"))
    if home.status_code == 303 and home.headers.get("location", "").startswith("/mou"):
        page = await client.get("/mou")
        version = re.search(r'name="version" value="(\d+)"', page.text)
        answer = await client.post(
            "/mou",
            data={
                "csrf_token": csrf_token_of(page.text),
                "accept": "yes",
                "version": version.group(1) if version else "0",
                "next": "/",
            },
        )
        if answer.status_code != 303:
            raise SystemExit(f"accepting the MoU as {email} answered {answer.status_code}")
    return f"caseframe_session={client.cookies['caseframe_session']}", client
