"""Person search in-process at 100,000 persons: CPU per search, a profile, and the answers to compare.

The data and the 90 searches are ``bench_search.py``'s. The real app is called through httpx's ASGI
transport, one search at a time, signed in as the benchmark's caseworker; there is no network or uvicorn, so
what is left is the handler, the template, the session and the database driver.

    python bench/profile_search.py [--database-url postgresql://...] [--searches 900] [--persons 100000]
    python bench/profile_search.py --profile profile.txt        # pyinstrument over the timed searches
    python bench/profile_search.py --cprofile profile.pstats    # cProfile (process time) over them
    python bench/profile_search.py --answers answers.json       # each search's results, to compare two checkouts
    python bench/profile_search.py --seeded seeded.json         # a database seeded before (see --help)
    python bench/profile_search.py --statements                 # each SQL statement's count and time (PostgreSQL)
    python bench/profile_search.py --slowest 10                 # the ten searches that took longest
    python bench/profile_search.py --alternate 10 --slowest 10  # the search before its postings, and now, in turns

CPU ms/search is this process's CPU time (``time.process_time``, so aiosqlite's thread is in it, and the
client's share) per search. ``--answers`` writes, for each of the 90 searches, the ids, names and scores shown
and the cases listed, as the page renders them: run it on two checkouts and ``diff`` the files.

``--alternate N`` runs the 90 searches N times each way, in turns: as the search is now, and as it was before
cf_name_posting (every person holding a matched word read, and its visibility asked of each). The two must show the
same pages; it prints each way's CPU per search, the worker's and (on PostgreSQL, on one connection) its backend's.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import re
import statistics
import sys
import time
from pathlib import Path
from urllib.parse import urlencode

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _server import database_cpu_seconds, seeded_database, sign_in, timed_statements  # noqa: E402
from bench_search import PERSONS, seed  # noqa: E402

ROW = re.compile(r'<a[^>]* href="/persons/(\d+)"[^>]*>(.*?)</a>', re.S)


def answers_of(page: str) -> dict:
    """What a results page shows, without the parts that change per request (the CSRF token)."""
    start = page.find("<main")
    body = page[start : page.find("</main>", start)] if start >= 0 else page
    body = re.sub(r'name="csrf_token" value="[^"]+"', "", body)
    return {"persons": ROW.findall(body), "html": body}


async def run_searches(client: httpx.AsyncClient, bodies: list[str], count: int) -> list[float]:
    times = []
    for n in range(count):
        t0 = time.perf_counter()
        response = await client.post(
            "/persons/search",
            content=bodies[n % len(bodies)],
            headers={"content-type": "application/x-www-form-urlencoded"},
        )
        times.append(time.perf_counter() - t0)
        if response.status_code != 200:
            raise SystemExit(f"search {bodies[n % len(bodies)][:80]} answered {response.status_code}")
    return times


async def main(args) -> int:
    logging.disable(logging.INFO)
    if args.seeded:  # a database seeded before (url, email and searches in a JSON file), kept as it is
        data = json.loads(Path(args.seeded).read_text())
        return await run(args, data["url"], data)
    async with seeded_database(
        args.database_url, lambda: seed(args.persons), "caseframe-profile-search-"
    ) as (
        url,
        data,
    ):
        return await run(args, url, data)


async def write_answers(
    client: httpx.AsyncClient, searches: list[dict], bodies: list[str], path: str
) -> None:
    shown = []
    for search, body in zip(searches, bodies, strict=True):
        response = await client.post(
            "/persons/search",
            content=body,
            headers={"content-type": "application/x-www-form-urlencoded"},
        )
        shown.append({"search": search, "status": response.status_code, **answers_of(response.text)})
    Path(path).write_text(json.dumps(shown, indent=1, default=str))
    print(f"the answers to {len(bodies)} searches written to {path}")


async def run(args, url: str, data: dict) -> int:
    from caseframe.core.context import build_context
    from caseframe.core.db.engine import bind, close, engine_from_url
    from caseframe.core.settings import Settings
    from caseframe.core.testing import csrf_token_of
    from caseframe.core.web.app import create_app

    ctx = build_context()
    engine = engine_from_url(url)
    bind(engine)
    sqlite = url.startswith("sqlite")
    if not sqlite:  # as the server's start-up does (httpx's ASGI transport runs no lifespan)
        # one connection when alternating, so that its backend's CPU is the searches' alone
        await engine.start_connection_pool(min_size=1, max_size=1 if args.alternate else 4)
    app = create_app(Settings(local_demo=True, database_url=url), ctx=ctx, engine=engine)
    _, client = await sign_in("http://bench", data["email"], transport=httpx.ASGITransport(app=app))
    try:
        token = csrf_token_of((await client.get("/persons/")).text)
        bodies = [urlencode({**s, "csrf_token": token}) for s in data["searches"]]
        if args.alternate:
            return await alternate(args, client, data["searches"], bodies, sqlite)
        if args.answers:
            await write_answers(client, data["searches"], bodies, args.answers)
        await run_searches(client, bodies, 2 * len(bodies))  # warm-up
        profiler = None
        if args.profile:
            from pyinstrument import Profiler

            profiler = Profiler(async_mode="enabled", interval=0.0005)
            profiler.start()
        elif args.cprofile:
            import cProfile

            profiler = cProfile.Profile(time.process_time)
            profiler.enable()
        statements = timed_statements() if args.statements and not sqlite else None
        cpu, wall, db_cpu = time.process_time(), time.perf_counter(), database_cpu_seconds()
        times = await run_searches(client, bodies, args.searches)
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
        db_cpu = database_cpu_seconds() - db_cpu
        if statements is not None:
            statements.stop()
        if args.profile:
            profiler.stop()
            Path(args.profile).write_text(profiler.output_text(unicode=True, color=False, show_all=False))
        elif args.cprofile:
            profiler.disable()
            profiler.dump_stats(args.cprofile)
    finally:
        await client.aclose()
        if not sqlite:
            await engine.close_connection_pool()
        await close(engine)
    engine_name = "SQLite" if sqlite else "PostgreSQL"
    print(
        f"person search in-process, {engine_name}, {args.persons:,} persons, {args.searches} searches one at a time"
        f"{' (profiled)' if profiler else ''}"
    )
    print(
        f"CPU ms/search {cpu * 1000 / args.searches:.2f}"
        + (f" (PostgreSQL's {db_cpu * 1000 / args.searches:.2f})" if not sqlite else "")
        + f"; wall ms/search {wall * 1000 / args.searches:.2f}; "
        f"median {statistics.median(times) * 1000:.2f} ms; p95 {statistics.quantiles(times, n=20)[18] * 1000:.2f} ms"
    )
    if statements is not None:
        statements.report(args.searches, "search")
    if args.slowest:
        print_slowest(data["searches"], times, args.slowest)
    return 0


def backend_cpu_seconds(pid: int | None) -> float:
    """CPU time one PostgreSQL backend has run so far, to the nanosecond (/proc's schedstat; its stat counts
    ticks of 10 ms, too coarse for one search); 0 without one (SQLite)."""
    if pid is None:
        return 0.0
    return int(Path(f"/proc/{pid}/schedstat").read_text().split()[0]) / 1e9


async def alternate(
    args, client: httpx.AsyncClient, searches: list[dict], bodies: list[str], sqlite: bool
) -> int:
    """Each of the searches N times as the search is now and as it was before cf_name_posting, in turns; the pages
    compared, the CPU of each search each way (this process's and, on PostgreSQL, its one backend's) printed."""
    from caseframe.core.persons import service as persons
    from caseframe.core.persons.tables import Person

    now = persons._visible_holding
    ways = {"before": lambda actor, words: persons._holding(words), "now": now}
    pid = None if sqlite else (await Person.raw("SELECT pg_backend_pid() AS pid"))[0]["pid"]

    async def search(body: str) -> httpx.Response:
        return await client.post(
            "/persons/search", content=body, headers={"content-type": "application/x-www-form-urlencoded"}
        )

    shown = {}
    for name, way in ways.items():
        persons._visible_holding = way
        shown[name] = [answers_of((await search(body)).text)["html"] for body in bodies]
        await run_searches(client, bodies, len(bodies))  # warm-up
    differ = [searches[i] for i, (a, b) in enumerate(zip(*shown.values(), strict=True)) if a != b]
    # (wall, worker CPU, database CPU) of each search, by way and search
    took: dict[str, list[list[tuple[float, float, float]]]] = {name: [[] for _ in bodies] for name in ways}
    try:
        for _ in range(args.alternate):
            for name, way in ways.items():
                persons._visible_holding = way
                for i, body in enumerate(bodies):
                    wall, cpu, db = time.perf_counter(), time.process_time(), backend_cpu_seconds(pid)
                    if (await search(body)).status_code != 200:
                        raise SystemExit(f"search {searches[i]} failed")
                    took[name][i].append(
                        (
                            time.perf_counter() - wall,
                            time.process_time() - cpu,
                            backend_cpu_seconds(pid) - db,
                        )
                    )
    finally:
        persons._visible_holding = now
    print(
        f"person search in-process, {'SQLite' if sqlite else 'PostgreSQL'}, {args.persons:,} persons, "
        f"{len(bodies)} searches x {args.alternate} each way, in turns, one connection; ms"
    )
    print(
        f"{'':8}{'worker CPU':>11}{'DB CPU':>8}{'CPU p50':>9}{'CPU p95':>9}{'wall p50':>10}{'wall p95':>10}"
    )
    for name in ways:
        every = [t for per_search in took[name] for t in per_search]
        cpu = sorted(t[1] + t[2] for t in every)
        walls = [t[0] for t in every]
        print(
            f"{name:8}{statistics.fmean(t[1] for t in every) * 1000:11.2f}"
            f"{statistics.fmean(t[2] for t in every) * 1000:8.2f}"
            f"{statistics.median(cpu) * 1000:9.2f}{statistics.quantiles(cpu, n=20)[18] * 1000:9.2f}"
            f"{statistics.median(walls) * 1000:10.2f}{statistics.quantiles(walls, n=20)[18] * 1000:10.2f}"
        )
    if args.slowest:
        median_cpu = {  # the median worker and database CPU of each search, each way
            name: [
                tuple(statistics.median(t[k] for t in per_search) * 1000 for k in (1, 2))
                for per_search in took[name]
            ]
            for name in ways
        }
        order = sorted(range(len(bodies)), key=lambda i: -sum(median_cpu["before"][i]))
        print(
            f"the {args.slowest} searches of most CPU before (median ms of {args.alternate}: worker + database)"
        )
        for i in order[: args.slowest]:
            shown_search = {k: v for k, v in searches[i].items() if v}
            before, after = median_cpu["before"][i], median_cpu["now"][i]
            print(
                f"  before {before[0]:5.2f} + {before[1]:5.2f}   now {after[0]:5.2f} + {after[1]:5.2f}   "
                f"{shown_search}"
            )
    print(f"pages that differ: {len(differ)}" + (f" {differ[:5]}" if differ else ""))
    return 1 if differ else 0


def print_slowest(searches: list[dict], times: list[float], count: int) -> None:
    """The searches whose median time was longest: where a p95 over HTTP comes from."""
    by_search: dict[int, list[float]] = {}
    for n, took in enumerate(times):
        by_search.setdefault(n % len(searches), []).append(took)
    medians = sorted(((statistics.median(t), i) for i, t in by_search.items()), reverse=True)
    print(f"the {count} slowest searches (median ms of {len(times) // len(searches)} each):")
    for took, i in medians[:count]:
        shown = {k: v for k, v in searches[i].items() if v}
        print(f"  {took * 1000:7.2f}  {shown}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", help="postgresql://... (default: a temporary SQLite file)")
    parser.add_argument("--persons", type=int, default=PERSONS)
    parser.add_argument(
        "--searches", type=int, default=900, help="searches timed (default 900: each 10 times)"
    )
    parser.add_argument(
        "--profile", metavar="FILE", help="write a pyinstrument profile of the timed searches"
    )
    parser.add_argument(
        "--cprofile", metavar="FILE", help="write a cProfile (process time) of the timed searches"
    )
    parser.add_argument("--answers", metavar="FILE", help="write each search's results as JSON")
    parser.add_argument(
        "--statements",
        action="store_true",
        help="PostgreSQL: print the statements sent during the timed searches, the costliest first",
    )
    parser.add_argument(
        "--slowest", type=int, default=0, metavar="N", help="print the N searches that took longest (median)"
    )
    parser.add_argument(
        "--alternate",
        type=int,
        default=0,
        metavar="N",
        help="run the searches N times each as now and as before the postings, in turns, and compare their pages",
    )
    parser.add_argument(
        "--seeded",
        metavar="FILE",
        help="use a database seeded before instead of a new one: a JSON file of its url, the caseworker's email "
        "and the searches (bench_search.seed's answer), to compare checkouts on the same data",
    )
    sys.exit(asyncio.run(main(parser.parse_args())))
