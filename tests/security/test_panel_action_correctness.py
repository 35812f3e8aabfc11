"""Panel actions as a tester found them in the browser: a due date in the past was taken, and the person list
offered people of every member agency whichever agency owned the action."""

from __future__ import annotations

import datetime as dt

from caseframe.core import clock
from caseframe.core.panels.tables import Minute
from caseframe.core.tasks.tables import Task
from caseframe.core.testing import sign_in, web_client
from tests.core.test_meetings import _run, world  # noqa: F401  (fixtures)


async def test_an_action_due_in_the_past_is_refused_and_the_answers_kept(world, db):
    item = await _run(world)
    m = world["meeting"]
    yesterday = clock.today() - dt.timedelta(days=1)
    async with web_client(world["ctx"], db) as client:
        token = await sign_in(client, world["chair"])
        data = {
            "csrf_token": token,
            "item_id": str(item["id"]),
            "kind": "action",
            "text": "Joint warning visit",
            "owner_agency_id": str(world["police"]["id"]),
            "assignee_id": str(world["officer"].id),
            "due-day": str(yesterday.day),
            "due-month": str(yesterday.month),
            "due-year": str(yesterday.year),
        }
        for headers in ({}, {"HX-Request": "true"}):
            refused = await client.post(f"/meetings/{m['id']}/minutes", data=data, headers=headers)
            assert refused.status_code == (200 if headers else 400)
            assert "The due date must be today or in the future" in refused.text
            assert "Joint warning visit</textarea>" in refused.text
            assert f'value="{world["police"]["id"]}" selected' in refused.text
            assert f'value="{world["officer"].id}" selected' in refused.text
            assert f'value="{yesterday.year}"' in refused.text
        assert await Task.count() == 0 and await Minute.count() == 0
        today = clock.today()
        ok = await client.post(
            f"/meetings/{m['id']}/minutes",
            data={
                **data,
                "due-day": str(today.day),
                "due-month": str(today.month),
                "due-year": str(today.year),
            },
        )
        assert ok.status_code == 303 and await Task.count() == 1


async def test_the_person_list_follows_the_owning_agency(world, db):
    item = await _run(world)
    m = world["meeting"]
    async with web_client(world["ctx"], db) as client:
        token = await sign_in(client, world["chair"])
        page = await client.get(f"/meetings/{m['id']}")
        assert f'hx-get="/meetings/{m["id"]}/minutes/assignees"' in page.text
        police = await client.get(
            f"/meetings/{m['id']}/minutes/assignees",
            params={"owner_agency_id": str(world["police"]["id"])},
            headers={"HX-Request": "true"},
        )
        assert (
            police.status_code == 200
            and 'id="minute-assignee-group"' in police.text
            and "<html" not in police.text
        )
        assert "Pat Police" in police.text and "Cal Charity" not in police.text
        charity = await client.get(
            f"/meetings/{m['id']}/minutes/assignees", params={"owner_agency_id": str(world["charity"]["id"])}
        )
        assert "Cal Charity" in charity.text and "Pat Police" not in charity.text
        everyone = await client.get(f"/meetings/{m['id']}/minutes/assignees")
        assert "Cal Charity" in everyone.text and "Pat Police" in everyone.text
        # without JavaScript the whole list is posted from: the server refuses a person of another agency
        wrong = await client.post(
            f"/meetings/{m['id']}/minutes",
            data={
                "csrf_token": token,
                "item_id": str(item["id"]),
                "kind": "action",
                "text": "Visit",
                "owner_agency_id": str(world["police"]["id"]),
                "assignee_id": str(world["helper"].id),
                "due-day": "1",
                "due-month": "1",
                "due-year": str(clock.today().year + 1),
            },
        )
        assert wrong.status_code == 400 and "Select someone in the owning agency, or no one" in wrong.text
        # the re-shown form lists only the chosen agency's people
        form = wrong.text.split('id="minute-assignee-group"', 1)[1].split("</select>", 1)[0]
        assert "Pat Police" in form and "Cal Charity" not in form
        assert await Task.count() == 0
    async with web_client(world["ctx"], db) as client:
        await sign_in(client, world["officer"])  # a member, not the chair or minute-taker
        assert (await client.get(f"/meetings/{m['id']}/minutes/assignees")).status_code == 403
    async with web_client(world["ctx"], db) as client:
        await sign_in(client, world["outsider"])
        assert (await client.get(f"/meetings/{m['id']}/minutes/assignees")).status_code == 404


async def test_closing_a_meeting_needs_a_confirmation_step(world, db):
    from caseframe.core.panels.tables import Meeting

    await _run(world)
    m = world["meeting"]
    async with web_client(world["ctx"], db) as client:
        token = await sign_in(client, world["chair"])
        page = await client.get(f"/meetings/{m['id']}")
        version = page.text.split('name="version" value="', 1)[1].split('"', 1)[0]
        confirm = await client.post(
            f"/meetings/{m['id']}/status", data={"csrf_token": token, "to": "closed", "version": version}
        )
        assert (
            confirm.status_code == 200
            and "Close the meeting?" in confirm.text
            and "govuk-warning-text" in confirm.text
        )
        assert 'name="confirmed" value="yes"' in confirm.text
        assert (await Meeting.select(Meeting.status).where(Meeting.id == m["id"]).first())[
            "status"
        ] == "in_progress"
        closed = await client.post(
            f"/meetings/{m['id']}/status",
            data={"csrf_token": token, "to": "closed", "version": version, "confirmed": "yes"},
        )
        assert closed.status_code == 303
        assert (await Meeting.select(Meeting.status).where(Meeting.id == m["id"]).first())[
            "status"
        ] == "closed"
    async with web_client(world["ctx"], db) as client:
        token = await sign_in(client, world["officer"])  # a member, not the chair
        r = await client.post(f"/meetings/{m['id']}/status", data={"csrf_token": token, "to": "closed"})
        assert r.status_code == 403
