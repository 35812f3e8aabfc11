"""Stored free text never names a case to a reader who may not see it (core/sharing/redaction.py).

The world is test_retention_leaks' (test_leaks' partnership; the council's noise case shared with the police and on a
running panel meeting is *restricted*, and one older case erased). Before anyone could know better, people who could
see the restricted case wrote its reference, typed in full and typed short, and its subject's name, into the words of
things other readers do see: a note and a task on a second council case shared with the police, a referral from it to
the youth service, a free-text agenda item of the meeting the police attend and its minute, a notification to the
police. The council's caseworker and panel chair (restriction hides the case from its own agency's staff), the
police officer and local admin, and the youth worker then walk every page, fragment, CSV, API answer and PDF pack:
the reference and the name are nowhere but where retention allows (the audit trail), the pages still answer 200, and
they say "[a case you cannot see]" where the reference was. The second case's own reference, written beside it, stays.
"""

from __future__ import annotations

import pytest

from caseframe.core import clock
from caseframe.core.cases import service as cases
from caseframe.core.notifications.service import notify
from caseframe.core.panels import service as panels
from caseframe.core.panels.tables import AgendaItem
from caseframe.core.referrals import service as referrals
from caseframe.core.sharing import service as sharing
from caseframe.core.sharing.redaction import HIDDEN_CASE, HIDDEN_PERSON, Redactor, redactor_for, references_in
from caseframe.core.sharing.requests import requests_for
from caseframe.core.sharing.tables import AccessRequest
from caseframe.core.tasks import service as tasks
from caseframe.core.testing import sign_in, web_client
from tests.fixtures.counting import count_selects
from tests.security.test_leaks import _found, world  # noqa: F401
from tests.security.test_retention_leaks import R_GIVEN, _allowed, _everything, retained  # noqa: F401


def _short(reference: str) -> str:
    """The reference as someone types it in a hurry: "noi-2026-1" for "NOI-2026-000001"."""
    prefix, year, number = reference.split("-")
    return f"{prefix.lower()}-{year}-{int(number)}"


@pytest.fixture
async def named(world, retained):
    ctx, owner, chair = world["ctx"], world["owner"], world["chair"]
    hidden = retained["restricted"]["reference"]
    who = f"{R_GIVEN} Hidden"
    # a second council case, shared with the police: every reader but the youth worker sees it
    other = await cases.open_case(
        ctx, owner, "noise", {"date_of_incident": "2026-11-02", "street": "Heron Close", "kind": "dog"}
    )
    await sharing.share_case(owner, other["id"], agency_id=world["police"]["id"], purpose="crime_prevention")
    seen = other["reference"]
    note = await cases.add_note(
        ctx,
        owner,
        other["id"],
        f"Same family as {hidden} ({_short(hidden)}): {who} was at the door. See {seen}.",
    )
    task = await tasks.add_task(
        ctx,
        owner,
        other["id"],
        title=f"Ring {who} about {hidden}",
        description=f"Ask {R_GIVEN} about {_short(hidden)} and {seen}",
    )
    referral = await referrals.raise_referral(
        ctx,
        owner,
        target_kind="agency",
        target=world["youth"]["slug"],
        reason=f"Linked to {hidden}: {who} is the older sibling",
        case=other,
    )
    meeting = world["meeting"]
    await panels.add_agenda_item(chair, meeting["id"], kind="other", title=f"Update on {hidden} ({who})")
    item = (
        await AgendaItem.select()
        .where((AgendaItem.meeting == meeting["id"]) & (AgendaItem.kind == "other"))
        .first()
    )
    await panels.add_minute(
        ctx,
        chair,
        meeting["id"],
        item_id=item["id"],
        kind="discussion",
        text=f"{who} moved out; {_short(hidden)} to be reviewed",
    )
    await notify(
        kind="case_shared",
        text=f"Please read {hidden} with {seen}",
        link=f"/cases/{other['id']}",
        agency_id=world["police"]["id"],
        case_id=other["id"],
    )
    # an access request the police made earlier, naming the case in its reason (read by the council)
    await AccessRequest.insert(
        AccessRequest(
            person=world["child"]["id"],
            requested_by=world["officer"].id,
            requesting_agency=world["police"]["id"],
            holding_agency=world["council"]["id"],
            purpose="crime_prevention",
            reason=f"About {hidden} and {who}",
            status="pending",
            created_at=clock.now(),
        )
    )
    return {
        "other": other,
        "note": note,
        "task": task,
        "referral": referral,
        "item": item,
        "hidden": hidden,
        "seen": seen,
    }


