"""Simulated caseworkers: locust drives the real server with a working day's mix of reads and writes.

Each simulated caseworker has a signed-in session of their own and, with 5 to 15 s of think time between
steps, opens My work (3), a case page (4), the area list (2), searches for a person (2), saves a case's
form (1, after opening it) and adds a note (1) (the weights in brackets). The database holds an area of
2,000 cases and 20,000 fictional persons; 50 caseworker accounts share the sessions.

    python bench/bench_load.py [--database-url postgresql://...] [--users N] [--duration 120] [--check]

Default: a temporary SQLite file, two workers sharing it, 50 users. With a PostgreSQL URL: a fresh schema, two
workers, 500 users. Statistics are reset once every user has started, so the figures are of the steady state.
Targets (issue 13): PostgreSQL p95 < 250 ms with no failed request; SQLite no failed request and no
"database is locked" in the server's log. ``--check`` exits 1 when one is missed. locust comes from the
``bench`` extra (``bench/setup``); the sessions are written straight into the database, as signing in
(argon2) is not what this measures.
"""

from __future__ import annotations

import asyncio
import csv
import datetime as dt
import json
import os
import random
import secrets
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _server import (  # noqa: E402
    ROOT,
    bench_arguments,
    caseframe_server,
    parse_bench_arguments,
    seeded_database,
)

CASES = 2_000
PERSONS = 20_000
ACCOUNTS = 50
TARGET_P95_MS = 250.0


def form_fields(answers: dict, schema: dict, prefix: str = "f") -> list[tuple[str, str]]:
    """The posted fields a browser sends for ``answers`` (the inverse of core.forms.parse)."""
    from caseframe.core.forms.render import _kind

    fields: list[tuple[str, str]] = []
    for key, value in answers.items():
        sub = (schema.get("properties") or {}).get(key) or {}
        name, kind = f"{prefix}.{key}", _kind(sub)
        if kind == "object":
            fields += form_fields(value, sub, name)
        elif kind == "group":
            for i, item in enumerate(value):
                fields += form_fields(item, sub.get("items") or {}, f"{name}.{i}")
        elif kind == "checkboxes":
            fields += [(name, str(v)) for v in value]
        elif kind == "date" or sub.get("format") == "date":
            year, month, day = str(value).split("-")
            fields += [(f"{name}.year", year), (f"{name}.month", month), (f"{name}.day", day)]
        elif isinstance(value, bool):
            fields.append((name, "yes" if value else "no"))
        else:
            fields.append((name, str(value)))
    return fields


async def build(users: int) -> dict:
    from bench_http import build as build_area
    from bench_search import fictional_persons, insert_persons, searches_for

    from caseframe.core import clock
    from caseframe.core.agencies.tables import Agency
    from caseframe.core.auth.service import _hash
    from caseframe.core.auth.tables import Session, User
    from caseframe.core.cases.tables import Case
    from caseframe.core.context import build_context
    from caseframe.core.testing import demo_answers, make_user

    data = await build_area(CASES)
    agency = (
        await Agency.select()
        .where(
            Agency.id == (await User.select(User.agency).where(User.id == data["user_id"]).first())["agency"]
        )
        .first()
    )
    accounts = [data["user_id"]] + [
        (await make_user(agency, ("caseworker",), name=f"Caseworker {i}")).id for i in range(1, ACCOUNTS)
    ]
    people = fictional_persons(PERSONS, [agency["id"]], random.Random(13))
    await insert_persons(people)
    now = clock.now()
    sessions = []
    for i in range(users):
        token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
        sessions.append({"cookie": f"caseframe_session={token}", "csrf": csrf})
        await Session.insert(
            Session(
                token_hash=_hash(token),
                csrf_token=csrf,
                user=accounts[i % len(accounts)],
                created_at=now,
                last_seen=now,
                pending="",
            )
        )
    ctx = build_context()
    area = ctx.area(data["area"])
    form = area.opening_form
    cases = [r["id"] for r in await Case.select(Case.id).where(Case.area == data["area"]).order_by(Case.id)]
    return {
        "sessions": sessions,
        "cases": cases,
        "area": data["area"],
        "form": form,
        "fields": form_fields(demo_answers(ctx, data["area"], form), area.forms[form].schema),
        "searches": searches_for(people),
    }


