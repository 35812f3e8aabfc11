"""Person search at 100,000 persons over HTTP: the real search page against a bare endpoint, driven by wrk.

The database gets 100,000 fictional persons (bulk-inserted, then indexed by the same code that indexes
each new person), recorded by four agencies; the searching caseworker's agency recorded a quarter of them,
so scoping has work to do. The searches rotate through full names, misspelt names, family names alone,
a name with a date of birth, and identifiers, as the search form posts them (``POST /persons/search``).

The baseline is a bare Litestar endpoint on the same database and driver answering the same posts with
one indexed lookup (persons holding the first searched word, 50 at most) as a small HTML list: what is
left is what any async server must do to answer a search over HTTP.

    python bench/bench_search.py [--database-url postgresql://...] [--persons 100000] [--duration 10] [--check]

Default: a temporary SQLite file; with a PostgreSQL URL a fresh schema; two workers on either.
Targets (issue 13): the search page's p95 at 16 connections < 50 ms on PostgreSQL, < 100 ms on SQLite.
``--check`` exits 1 when one is missed (or any request failed). wrk comes from ``bench/setup``.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import html
import json
import os
import random
import re
import sys
import time
from pathlib import Path
from urllib.parse import urlencode

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _server import (  # noqa: E402
    bare_rows,
    bench_arguments,
    caseframe_server,
    cpu_ms_per_request,
    parse_bench_arguments,
    seeded_database,
    sign_in,
    uvicorn_server,
)
from litestar import Litestar, Request, get, post  # noqa: E402
from litestar.response import Response  # noqa: E402

PERSONS = 100_000
CONNECTIONS = (1, 16)
TARGET_P95_MS = {"PostgreSQL": 50.0, "SQLite": 100.0}

GIVEN = [
    "Aaron",
    "Abigail",
    "Adam",
    "Aisha",
    "Alex",
    "Alice",
    "Amara",
    "Amelia",
    "Amina",
    "Amir",
    "Andrew",
    "Anna",
    "Arjun",
    "Ava",
    "Ben",
    "Beth",
    "Bilal",
    "Callum",
    "Carla",
    "Casey",
    "Charlie",
    "Chloe",
    "Connor",
    "Craig",
    "Dana",
    "Daniel",
    "David",
    "Deborah",
    "Dylan",
    "Eden",
    "Elif",
    "Ella",
    "Ellis",
    "Emily",
    "Emma",
    "Erin",
    "Ethan",
    "Evie",
    "Fatima",
    "Finley",
    "Fraser",
    "Freya",
    "Gemma",
    "George",
    "Grace",
    "Hannah",
    "Harley",
    "Harper",
    "Harry",
    "Hassan",
    "Holly",
    "Ibrahim",
    "Imogen",
    "Isaac",
    "Isla",
    "Jack",
    "Jacob",
    "Jade",
    "James",
    "Jamie",
    "Jasmine",
    "Jay",
    "Jodie",
    "Joel",
    "Jordan",
    "Joseph",
    "Joshua",
    "Kai",
    "Karen",
    "Kayla",
    "Keira",
    "Kieran",
    "Kyle",
    "Laura",
    "Leah",
    "Lee",
    "Leo",
    "Lewis",
    "Liam",
    "Lily",
    "Logan",
    "Lucy",
    "Luke",
    "Maria",
    "Mason",
    "Maya",
    "Megan",
    "Mia",
    "Mohammed",
    "Molly",
    "Morgan",
    "Nadia",
    "Nathan",
    "Niamh",
    "Noah",
    "Olivia",
    "Omar",
    "Oscar",
    "Paige",
    "Patrick",
    "Paul",
    "Phoebe",
    "Priya",
    "Rachel",
    "Reece",
    "Riley",
    "Rory",
    "Rosa",
    "Rowan",
    "Ruby",
    "Ryan",
    "Sam",
    "Sara",
    "Scott",
    "Sean",
    "Sian",
    "Sofia",
    "Sophie",
    "Stacey",
    "Stephen",
    "Tariq",
    "Taylor",
    "Theo",
    "Thomas",
    "Toby",
    "Tom",
    "Tyler",
    "Wiktor",
    "Will",
    "Yusuf",
    "Zara",
    "Zoe",
]
FAMILY = [
    "Adams",
    "Ahmed",
    "Ali",
    "Allen",
    "Anderson",
    "Armstrong",
    "Ashcombe",
    "Atkinson",
    "Bailey",
    "Baker",
    "Barker",
    "Barnes",
    "Bell",
    "Bennett",
    "Brooks",
    "Brown",
    "Butler",
    "Campbell",
    "Carter",
    "Chapman",
    "Clarke",
    "Cole",
    "Collins",
    "Cook",
    "Cooper",
    "Cox",
    "Davies",
    "Dixon",
    "Edwards",
    "Ellis",
    "Evans",
    "Fisher",
    "Fletcher",
    "Ford",
    "Foster",
    "Fox",
    "Gibson",
    "Graham",
    "Grant",
    "Gray",
    "Green",
    "Griffiths",
    "Hall",
    "Harris",
    "Harrison",
    "Hart",
    "Hartley",
    "Hill",
    "Holmes",
    "Hughes",
    "Hunt",
    "Hussain",
    "Jackson",
    "James",
    "Jenkins",
    "Johnson",
    "Jones",
    "Kaur",
    "Kelly",
    "Kennedy",
    "Khan",
    "King",
    "Knight",
    "Lawrence",
    "Lee",
    "Lewis",
    "Lloyd",
    "Marshall",
    "Martin",
    "Mason",
    "Matthews",
    "Mills",
    "Mitchell",
    "Moore",
    "Morgan",
    "Morris",
    "Murphy",
    "Murray",
    "Nowak",
    "Okafor",
    "OConnor",
    "Owen",
    "Palmer",
    "Parker",
    "Patel",
    "Pearce",
    "Phillips",
    "Powell",
    "Price",
    "Reid",
    "Reilly",
    "Reynolds",
    "Richards",
    "Roberts",
    "Robinson",
    "Rogers",
    "Rose",
    "Russell",
    "Scott",
    "Shah",
    "Shaw",
    "Simpson",
    "Singh",
    "Smith",
    "Spencer",
    "Stevens",
    "Stewart",
    "Taylor",
    "Thomas",
    "Thompson",
    "Turner",
    "Walker",
    "Ward",
    "Watson",
    "White",
    "Wilkinson",
    "Williams",
    "Wilson",
    "Wood",
    "Wright",
    "Young",
    "Yusuf",
]
# rarer family names, so the vocabulary of words has the long tail a real register has
STEMS = [
    "Ash",
    "Birch",
    "Black",
    "Bram",
    "Brook",
    "Claver",
    "Cole",
    "Crane",
    "Dun",
    "Elder",
    "Fair",
    "Fern",
    "Gold",
    "Hawk",
    "Hay",
    "Kings",
    "Lang",
    "Marsh",
    "Mill",
    "Moor",
    "North",
    "Oak",
    "Pen",
    "Red",
    "Rook",
    "Rush",
    "Shel",
    "Stan",
    "Thorn",
    "Wal",
    "West",
    "Whit",
    "Wood",
    "Wren",
]
ENDS = [
    "bury",
    "by",
    "combe",
    "cott",
    "croft",
    "dale",
    "den",
    "field",
    "ford",
    "gate",
    "ham",
    "hurst",
    "land",
    "ley",
    "low",
    "more",
    "ridge",
    "stead",
    "ton",
    "well",
    "wick",
    "worth",
]


def fictional_persons(count: int, agencies: list[int], rng: random.Random) -> list[dict]:
    people = []
    for n in range(count):
        family = rng.choice(FAMILY) if rng.random() < 0.7 else rng.choice(STEMS) + rng.choice(ENDS)
        given = rng.choice(GIVEN)
        aliases = [f"{rng.choice(GIVEN)} {family}"] if rng.random() < 0.15 else []
        identifiers = (
            [{"type": "nhs_number", "value": f"{900_000_0000 + n * 7:010d}"}] if rng.random() < 0.3 else []
        )
        dob = dt.date(1940, 1, 1) + dt.timedelta(days=rng.randrange(365 * 65))
        people.append(
            {
                "given_name": given,
                "family_name": family,
                "aliases": aliases,
                "identifiers": identifiers,
                "date_of_birth": dob,
                "agency": agencies[0] if n % 4 == 0 or len(agencies) == 1 else rng.choice(agencies[1:]),
            }
        )
    return people


async def insert_persons(people: list[dict]) -> None:
    """Bulk-insert fictional persons (from ``fictional_persons``) and index them with the code that indexes
    each new person."""
    from caseframe.core.db.tx import transaction
    from caseframe.core.persons import service as persons
    from caseframe.core.persons.tables import Person

    first = ((await Person.raw("SELECT max(id) AS m FROM cf_person"))[0]["m"] or 0) + 1
    now = dt.datetime.now(dt.UTC)
    rows, index = [], []
    for offset, p in enumerate(people):
        pid = first + offset
        text = persons.search_text_of(p["given_name"], p["family_name"], p["aliases"])
        rows.append(
            (
                pid,
                p["given_name"],
                p["family_name"],
                p["date_of_birth"],
                "",
                json.dumps(p["aliases"]),
                "[]",
                json.dumps(p["identifiers"]),
                "[]",
                text,
                p["agency"],
                now,
                now,
                1,
            )
        )
        index.append((pid, text, p["identifiers"]))
    columns = (
        "id",
        "given_name",
        "family_name",
        "date_of_birth",
        "gender",
        "aliases",
        "addresses",
        "identifiers",
        "flags",
        "search_text",
        "created_by_agency",
        "created_at",
        "updated_at",
        "version",
    )
    async with transaction():
        await persons.insert_rows("cf_person", columns, rows)
        await persons.index_persons(index)
    if Person._meta.db.engine_type == "postgres":
        await Person.raw(
            "SELECT setval(pg_get_serial_sequence('cf_person', 'id'), (SELECT max(id) FROM cf_person))"
        )
        await Person.raw("ANALYZE")


def searches_for(people: list[dict]) -> list[dict]:
    """Form posts of realistic searches for some of ``people``: full names, misspelt family names, family
    names alone, a given name with the date of birth, identifiers."""
    searches = [{"name": f"{p['given_name']} {p['family_name']}"} for p in people[:40]]
    for p in people[40:60]:  # one letter wrong in the family name
        family = p["family_name"]
        i = len(family) // 2
        searches.append(
            {"name": f"{p['given_name']} {family[:i]}{'e' if family[i] != 'e' else 'a'}{family[i + 1 :]}"}
        )
    searches += [{"name": p["family_name"]} for p in people[60:70]]
    for p in people[70:80]:
        dob = p["date_of_birth"]
        searches.append(
            {
                "name": p["given_name"],
                "dob-day": str(dob.day),
                "dob-month": str(dob.month),
                "dob-year": str(dob.year),
            }
        )
    searches += [
        {"identifier": p["identifiers"][0]["value"]} for p in [p for p in people if p["identifiers"]][:10]
    ]
    return searches


async def seed(count: int) -> dict:
    """Four agencies, a caseworker, ``count`` persons; returns what the searches need."""
    from caseframe.core.persons.tables import Person
    from caseframe.core.testing import make_agency, make_context, make_user

    ctx = make_context(builtins=True)
    agencies = [await make_agency(ctx, f"bench-agency-{i}") for i in range(4)]
    actor = await make_user(agencies[0], ("caseworker",), name="Search Worker")
    people = fictional_persons(count, [a["id"] for a in agencies], random.Random(13))
    started = time.perf_counter()
    await insert_persons(people)
    seeded = time.perf_counter() - started
    searches = searches_for([p for p in people if p["agency"] == agencies[0]["id"]])
    return {
        "email": actor.email,
        "searches": searches,
        "seconds": seeded,
        "words": (await Person.raw("SELECT count(*) AS n FROM cf_name_word"))[0]["n"],
    }


# ---------------------------------------------------------------------------------------------------
# The baseline


def bare_app():
    """uvicorn factory (``bench_search:bare_app``): one indexed lookup per search, as a small HTML list."""
    url = os.environ["BENCH_DATABASE_URL"]
    rows = bare_rows(url)

    @get("/health", sync_to_thread=False)
    def health() -> dict:
        return {"status": "ok"}

    @post("/persons/search")
    async def search(request: Request) -> Response:
        form = await request.form()
        word = (str(form.get("name", "")).lower().split() or [str(form.get("identifier", ""))])[0]
        found = await rows(
            "SELECT p.id, p.given_name, p.family_name FROM cf_person p WHERE p.id IN "
            "(SELECT person FROM cf_person_name_word WHERE word = ?) ORDER BY p.id LIMIT 50",
            word,
        )
        items = "".join(
            f'<li><a href="/persons/{r["id"]}">{html.escape(r["given_name"])} '
            f"{html.escape(r['family_name'])}</a></li>"
            for r in found
        )
        return Response(
            f"<!doctype html><title>Search</title><p>{len(found)} people found</p><ul>{items}</ul>",
            media_type="text/html",
            status_code=200,
        )

    from caseframe.core.web.app import settle_heap

    return Litestar(
        route_handlers=[health, search], on_startup=[settle_heap]
    )  # as caseframe starts (core/web/app.py)


# ---------------------------------------------------------------------------------------------------

POST_LUA = """
local bodies = {%s}
local n, threads = 0, {}
not_ok = 0
setup = function(thread) table.insert(threads, thread) end
init = function(args)
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
end
request = function()
  n = n + 1
  return wrk.format(nil, "/persons/search", nil, bodies[(n %% #bodies) + 1])
end
response = function(status, headers, body)
  if status ~= 200 then not_ok = not_ok + 1 end
end
done = function(summary, latency, requests)
  local e, bad = summary.errors, 0
  for _, thread in ipairs(threads) do bad = bad + thread:get("not_ok") end
  io.write(string.format("BENCH %%d %%d %%d %%d %%d %%d %%d\\n", summary.requests, summary.duration,
    latency:percentile(50), latency:percentile(95), latency:percentile(99), bad,
    e.connect + e.read + e.write + e.timeout))
end
"""


def lua_string(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


async def main(args) -> int:
    missed = await run(args)
    return 1 if missed and args.check else 0


async def run(args) -> list[str]:
    """Seed, measure and print the table (``bench_http.py`` runs this as its person search page); the targets missed."""
    from bench_http import ensure_wrk

    ensure_wrk()
    async with seeded_database(args.database_url, lambda: seed(args.persons), "caseframe-bench-search-") as (
        url,
        data,
    ):
        return await measure(args, url, data)


async def measure(args, url: str, data: dict) -> list[str]:
    from bench_http import wrk

    from caseframe.core.testing import csrf_token_of

    engine_name = "SQLite" if url.startswith("sqlite") else "PostgreSQL"
    servers = [
        caseframe_server(url, args.workers),
        uvicorn_server("bare", "bench_search:bare_app", args.workers, {"BENCH_DATABASE_URL": url}),
    ]
    results: dict[tuple[str, int], dict] = {}
    try:
        await asyncio.gather(*(s.ready() for s in servers))
        caseframe, bare = servers
        cookie, client = await sign_in(caseframe.base, data["email"])
        token = csrf_token_of((await client.get("/persons/")).text)
        await client.aclose()
        bodies = [urlencode({**s, "csrf_token": token}) for s in data["searches"]]
        found = await warm_up(caseframe, bare, cookie, bodies)
        script = POST_LUA % ", ".join(lua_string(b) for b in bodies)
        for order, connections in enumerate(CONNECTIONS):
            pair = [(caseframe, cookie), (bare, "x=1")]
            for server, server_cookie in pair if order % 2 == 0 else pair[::-1]:
                results[(server.name, connections)] = cpu_ms_per_request(
                    server,
                    wrk,
                    server.base + "/persons/search",
                    connections,
                    args.duration,
                    server_cookie,
                    script,
                )
    finally:
        for server in servers:
            server.stop()

    load = os.getloadavg()[0]
    workers = f"{args.workers} uvicorn worker{'s' if args.workers > 1 else ''} each"
    print(
        f"person search over HTTP, {engine_name}, {args.persons:,} persons ({data['words']:,} distinct name words, "
        f"seeded and indexed in {data['seconds']:.1f} s), caseframe and bare on {workers}, wrk "
        f"{args.duration:g} s per run; load average {load:.1f} on {os.cpu_count()} CPUs; {dt.date.today()}"
    )
    print(
        f"{len(bodies)} searches in turn (names, misspelt names, family names, name + date of birth, "
        f"identifiers); results per search: min {min(found)}, median {sorted(found)[len(found) // 2]}, "
        f"max {max(found)}; {sum(1 for f in found if f == 0)} found nobody"
    )
    print(
        f"{'conns':>5}{'caseframe req/s':>17}{'p50 ms':>8}{'p95 ms':>8}{'bare req/s':>12}{'p50 ms':>8}"
        f"{'p95 ms':>8}{'req/s ratio':>13}{'p95 ratio':>11}{'CPU ms/req':>11}{'bare':>6}{'CPU ratio':>10}"
        f"{'DB CPU':>7}{'bare':>6}  target"
    )
    missed = []
    target_ms = TARGET_P95_MS[engine_name]
    for connections in CONNECTIONS:
        cf, bare_r = results[("caseframe", connections)], results[("bare", connections)]
        target = ""
        if connections == 16:
            ok = cf["p95"] < target_ms
            target = f"p95 < {target_ms:.0f} ms {'PASS' if ok else 'FAIL'}"
            if not ok:
                missed.append(
                    f"search p95 {cf['p95']:.1f} ms at 16 connections on {engine_name} "
                    f"(target < {target_ms:.0f} ms)"
                )
        for label, r in (("caseframe", cf), ("bare", bare_r)):
            if r["errors"]:
                missed.append(f"{label}, {connections} connections: {r['errors']} errors")
        print(
            f"{connections:>5}{cf['rps']:>17.1f}{cf['p50']:>8.1f}{cf['p95']:>8.1f}{bare_r['rps']:>12.1f}"
            f"{bare_r['p50']:>8.1f}{bare_r['p95']:>8.1f}{cf['rps'] / bare_r['rps']:>12.2f}x"
            f"{cf['p95'] / max(bare_r['p95'], 0.001):>10.1f}x{cf['cpu_ms']:>11.1f}{bare_r['cpu_ms']:>6.1f}"
            f"{bare_r['cpu_ms'] / cf['cpu_ms']:>9.2f}x{cf['db_cpu_ms']:>7.1f}{bare_r['db_cpu_ms']:>6.1f}  {target}"
        )
    print(
        "CPU ms/req: the server processes' CPU time (user + system, from /proc) per search served; CPU ratio is the\n"
        "bare endpoint's over caseframe's: unlike the rates, other work on the machine does not move it much;\n"
        "DB CPU: PostgreSQL's processes' CPU ms per search (0 on SQLite, which runs inside the server)"
    )
    if missed:
        print("Missed: " + "; ".join(missed))
    return missed


async def warm_up(caseframe, bare, cookie: str, bodies: list[str]) -> list[int]:
    """Every search answers 200 on both servers (and warms them up); how many people each found on caseframe."""
    import httpx

    found: list[int] = []
    async with httpx.AsyncClient(timeout=60) as client:
        for server in (caseframe, bare):
            for body in bodies:
                response = await client.post(
                    server.base + "/persons/search",
                    content=body,
                    headers={"cookie": cookie, "content-type": "application/x-www-form-urlencoded"},
                )
                if response.status_code != 200:
                    raise SystemExit(
                        f"{server.name} search {body[:80]} answered {response.status_code}: "
                        f"{response.text[:300]}"
                    )
                if server is caseframe:
                    count = re.search(r"(\d+) (?:person|people) found", response.text)
                    count = count.group(1) if count else "0"
                    found.append(int(count) if count.isdigit() else 0)
    return found


if __name__ == "__main__":
    parser = bench_arguments(__doc__, duration=10)
    parser.add_argument("--persons", type=int, default=PERSONS, help=f"persons to seed (default {PERSONS:,})")
    sys.exit(asyncio.run(main(parse_bench_arguments(parser))))
