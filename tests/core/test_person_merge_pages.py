"""The person edit, compare-and-merge and undo pages over HTTP: forms without JavaScript, errors in words, the
merged record's address leading on, names escaped, CSRF, and a stranger refused (and recorded) like anywhere."""

from __future__ import annotations

import re

import pytest

from caseframe.core.audit.tables import AuditEvent
from caseframe.core.cases import service as cases
from caseframe.core.cases.tables import CaseSubject
from caseframe.core.persons.tables import Person, PersonMerge
from caseframe.core.testing import csrf_token_of, make_agency, make_context, make_person, make_user, sign_in
from tests.fixtures.areas import noise_plugin

REPORT = {"date_of_incident": "2026-11-01", "street": "Kestrel Way", "kind": "music"}


@pytest.fixture
async def world(db, ctx):
    council = await make_agency(ctx, "ashdown-pages")
    police = await make_agency(ctx, "wealden-pages")
    return {
        "council": council,
        "worker": await make_user(council),
        "officer": await make_user(police),
        "supervisor": await make_user(council, roles=("supervisor",)),
        "sysadmin": await make_user(council, roles=("system_admin",)),
    }


async def test_edit_a_person_through_the_form_with_errors_first(client, world):
    p = await make_person(
        world["worker"], given_name="Jordan", family_name="Reilly", date_of_birth="1998-03-14"
    )
    await sign_in(client, world["worker"])
    page = await client.get(f"/persons/{p['id']}")
    assert f'href="/persons/{p["id"]}/edit"' in page.text
    assert "Merge with another record" not in page.text  # a caseworker edits, a supervisor merges
    form = await client.get(f"/persons/{p['id']}/edit")
    token = csrf_token_of(form.text)
    base = {
        "csrf_token": token,
        "version": "1",
        "given_name": "Jordan",
        "family_name": "Reilly-Hart",
        "aliases": "JJ\nJay Reilly",
        "date_of_birth-day": "14",
        "date_of_birth-month": "3",
        "date_of_birth-year": "1998",
        "gender": "male",
        "identifiers-0-type": "pnc",
        "identifiers-0-value": "12/345678X",
        "addresses-0-line1": "4 Kestrel Way",
        "addresses-0-town": "Ashdown",
        "addresses-0-postcode": "an1 2bc",
        "addresses-0-from-day": "1",
        "addresses-0-from-month": "4",
        "addresses-0-from-year": "2021",
    }
    bad = await client.post(
        f"/persons/{p['id']}/edit",
        data={
            **base,
            "given_name": "",
            "addresses-0-to-day": "31",
            "addresses-0-to-month": "2",
            "addresses-0-to-year": "2022",
        },
    )
    assert bad.status_code == 400
    assert (
        "Enter the person’s first name" in bad.text
        and "The date they moved out must be a real date" in bad.text
    )
    # what was typed is kept
    assert 'href="#addresses-0-to"' in bad.text and 'value="Reilly-Hart"' in bad.text
    assert (await Person.select(Person.version).where(Person.id == p["id"]).first())["version"] == 1
    ok = await client.post(f"/persons/{p['id']}/edit", data=base)
    assert ok.status_code == 303 and ok.headers["location"] == f"/persons/{p['id']}?done=person-saved"
    shown = (await client.get(ok.headers["location"])).text
    assert "Jordan Reilly-Hart" in shown and "Jay Reilly" in shown and "From 1 April 2021 (current)" in shown
    assert "AN1 2BC" in shown and "12/345678X" in shown
    # the same form again (version 1) is stale: nothing overwritten, said in words
    stale = await client.post(f"/persons/{p['id']}/edit", data={**base, "family_name": "Other"})
    assert stale.status_code == 409 and "changed this person since you opened the page" in stale.text
    assert (await Person.select(Person.family_name).where(Person.id == p["id"]).first())[
        "family_name"
    ] == "Reilly-Hart"
    # no CSRF token: refused, nothing changed
    forged = await client.post(
        f"/persons/{p['id']}/edit", data={**base, "csrf_token": "", "version": "2", "family_name": "Forged"}
    )
    assert forged.status_code == 403
    assert (await Person.select(Person.family_name).where(Person.id == p["id"]).first())[
        "family_name"
    ] == "Reilly-Hart"


async def test_a_stranger_is_refused_every_person_page_and_it_is_recorded(client, world):
    p = await make_person(world["worker"], given_name="Rowan", family_name="Ashcombe")
    q = await make_person(world["worker"], given_name="Rowan", family_name="Ashcomb")
    # a supervisor and system admin of an agency that holds nothing about them: every page is a 404
    officer = await make_user(
        await make_agency(make_context(noise_plugin), "third-pages"), roles=("supervisor", "system_admin")
    )
    token = await sign_in(client, officer)
    for path in (
        f"/persons/{p['id']}/edit",
        f"/persons/{p['id']}/merge",
        f"/persons/{p['id']}/merge/{q['id']}",
    ):
        assert (await client.get(path)).status_code == 404, path
    for path, data in (
        (f"/persons/{p['id']}/edit", {"given_name": "X", "family_name": "Y", "version": "1"}),
        (f"/persons/{p['id']}/merge/{q['id']}", {"survivor": "a", "version_a": "1", "version_b": "1"}),
    ):
        response = await client.post(path, data={**data, "csrf_token": token})
        assert response.status_code == 404, path
    assert await AuditEvent.count().where(AuditEvent.action == "access.denied") >= 5
    assert (await Person.select(Person.given_name).where(Person.id == p["id"]).first())[
        "given_name"
    ] == "Rowan"
    assert await PersonMerge.count() == 0