READERS = ["owner", "chair", "officer", "police_admin", "youth_worker"]


@pytest.mark.parametrize("who", READERS)
async def test_no_page_shows_a_hidden_case_named_in_stored_words(world, retained, named, db, who):
    actor = world[who]
    hidden = named["hidden"]
    async with web_client(world["ctx"], db) as client:
        token = await sign_in(client, actor)
        bodies = await _everything(client, world, retained, who, token)
        other = named["other"]["id"]
        extra = [
            "/",
            f"/cases/{other}",
            f"/tasks/{named['task']['id']}/edit",
            "/notifications",
            f"/referrals/{named['referral']['id']}",
            "/referrals?box=sent",
            f"/api/v1/cases/{other}",
        ]
        for path in extra:
            if path not in bodies:
                bodies[path] = (await client.get(path)).text
    for path, body in bodies.items():
        for written in (hidden, _short(hidden)):
            if written in body:
                assert written in _allowed(path, who, world, retained), f"{who}: {written} in {path}"
    if who in ("officer", "police_admin", "youth_worker"):
        # their agency never knew the person: the name is nowhere (the searcher's own words are taken out)
        assert _found(bodies, (R_GIVEN,)) == [], who
    else:
        # the council's own staff may find its own person record; not in the words naming the hidden case
        for path in ("/", f"/cases/{named['other']['id']}", f"/meetings/{world['meeting']['id']}"):
            assert R_GIVEN not in bodies.get(path, ""), f"{who}: name in {path}"


async def _page(client, path: str) -> str:
    response = await client.get(path)
    assert response.status_code == 200, (path, response.status_code)
    return response.text


async def test_the_caseworker_reads_the_note_and_task_with_a_neutral_word_and_the_visible_case_named(
    world, retained, named, db
):
    async with web_client(world["ctx"], db) as client:
        await sign_in(client, world["owner"])
        case_page = await _page(client, f"/cases/{named['other']['id']}")
        home = await _page(client, "/")
        edit = await _page(client, f"/tasks/{named['task']['id']}/edit")
    for body in (case_page, home):
        assert HIDDEN_CASE in body and named["hidden"] not in body and R_GIVEN not in body
    assert f"Same family as {HIDDEN_CASE}" in case_page.replace("&#34;", '"')
    assert named["seen"] in case_page  # the case the reader sees keeps its name
    assert "Ring [a person] about [a case you cannot see]" in home
    # the edit form shows the words as stored only to whom they may go: the reference is not in the form
    assert named["hidden"] not in edit and R_GIVEN not in edit


async def test_the_police_read_the_meeting_the_shared_case_and_their_notifications_neutrally(
    world, retained, named, db
):
    async with web_client(world["ctx"], db) as client:
        await sign_in(client, world["officer"])
        meeting = await _page(client, f"/meetings/{world['meeting']['id']}")
        case_page = await _page(client, f"/cases/{named['other']['id']}")
        notes = await _page(client, "/notifications")
    assert f"Update on {HIDDEN_CASE} ({HIDDEN_PERSON})" in meeting
    assert f"{HIDDEN_PERSON} moved out; {HIDDEN_CASE} to be reviewed" in meeting
    assert f"Same family as {HIDDEN_CASE}" in case_page and named["seen"] in case_page
    assert f"Please read {HIDDEN_CASE} with {named['seen']}" in notes
    for body in (meeting, case_page, notes):
        assert named["hidden"] not in body and R_GIVEN not in body


async def test_the_youth_service_reads_the_referral_reason_neutrally(world, retained, named, db):
    async with web_client(world["ctx"], db) as client:
        await sign_in(client, world["youth_worker"])
        listed = await _page(client, "/referrals")
        one = await _page(client, f"/referrals/{named['referral']['id']}")
        home = await _page(client, "/")
    for body in (listed, one, home):
        assert f"Linked to {HIDDEN_CASE}: {HIDDEN_PERSON} is the older sibling" in body
        assert named["hidden"] not in body and R_GIVEN not in body


