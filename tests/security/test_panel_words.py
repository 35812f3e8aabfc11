"""A panel's own words (its name and description, where a meeting is) name no case their reader may not see, and a
panel's case list decides its cases in one batch.

The world is test_stored_text_leaks' (the council's noise case shared with the police and on the running meeting is
restricted: only the council's local admin may see it). The chair typed its reference and its subject's name into
the panel's description and the meeting's place; every reader but that local admin reads "[a case you cannot see]"
and "[a person]" on the panel page, the meeting page, the pack page and the PDF pack.
"""

from __future__ import annotations

import re

from caseframe.core.panels import pack
from caseframe.core.panels import service as panels
from caseframe.core.panels.tables import Meeting
from caseframe.core.sharing import policy
from caseframe.core.sharing.redaction import HIDDEN_CASE, HIDDEN_PERSON
from caseframe.core.testing import sign_in, web_client
from tests.fixtures.counting import decided_in_batches, refuse
from tests.security.test_leaks import (  # noqa: F401
    _closed_meeting_with_an_action_on_an_unshared_case,
    pdf_text,
    world,
)
from tests.security.test_retention_leaks import R_GIVEN, retained  # noqa: F401


async def _name_the_hidden_case(world, retained) -> str:
    hidden = retained["restricted"]["reference"]
    panel = world["panel"]
    await panels.save_panel(
        world["ctx"],
        world["chair"],
        panel_id=panel["id"],
        name=panel["name"],
        description=f"Set up after {hidden} ({R_GIVEN} Hidden)",
        member_agency_ids=[world["police"]["id"]],
        areas=["noise"],
        frequency="monthly",
    )
    # the place was typed before the case was restricted
    await Meeting.update({Meeting.location: f"Room 2, about {hidden} and {R_GIVEN} Hidden"}).where(
        Meeting.id == world["meeting"]["id"]
    )
    return hidden


async def test_panel_and_meeting_words_name_no_case_the_reader_may_not_see(world, retained, db):
    hidden = await _name_the_hidden_case(world, retained)
    meeting_id = world["meeting"]["id"]
    for who in ("officer", "chair"):
        async with web_client(world["ctx"], db) as client:
            token = await sign_in(client, world[who])
            panel_page = (await client.get(f"/panels/{world['panel']['id']}")).text
            meeting_page = (await client.get(f"/meetings/{meeting_id}")).text
            pack_page = await client.get(f"/meetings/{meeting_id}/pack")
            attendee = re.search(r'name="attendee_id" value="(\d+)"', pack_page.text).group(1)
            made = await client.post(
                f"/meetings/{meeting_id}/pack", data={"csrf_token": token, "attendee_id": attendee}
            )
        assert made.headers["content-type"].startswith("application/pdf"), who
        pdf = pdf_text(made.content)
        assert f"Set up after {HIDDEN_CASE} ({HIDDEN_PERSON})" in panel_page, who
        assert f"Room 2, about {HIDDEN_CASE} and {HIDDEN_PERSON}" in meeting_page, who
        assert HIDDEN_CASE in " ".join(pdf.split()), who
        for body in (panel_page, meeting_page, pack_page.text, pdf):
            assert hidden not in body and R_GIVEN not in body, who


async def test_the_cases_local_admin_reads_the_panel_words_as_written(world, retained):
    hidden = await _name_the_hidden_case(world, retained)
    admin = retained["local_admin"]
    panel = await panels.visible_panel(admin, world["panel"]["id"])
    assert panel["description"] == f"Set up after {hidden} ({R_GIVEN} Hidden)"
    meeting = await panels.visible_meeting(admin, world["meeting"]["id"])
    assert meeting["location"] == f"Room 2, about {hidden} and {R_GIVEN} Hidden"
    officer = await panels.visible_meeting(world["officer"], world["meeting"]["id"])
    assert officer["location"] == f"Room 2, about {HIDDEN_CASE} and {HIDDEN_PERSON}"
    listed = await panels.panels_for(world["officer"])
    assert [p["description"] for p in listed] == [f"Set up after {HIDDEN_CASE} ({HIDDEN_PERSON})"]