async def test_compare_merge_redirect_and_undo_through_the_pages(client, world, ctx):
    worker, sup = world["worker"], world["supervisor"]
    keep = await make_person(
        worker, given_name="Jordan", family_name="<b>Reilly</b>", date_of_birth="1998-03-14"
    )
    dupe = await make_person(
        worker,
        given_name="Jordon",
        family_name="<b>Reily</b>",
        date_of_birth="1998-03-14",
        gender="male",
        identifiers=[{"type": "pnc", "value": "12/1"}],
    )
    case = await cases.open_case(ctx, worker, "noise", REPORT, subjects=[(dupe["id"], "subject")])
    token = await sign_in(client, sup)
    page = (await client.get(f"/persons/{keep['id']}")).text
    assert (
        "Possible duplicate records" in page and "Close spelling" in page and "The same date of birth" in page
    )
    assert "<b>" not in page and "&lt;b&gt;Reily&lt;/b&gt;" in page  # names are escaped
    start = await client.get(f"/persons/{keep['id']}/merge")
    assert f"/persons/{keep['id']}/merge/{dupe['id']}" in start.text
    assert (await client.get(f"/persons/{keep['id']}/merge?with=%C2%B2")).status_code == 400
    assert (await client.get(f"/persons/{keep['id']}/merge?with={keep['id']}")).status_code == 400
    jump = await client.get(f"/persons/{keep['id']}/merge?with={dupe['id']}")
    assert jump.status_code == 303 and jump.headers["location"] == f"/persons/{keep['id']}/merge/{dupe['id']}"
    compare = await client.get(jump.headers["location"])
    assert compare.status_code == 200 and "<b>" not in compare.text and f"Record {dupe['id']}" in compare.text
    assert 'name="gender"' in compare.text and 'name="date_of_birth"' not in compare.text  # the same on both
    # no choice of survivor: said, nothing merged
    missing = await client.post(
        f"/persons/{keep['id']}/merge/{dupe['id']}",
        data={"csrf_token": token, "version_a": "1", "version_b": "1", "survivor": "x"},
    )
    assert missing.status_code == 400 and "Choose which record to keep" in missing.text
    merged = await client.post(
        f"/persons/{keep['id']}/merge/{dupe['id']}",
        data={
            "csrf_token": token,
            "version_a": "1",
            "version_b": "1",
            "survivor": "a",
            "given_name": "a",
            "family_name": "a",
            "gender": "b",
            "identifier": ["0"],
        },
    )
    assert (
        merged.status_code == 303
        and merged.headers["location"] == f"/persons/{keep['id']}?done=persons-merged"
    )
    assert {
        r["person"]
        for r in await CaseSubject.select(CaseSubject.person).where(CaseSubject.case == case["id"])
    } == {keep["id"]}
    old = await client.get(f"/persons/{dupe['id']}")
    assert (
        old.status_code == 303 and old.headers["location"] == f"/persons/{keep['id']}?done=person-merged-here"
    )
    survivor = (await client.get(old.headers["location"])).text
    assert "was merged into this one" in survivor and "Records merged into this one" in survivor
    assert "Undo this merge" not in survivor  # a system admin's alone
    merge_id = (await PersonMerge.select(PersonMerge.id).first())["id"]
    assert (await client.get(f"/admin/person-merges/{merge_id}/undo")).status_code == 403
    assert (await client.get("/admin/person-merges")).status_code == 403
    assert (
        await client.post(f"/admin/person-merges/{merge_id}/undo", data={"csrf_token": token})
    ).status_code == 403

    await client.post("/sign-out", data={"csrf_token": token})
    token = await sign_in(client, world["sysadmin"])
    survivor = (await client.get(f"/persons/{keep['id']}")).text
    assert f'href="/admin/person-merges/{merge_id}/undo"' in survivor
    listing = await client.get("/admin/person-merges")
    assert listing.status_code == 200 and f"{dupe['id']} into {keep['id']}" in listing.text
    assert "Reily" not in listing.text  # numbers, not names, on the system admin's list
    confirm = await client.get(f"/admin/person-merges/{merge_id}/undo")
    assert confirm.status_code == 200 and "(1 link to cases, referrals and requests)" in confirm.text
    undone = await client.post(f"/admin/person-merges/{merge_id}/undo", data={"csrf_token": token})
    assert (
        undone.status_code == 303 and undone.headers["location"] == f"/persons/{dupe['id']}?done=merge-undone"
    )
    assert (await client.get(f"/persons/{dupe['id']}")).status_code == 200
    again = await client.post(f"/admin/person-merges/{merge_id}/undo", data={"csrf_token": token})
    assert again.status_code == 400 and "already been undone" in again.text
    assert {
        r["person"]
        for r in await CaseSubject.select(CaseSubject.person).where(CaseSubject.case == case["id"])
    } == {dupe["id"]}
    assert re.search(r"person\.unmerge", str(await AuditEvent.select(AuditEvent.action)))
