"""Live minutes: a minute reaching 50 connected members, against a bare SSE broadcast, in one run.

The real app runs under uvicorn on a free local port, as ``caseframe serve`` runs it. Fifty members of
the panel's agencies sign in over HTTP and each holds open ``GET /meetings/{id}/events`` (server-sent
events, streamed with httpx). The chair then posts a minute over HTTP, as the minutes form does.

* caseframe: from the chair's POST being sent to the 50th member receiving the ``event: minute`` for
  it. On the way: CSRF and session checks, ``add_minute`` (one transaction with its audit event), the
  wake-up (NOTIFY on PostgreSQL, cf_live_news read by each worker on SQLite), then per member: the
  meeting and the new minutes read again, whether that member may see the case, and the entry rendered;
* baseline: the same 50 clients on a bare Litestar SSE endpoint (in this file), served by uvicorn the
  same way, where a POST puts the text on every stream: no database, no session, no rendering. The
  ratio is what Caseframe adds to pushing an event to 50 streams at all.

Half the members are in an agency that reads the agenda case under an ISA, half in one that does not,
so both kinds of entry are rendered. Rounds alternate which server goes first; a few warm-up rounds
are not counted.

    python bench/bench_minutes.py [--members 50] [--runs 20] [--check]
    python bench/bench_minutes.py --database-url postgresql://postgres@127.0.0.1:5432/test [--workers 2]

On PostgreSQL the run has a schema of its own (dropped afterwards). Caseframe runs two worker processes by
default on either database, so members connected to one worker get minutes posted through the other
(LISTEN/NOTIFY on PostgreSQL, ``cf_live_news`` on SQLite); the script prints how many streams each worker
holds. The baseline has one process (it has no channel between processes).

Target (issue: panel meetings with live minutes): a minute reaches 50 connected members in < 1 s
(median). The script exits 1 if the target is missed or a member never receives the minute, with or
without ``--check``.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import math
import os
import secrets
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import httpx  # noqa: E402
from _server import (  # noqa: E402
    Server,
    caseframe_server,
    drop_database,
    prepare_database,
    sign_in,
    unbind_database,
    uvicorn_server,
)
from litestar import Litestar, Request, get, post  # noqa: E402
from litestar.response import Redirect, ServerSentEvent, ServerSentEventMessage  # noqa: E402

TARGET_SECONDS = 1.0
WARM_UP = 3
ROUND_TIMEOUT = 15.0


# ---------------------------------------------------------------------------------------------------
# The baseline: the least an SSE server does to push one event to every open stream.

_streams: set[asyncio.Queue] = set()


@get("/health", sync_to_thread=False)
def _bare_health() -> dict:
    return {"status": "ok"}


@get("/events")
async def _bare_events() -> ServerSentEvent:
    async def stream():
        queue: asyncio.Queue = asyncio.Queue()
        _streams.add(queue)
        try:
            yield ServerSentEventMessage(event="minute", data="<p>Opening [bench open]</p>")
            while True:
                yield ServerSentEventMessage(event="minute", data=await queue.get())
        finally:
            _streams.discard(queue)

    return ServerSentEvent(stream())


@post("/minutes")
async def _bare_post(request: Request) -> Redirect:
    text = (await request.form()).get("text", "")
    for queue in list(_streams):
        queue.put_nowait(f"<p>{text}</p>")
    return Redirect(path="/events", status_code=303)


def bare_app() -> Litestar:
    """uvicorn factory for the baseline (``bench_minutes:bare_app``)."""
    return Litestar(route_handlers=[_bare_health, _bare_events, _bare_post])


# ---------------------------------------------------------------------------------------------------
# Data: a panel, a meeting in progress with one case on the agenda, 50 members, the chair.


async def build(ctx, members: int) -> dict:
    from caseframe.core import clock
    from caseframe.core.cases import service as cases
    from caseframe.core.panels import service as panels
    from caseframe.core.referrals import inbox
    from caseframe.core.referrals import service as referrals
    from caseframe.core.sharing import service as sharing
    from caseframe.core.testing import demo_answers, make_agency, make_person, make_user

    area = "asb" if ctx.areas.get("asb") else next(iter(ctx.areas.areas))
    council = await make_agency(ctx, "bench-council", name="Ashdown District Council")
    police = await make_agency(ctx, "bench-police", "police", name="Downland Police")
    charity = await make_agency(ctx, "bench-victims", "victim_service", name="Brightwell Victim Support")
    chair = await make_user(council, ("caseworker", "panel_chair"), name="Priya Chair")
    admin = await make_user(council, ("system_admin",), name="Sam Sysadmin")
    today = clock.today()
    await sharing.create_isa(
        ctx,
        admin,
        reference="ISA-BENCH",
        title="Community safety ISA",
        parties=[council["id"], police["id"]],
        purposes=["crime_prevention"],
        areas=[area],
        legal_basis="Crime and Disorder Act 1998 s.115",
        max_sensitivity="sensitive",
        starts_on=today - dt.timedelta(days=30),
        ends_on=today + dt.timedelta(days=300),
    )
    panel = await panels.save_panel(
        ctx,
        chair,
        name="Ashdown Complex Case Panel",
        member_agency_ids=[police["id"], charity["id"]],
        areas=[area],
        frequency="monthly",
    )
    person = await make_person(chair, given_name="Reece", family_name="Dunmore")
    roles = list(ctx.area(area).roles)
    case = await cases.open_case(
        ctx, chair, area, demo_answers(ctx, area), subjects=[(person["id"], roles[0])]
    )
    made = await referrals.raise_referral(
        ctx,
        chair,
        target_kind="panel",
        target=panel["slug"],
        reason="Escalating despite warnings",
        person_id=person["id"],
        case=case,
    )
    await inbox.accept_to_panel(ctx, chair, made["id"], version=1)
    starts = clock.now() + dt.timedelta(minutes=5)
    meeting = await panels.schedule_meeting(
        chair, panel["id"], starts_at=starts, location="Ashdown Civic Centre, Committee Room 2"
    )
    await panels.add_agenda_item(chair, meeting["id"], kind="referral", case_id=case["id"])
    await panels.set_status(chair, meeting["id"], "published")
    await panels.set_status(chair, meeting["id"], "in_progress")
    item = (await panels.agenda(meeting["id"]))[0]
    # streams send what is already minuted as soon as they follow: this entry tells the script they do
    await panels.add_minute(
        ctx,
        chair,
        meeting["id"],
        item_id=item["id"],
        kind="discussion",
        text="Introductions and apologies [bench open]",
    )
    # Every member has the same password, so one argon2id hash of it serves all the accounts: signing in
    # still checks it at full cost, but setting up 50 accounts does not pay that cost 50 times over.
    from caseframe.core.agencies import service as agencies
    from caseframe.core.testing import TEST_PASSWORD

    hashed, original = await agencies.hash_password(TEST_PASSWORD), agencies.hash_password

    async def hash_once(password: str) -> str:
        return hashed if password == TEST_PASSWORD else await original(password)

    agencies.hash_password = hash_once
    emails = []
    try:
        for i in range(members):
            agency = (police, charity)[i % 2]
            user = await make_user(
                agency,
                ("caseworker",),
                name=f"Member {i + 1:02d}",
                email=f"member{i + 1:02d}@{agency['slug']}.example",
            )
            emails.append(user.email)
    finally:
        agencies.hash_password = original
    return {"meeting": meeting["id"], "item": item["id"], "chair": chair.email, "members": emails}


async def prepare(url: str | None, members: int) -> tuple[str, dict, str | None]:
    """Make the database and its data; return the URL the server uses, the data, and the schema to drop."""
    from caseframe.core.context import build_context

    url, schema = await prepare_database(url, prefix="caseframe-bench-minutes-")
    try:
        data = await build(build_context(), members)
    finally:
        await unbind_database(url)
    return url, data, schema


# ---------------------------------------------------------------------------------------------------
# Servers: uvicorn in a process of its own, started the same way for both apps.


def streams_per_process(server: Server) -> list[int]:
    """Established connections to the port held by each worker process (from /proc; Linux only)."""
    try:
        inodes = set()
        for table in ("/proc/net/tcp", "/proc/net/tcp6"):
            if not os.path.exists(table):
                continue
            for line in Path(table).read_text().splitlines()[1:]:
                fields = line.split()
                if int(fields[1].rsplit(":", 1)[1], 16) == server.port and fields[3] == "01":
                    inodes.add(fields[9])
        pids = server.pids()
        counts = []
        for pid in pids:
            held = 0
            for fd in Path(f"/proc/{pid}/fd").iterdir():
                try:
                    link = os.readlink(fd)
                except OSError:
                    continue
                if link.startswith("socket:[") and link[8:-1] in inodes:
                    held += 1
            counts.append(held)
        return [c for c in counts if c] or [0]
    except OSError:
        return []


# ---------------------------------------------------------------------------------------------------
# Clients: 50 open streams, and the chair posting.


class Board:
    """When each stream received the entry of each round, and how many of them showed its text.

    Rounds run one at a time and a round ends only when every stream has its entry, so whatever a
    stream receives meanwhile is that round's. (Members outside the ISA get "an entry about an item not
    shared with your agency", without the text, so the text cannot be what identifies the entry.)
    """

    def __init__(self, streams: int):
        self.streams = streams
        self.current = "open"
        self.arrived: dict[str, list[float]] = {}
        self.shown: dict[str, int] = {}
        self.complete: dict[str, asyncio.Event] = {}

    def expect(self, mark: str) -> asyncio.Event:
        self.current = mark
        return self.complete.setdefault(mark, asyncio.Event())

    def note(self, data: str) -> None:
        now, mark = time.perf_counter(), self.current
        times = self.arrived.setdefault(mark, [])
        times.append(now)
        if f"[bench {mark}]" in data:
            self.shown[mark] = self.shown.get(mark, 0) + 1
        if len(times) >= self.streams:
            self.complete[mark].set()


async def read_stream(client: httpx.AsyncClient, path: str, headers: dict, board: Board) -> None:
    async with client.stream("GET", path, headers={**headers, "accept": "text/event-stream"}) as response:
        if response.status_code != 200:
            raise RuntimeError(f"{path} answered {response.status_code}")
        event = ""
        async for line in response.aiter_lines():
            if line.startswith("event:"):
                event = line[6:].strip()
            elif line.startswith("data:") and event == "minute":
                board.note(line)
            elif not line:
                event = ""


class Audience:
    """The streams on one server, and the poster."""

    def __init__(
        self,
        server: Server,
        streams: int,
        path: str,
        cookies: list[str],
        post_path: str,
        post_headers: dict,
        post_fields: dict,
    ):
        self.server, self.path, self.cookies = server, path, cookies
        self.post_path, self.post_headers, self.post_fields = post_path, post_headers, post_fields
        self.board = Board(streams)
        self.streams = streams
        limits = httpx.Limits(max_connections=streams + 5, max_keepalive_connections=streams + 5)
        # streams wait between minutes
        self.client = httpx.AsyncClient(
            base_url=server.base, limits=limits, timeout=httpx.Timeout(10, read=None)
        )
        self.poster = httpx.AsyncClient(base_url=server.base, timeout=10)
        self.tasks: list[asyncio.Task] = []
        self.latencies: list[float] = []
        self.firsts: list[float] = []
        self.answers: list[float] = []
        self.shown: set[int] = set()  # how many streams showed the entry's text, per round

    async def open(self) -> None:
        ready = self.board.expect("open")
        for i in range(self.streams):
            cookie = self.cookies[i % len(self.cookies)] if self.cookies else ""
            self.tasks.append(
                asyncio.create_task(
                    read_stream(self.client, self.path, {"cookie": cookie} if cookie else {}, self.board)
                )
            )
            await asyncio.sleep(0.01)  # spread the connections over the workers as members arriving would
        done, _ = await asyncio.wait(
            [asyncio.create_task(ready.wait()), *self.tasks],
            timeout=ROUND_TIMEOUT,
            return_when=asyncio.FIRST_COMPLETED,
        )
        for task in self.tasks:
            if task.done() and task.exception():
                raise SystemExit(f"{self.server.name}: a stream failed: {task.exception()}")
        if not ready.is_set():
            got = len(self.board.arrived.get("open", []))
            raise SystemExit(f"{self.server.name}: only {got} of {self.streams} streams opened")

    async def round(self, n: int, record: bool) -> None:
        mark = f"r{n}{secrets.token_hex(3)}"
        done = self.board.expect(mark)
        fields = {**self.post_fields, "text": f"{self.post_fields['text']} [bench {mark}]"}
        start = time.perf_counter()
        response = await self.poster.post(self.post_path, data=fields, headers=self.post_headers)
        answered = time.perf_counter() - start
        if response.status_code != 303:
            raise SystemExit(
                f"{self.server.name}: posting the minute answered {response.status_code}: "
                f"{response.text[:300]}"
            )
        try:
            await asyncio.wait_for(done.wait(), ROUND_TIMEOUT)
        except TimeoutError:
            got = len(self.board.arrived.get(mark, []))
            raise SystemExit(
                f"{self.server.name}: only {got} of {self.streams} members received the minute "
                f"within {ROUND_TIMEOUT:.0f} s"
            ) from None
        times = self.board.arrived.pop(mark)
        self.shown.add(self.board.shown.pop(mark, 0))
        if record:
            self.latencies.append(max(times) - start)
            self.firsts.append(min(times) - start)
            self.answers.append(answered)

    async def close(self) -> None:
        for task in self.tasks:
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)
        await self.client.aclose()
        await self.poster.aclose()


def p95(values: list[float]) -> float:
    """Nearest rank: with 20 rounds the 19th slowest, with 10 or fewer the slowest."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(0.95 * len(ordered)) - 1)]