async def test_the_restricted_cases_own_local_admin_reads_the_words_as_written(world, retained, named):
    # the control: who may see the case reads its reference and person named as written
    admin = retained["local_admin"]
    text = f"Update on {named['hidden']} ({R_GIVEN} Hidden)"
    redactor = await redactor_for(admin, [text])
    assert redactor.text(text) == text
    officer = await redactor_for(world["officer"], [text])
    assert officer.text(text) == f"Update on {HIDDEN_CASE} ({HIDDEN_PERSON})"


async def test_an_item_linked_to_a_hidden_case_shows_neither_its_reference_nor_its_people(
    world, retained, named
):
    restricted = retained["restricted"]["id"]
    redactor = await redactor_for(world["officer"], ["Chase the landlord with Rgiven"], [restricted])
    assert not redactor.may_see(restricted) and redactor.reference(restricted) is None
    assert redactor.text(f"Visit {R_GIVEN} Hidden", restricted) == f"Visit {HIDDEN_PERSON}"
    # the case a referral came from is named to its addressee by design, unless retention withholds it
    assert redactor.reference(restricted, told=restricted) is None


async def test_an_access_request_reason_names_no_case_its_reader_may_not_see(world, retained, named):
    _, received = await requests_for(world["chair"])
    assert [r["reason"] for r in received] == [f"About {HIDDEN_CASE} and {HIDDEN_PERSON}"]


def test_references_are_found_as_stored_typed_short_or_in_lower_case():
    assert references_in("See NOI-2026-000012, noi-2026-12 and ASB-2026-0012.") == {
        "NOI-2026-000012",
        "ASB-2026-000012",
    }
    assert references_in("ISA-1, 2026-11-01, XNOI-2026-1x, NOI-26-1") == set()
    assert Redactor().text("NOI-2026-000012") == "NOI-2026-000012"


async def test_a_batch_is_redacted_in_a_fixed_number_of_queries(world, retained, named, monkeypatch):
    """Fifty texts naming cases cost what one does."""
    from caseframe.core.cases.tables import Case

    calls = count_selects(monkeypatch, Case)
    texts = [f"{named['hidden']} and {named['seen']} #{i}" for i in range(50)]
    redactor = await redactor_for(world["officer"], texts, [named["other"]["id"]] * 50)
    assert len(calls) == 1
    assert all(redactor.text(t) == f"{HIDDEN_CASE} and {named['seen']} #{i}" for i, t in enumerate(texts))


async def test_cases_the_caller_read_already_give_the_same_redactor_without_reading_them_again(
    world, retained, named, monkeypatch
):
    """My work passes its tasks' cases, read with the tasks: the redactor is the one it reads for itself, and only
    what the caller did not read is read (a case a text names)."""
    from caseframe.core.cases.tables import Case

    restricted, other = retained["restricted"], named["other"]
    linked = [restricted["id"], other["id"], None]
    rows = [
        {
            "id": c["id"],
            "reference": c["reference"],
            "owning_agency": c["owning_agency_id"],
            "area": c["area"],
        }
        for c in (restricted, other)
    ]
    unrelated = [
        {**rows[1], "id": 999999, "reference": "NOI-2026-999999"}
    ]  # asked about by nothing: left out
    for reader in (world["officer"], world["owner"], retained["local_admin"]):
        for texts in (
            [f"Ring {R_GIVEN} Hidden about {named['hidden']}"],
            [f"See {named['seen']}"],
            ["No case"],
            ["Not ASB-2026-000777, nor NOI-2026-999998"],
        ):
            expected = await redactor_for(reader, texts, linked)
            calls = count_selects(monkeypatch, Case)
            given = await redactor_for(reader, texts, linked, cases=rows + unrelated)
            assert given == expected, (reader.name, texts)
            named_elsewhere = references_in(texts[0]) - {restricted["reference"], other["reference"]}
            assert len(calls) == (1 if named_elsewhere else 0)
            monkeypatch.undo()
