"""The person search walks only the name words posted under the searcher's agency (cf_name_posting, kept by triggers):
every change to who may see a person changes what a search finds at once, in the same transaction. Sharing a case
and revoking it, adding and removing subjects, a merge and its undo, an edit, retention's erasure, and changes made
with plain SQL; after each, the postings are exactly what the migration's definition says. An ISA that has ended
and a restricted case still hide their subjects: the search's own condition decides, the postings only narrow it."""

from __future__ import annotations

import datetime as dt
import importlib

import pytest

from caseframe.core import clock
from caseframe.core.cases import service as cases
from caseframe.core.cases.tables import CaseSubject
from caseframe.core.persons import service as persons
from caseframe.core.persons.tables import Person
from caseframe.core.retention import service as retention
from caseframe.core.sharing import service as sharing
from caseframe.core.testing import csrf_token_of, make_agency, make_person, make_user, sign_in

REPORT = {"date_of_incident": "2026-11-01", "street": "Kestrel Way", "kind": "music"}
MIGRATION = importlib.import_module("caseframe.core.db.migrations.caseframe_2026_12_06t22_40_00_000000")


@pytest.fixture
async def world(db, ctx):
    council = await make_agency(ctx, "ashdown-postings")
    police = await make_agency(ctx, "wealden-postings")
    charity = await make_agency(ctx, "brightwell-postings")
    admin = await make_user(council, ("system_admin",))
    today = clock.today()
    await sharing.create_isa(
        ctx,
        admin,
        reference="ISA-2026-07",
        title="Community safety partnership",
        parties=[council["id"], police["id"]],
        purposes=["crime_prevention"],
        areas=["noise"],
        legal_basis="Crime and Disorder Act 1998 s.115",
        starts_on=today - dt.timedelta(days=30),
        ends_on=today + dt.timedelta(days=10),
        max_sensitivity="official",
    )
    return {
        "ctx": ctx,
        "police": police,
        "owner": await make_user(council),
        "boss": await make_user(council, ("supervisor",)),
        "local_admin": await make_user(council, ("local_admin",)),
        "sysadmin": admin,
        "partner": await make_user(police),
        "outsider": await make_user(charity),
    }


async def found(actor, name: str) -> list[int]:
    return [p["id"] for p in await persons.find_persons(actor, name=name)]


async def assert_postings_current() -> None:
    """The postings are exactly what the migration defines from the persons, cases and shares as they are now."""
    rows = await Person.raw("SELECT agency, word, person FROM cf_name_posting")
    expected = await Person.raw(MIGRATION.posted("SELECT id FROM cf_person"))
    as_set = lambda rs: {(r["agency"], r["word"], r["person"]) for r in rs}  # noqa: E731
    assert as_set(rows) == as_set(expected)
    assert len(rows) == len(expected)


async def share(world, case) -> dict:
    return await sharing.share_case(
        world["owner"], case["id"], agency_id=world["police"]["id"], purpose="crime_prevention"
    )


async def test_sharing_a_case_makes_its_subjects_findable_by_the_partner_at_once_and_revoking_hides_them(
    world,
):
    ctx, owner, partner = world["ctx"], world["owner"], world["partner"]
    rowan = await make_person(owner, given_name="Rowan", family_name="Ashcombe")
    case = await cases.open_case(ctx, owner, "noise", REPORT, subjects=[(rowan["id"], "subject")])
    assert await found(owner, "Rowan Ashcombe") == [rowan["id"]]
    assert await found(partner, "Rowan Ashcombe") == [] and await found(partner, "Ashcombe") == []
    await assert_postings_current()
    shared = await share(world, case)
    assert await found(partner, "Rowan Ashcombe") == [rowan["id"]]
    assert await found(partner, "Ashcomb") == [rowan["id"]]  # a close spelling, alone
    assert await found(world["outsider"], "Rowan Ashcombe") == []
    await assert_postings_current()
    # someone put on the case while it is shared is findable by the partner at once; taken off, no longer
    tamsin = await make_person(owner, given_name="Tamsin", family_name="Ashcombe")
    await cases.add_subject(ctx, owner, case["id"], tamsin["id"], "subject")
    assert sorted(await found(partner, "Ashcombe")) == sorted([rowan["id"], tamsin["id"]])
    await assert_postings_current()
    subject = (
        await CaseSubject.select(CaseSubject.id)
        .where((CaseSubject.case == case["id"]) & (CaseSubject.person == tamsin["id"]))
        .first()
    )
    await cases.remove_subject(ctx, owner, case["id"], subject["id"])
    assert await found(partner, "Ashcombe") == [rowan["id"]]
    assert sorted(await found(owner, "Ashcombe")) == sorted([rowan["id"], tamsin["id"]])  # still theirs
    await assert_postings_current()
    await sharing.revoke_share(owner, case["id"], shared["id"])
    assert await found(partner, "Rowan Ashcombe") == [] and await found(partner, "Ashcombe") == []
    assert await found(owner, "Rowan Ashcombe") == [rowan["id"]]
    await assert_postings_current()