async def main(members: int, runs: int, database_url: str | None, workers: int) -> int:
    url, data, schema = await prepare(database_url, members)
    engine_name = "SQLite" if url.startswith("sqlite") else "PostgreSQL"
    servers = [caseframe_server(url, workers), uvicorn_server("bare", "bench_minutes:bare_app")]
    audiences: list[Audience] = []
    try:
        await asyncio.gather(*(s.ready() for s in servers))
        caseframe, bare = servers
        semaphore = asyncio.Semaphore(4)  # argon2id: a handful at once, as people arrive

        async def member(email: str) -> str:
            async with semaphore:
                cookie, client = await sign_in(caseframe.base, email)
                await client.aclose()
                return cookie

        cookies = await asyncio.gather(*(member(e) for e in data["members"]))
        chair_cookie, chair_client = await sign_in(caseframe.base, data["chair"])
        from caseframe.core.testing import csrf_token_of

        page = await chair_client.get(f"/meetings/{data['meeting']}")
        token = csrf_token_of(page.text)
        await chair_client.aclose()
        text = "Police report three call-outs since the last meeting; housing to check the tenancy"
        audiences = [
            Audience(
                caseframe,
                members,
                f"/meetings/{data['meeting']}/events",
                cookies,
                f"/meetings/{data['meeting']}/minutes",
                {"cookie": chair_cookie},
                {"csrf_token": token, "item_id": str(data["item"]), "kind": "discussion", "text": text},
            ),
            Audience(bare, members, "/events", [], "/minutes", {}, {"text": text}),
        ]
        for audience in audiences:
            await audience.open()
        per_worker = streams_per_process(caseframe)
        for n in range(WARM_UP + runs):
            # alternate which goes first, so a burst of other work on the machine hits both alike
            for audience in audiences if n % 2 == 0 else audiences[::-1]:
                await audience.round(n, record=n >= WARM_UP)
                await asyncio.sleep(0.05)
    finally:
        for audience in audiences:
            await audience.close()
        for server in servers:
            server.stop()
        await drop_database(url, schema)
    cf, base = audiences
    median, base_median = statistics.median(cf.latencies), statistics.median(base.latencies)
    ok = median < TARGET_SECONDS
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else 0.0
    processes = f"{workers} uvicorn worker{'s' if workers > 1 else ''}"
    print(
        f"live minutes: {members} members on server-sent events, {engine_name}, caseframe on {processes}, "
        f"{runs} rounds (+{WARM_UP} warm-up); load average {load:.1f} on {os.cpu_count()} CPUs"
    )
    print(
        f"the entry's text reached {' or '.join(map(str, sorted(cf.shown)))} members each round; the rest "
        "(an agency outside the ISA) got the entry without it"
    )
    if workers > 1:
        print(f"streams held by each caseframe worker: {' + '.join(map(str, per_worker)) or 'unknown'}")
    rows = [
        ("caseframe: POST to the 50th member", cf.latencies),
        ("  POST to the first member", cf.firsts),
        ("  POST answered (303)", cf.answers),
        ("baseline: bare SSE, 50th client", base.latencies),
        ("  bare SSE, first client", base.firsts),
    ]
    if members != 50:
        rows = [(label.replace("50th", f"{members}th"), values) for label, values in rows]
    print(f"{'measure':36} {'median ms':>10} {'p95 ms':>8}")
    for label, values in rows:
        print(f"{label:36} {statistics.median(values) * 1000:10.1f} {p95(values) * 1000:8.1f}")
    print(
        f"ratio {median / base_median:.1f}x the bare broadcast; median {median * 1000:.0f} ms "
        f"(target < {TARGET_SECONDS:.0f} s): {'PASS' if ok else 'FAIL'}"
    )
    if not ok:
        print(
            f"Missed: a minute reached {members} members in {median:.2f} s (median), "
            f"target < {TARGET_SECONDS:.0f} s"
        )
        return 1
    return 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=50, help="open streams (default 50)")
    parser.add_argument("--runs", type=int, default=20, help="measured rounds (default 20)")
    parser.add_argument(
        "--database-url",
        help="postgresql://... to run on PostgreSQL in a fresh schema (default: a temporary SQLite file)",
    )
    parser.add_argument("--workers", type=int, help="worker processes for caseframe (default 2)")
    parser.add_argument("--check", action="store_true", help="accepted for symmetry: a miss always exits 1")
    args = parser.parse_args()
    if args.database_url and not args.database_url.startswith(("postgres://", "postgresql://")):
        parser.error("--database-url takes a PostgreSQL URL; SQLite is the default")
    workers = args.workers or 2
    if workers < 1:
        parser.error("--workers must be at least 1")
    if args.members < 1 or args.runs < 1:
        parser.error("--members and --runs must be at least 1")
    sys.exit(asyncio.run(main(args.members, args.runs, args.database_url, workers)))
