"""What one case page costs, in process: the worker's CPU, the statements it sends and PostgreSQL's CPU for each.

The data is ``bench_http.py``'s (5 subjects, 100 timeline events, 3 tasks), with ``--views`` earlier views of
the case in the audit trail, as a benchmark run leaves them. The page is requested ``--requests`` times through
the ASGI app, one at a time; then (PostgreSQL) every statement one page sent is replayed ``--repeat`` times on
one connection, and that backend's CPU is read from ``/proc/<pid>/stat`` around the repetitions.

    python bench/profile_case_page.py [--database-url postgresql://...] [--requests 300] [--views 4000]
    python bench/profile_case_page.py --cprofile 30      # the 30 dearest functions of the worker, by own time
    python bench/profile_case_page.py --page area --cases 10000   # the same for the area list (or My work: home)
    python bench/profile_case_page.py --database-url postgresql://... --compare
        # the ways of core/cases/page_reads.py in turn, 50 pages at a time: statements, worker and PostgreSQL CPU

CPU ms/page is this process's CPU time per request (client included); judge changes by it, in one run.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _server import seeded_database, sign_in  # noqa: E402
from bench_http import build, view_event  # noqa: E402

_TICKS = os.sysconf("SC_CLK_TCK")


def backend_cpu(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / _TICKS


class Recorder:
    """The statements asyncpg or aiosqlite is given while on: text and arguments, in order."""

    last: Recorder | None = None

    def __init__(self) -> None:
        Recorder.last = self
        self.on = False
        self.sent: list[tuple[str, tuple]] = []
        import asyncpg.connection

        cls = asyncpg.connection.Connection
        for name in ("fetch", "execute", "fetchrow", "fetchval"):
            setattr(cls, name, self._wrap(getattr(cls, name)))
        import aiosqlite

        for name in ("execute", "execute_fetchall", "executemany"):
            setattr(aiosqlite.Connection, name, self._wrap(getattr(aiosqlite.Connection, name)))

    def _wrap(self, original):
        recorder = self

        def recorded(connection, query, *args, **kwargs):
            if recorder.on:
                recorder.sent.append((query, args))
            return original(connection, query, *args, **kwargs)

        return recorded


def timed_phases() -> dict[str, float]:
    """CPU spent (process time) in the case page's context and in rendering templates, from now on."""
    import jinja2

    from caseframe.core.cases import web

    spent = {"the page's context (reads included)": 0.0, "rendering templates": 0.0}
    context, render = web.case_page_context, jinja2.Template.render

    async def timed_context(*args, **kwargs):
        t0 = time.process_time()
        try:
            return await context(*args, **kwargs)
        finally:
            spent["the page's context (reads included)"] += time.process_time() - t0

    def timed_render(*args, **kwargs):
        t0 = time.process_time()
        try:
            return render(*args, **kwargs)
        finally:
            spent["rendering templates"] += time.process_time() - t0

    web.case_page_context = timed_context
    jinja2.Template.render = timed_render
    return spent


WAYS = {
    "one by one (before)": {"ONE_STATEMENT": False},
    "reads in one, view and bell apart": {"ONE_STATEMENT": True, "WITH_VIEW_AND_BELL": False},
    "view, reads and bell in one": {"ONE_STATEMENT": True, "WITH_VIEW_AND_BELL": True},
}