async def test_an_ended_isa_or_a_restricted_case_hides_its_subjects_from_the_partner(world):
    ctx, owner, partner = world["ctx"], world["owner"], world["partner"]
    rowan = await make_person(owner, given_name="Rowan", family_name="Ashcombe")
    case = await cases.open_case(ctx, owner, "noise", REPORT, subjects=[(rowan["id"], "subject")])
    await share(world, case)
    with clock.travel(10):
        assert await found(partner, "Ashcombe") == [rowan["id"]]
    with clock.travel(11):  # the ISA ended yesterday: posted still, but the search's own condition decides
        assert await found(partner, "Ashcombe") == []
    await retention.set_restricted(ctx, world["local_admin"], case["id"], True, "Accuracy contested")
    assert await found(partner, "Ashcombe") == []
    assert await found(owner, "Ashcombe") == [rowan["id"]]  # recorded by the owner's agency
    await assert_postings_current()


async def test_the_persons_search_page_shows_the_partner_a_shared_subject_and_not_after_revoking(
    world, client
):
    ctx, owner = world["ctx"], world["owner"]
    rowan = await make_person(owner, given_name="Rowan", family_name="Ashcombe")
    case = await cases.open_case(ctx, owner, "noise", REPORT, subjects=[(rowan["id"], "subject")])
    await sign_in(client, world["partner"])
    token = csrf_token_of((await client.get("/persons/")).text)

    async def page() -> str:
        response = await client.post("/persons/search", data={"csrf_token": token, "name": "Ashcombe"})
        assert response.status_code == 200
        return response.text

    assert f"/persons/{rowan['id']}" not in await page()
    shared = await share(world, case)
    assert f"/persons/{rowan['id']}" in await page()
    await sharing.revoke_share(owner, case["id"], shared["id"])
    assert f"/persons/{rowan['id']}" not in await page()


async def test_a_merge_and_its_undo_move_what_the_partner_finds(world):
    ctx, owner, partner = world["ctx"], world["owner"], world["partner"]
    keep = await make_person(owner, given_name="Jordan", family_name="Reilly", date_of_birth="1998-03-14")
    dupe = await make_person(owner, given_name="Jordon", family_name="Reily", date_of_birth="1998-03-14")
    case = await cases.open_case(ctx, owner, "noise", REPORT, subjects=[(dupe["id"], "subject")])
    await share(world, case)
    assert await found(partner, "Jordon Reily") == [dupe["id"]]
    assert await found(partner, "Jordan Reilly") == [
        dupe["id"]
    ]  # "Jordan Reilly" itself is not theirs to see
    merge = await persons.merge_persons(
        ctx, world["boss"], keep["id"], dupe["id"], versions={keep["id"]: 1, dupe["id"]: 1}
    )
    # the survivor is on the shared case now, by either name; the tombstone is found by no one
    assert await found(partner, "Jordan Reilly") == [keep["id"]]
    assert await found(partner, "Jordon Reily") == [keep["id"]]
    assert await found(owner, "Jordon Reily") == [keep["id"]]
    await assert_postings_current()
    await persons.undo_merge(ctx, world["sysadmin"], merge["merge_id"])
    assert await found(partner, "Jordon Reily") == [dupe["id"]]
    assert await found(partner, "Jordan Reilly") == [dupe["id"]]
    assert sorted(await found(owner, "Reilly")) == sorted([keep["id"], dupe["id"]])
    await assert_postings_current()