def run_locust(base: str, plan_file: str, users: int, duration: float, out: str) -> None:
    exe = Path(sys.executable).with_name("locust")
    if not exe.exists():
        print("locust is missing: running bench/setup to install the bench extra", flush=True)
        subprocess.run([str(ROOT / "bench" / "setup")], check=True)
    spawn_rate = max(users / 20, 1)  # everyone has started within 20 s
    subprocess.run(
        [
            str(exe),
            "-f",
            str(Path(__file__).with_name("_caseworkers.py")),
            "--headless",
            "--users",
            str(users),
            "--spawn-rate",
            f"{spawn_rate:g}",
            "--run-time",
            f"{duration + 20:g}s",
            "--reset-stats",
            "--host",
            base,
            "--csv",
            out,
            "--only-summary",
            "--loglevel",
            "WARNING",
        ],
        cwd=ROOT,
        env={**os.environ, "BENCH_LOAD_PLAN": plan_file},
        check=False,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def read_stats(out: str) -> list[dict]:
    with open(f"{out}_stats.csv") as f:
        return list(csv.DictReader(f))


async def main(args) -> int:
    async with seeded_database(args.database_url, lambda: build(args.users), "caseframe-bench-load-") as (
        url,
        plan,
    ):
        return await measure(args, url, plan)


async def measure(args, url: str, plan: dict) -> int:
    engine_name = "SQLite" if url.startswith("sqlite") else "PostgreSQL"
    folder = Path(tempfile.mkdtemp(prefix="caseframe-bench-load-out-"))
    plan_file = folder / "plan.json"
    plan_file.write_text(json.dumps(plan))
    server = caseframe_server(url, args.workers)
    try:
        await server.ready()
        run_locust(server.base, str(plan_file), args.users, args.duration, str(folder / "locust"))
        log = server.log.read_text(errors="replace")
    finally:
        server.stop()
    stats = read_stats(str(folder / "locust"))
    failures_file = folder / "locust_failures.csv"
    failures = list(csv.DictReader(failures_file.open())) if failures_file.exists() else []
    locked = log.count("database is locked")
    tracebacks = log.count("Traceback")

    load = os.getloadavg()[0]
    print(
        f"{args.users} simulated caseworkers, {engine_name}, {args.workers} uvicorn worker"
        f"{'s' if args.workers > 1 else ''}, {CASES:,} cases and {PERSONS:,} persons, think time 5-15 s, "
        f"{args.duration:g} s measured after everyone started; load average {load:.1f} on {os.cpu_count()} CPUs; "
        f"{dt.date.today()}"
    )
    print(f"{'request':<16}{'count':>7}{'failed':>7}{'p50 ms':>8}{'p95 ms':>8}{'p99 ms':>8}{'max ms':>8}")
    total = None
    for row in stats:
        line = (
            f"{row['Name']:<16}{row['Request Count']:>7}{row['Failure Count']:>7}{row['50%']:>8}{row['95%']:>8}"
            f"{row['99%']:>8}{float(row['Max Response Time']):>8.0f}"
        )
        if row["Name"] == "Aggregated":
            total = row
            print("-" * len(line))
        print(line)
    for failure in failures:
        print(
            f"  failed: {failure.get('Method')} {failure.get('Name')}: {failure.get('Error')} x{failure.get('Occurrences')}"
        )
    print(f"server log: {locked} 'database is locked', {tracebacks} tracebacks")
    missed = []
    if total is None or int(total["Request Count"]) == 0:
        missed.append("no request was measured")
    else:
        if int(total["Failure Count"]):
            missed.append(f"{total['Failure Count']} failed requests (target: none)")
        if engine_name == "PostgreSQL" and float(total["95%"]) >= TARGET_P95_MS:
            missed.append(f"p95 {total['95%']} ms (target < {TARGET_P95_MS:.0f} ms)")
    if locked:
        missed.append(f"{locked} 'database is locked' in the server log (target: none)")
    if tracebacks:
        missed.append(f"{tracebacks} tracebacks in the server log")
    print(("Missed: " + "; ".join(missed)) if missed else "All targets met")
    return 1 if missed and args.check else 0


if __name__ == "__main__":
    parser = bench_arguments(__doc__, duration=120, duration_help="seconds measured")
    parser.add_argument(
        "--users", type=int, help="simulated caseworkers (default 50 on SQLite, 500 on PostgreSQL)"
    )
    args = parse_bench_arguments(parser)
    args.users = args.users or (500 if args.database_url else 50)
    if args.users < 1:
        parser.error("--users must be at least 1")
    sys.exit(asyncio.run(main(args)))
