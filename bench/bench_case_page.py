"""Case page in-process: Caseframe's full stack against the bare Litestar + Jinja page, in one run.

The data and the bare page are ``bench_http.py``'s (``build`` and ``make_bare_app``): the case has 5
subjects, 100 timeline events and 3 tasks, and the bare page reads the same rows with fixed SQL and renders
the same templates. Both apps are called in-process through the same ASGI client, one request at a time,
on the same SQLite file, so the ratio isolates what Caseframe's layers cost (session and guard, audit of
the view, sharing, referrals, plugin hooks, navigation) without the network or uvicorn.

    python bench/bench_case_page.py [--requests 300] [--check] [--page case|home|area] [--cases 1000]
    python bench/bench_case_page.py --profile profile.txt   # pyinstrument over caseframe's requests
    python bench/bench_case_page.py --database-url postgresql://... --statements   # each statement sent, timed

CPU ms/req is this process's CPU time (``time.process_time``) per request, the client's share included on
both sides; on a shared machine it moves much less than the rates.

Targets (case page): ratio >= 0.5 of the bare page, p95 < 30 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import statistics
import sys
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _server import seeded_database, sign_in, timed_statements  # noqa: E402
from bench_http import build, make_bare_app  # noqa: E402

PAGES = {"case": "case page", "home": "My work", "area": "area list"}


def path_of(page: str, data: dict) -> str:
    return {"case": f"/cases/{data['case']}", "home": "/", "area": f"/areas/{data['area']}"}[page]


async def measure(
    client: httpx.AsyncClient, url: str, requests: int, headers: dict, profiler=None, statements: bool = False
) -> dict:
    for _ in range(20):  # warm caches and templates
        r = await client.get(url, headers=headers)
        if r.status_code != 200:
            raise SystemExit(f"{url} answered {r.status_code}: {r.text[:500]}")
    times = []
    if profiler is not None:
        profiler.start()
    timer = timed_statements() if statements else None
    cpu, start = time.process_time(), time.perf_counter()
    for _ in range(requests):
        t0 = time.perf_counter()
        await client.get(url, headers=headers)
        times.append(time.perf_counter() - t0)
    total, cpu = time.perf_counter() - start, time.process_time() - cpu
    if profiler is not None:
        profiler.stop()
    if timer is not None:
        timer.stop()
        timer.report(requests, "page")
    return {
        "rps": requests / total,
        "p95": statistics.quantiles(times, n=20)[18] * 1000,
        "cpu_ms": cpu * 1000 / requests,
    }


async def main(args) -> int:
    logging.disable(logging.INFO)  # per-request client logs would be timed too
    async with seeded_database(args.database_url, lambda: build(args.cases), "caseframe-bench-") as (
        url,
        data,
    ):
        return await run(args, url, data)


async def run(args, url: str, data: dict) -> int:
    from caseframe.core.context import build_context
    from caseframe.core.db.engine import bind, close, engine_from_url
    from caseframe.core.settings import Settings
    from caseframe.core.web.app import create_app

    ctx = build_context()
    engine = engine_from_url(url)
    bind(engine)
    sqlite = url.startswith("sqlite")
    if not sqlite:  # as the server's start-up does (httpx's ASGI transport runs no lifespan)
        await engine.start_connection_pool(min_size=1, max_size=4)
    app = create_app(Settings(local_demo=True, database_url=url), ctx=ctx, engine=engine)
    bare = make_bare_app(url, data["user_id"], ctx)
    path = path_of(args.page, data)
    profiler = None
    if args.profile:
        from pyinstrument import Profiler

        profiler = Profiler(async_mode="enabled")
    results = {}
    try:
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=bare), base_url="http://bench"
        ) as client:
            results["bare"] = await measure(client, path, args.requests, {})
        _, client = await sign_in("http://bench", data["email"], transport=httpx.ASGITransport(app=app))
        try:  # the client keeps the session cookie
            results["caseframe"] = await measure(
                client, path, args.requests, {}, profiler, args.statements and not sqlite
            )
        finally:
            await client.aclose()
    finally:
        for hook in bare.on_shutdown:
            await hook()
        if not sqlite:
            await engine.close_connection_pool()
        await close(engine)
    if profiler is not None:
        text = profiler.output_text(unicode=True, color=False, show_all=False)
        Path(args.profile).write_text(text)
        print(f"profile of caseframe's {args.requests} requests written to {args.profile}")
    bare_r, cf = results["bare"], results["caseframe"]
    ratio = cf["rps"] / bare_r["rps"]
    print(
        f"{PAGES[args.page]} (5 subjects, 100 timeline events; {args.cases:,} cases in the area), "
        f"{args.requests} requests each, in-process, one at a time, {'SQLite' if sqlite else 'PostgreSQL'}"
    )
    print(f"{'page':<12}{'req/s':>10}{'p95 ms':>10}{'CPU ms/req':>12}")
    for name, r in (("bare", bare_r), ("caseframe", cf)):
        print(f"{name:<12}{r['rps']:>10.1f}{r['p95']:>10.1f}{r['cpu_ms']:>12.2f}")
    print(f"ratio {ratio:.2f}x of the bare page; CPU ratio {bare_r['cpu_ms'] / cf['cpu_ms']:.2f}x")
    if args.page != "case":
        return 0
    ok = ratio >= 0.5 and cf["p95"] < 30
    print(f"target: >= 0.5x and p95 < 30 ms: {'PASS' if ok else 'FAIL'}")
    return 0 if ok or not args.check else 1


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--page", choices=sorted(PAGES), default="case")
    parser.add_argument(
        "--cases",
        type=int,
        default=1000,
        help="cases in the area (default 1,000: My work's tasks go on the user's other cases)",
    )
    parser.add_argument(
        "--profile", metavar="FILE", help="write a pyinstrument profile of caseframe's requests"
    )
    parser.add_argument("--database-url", help="postgresql://... (default: a temporary SQLite file)")
    parser.add_argument(
        "--statements",
        action="store_true",
        help="PostgreSQL: print the statements caseframe's timed requests sent, the costliest first",
    )
    parser.add_argument("--check", action="store_true", help="exit non-zero if a target is missed")
    arguments = parser.parse_args()
    if arguments.requests < 20 or arguments.cases < 1:
        parser.error("--requests needs at least 20 (for the p95) and --cases at least 1")
    sys.exit(asyncio.run(main(arguments)))
