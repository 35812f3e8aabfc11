"""Case page throughput: Caseframe's full stack against a bare Litestar + Jinja page, in one run.

The case has 100 timeline events and 5 subjects. Both apps are called in-process through the same
ASGI client, on the same SQLite file, so the ratio isolates what Caseframe's layers cost (session and
guard, audit of the view, workflow and rule facts, plugin hooks, navigation).

    python bench/bench_case_page.py [--requests 300] [--check]

Targets (issue: caseworker web app): ratio >= 0.5 of the bare page, p95 < 30 ms.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from litestar import Litestar, get  # noqa: E402
from litestar.response import Response  # noqa: E402

from core.auth import service as auth  # noqa: E402
from core.cases import service as cases  # noqa: E402
from core.db.engine import bind, close, engine_from_url, migrate  # noqa: E402
from core.settings import Settings  # noqa: E402
from core.testing import (  # noqa: E402
    TEST_PASSWORD,
    demo_answers,
    make_agency,
    make_context,
    make_person,
    make_user,
)
from core.web.app import create_app  # noqa: E402


async def build_case(ctx, area_slug: str, answers: dict) -> tuple[int, str, str]:
    agency = await make_agency(ctx, "bench-council")
    actor = await make_user(agency, ("caseworker", "supervisor"), name="Bench Worker")
    area = ctx.area(area_slug)
    roles = list(area.roles)
    people = [await make_person(actor, given_name=f"Person{i}", family_name="Bench") for i in range(5)]
    case = await cases.open_case(ctx, actor, area_slug, answers,
                                 subjects=[(p["id"], roles[i % len(roles)]) for i, p in enumerate(people)])
    for i in range(100 - len(await cases.timeline(case["id"]))):
        await cases.add_note(ctx, actor, case["id"], f"Note {i}: visited, spoke to the household, "
                                                     "agreed next steps and a date to review.")
    token, _ = await auth.sign_in(actor.email, TEST_PASSWORD)
    return case["id"], token, actor.email


def bare_app(db_path: str, ctx, actor_row: dict) -> Litestar:
    """The same rows, read with the same driver and rendered with the same template by plain Jinja.

    An async handler keeping one aiosqlite connection open, as any async web app would. No session
    lookup, guard, audit write, workflow, plugin hooks or ORM: what is left is the least any async
    server must do to show this page.
    """
    import aiosqlite

    from core.forms import summary
    from core.sharing.policy import Access
    from core.templating import build_environment

    template = build_environment(ctx).get_template("cases/show.html")
    state: dict = {}

    async def rows(sql: str, args: tuple) -> list[dict]:
        if "con" not in state:
            state["con"] = await aiosqlite.connect(db_path)
            state["con"].row_factory = sqlite3.Row
        async with state["con"].execute(sql, args) as cursor:
            return [dict(r) for r in await cursor.fetchall()]

    @get("/cases/{case_id:int}")
    async def show(case_id: int) -> Response:
        case = (await rows("SELECT * FROM cf_case WHERE id = ?", (case_id,)))[0]
        subjects = await rows(
            "SELECT s.id, s.person AS person_id, s.role, p.given_name || ' ' || p.family_name AS name, "
            "p.date_of_birth FROM cf_case_subject s JOIN cf_person p ON p.id = s.person "
            "WHERE s.\"case\" = ? AND s.removed_at IS NULL", (case_id,))
        events = await rows(
            "SELECT e.kind, e.summary, e.at, u.name AS actor_name FROM cf_case_event e LEFT JOIN cf_user u "
            "ON u.id = e.actor WHERE e.\"case\" = ? ORDER BY e.id DESC LIMIT 200", (case_id,))
        tasks = await rows("SELECT id, title, due_date, status FROM cf_task WHERE \"case\" = ?", (case_id,))
        users = await rows("SELECT id, name FROM cf_user WHERE agency = ?", (case["owning_agency"],))
        area = ctx.area(case["area"])
        data = json.loads(case["data"])
        case.update(data=data, area_title=area.title, area_installed=True,
                    state_label=area.workflow.label(case["state"]))
        forms = [{"name": n, "title": f.title, "done": n in data, "rows": summary.rows(f, data.get(n))}
                 for n, f in area.forms.items()]
        transitions = [(t, None) for t in area.workflow.from_state(case["state"])]
        html = template.render(case=case, area=area, forms=forms, transitions=transitions, timeline=events,
                               tasks=tasks, subjects=subjects, users=users, referrals=[], panels=[],
                               lead_officer=actor_row["name"], actor=actor_row, csrf_token="x",
                               access=Access(kind="owner"), can_change=True,
                               nav=[{"href": "/", "label": "My work"}], marking="OFFICIAL-SENSITIVE")
        return Response(html, media_type="text/html")

    async def close_connection() -> None:
        if "con" in state:
            await state["con"].close()

    return Litestar(route_handlers=[show], on_shutdown=[close_connection])


async def measure(client: httpx.AsyncClient, url: str, requests: int, headers: dict) -> tuple[float, float]:
    for _ in range(20):  # warm caches and templates
        r = await client.get(url, headers=headers)
        assert r.status_code == 200, (url, r.status_code, r.text[:500])
    times = []
    start = time.perf_counter()
    for _ in range(requests):
        t0 = time.perf_counter()
        await client.get(url, headers=headers)
        times.append(time.perf_counter() - t0)
    total = time.perf_counter() - start
    p95 = statistics.quantiles(times, n=20)[18] * 1000
    return requests / total, p95


async def main(requests: int, check: bool) -> int:
    logging.disable(logging.INFO)  # per-request client logs would be timed too
    folder = Path(tempfile.mkdtemp(prefix="caseframe-bench-"))
    db = folder / "bench.sqlite"
    engine = engine_from_url(f"sqlite:///{db}")
    await migrate(engine)
    bind(engine)
    ctx = make_context(builtins=True)
    area = "asb" if ctx.areas.get("asb") else next(iter(ctx.areas.areas))
    answers = demo_answers(ctx, area)
    case_id, token, email = await build_case(ctx, area, answers)
    app = create_app(Settings(local_demo=True, database_url=f"sqlite:///{db}"), ctx=ctx, engine=engine)
    cookie = {"cookie": f"caseframe_session={token}"}
    results = {}
    bare = bare_app(str(db), ctx, {"name": "Bench Worker", "agency_name": "Bench Council", "id": 0})
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=bare), base_url="http://bench") as client:
        results["bare"] = await measure(client, f"/cases/{case_id}", requests, {})
    for hook in bare.on_shutdown:
        await hook()
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://bench") as client:
        results["caseframe"] = await measure(client, f"/cases/{case_id}", requests, cookie)
    await close(engine)
    bare_rps, bare_p95 = results["bare"]
    cf_rps, cf_p95 = results["caseframe"]
    ratio = cf_rps / bare_rps
    print(f"case page ({area}, 100 timeline events, 5 subjects), {requests} requests each, in-process")
    print(f"{'page':<12}{'req/s':>10}{'p95 ms':>10}")
    print(f"{'bare':<12}{bare_rps:>10.1f}{bare_p95:>10.1f}")
    print(f"{'caseframe':<12}{cf_rps:>10.1f}{cf_p95:>10.1f}")
    ok = ratio >= 0.5 and cf_p95 < 30
    print(f"ratio {ratio:.2f}x of the bare page (target >= 0.5x); p95 {cf_p95:.1f} ms (target < 30 ms): "
          f"{'PASS' if ok else 'FAIL'}")
    return 0 if ok or not check else 1



if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--check", action="store_true", help="exit non-zero if a target is missed")
    args = parser.parse_args()
    sys.exit(asyncio.run(main(args.requests, args.check)))
