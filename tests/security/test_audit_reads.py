"""Every read of case content is audited, and every refused guess at an id is recorded as a denied access.

The walk reads the app's own route table (as test_route_walk does), so a route added later, by the core or
a plugin, is covered without touching this file. Every GET route (and every POST that only reads: searches)
is called with real ids by the case's owner, the owning agency's panel chair and a partner agency's worker
the case is shared with. A response showing any piece of case content (an answer, a note, the referral's
reason or question, a minute) must have written an audit event of a read by that user; a route reading
case content without one fails the walk, named.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import re
from typing import Any

import httpx
import pytest

from caseframe.core import clock
from caseframe.core.audit.tables import AuditEvent
from caseframe.core.cases import service as cases
from caseframe.core.panels import service as panels
from caseframe.core.sharing import service as sharing
from caseframe.core.testing import TEST_PASSWORD, make_agency, make_context, make_user, sign_in
from tests.fixtures.areas import noise_plugin
from tests.security.test_authz_matrix import build_records

#: pieces of case content planted in the world: a response holding one read the case
CONTENT = {
    "an answer": "Panic attacks most nights",
    "a note": "Zephyrine note about the hedge",
    "the referral's reason": "Xanthippe escalation reason",
    "the referral's question": "Any history?",
    "a minute": "Quillon minute on the case",
    "an action": "Vorlaine action for the housing team",
    "a task": "Visit the street",
    "a subject's name": "Rowanna",
}
#: ids each path parameter is filled with, from the world
PARAMS = {
    "case_id": "case",
    "person_id": "person",
    "task_id": "task",
    "referral_id": "referral",
    "meeting_id": "meeting",
    "share_id": "share",
    "subject_id": "subject",
    "item_id": "item",
    "panel_id": "panel",
    "panel_case_id": "panel_case",
    "document_id": "document",
}
TEXT = {"form_name": "visit", "form": "visit", "name": "record_visit", "slug": "noise"}
QUERIES = {"/referrals/{referral_id:int}/accept": "?area=noise", "/referrals": "?box=sent"}
#: POST routes that only read: (path) -> body
READING_POSTS = {
    "/persons/search": {"name": "Quennellford"},
    "/cases/{case_id:int}/subjects/search": {"name": "Quennellford"},
    "/search/national": {"name": "Quennellford"},
}
#: streams stay open for as long as the reader does: opened and read once below
STREAMS = {"/meetings/{meeting_id:int}/events"}
#: what a page may show without a read being recorded, on purpose: My work lists the agency's own open tasks
#: by title (an action from a panel becomes one); the cases behind them are audited when opened
UNAUDITED = {("GET", "/"): {"a task", "an action"}}
#: audit actions that are not reads
NOT_READS = ("auth.", "sign_in.")


def _fill(path: str, w: dict[str, Any]) -> str:
    def value(match: re.Match) -> str:
        name = match.group(1)
        if name in PARAMS:
            return str(w[PARAMS[name]])
        return "999999" if name.endswith("_id") else TEXT.get(name, "x")

    return re.sub(r"\{(\w+):\w+\}", value, path)


def _reads(app) -> list[tuple[str, str]]:
    out = set()
    for route in app.routes:
        for method in getattr(route, "methods", None) or []:
            if route.path.startswith(("/static", "/assets", "/schema")) or route.path in STREAMS:
                continue
            if method == "GET" or (method == "POST" and route.path in READING_POSTS):
                out.add((method, route.path))
    return sorted(out, key=lambda r: (r[1], r[0]))


@pytest.fixture(scope="module")
async def world(database):
    from caseframe.core.settings import Settings
    from caseframe.core.testing import empty_tables
    from caseframe.core.web.app import create_app

    await empty_tables()
    ctx = make_context(noise_plugin)
    a = await make_agency(ctx, "reads-a", name="Reads Agency A")
    b = await make_agency(ctx, "reads-b", name="Reads Agency B")
    owner = await make_user(a, ("caseworker",), name="Owner Worker")
    chair = await make_user(a, ("panel_chair",), name="Owner Chair")
    admin = await make_user(a, ("system_admin",), name="Owner Admin")
    partner = await make_user(b, ("caseworker",), name="Partner Worker")
    stranger = await make_user(
        await make_agency(ctx, "reads-c", name="Reads Agency C"), ("caseworker",), name="Stranger Worker"
    )
    today = clock.today()
    await sharing.create_isa(
        ctx,
        admin,
        reference="ISA-READS",
        title="A and B",
        parties=[a["id"], b["id"]],
        purposes=["crime_prevention"],
        areas=["noise"],
        legal_basis="CDA 1998 s.115",
        starts_on=today - dt.timedelta(days=30),
        ends_on=today + dt.timedelta(days=300),
        max_sensitivity="official",
    )
    panel = await panels.save_panel(
        ctx, chair, name="Reads Panel", member_agency_ids=[b["id"]], areas=["noise"], frequency="monthly"
    )
    w = await build_records(
        ctx,
        owner,
        chair,
        {"b": b["id"], "d_slug": b["slug"], "panel": panel["id"], "panel_slug": panel["slug"]},
    )
    await cases.add_note(ctx, owner, w["case"], CONTENT["a note"])
    from caseframe.core.panels.tables import AgendaItem, Meeting, PanelCase
    from caseframe.core.referrals import inbox
    from caseframe.core.referrals.tables import Referral

    await Referral.update({Referral.reason: CONTENT["the referral's reason"]}).where(
        Referral.id == w["referral"]
    )
    version = (await Referral.select(Referral.version).where(Referral.id == w["referral"]).first())["version"]
    await inbox.accept_to_panel(ctx, chair, w["referral"], version=version)
    w["panel_case"] = (await PanelCase.select(PanelCase.id).first())["id"]
    meeting = await Meeting.select(Meeting.version).where(Meeting.id == w["meeting"]).first()
    await panels.add_agenda_item(
        chair, w["meeting"], kind="referral", case_id=w["case"], version=meeting["version"]
    )
    item = await AgendaItem.select(AgendaItem.id).where(AgendaItem.case == w["case"]).first()
    meeting = await Meeting.select(Meeting.version).where(Meeting.id == w["meeting"]).first()
    await panels.set_status(chair, w["meeting"], "in_progress", version=meeting["version"])
    await panels.add_minute(
        ctx, chair, w["meeting"], item_id=item["id"], kind="discussion", text=CONTENT["a minute"]
    )
    await panels.add_minute(
        ctx,
        chair,
        w["meeting"],
        item_id=item["id"],
        kind="action",
        text=CONTENT["an action"],
        owner_agency_id=a["id"],
        due_date=today + dt.timedelta(days=14),
    )
    app = create_app(
        Settings(local_demo=True, database_url="sqlite:///unused.sqlite"), ctx=ctx, engine=database
    )
    async with contextlib.AsyncExitStack() as stack:
        callers = {}
        for label, actor in (
            ("owner", owner),
            ("chair", chair),
            ("partner", partner),
            ("admin", admin),
            ("stranger", stranger),
        ):
            client = await stack.enter_async_context(
                httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://localhost")
            )
            csrf = await sign_in(client, actor)
            token = (
                await client.post("/api/v1/session", json={"email": actor.email, "password": TEST_PASSWORD})
            ).json()["token"]
            callers[label] = (actor, client, csrf, token)
        yield {"app": app, "w": w, "callers": callers}


async def _call(caller, method: str, url: str, body: dict[str, Any] | None = None) -> httpx.Response:
    actor, client, csrf, token = caller
    if url.startswith("/api/"):
        return await client.request(method, url, headers={"Authorization": f"Bearer {token}"})
    if method == "GET":
        return await client.get(url)
    return await client.post(url, data={**(body or {}), "csrf_token": csrf})


async def _events_since(last: int, actor_id: int) -> list[dict[str, Any]]:
    return await AuditEvent.select(AuditEvent.action, AuditEvent.object_type, AuditEvent.object_id).where(
        (AuditEvent.id > last) & (AuditEvent.actor_id == actor_id)
    )


async def _last_id() -> int:
    row = await AuditEvent.select(AuditEvent.id).order_by(AuditEvent.id, ascending=False).first()
    return row["id"] if row else 0


async def test_every_read_of_case_content_is_audited(world):
    w, walked, unaudited, shown = world["w"], 0, [], set()
    for method, path in _reads(world["app"]):
        url = _fill(path, w) + QUERIES.get(path, "")
        for label, caller in world["callers"].items():
            if label == "stranger":
                continue
            before = await _last_id()
            response = await asyncio.wait_for(_call(caller, method, url, READING_POSTS.get(path)), 15)
            walked += 1
            if response.status_code != 200:
                continue
            found = [
                what
                for what, text in CONTENT.items()
                if text in response.text and what not in UNAUDITED.get((method, path), ())
            ]
            if not found:
                continue
            shown.add(path)
            reads = [
                e for e in await _events_since(before, caller[0].id) if not e["action"].startswith(NOT_READS)
            ]
            if not reads:
                unaudited.append(f"{method} {url} as {label}: shows {', '.join(found)} with no audit event")
    print("\n".join(sorted(shown)))
    assert walked > 50
    assert not unaudited, "reads of case content that wrote no audit event:\n" + "\n".join(unaudited)


async def test_following_the_minutes_live_is_audited(world):
    actor, client, _, _ = world["callers"]["partner"]
    before = await _last_id()
    with contextlib.suppress(TimeoutError):  # the stream stays open: its opening is what is recorded
        await asyncio.wait_for(client.get(f"/meetings/{world['w']['meeting']}/events"), 2)
    events = await _events_since(before, actor.id)
    assert any(e["action"] == "meeting.view" and e["object_id"] == world["w"]["meeting"] for e in events)


def _id_routes(app) -> list[tuple[str, str]]:
    out = set()
    for route in app.routes:
        for method in getattr(route, "methods", None) or []:
            if method not in ("HEAD", "OPTIONS") and re.search(r"\{\w+_id:int\}", route.path):
                out.add((method, route.path))
    return sorted(out, key=lambda r: (r[1], r[0]))


async def test_every_refused_guess_at_an_id_is_recorded(world):
    """Someone from an agency with no claim on the records tries every address naming one, and then every
    address with an id that does not exist: each refusal (403 or 404) is an access.denied event naming it."""
    actor, client, csrf, token = world["callers"]["stranger"]
    w, tried, missing = world["w"], 0, []
    for method, path in _id_routes(world["app"]):
        for guess in (None, "999999"):
            url = _fill(path, w) if guess is None else re.sub(r"\{\w+_id:int\}", guess, path, count=1)
            url = re.sub(
                r"\{(\w+):\w+\}",
                lambda m: str(w[PARAMS[m.group(1)]])
                if m.group(1) in PARAMS
                else "999999"
                if m.group(1).endswith("_id")
                else TEXT.get(m.group(1), "x"),
                url,
            )
            before = await _last_id()
            try:
                response = await asyncio.wait_for(_call(world["callers"]["stranger"], method, url), 5)
            except TimeoutError:
                missing.append(f"{method} {url}: answered a stranger with a stream")
                continue
            if response.status_code not in (403, 404):
                continue
            tried += 1
            denied = [e for e in await _events_since(before, actor.id) if e["action"] == "access.denied"]
            expected_id = int(guess) if guess else None
            if not denied or (expected_id and denied[0]["object_id"] != expected_id):
                missing.append(
                    f"{method} {url} -> {response.status_code} with no access.denied event naming it"
                )
    assert tried > 40
    assert not missing, "refusals not recorded:\n" + "\n".join(missing)


async def test_a_denied_access_names_the_record_and_route(world):
    actor, client, _, _ = world["callers"]["stranger"]
    before = await _last_id()
    assert (await client.get(f"/cases/{world['w']['case']}")).status_code == 404
    event = (
        await AuditEvent.select()
        .where((AuditEvent.id > before) & (AuditEvent.actor_id == actor.id))
        .output(load_json=True)
        .first()
    )
    assert (event["action"], event["object_type"], event["object_id"]) == (
        "access.denied",
        "case",
        world["w"]["case"],
    )
    assert event["detail"] == {
        "status": 404,
        "method": "GET",
        "route": "/cases/{case_id}",
        "ids": {"case_id": world["w"]["case"]},
    }