async def compare(client, path: str, engine, args) -> None:
    """The ways of reading the page (core/cases/page_reads.py), in turn, blocks of 50 pages each: the worker's
    CPU and (PostgreSQL) the CPU of the pool's backends, per page."""
    from caseframe.core.cases import page_reads

    backends = []
    if engine.engine_type == "postgres":
        backends = [h._con.get_server_pid() for h in engine.pool._holders if h._con is not None]
    totals = {name: [0.0, 0.0, 0, 0] for name in WAYS}
    for _ in range(args.requests // 50):
        for name, settings in WAYS.items():
            for key, value in settings.items():
                setattr(page_reads, key, value)
            recorder_count = len(Recorder.last.sent) if Recorder.last else 0
            Recorder.last.on = True
            await client.get(path)
            Recorder.last.on = False
            totals[name][3] = len(Recorder.last.sent) - recorder_count
            for _ in range(5):
                await client.get(path)
            db = sum(backend_cpu(pid) for pid in backends)
            cpu = time.process_time()
            for _ in range(50):
                await client.get(path)
            totals[name][0] += time.process_time() - cpu
            totals[name][1] += sum(backend_cpu(pid) for pid in backends) - db
            totals[name][2] += 50
    print(f"{'way':<34}{'statements':>11}{'worker CPU ms':>15}{'PostgreSQL CPU ms':>19}{'sum':>8}")
    for name, (cpu, db, pages, statements) in totals.items():
        w, d = cpu * 1000 / pages, db * 1000 / pages
        print(f"{name:<34}{statements:>11}{w:>15.2f}{d:>19.2f}{w + d:>8.2f}")


async def replay(url: str, sent: list[tuple[str, tuple]], repeat: int) -> None:
    import asyncpg

    con = await asyncpg.connect(
        url.split("?")[0], server_settings={"search_path": url.split("search_path=")[1]}
    )
    try:
        pid = await con.fetchval("SELECT pg_backend_pid()")
        figures = []
        for query, args in sent:
            if query.strip().upper() in ("BEGIN", "COMMIT", "ROLLBACK") or query.startswith("SAVEPOINT"):
                continue
            for _ in range(20):
                await con.fetch(query, *args)
            before = backend_cpu(pid)
            for _ in range(repeat):
                await con.fetch(query, *args)
            figures.append(((backend_cpu(pid) - before) * 1000 / repeat, " ".join(query.split())))
        total = sum(ms for ms, _ in figures)
        print(
            f"PostgreSQL CPU of one page's {len(figures)} statements replayed {repeat} times: {total:.2f} ms"
        )
        for ms, text in sorted(figures, reverse=True):
            print(f"{ms:8.3f} ms  {text[:220]}")
    finally:
        await con.close()


async def add_views(case_id: int, user_id: int, agency_id: int, views: int) -> None:
    from caseframe.core import clock
    from caseframe.core.audit.tables import AuditEvent

    now = clock.now()
    for start in range(0, views, 500):
        await AuditEvent.insert(
            *[view_event(case_id, user_id, agency_id, now) for _ in range(min(500, views - start))]
        )


async def main(args) -> None:
    logging.disable(logging.INFO)

    async def seed():
        data = await build(args.cases)
        from caseframe.core.auth.tables import User

        user = await User.select(User.agency).where(User.id == data["user_id"]).first()
        await add_views(data["case"], data["user_id"], user["agency"], args.views)
        return data

    async with seeded_database(args.database_url, seed, "caseframe-profile-") as (url, data):
        await run(args, url, data)


async def run(args, url: str, data: dict) -> None:
    from caseframe.core.context import build_context
    from caseframe.core.db.engine import bind, close, engine_from_url
    from caseframe.core.settings import Settings
    from caseframe.core.web.app import create_app

    recorder = Recorder()
    ctx = build_context()
    engine = engine_from_url(url)
    bind(engine)
    sqlite = url.startswith("sqlite")
    if not sqlite:  # all four connections open from the start, so their backends' CPU can be read
        await engine.start_connection_pool(min_size=4, max_size=4)
    app = create_app(Settings(local_demo=True, database_url=url), ctx=ctx, engine=engine)
    path = {"case": f"/cases/{data['case']}", "home": "/", "area": f"/areas/{data['area']}"}[args.page]
    _, client = await sign_in("http://bench", data["email"], transport=httpx.ASGITransport(app=app))
    try:
        for _ in range(30):
            r = await client.get(path)
            assert r.status_code == 200, r.status_code
        recorder.on = True
        await client.get(path)
        recorder.on = False
        one_page = list(recorder.sent)
        if args.compare:
            await compare(client, path, engine, args)
            return
        phases = timed_phases()
        profiler = None
        if args.cprofile:
            import cProfile

            profiler = cProfile.Profile(time.process_time)
            profiler.enable()
        cpu = time.process_time()
        for _ in range(args.requests):
            await client.get(path)
        cpu = time.process_time() - cpu
        if profiler is not None:
            profiler.disable()
        print(f"{'SQLite' if sqlite else 'PostgreSQL'}: {len(one_page)} statements a page of {path}")
        for query, _ in one_page:
            print(f"    {' '.join(query.split())[:160]}")
        print(f"worker CPU {cpu * 1000 / args.requests:.2f} ms a page ({args.requests} pages)")
        for name, spent in phases.items():
            print(f"    of which {name}: {spent * 1000 / args.requests:.2f} ms")
        if profiler is not None:
            import pstats

            pstats.Stats(profiler).sort_stats("tottime").print_stats(args.cprofile)
            pstats.Stats(profiler).sort_stats("cumtime").print_stats(args.cprofile)
            pstats.Stats(profiler).sort_stats("cumtime").print_stats(r"caseframe|wt-|core/", args.cprofile)
    finally:
        await client.aclose()
        if not sqlite:
            await engine.close_connection_pool()
        await close(engine)
    if not sqlite and args.repeat:
        await replay(url, one_page, args.repeat)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", help="postgresql://... (default: a temporary SQLite file)")
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--cases", type=int, default=1000)
    parser.add_argument(
        "--views", type=int, default=4000, help="earlier views of the case in the audit trail"
    )
    parser.add_argument("--repeat", type=int, default=300, help="replays of each statement (PostgreSQL)")
    parser.add_argument(
        "--compare", action="store_true", help="the ways of reading the page in turn (--requests each)"
    )
    parser.add_argument("--cprofile", type=int, default=0, metavar="N", help="print the N dearest functions")
    parser.add_argument(
        "--page",
        choices=["case", "home", "area"],
        default="case",
        help="the page: the case page (default), My work, or the area list (of --cases cases)",
    )
    asyncio.run(main(parser.parse_args()))
