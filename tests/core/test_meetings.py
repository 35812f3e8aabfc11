"""Panels and meetings: set up, agenda from the panel's list, publish, live minutes, actions as tasks, close."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt

import pytest

from caseframe.core import clock
from caseframe.core.audit.tables import AuditEvent
from caseframe.core.cases import service as cases
from caseframe.core.cases.tables import CaseEvent
from caseframe.core.errors import Conflict, Forbidden, NotFound, ValidationFailed
from caseframe.core.panels import live, service
from caseframe.core.panels.tables import AgendaItem, Minute
from caseframe.core.tasks.tables import Task
from caseframe.core.testing import sign_in, web_client
from tests.fixtures.partnership import make_panel_world


@pytest.fixture
async def world(db, ctx):
    return await make_panel_world(ctx)


async def _run(world) -> dict:
    m = world["meeting"]
    suggestions = await service.agenda_suggestions(m)
    assert [s["kind"] for s in suggestions] == ["referral"]
    await service.add_agenda_item(world["chair"], m["id"], kind="referral", case_id=world["case"]["id"])
    await service.set_status(world["chair"], m["id"], "published")
    await service.set_status(world["chair"], m["id"], "in_progress")
    item = await AgendaItem.select().where(AgendaItem.meeting == m["id"]).first()
    return item


async def test_the_agenda_is_built_from_the_panels_list_and_members_see_it_once_published(world):
    m = world["meeting"]
    with pytest.raises(NotFound):  # planned: members do not see it yet
        await service.visible_meeting(world["officer"], m["id"])
    with pytest.raises(ValidationFailed):
        await service.set_status(world["chair"], m["id"], "published")  # nothing on the agenda
    with pytest.raises(ValidationFailed):
        await service.add_agenda_item(world["chair"], m["id"], kind="referral", case_id=999999)
    await service.add_agenda_item(world["chair"], m["id"], kind="referral", case_id=world["case"]["id"])
    with pytest.raises(Forbidden):
        await service.set_status(world["owner"], m["id"], "published")  # not a chair
    await service.set_status(world["chair"], m["id"], "published")
    assert (await service.visible_meeting(world["officer"], m["id"]))["status"] == "published"
    with pytest.raises(NotFound):
        await service.visible_meeting(world["outsider"], m["id"])
    # the police (live ISA) now read the agenda case; the charity (member, no ISA) does not
    assert (await cases.get_case(world["ctx"], world["officer"], world["case"]["id"]))["access"] == "panel"
    with pytest.raises(NotFound):
        await cases.get_case(world["ctx"], world["helper"], world["case"]["id"])


async def test_minutes_are_appended_and_an_action_becomes_a_task_at_once(world):
    item = await _run(world)
    m, ctx = world["meeting"], world["ctx"]
    with pytest.raises(Forbidden):
        await service.add_minute(
            ctx, world["officer"], m["id"], item_id=item["id"], kind="discussion", text="hi"
        )
    with pytest.raises(ValidationFailed) as bad:
        await service.add_minute(
            ctx,
            world["chair"],
            m["id"],
            item_id=item["id"],
            kind="action",
            text="Visit",
            owner_agency_id=9999,
            due_date=None,
        )
    assert {e["field"] for e in bad.value.errors} == {"/owner_agency_id", "/due_date"}
    assert await Task.count() == 0 and await Minute.count() == 0
    await service.add_minute(
        ctx,
        world["chair"],
        m["id"],
        item_id=item["id"],
        kind="discussion",
        text="Police report three call-outs since the last meeting",
    )
    due = clock.today() + dt.timedelta(days=14)
    await service.add_minute(
        ctx,
        world["chair"],
        m["id"],
        item_id=item["id"],
        kind="action",
        text="Joint visit with housing",
        owner_agency_id=world["police"]["id"],
        assignee_id=world["officer"].id,
        due_date=due,
    )
    task = await Task.select().where(Task.case == world["case"]["id"]).first()
    assert (
        task["owner_agency"] == world["police"]["id"]
        and task["source"] == "panel"
        and task["due_date"] == due
    )
    assert task["meeting_id"] == m["id"] and task["agenda_item_id"] == item["id"]
    shown = await service.minutes(m["id"])
    assert [r["kind"] for r in shown] == ["discussion", "action"] and shown[1]["task"][
        "owner"
    ] == "Wealden Police"
    assert await AuditEvent.count().where(AuditEvent.action == "meeting.minute") == 2


async def test_closing_puts_the_minutes_on_the_case_timeline_and_actions_in_the_report(world):
    item = await _run(world)
    m, ctx = world["meeting"], world["ctx"]
    await service.add_minute(
        ctx,
        world["chair"],
        m["id"],
        item_id=item["id"],
        kind="decision",
        text="Refer to the civil injunction route",
    )
    await service.add_minute(
        ctx,
        world["chair"],
        m["id"],
        item_id=item["id"],
        kind="action",
        text="Gather evidence",
        owner_agency_id=world["police"]["id"],
        due_date=clock.today(),
    )
    with pytest.raises(Conflict):
        await service.set_status(world["chair"], m["id"], "closed", version=1)
    await service.set_status(world["chair"], m["id"], "closed")
    events = await CaseEvent.select(CaseEvent.summary).where(
        (CaseEvent.case == world["case"]["id"]) & (CaseEvent.kind == "panel")
    )
    assert len(events) == 1 and "Decision: Refer to the civil injunction route" in events[0]["summary"]
    with clock.travel(1):  # due today (a past date is refused), overdue tomorrow
        report = await service.outstanding_actions(world["panel"]["id"])
    assert [r["title"] for r in report] == ["Gather evidence"] and report[0]["overdue"]
    with pytest.raises(Conflict):
        await service.add_minute(
            ctx, world["chair"], m["id"], item_id=item["id"], kind="discussion", text="late"
        )
    # the police keep reading the case while their action is open, and lose it once it is done
    assert (await cases.get_case(ctx, world["officer"], world["case"]["id"]))["access"] == "panel"
    from caseframe.core.tasks import service as tasks

    action = await Task.select(Task.id).where(Task.owner_agency == world["police"]["id"]).first()
    await tasks.complete_task(ctx, world["officer"], action["id"])
    with pytest.raises(NotFound):
        await cases.get_case(ctx, world["officer"], world["case"]["id"])


async def test_followers_are_woken_by_a_new_minute(world):
    item = await _run(world)
    m = world["meeting"]
    followers = [await live.follow(m["id"]) for _ in range(3)]
    await service.add_minute(
        world["ctx"], world["chair"], m["id"], item_id=item["id"], kind="discussion", text="x"
    )
    await asyncio.wait_for(asyncio.gather(*(f.wait() for f in followers)), 5)
    for f in followers:
        live.unfollow(m["id"], f)
    assert live.followers(m["id"]) == 0


async def _sse(
    app, path: str, cookies: str, *, until: int, timeout: float = 10.0, after_first=None
) -> list[str]:
    """Read a server-sent-event stream straight from the ASGI app until ``until`` minute events arrived."""
    chunks: list[str] = []
    got_minutes = asyncio.Event()
    disconnect = asyncio.Event()

    async def receive():
        await disconnect.wait()
        return {"type": "http.disconnect"}

    async def send(message):
        if message["type"] == "http.response.body":
            chunks.append(message.get("body", b"").decode())
            if "".join(chunks).count("event: minute") >= until:
                got_minutes.set()

    path, _, query = path.partition("?")
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": query.encode(),
        "root_path": "",
        "headers": [
            (b"host", b"localhost"),
            (b"cookie", cookies.encode()),
            (b"accept", b"text/event-stream"),
        ],
        "client": ("127.0.0.1", 1234),
        "server": ("localhost", 80),
    }
    task = asyncio.create_task(app(scope, receive, send))
    if after_first is not None:
        for _ in range(100):
            if chunks:
                break
            await asyncio.sleep(0.05)
        await after_first()
    try:
        await asyncio.wait_for(got_minutes.wait(), timeout)
    finally:
        disconnect.set()
        task.cancel()
        with contextlib.suppress(BaseException):
            await task
    return chunks


async def test_meeting_pages_and_the_live_stream(world, db):
    from caseframe.core.settings import Settings
    from caseframe.core.web.app import create_app

    item = await _run(world)
    m, ctx = world["meeting"], world["ctx"]
    await service.add_minute(
        ctx,
        world["chair"],
        m["id"],
        item_id=item["id"],
        kind="discussion",
        text="<img src=x onerror=alert(1)> first",
    )
    async with web_client(ctx, db) as client:
        token = await sign_in(client, world["chair"])
        page = await client.get(f"/meetings/{m['id']}")
        assert page.status_code == 200 and 'sse-connect="/meetings/' in page.text
        assert "&lt;img src=x" in page.text and "<img src=x" not in page.text
        bad = await client.post(
            f"/meetings/{m['id']}/minutes",
            data={"csrf_token": token, "item_id": str(item["id"]), "kind": "action", "text": "Visit"},
        )
        assert bad.status_code == 400 and "Select the member agency that owns the action" in bad.text
        assert (
            await client.post(
                f"/meetings/{m['id']}/minutes",
                data={"item_id": str(item["id"]), "kind": "discussion", "text": "no token"},
            )
        ).status_code == 403
        frag = await client.post(
            f"/meetings/{m['id']}/minutes",
            headers={"HX-Request": "true"},
            data={
                "csrf_token": token,
                "item_id": str(item["id"]),
                "kind": "action",
                "text": "Joint visit",
                "owner_agency_id": str(world["police"]["id"]),
                "due-day": "1",
                "due-month": "12",
                "due-year": "2030",
            },
        )
        assert frag.status_code == 200 and 'id="minute-form"' in frag.text and "<html" not in frag.text
    async with web_client(ctx, db) as client:
        await sign_in(client, world["officer"])
        assert (await client.get(f"/meetings/{m['id']}")).status_code == 200
        assert (await client.post(f"/meetings/{m['id']}/status", data={"to": "closed"})).status_code == 403
        cookies = "; ".join(f"{k}={v}" for k, v in client.cookies.items())
    async with web_client(ctx, db) as client:
        await sign_in(client, world["outsider"])
        assert (await client.get(f"/meetings/{m['id']}")).status_code == 404
        assert (await client.get(f"/meetings/{m['id']}/events")).status_code == 404
    app = create_app(Settings(local_demo=True, database_url="sqlite:///unused.sqlite"), ctx=ctx, engine=db)

    async def write_one():
        await service.add_minute(
            ctx,
            world["chair"],
            m["id"],
            item_id=item["id"],
            kind="decision",
            text="Live decision for the member",
        )

    # a follower that has seen nothing gets the earlier entries, then the new one as it is written
    chunks = await _sse(app, f"/meetings/{m['id']}/events", cookies, until=3, after_first=write_one)
    body = "".join(chunks)
    assert body.count("event: minute") == 3 and "Live decision for the member" in body
    assert "&lt;img src=x" in body and "<img src=x" not in body
    # Last-Event-ID: a reconnecting follower gets only what it missed
    last = max(r["id"] for r in await Minute.select(Minute.id))
    await service.add_minute(
        ctx, world["chair"], m["id"], item_id=item["id"], kind="discussion", text="After reconnect"
    )
    again = "".join(await _sse(app, f"/meetings/{m['id']}/events?after={last}", cookies, until=1))
    assert again.count("event: minute") == 1 and "After reconnect" in again


async def test_the_chair_takes_a_case_off_the_list_with_a_reason(world):
    from caseframe.core.panels.tables import PanelCase

    listed = await PanelCase.select().where(PanelCase.panel == world["panel"]["id"]).first()
    with pytest.raises(NotFound):
        await service.close_panel_case(world["officer"], world["panel"]["id"] + 99, listed["id"], reason="x")
    with pytest.raises(Forbidden):
        await service.close_panel_case(world["officer"], world["panel"]["id"], listed["id"], reason="Done")
    with pytest.raises(ValidationFailed):
        await service.close_panel_case(world["chair"], world["panel"]["id"], listed["id"], reason=" ")
    await service.close_panel_case(
        world["chair"], world["panel"]["id"], listed["id"], reason="Injunction granted"
    )
    assert await service.agenda_suggestions(world["meeting"]) == []
    events = await CaseEvent.select(CaseEvent.summary).where(CaseEvent.kind == "panel")
    assert "Injunction granted" in events[-1]["summary"]


async def test_a_correction_supersedes_an_entry_once_and_keeps_the_original(world):
    item = await _run(world)
    m, ctx = world["meeting"], world["ctx"]
    first = await service.add_minute(
        ctx, world["chair"], m["id"], item_id=item["id"], kind="decision", text="Refer to the civil route"
    )
    await service.add_minute(
        ctx,
        world["chair"],
        m["id"],
        item_id=item["id"],
        kind="decision",
        text="Refer to the civil injunction route",
        supersedes=first["id"],
    )
    with pytest.raises(Conflict):
        await service.add_minute(
            ctx,
            world["chair"],
            m["id"],
            item_id=item["id"],
            kind="decision",
            text="A second correction of the same entry",
            supersedes=first["id"],
        )
    shown = await service.minutes(m["id"])
    assert [(r["text"], bool(r["superseded_by"]), bool(r["corrects"])) for r in shown] == [
        ("Refer to the civil route", True, False),
        ("Refer to the civil injunction route", False, True),
    ]
    await service.set_status(world["chair"], m["id"], "closed")
    events = await CaseEvent.select(CaseEvent.summary).where(CaseEvent.kind == "panel")
    assert "civil injunction route" in events[-1]["summary"] and "civil route" not in events[-1]["summary"]


async def test_correct_link_starts_the_form_from_the_entry(world, db):
    item = await _run(world)
    m, ctx = world["meeting"], world["ctx"]
    first = await service.add_minute(
        ctx, world["chair"], m["id"], item_id=item["id"], kind="discussion", text="Three call-outs"
    )
    async with web_client(ctx, db) as client:
        token = await sign_in(client, world["chair"])
        page = await client.get(f"/meetings/{m['id']}?correct={first['id']}")
        assert "You are correcting an entry" in page.text and ">Three call-outs</textarea>" in page.text
        assert (await client.get(f"/meetings/{m['id']}?correct=abc")).status_code == 200
        done = await client.post(
            f"/meetings/{m['id']}/minutes",
            data={
                "csrf_token": token,
                "item_id": str(item["id"]),
                "kind": "discussion",
                "text": "Four call-outs",
                "supersedes": str(first["id"]),
            },
        )
        assert done.status_code == 303
        page = await client.get(f"/meetings/{m['id']}")
        assert "Corrected below" in page.text and "Correction" in page.text
    async with web_client(ctx, db) as client:
        await sign_in(client, world["officer"])  # a member cannot correct
        assert (
            "You are correcting" not in (await client.get(f"/meetings/{m['id']}?correct={first['id']}")).text
        )


async def test_one_read_serves_every_follower_but_never_one_woken_by_later_news():
    calls = []

    async def load():
        calls.append(1)
        return len(calls)

    key = (42, 0, live.generation(42))
    results = await asyncio.gather(*(live.shared_read(key, load) for _ in range(50)))
    assert results == [1] * 50 and len(calls) == 1
    live._wake(42)  # news: followers now ask with the new generation and read afresh
    assert await live.shared_read((42, 0, live.generation(42)), load) == 2


@pytest.mark.parametrize(
    "when",
    [
        dt.datetime(9999, 12, 31, 10, tzinfo=dt.UTC),
        dt.datetime(1, 1, 1, 10, tzinfo=dt.UTC),
        dt.datetime.combine(clock.today() + dt.timedelta(days=6 * 366), dt.time(10), tzinfo=dt.UTC),
    ],
    ids=["year 9999", "year 1", "six years ahead"],
)
async def test_a_meeting_years_away_is_refused_naming_the_date(world, when):
    """A year typed wrong is refused, and nothing is scheduled: a meeting on 31 December 9999 could not be closed
    (the review date it gives each case was past the calendar's end, a 500)."""
    from caseframe.core.panels.tables import Meeting

    before = await Meeting.count()
    with pytest.raises(ValidationFailed) as refused:
        await service.schedule_meeting(
            world["chair"], world["panel"]["id"], starts_at=when, location="Room 1"
        )
    assert refused.value.errors == [
        {"field": "/starts_at", "message": "The meeting must be within 5 years of today: check the year"}
    ]
    assert await Meeting.count() == before
    soon = dt.datetime.combine(clock.today() + dt.timedelta(days=4 * 365), dt.time(10), tzinfo=dt.UTC)
    assert (
        await service.schedule_meeting(world["chair"], world["panel"]["id"], starts_at=soon, location="R")
    )["id"]


async def test_a_meeting_stored_at_the_calendars_end_still_closes(world):
    """A meeting stored on 31 December 9999 before dates were bounded closes; its cases' reviews fall due on the
    calendar's last day rather than failing the close."""
    from caseframe.core.panels.tables import Meeting, PanelCase

    end = dt.datetime(9999, 12, 31, 10, tzinfo=dt.UTC)
    await Meeting.update({Meeting.starts_at: end}).where(Meeting.id == world["meeting"]["id"])
    await _run(world)
    await service.set_status(world["chair"], world["meeting"]["id"], "closed")
    review = await PanelCase.select(PanelCase.review_due).where(PanelCase.case == world["case"]["id"]).first()
    assert review["review_due"] == dt.date.max


async def test_the_meeting_form_names_a_year_typed_wrong(world, db):
    from caseframe.core.panels.tables import Meeting

    before = await Meeting.count()
    async with web_client(world["ctx"], db) as client:
        token = await sign_in(client, world["chair"])
        page = await client.post(
            f"/panels/{world['panel']['id']}/meetings",
            data={
                "csrf_token": token,
                "starts-day": "3",
                "starts-month": "2",
                "starts-year": "9999",
                "starts-time": "14:30",
                "location": "Committee Room 1",
            },
        )
    assert page.status_code == 400, page.status_code
    assert "govuk-error-summary" in page.text and "The meeting must be within 5 years of today" in page.text
    assert await Meeting.count() == before


async def _police_action(world, item, text: str, due: dt.date):
    """The chair minutes an action for the police on ``item``, due on ``due``."""
    return await service.add_minute(
        world["ctx"],
        world["chair"],
        world["meeting"]["id"],
        item_id=item["id"],
        kind="action",
        text=text,
        owner_agency_id=world["police"]["id"],
        due_date=due,
    )


async def test_a_panel_action_due_years_away_is_refused(world):
    item = await _run(world)
    with pytest.raises(ValidationFailed) as refused:
        await _police_action(world, item, "Gather evidence", dt.date(9999, 12, 31))
    assert {
        "field": "/due_date",
        "message": "The due date must be within 10 years of today: check the year",
    } in refused.value.errors
    assert await Task.count().where(Task.source == "panel") == 0


async def test_a_case_taken_onto_a_panel_with_a_review_date_years_away_is_refused(world):
    """The referral inbox's review date is bounded as a meeting's is; the referral stays where it was."""
    from caseframe.core.referrals import inbox
    from caseframe.core.referrals.tables import Referral
    from tests.fixtures.partnership import refer_to_panel

    ctx = world["ctx"]
    _, made = await refer_to_panel(ctx, world["owner"], world["panel"]["slug"], "Dana", "Whitlock")
    before = await Referral.select(Referral.status).where(Referral.id == made["id"]).first()
    with pytest.raises(ValidationFailed) as refused:
        await inbox.accept_to_panel(
            ctx, world["chair"], made["id"], version=1, review_due=dt.date(9999, 12, 31)
        )
    assert refused.value.errors == [
        {"field": "/review_due", "message": "The review date must be within 5 years of today: check the year"}
    ]
    assert await Referral.select(Referral.status).where(Referral.id == made["id"]).first() == before
    soon = clock.today() + dt.timedelta(days=30)
    await inbox.accept_to_panel(ctx, world["chair"], made["id"], version=1, review_due=soon)


async def test_an_action_is_not_given_to_a_member_agency_deactivated_since(world):
    """Its users cannot sign in: an action given to it would never be done, nor seen to be undone. It is refused,
    saying why, nothing is minuted, and the meeting page offers only the active members."""
    from caseframe.core.agencies import service as agencies
    from caseframe.core.agencies.tables import Agency
    from caseframe.core.testing import make_user

    item = await _run(world)
    council = await Agency.select(Agency.id, Agency.slug).where(Agency.id == world["chair"].agency_id).first()
    sysadmin = await make_user(council, ("system_admin",), name="Sue Sysadmin")
    await agencies.set_agency_active(sysadmin, world["police"]["id"], False)
    with pytest.raises(ValidationFailed) as refused:
        await _police_action(world, item, "Joint visit with housing", clock.today() + dt.timedelta(days=7))
    assert refused.value.errors == [
        {
            "field": "/owner_agency_id",
            "message": "That agency has been deactivated: give the action to an active member agency",
        }
    ]
    assert await Task.count() == 0 and await Minute.count() == 0
    members = await service.member_agencies(world["panel"])
    assert world["police"]["id"] not in {m["id"] for m in members}