async def test_an_edit_is_found_by_its_new_name_by_everyone_who_may_see_the_person(world):
    ctx, owner, partner = world["ctx"], world["owner"], world["partner"]
    rowan = await make_person(owner, given_name="Rowan", family_name="Ashcombe")
    case = await cases.open_case(ctx, owner, "noise", REPORT, subjects=[(rowan["id"], "subject")])
    await share(world, case)
    person = await persons.get_person(owner, rowan["id"], audit_view=False)
    fields = {
        k: person[k] for k in ("given_name", "date_of_birth", "gender", "aliases", "identifiers", "addresses")
    }
    await persons.update_person(
        owner, rowan["id"], expected_version=person["version"], fields={**fields, "family_name": "Penhallow"}
    )
    for actor in (owner, partner):
        assert await found(actor, "Rowan Penhallow") == [rowan["id"]]
        assert await found(actor, "Ashcombe") == []
    assert await found(world["outsider"], "Penhallow") == []
    await assert_postings_current()


async def test_retention_erasure_takes_the_case_s_people_out_of_the_search(world):
    ctx, owner = world["ctx"], world["owner"]
    rowan = await make_person(owner, given_name="Rowan", family_name="Ashcombe")
    # recorded by the police, seen by the council only through its case (put on it as the police would)
    quinn = await make_person(world["partner"], given_name="Quinn", family_name="Ashcombe")
    with clock.travel(-7 * 365.25):
        old = await cases.open_case(ctx, owner, "noise", REPORT, subjects=[(rowan["id"], "subject")])
        await Person.raw(
            'INSERT INTO cf_case_subject ("case", person, role, added_at) VALUES ({}, {}, {}, {})',
            old["id"],
            quinn["id"],
            "subject",
            clock.now(),
        )
        await cases.transition_case(ctx, world["boss"], old["id"], "close")
    assert sorted(await found(owner, "Ashcombe")) == sorted([rowan["id"], quinn["id"]])
    await assert_postings_current()
    result = await retention.erase(ctx, world["local_admin"], old["id"], "Six years after closure, reviewed")
    assert result["persons_anonymised"] == 1
    assert await found(owner, "Ashcombe") == [] and await found(owner, "Rowan") == []
    assert await found(world["partner"], "Quinn Ashcombe") == [quinn["id"]]  # still the police's own record
    await assert_postings_current()


@pytest.mark.parametrize(
    "change",
    [
        "UPDATE cf_case SET owning_agency = {police} WHERE id = {case}",
        'UPDATE cf_case_subject SET removed_at = {now} WHERE "case" = {case}',
        'DELETE FROM cf_case_subject WHERE "case" = {case}',
        'UPDATE cf_case_subject SET person = {other} WHERE "case" = {case}',
        "UPDATE cf_case_share SET revoked_at = {now}",
        "DELETE FROM cf_case_share",
        "UPDATE cf_person SET created_by_agency = {police} WHERE id = {rowan}",
        "UPDATE cf_person SET merged_into = {other} WHERE id = {rowan}",
        "DELETE FROM cf_person_name_word WHERE person = {rowan}",
        "UPDATE cf_person_name_word SET person = {other} WHERE person = {rowan}",
    ],
)
async def test_a_change_made_with_plain_sql_keeps_the_postings_exact(world, change):
    """Whoever writes (a service, a migration, an operator's fix), the triggers keep the postings in the same
    transaction: each change to what they depend on, against the definition."""
    ctx, owner = world["ctx"], world["owner"]
    rowan = await make_person(owner, given_name="Rowan", family_name="Ashcombe")
    other = await make_person(world["partner"], given_name="Quinn", family_name="Penhallow")
    case = await cases.open_case(ctx, owner, "noise", REPORT, subjects=[(rowan["id"], "subject")])
    await share(world, case)
    await assert_postings_current()
    values = {"police": world["police"]["id"], "case": case["id"], "rowan": rowan["id"], "other": other["id"]}
    await Person.raw(change.format(now="{}", **values), *([clock.now()] if "{now}" in change else []))
    await assert_postings_current()