async def test_a_panels_case_list_decides_all_its_cases_at_once_with_case_accesss_answers(world, monkeypatch):
    """listed_cases asked case_access once per listed case; now one visible_among for the list, same answers."""
    other = await _closed_meeting_with_an_action_on_an_unshared_case(world)
    panel = await panels.visible_panel(world["chair"], world["panel"]["id"])
    readers = [world[w] for w in ("officer", "youth_worker", "police_admin")]
    expected = {}
    for who in readers:
        for c in (world["case"], other["case"]):
            row = {"id": c["id"], "owning_agency": world["council"]["id"], "area": "noise"}
            expected[(who.id, c["id"])] = await policy.case_access(who, row) is not None
    asked = decided_in_batches(monkeypatch, "a listed case was decided on its own")
    for who in readers:
        listed = await panels.listed_cases(who, panel)
        assert {c["case"]: c["visible"] for c in listed} == {
            cid: expected[(who.id, cid)] for cid in (world["case"]["id"], other["case"]["id"])
        }
        assert all((c["reference"] == "") is (not c["visible"]) for c in listed)
    assert asked == [2, 2, 2]
    # the chair's agency runs the list: no question asked
    asked.clear()
    listed = await panels.listed_cases(world["chair"], panel)
    assert all(c["visible"] for c in listed) and asked == []


async def test_the_pack_page_names_the_meeting_place_as_the_reader_may_read_it(world, retained):
    await _name_the_hidden_case(world, retained)
    page = await pack.pack_page(world["officer"], world["meeting"]["id"])
    assert page["meeting"]["location"] == f"Room 2, about {HIDDEN_CASE} and {HIDDEN_PERSON}"


async def test_outstanding_actions_and_minutes_decide_their_cases_in_one_batch(world, monkeypatch):
    """Each list asks the sharing policy once (visible_case_ids, through the redactor), never case_access per item."""
    other = await _closed_meeting_with_an_action_on_an_unshared_case(world)
    asked: list[int] = []
    real = policy.visible_case_ids

    async def counted(actor, rows, hidden=None):
        asked.append(len(rows))
        return await real(actor, rows, hidden)

    from caseframe.core.sharing import redaction

    monkeypatch.setattr(redaction, "visible_case_ids", counted)
    monkeypatch.setattr(policy, "case_access", refuse("an item's case was decided on its own"))
    actions = await panels.outstanding_actions(world["panel"]["id"], viewer=world["officer"])
    assert asked == [2]  # the running meeting's police action and the closed one's council action, both cases
    assert {a["visible"] for a in actions} == {True, False}
    assert all("title" not in a for a in actions if not a["visible"])
    asked.clear()
    minutes = await panels.readable_minutes(world["officer"], await panels.minutes(other["meeting"]["id"]))
    assert asked == [1] and [m["visible"] for m in minutes] == [False]


async def test_a_panel_name_on_the_dashboards_names_no_case_the_reader_may_not_see(world, retained, db):
    hidden = retained["restricted"]["reference"]
    panel = world["panel"]
    await panels.save_panel(
        world["ctx"],
        world["chair"],
        panel_id=panel["id"],
        name=f"Panel on {hidden}",
        member_agency_ids=[world["police"]["id"]],
        areas=["noise"],
        frequency="monthly",
    )
    bodies = {}
    for who, paths in (
        (
            "chair",
            [
                "/dashboard",
                f"/dashboard/panels/{panel['id']}",
                "/panels",
                f"/panels/{panel['id']}",
                "/dashboard/export/panel-actions",
            ],
        ),
        ("police_admin", ["/dashboard", "/dashboard/export/panel-actions", "/panels"]),
    ):
        async with web_client(world["ctx"], db) as client:
            await sign_in(client, world[who])
            for path in paths:
                response = await client.get(path)
                assert response.status_code == 200, (who, path)
                bodies[(who, path)] = response.text
    assert f"Panel on {HIDDEN_CASE}" in bodies[("chair", f"/dashboard/panels/{panel['id']}")]
    assert f"Panel on {HIDDEN_CASE}" in bodies[("police_admin", "/panels")]
    for where, body in bodies.items():
        assert hidden not in body, where
    # the case's own local admin reads the name as written
    assert [p["name"] for p in await panels.panels_for(retained["local_admin"])] == [f"Panel on {hidden}"]
