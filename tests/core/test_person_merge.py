"""Editing and merging persons: optimistic locking, the search index kept in step, duplicates explained, every
reference moved to the survivor in one go, and a system admin's undo putting back exactly what moved."""

from __future__ import annotations

import pytest

from caseframe.core import clock
from caseframe.core.audit.tables import AuditEvent
from caseframe.core.cases import service as cases
from caseframe.core.cases.tables import CaseSubject
from caseframe.core.errors import Conflict, Forbidden, NotFound, ServiceError, ValidationFailed
from caseframe.core.persons import service as persons
from caseframe.core.persons.tables import Person, PersonIdentifierKey, PersonMerge, PersonNameWord
from caseframe.core.referrals.tables import Referral
from caseframe.core.sharing.requests import request_access
from caseframe.core.sharing.tables import AccessRequest
from caseframe.core.testing import make_agency, make_person, make_user

REPORT = {"date_of_incident": "2026-11-01", "street": "Kestrel Way", "kind": "music"}
TYPES = {"pnc": "PNC number", "nhs_number": "NHS number"}


@pytest.fixture
async def world(db, ctx):
    council = await make_agency(ctx, "ashdown-merge")
    police = await make_agency(ctx, "wealden-merge")
    return {
        "ctx": ctx,
        "council": council,
        "worker": await make_user(council),
        "supervisor": await make_user(council, roles=("supervisor",)),
        "officer": await make_user(police),
        "police_supervisor": await make_user(police, roles=("supervisor",)),
        "sysadmin": await make_user(council, roles=("system_admin",)),
    }


def details(person: dict, **changes) -> dict:
    fields = {
        k: person[k]
        for k in (
            "given_name",
            "family_name",
            "date_of_birth",
            "gender",
            "aliases",
            "identifiers",
            "addresses",
        )
    }
    return {**fields, **changes}


async def names_found(actor, name: str) -> list[int]:
    return [p["id"] for p in await persons.find_persons(actor, name=name)]


async def test_an_edit_is_saved_audited_with_old_and_new_values_and_searchable_by_the_new_name(world):
    w = world["worker"]
    p = await make_person(w, given_name="Jordan", family_name="Reilly", date_of_birth="1998-03-14")
    address = {
        "line1": "4 Kestrel Way",
        "town": "Ashdown",
        "postcode": "an1 2bc",
        "from": "2021-04-01",
        "to": "",
    }
    old = {
        "line1": "9 Heron Court",
        "town": "Ashdown",
        "postcode": "AN3 4DE",
        "from": "2018-01-01",
        "to": "2021-03-31",
    }
    saved = await persons.update_person(
        w,
        p["id"],
        expected_version=1,
        identifier_types=TYPES,
        fields=details(
            p,
            family_name="Reilly-Hart",
            aliases=["JJ"],
            identifiers=[{"type": "pnc", "value": "12/345678X"}],
            addresses=[old, address],
        ),
    )
    assert saved["family_name"] == "Reilly-Hart" and saved["version"] == 2
    assert saved["addresses"][0]["postcode"] == "AN1 2BC"  # the current address first
    assert await names_found(w, "Reilly-Hart") == [p["id"]]
    assert await names_found(w, "JJ") == [p["id"]]
    assert [x["id"] for x in await persons.find_persons(w, identifier="12345678x")] == [p["id"]]
    event = (
        await AuditEvent.select().where(AuditEvent.action == "person.update").output(load_json=True).first()
    )
    changes = {c["field"]: c for c in event["detail"]["changes"]}
    assert changes["family_name"] == {"field": "family_name", "from": "Reilly", "to": "Reilly-Hart"}
    assert changes["aliases"]["added"] == ["JJ"] and changes["aliases"]["removed"] == []
    assert "given_name" not in changes  # only what changed is copied into the trail
    # the old name's words no longer find them
    await persons.update_person(
        w,
        p["id"],
        expected_version=2,
        identifier_types=TYPES,
        fields=details(saved, family_name="Hart", aliases=[], identifiers=[]),
    )
    assert await names_found(w, "Reilly") == []
    assert await persons.find_persons(w, identifier="12345678x") == []
    assert await PersonIdentifierKey.count().where(PersonIdentifierKey.person == p["id"]) == 0


async def test_a_concurrent_edit_is_refused_and_overwrites_nothing(world):
    w = world["worker"]
    p = await make_person(w, given_name="Casey", family_name="Reilly")
    await persons.update_person(w, p["id"], expected_version=1, fields=details(p, given_name="Kasey"))
    with pytest.raises(Conflict):
        await persons.update_person(w, p["id"], expected_version=1, fields=details(p, family_name="Riley"))
    row = await Person.select().where(Person.id == p["id"]).first()
    assert (row["given_name"], row["family_name"], row["version"]) == ("Kasey", "Reilly", 2)


async def test_bad_details_are_refused_in_words_and_change_nothing(world):
    w = world["worker"]
    p = await make_person(w, given_name="Casey", family_name="Reilly")
    bad = [
        {"given_name": ""},
        {"date_of_birth": "2999-01-01"},
        {"gender": "cat"},
        {"aliases": ["x" * 101]},
        {"identifiers": [{"type": "unknown", "value": "1"}]},
        {"identifiers": [{"type": "pnc", "value": ""}]},
        {"addresses": [{"line1": "1 Road", "from": "2022-02-30"}]},
        {"addresses": [{"line1": "1 Road", "from": "2022-01-01", "to": "2021-01-01"}]},
        {"addresses": [{"line1": "", "postcode": ""}]},
        {"addresses": "nope"},
        {"identifiers": [{"type": 1}]},
    ]
    for change in bad:
        with pytest.raises(ValidationFailed):
            await persons.update_person(
                w, p["id"], expected_version=1, identifier_types=TYPES, fields=details(p, **change)
            )
    assert (await Person.select(Person.version).where(Person.id == p["id"]).first())["version"] == 1


async def test_only_the_recording_agency_edits_and_a_stranger_learns_nothing(world, ctx):
    worker, officer = world["worker"], world["officer"]
    p = await make_person(worker, given_name="Rowan", family_name="Ashcombe")
    with pytest.raises(NotFound):
        await persons.update_person(officer, p["id"], expected_version=1, fields=details(p, family_name="X"))
    # a person the police recorded, on a council case: the council sees them but may not rewrite the record
    other = await make_person(officer, given_name="Other", family_name="Person")
    await cases.open_case(
        ctx,
        worker,
        "noise",
        REPORT,
        subjects=[(other["id"], "subject")],
        trusted_person_ids=frozenset({other["id"]}),
    )
    assert (await persons.get_person(worker, other["id"], audit_view=False))["id"] == other["id"]
    assert (await persons.person_rights(worker, other["id"]))["edit"] is False
    with pytest.raises(Forbidden):
        await persons.update_person(
            worker, other["id"], expected_version=1, fields=details(other, family_name="X")
        )
    assert (await Person.select(Person.family_name).where(Person.id == other["id"]).first())[
        "family_name"
    ] == "Person"


async def test_duplicates_are_explained_and_only_among_persons_the_user_may_see(world):
    w, officer = world["worker"], world["officer"]
    a = await make_person(
        w,
        given_name="Jordan",
        family_name="Reilly",
        date_of_birth="1998-03-14",
        identifiers=[{"type": "nhs_number", "value": "485 777 3456"}],
    )
    b = await make_person(w, given_name="Jordon", family_name="Reily", date_of_birth="1998-03-14")
    c = await make_person(
        w, given_name="JJ", family_name="Smith", aliases=["Jordan Reilly"], date_of_birth=None
    )
    d = await make_person(
        w, given_name="Jo", family_name="Bloggs", identifiers=[{"type": "nhs_number", "value": "4857773456"}]
    )
    e = await make_person(w, given_name="Jordan", family_name="Reilly", date_of_birth="1998-03-14")
    # a different man
    f = await make_person(w, given_name="Jordan", family_name="Reilly", date_of_birth="1998-03-12")
    g = await make_person(w, given_name="Jordan", family_name="Reilly", date_of_birth="1998-12-03")
    hidden = await make_person(officer, given_name="Jordan", family_name="Reilly", date_of_birth="1998-03-14")
    found = {
        p["id"]: {r["kind"] for r in p["reasons"]}
        for p in await persons.duplicate_candidates(w, a["id"], identifier_types=TYPES)
    }
    assert found[b["id"]] == {"close_name", "date_of_birth"}
    assert found[c["id"]] == {"alias"}  # no date of birth on one of them: worth a look
    assert found[d["id"]] == {"identifier"}
    assert found[e["id"]] == {"exact_name", "date_of_birth"}
    assert f["id"] not in found  # the same name, another birthday: not suggested
    assert g["id"] not in found  # 3 December is not 14 March swapped
    assert hidden["id"] not in found
    strongest = (await persons.duplicate_candidates(w, a["id"], identifier_types=TYPES))[0]
    assert strongest["id"] == e["id"]
    swapped = await make_person(w, given_name="Jordan", family_name="Reilly", date_of_birth="1998-03-04")
    other = await make_person(w, given_name="Jordan", family_name="Reilly", date_of_birth="1998-04-03")
    kinds = {
        p["id"]: {r["kind"] for r in p["reasons"]}
        for p in await persons.duplicate_candidates(w, swapped["id"])
    }
    assert kinds[other["id"]] == {"exact_name", "date_of_birth_swapped"}


async def make_world_with_references(world):
    ctx, w = world["ctx"], world["worker"]
    keep = await make_person(
        w,
        given_name="Jordan",
        family_name="Reilly",
        date_of_birth="1998-03-14",
        aliases=["JJ"],
        identifiers=[{"type": "pnc", "value": "12/1"}],
    )
    dupe = await make_person(
        w,
        given_name="Jordon",
        family_name="Reily",
        date_of_birth="1998-03-14",
        gender="male",
        identifiers=[{"type": "nhs_number", "value": "4857773456"}],
        addresses=[{"line1": "4 Kestrel Way", "town": "Ashdown", "postcode": "AN1 2BC"}],
    )
    both = await cases.open_case(
        ctx,
        w,
        "noise",
        REPORT,
        subjects=[(keep["id"], "subject"), (dupe["id"], "subject"), (dupe["id"], "complainant")],
    )
    only_dupe = await cases.open_case(ctx, w, "noise", REPORT, subjects=[(dupe["id"], "complainant")])
    now = clock.now()
    referral = await Referral.insert(
        Referral(person=dupe["id"], target_kind="area", target="noise", reason="r", created_at=now)
    ).returning(Referral.id)
    request = await AccessRequest.insert(
        AccessRequest(
            person=dupe["id"],
            requested_by=world["officer"].id,
            requesting_agency=world["officer"].agency_id,
            holding_agency=w.agency_id,
            purpose="safeguarding",
            created_at=now,
        )
    ).returning(AccessRequest.id)
    return keep, dupe, both, only_dupe, referral[0]["id"], request[0]["id"]


async def test_a_merge_moves_every_reference_once_and_an_undo_puts_back_exactly_what_moved(world):
    sup, admin = world["supervisor"], world["sysadmin"]
    keep, dupe, both, only_dupe, referral_id, request_id = await make_world_with_references(world)
    result = await persons.merge_persons(
        world["ctx"],
        sup,
        keep["id"],
        dupe["id"],
        versions={keep["id"]: 1, dupe["id"]: 1},
        take_from_merged={"gender"},
    )
    survivor = await persons.get_person(sup, keep["id"], audit_view=False)
    assert survivor["gender"] == "male" and survivor["given_name"] == "Jordan"
    assert "Jordon Reily" in survivor["aliases"] and "JJ" in survivor["aliases"]
    assert {i["type"] for i in survivor["identifiers"]} == {"pnc", "nhs_number"}
    assert survivor["addresses"][0]["postcode"] == "AN1 2BC"
    # every case row moved; the same role on one case is kept once, another role is kept as well
    active = await CaseSubject.select(CaseSubject.case, CaseSubject.person, CaseSubject.role).where(
        CaseSubject.removed_at.is_null()
    )
    assert sorted((r["case"], r["role"]) for r in active if r["case"] == both["id"]) == [
        (both["id"], "complainant"),
        (both["id"], "subject"),
    ]
    assert {r["person"] for r in active} == {keep["id"]}
    assert result["retired_subjects"] == 1
    assert (await Referral.select(Referral.person).where(Referral.id == referral_id).first())[
        "person"
    ] == keep["id"]
    assert (await AccessRequest.select(AccessRequest.person).where(AccessRequest.id == request_id).first())[
        "person"
    ] == keep["id"]
    # the merged record is a tombstone: no search finds it, it cannot be seen, its address leads on
    assert await names_found(sup, "Jordon Reily") == [keep["id"]]  # found as the survivor, by the old name
    assert await PersonNameWord.count().where(PersonNameWord.person == dupe["id"]) == 0
    assert [p["id"] for p in await persons.find_persons(sup, date_of_birth="1998-03-14")] == [keep["id"]]
    with pytest.raises(NotFound):
        await persons.get_person(sup, dupe["id"])
    assert await persons.survivor_of(sup, dupe["id"]) == keep["id"]
    with pytest.raises(NotFound):  # a merged record holds nothing to ask for: its survivor does
        await request_access(
            world["officer"],
            person_id=dupe["id"],
            holding_agency_id=sup.agency_id,
            purpose="safeguarding",
            reason="Merged",
        )
    assert await persons.duplicate_candidates(sup, keep["id"]) == []
    actions = [
        r["action"]
        for r in await AuditEvent.select(AuditEvent.action).where(AuditEvent.action.like("person.merge%"))
    ]
    assert sorted(actions) == ["person.merge", "person.merged_away"]
    timeline = await cases.timeline(only_dupe["id"])
    assert any("merged" in e["summary"] for e in timeline)

    # only a system admin undoes it
    with pytest.raises(Forbidden):
        await persons.undo_merge(world["ctx"], sup, result["merge_id"])
    # a case row added to the survivor since stays with the survivor
    later = await cases.open_case(world["ctx"], sup, "noise", REPORT, subjects=[(keep["id"], "subject")])
    await persons.undo_merge(world["ctx"], admin, result["merge_id"])
    restored = await persons.get_person(sup, dupe["id"], audit_view=False)
    assert (restored["given_name"], restored["gender"]) == ("Jordon", "male")
    kept = await persons.get_person(sup, keep["id"], audit_view=False)
    assert kept["gender"] == "" and kept["aliases"] == ["JJ"] and len(kept["identifiers"]) == 1
    active = await CaseSubject.select(CaseSubject.case, CaseSubject.person, CaseSubject.role).where(
        CaseSubject.removed_at.is_null()
    )
    assert sorted((r["case"], r["person"], r["role"]) for r in active) == sorted(
        [
            (both["id"], keep["id"], "subject"),
            (both["id"], dupe["id"], "subject"),
            (both["id"], dupe["id"], "complainant"),
            (only_dupe["id"], dupe["id"], "complainant"),
            (later["id"], keep["id"], "subject"),
        ]
    )
    assert (await Referral.select(Referral.person).where(Referral.id == referral_id).first())[
        "person"
    ] == dupe["id"]
    assert (await AccessRequest.select(AccessRequest.person).where(AccessRequest.id == request_id).first())[
        "person"
    ] == dupe["id"]
    assert (await names_found(sup, "Jordon Reily"))[0] == dupe["id"]
    assert (await names_found(sup, "Jordan Reilly"))[0] == keep["id"]
    assert {r["word"] for r in await PersonNameWord.select().where(PersonNameWord.person == keep["id"])} == {
        "jordan",
        "reilly",
        "jj",
    }
    assert (await PersonMerge.select(PersonMerge.undone_at).first())["undone_at"] is not None
    assert await AuditEvent.count().where(AuditEvent.action == "person.unmerge") == 2
    with pytest.raises(ServiceError, match="already been undone"):
        await persons.undo_merge(world["ctx"], admin, result["merge_id"])  # once only


async def test_who_may_merge_and_stale_or_hidden_records_are_refused(world):
    worker, sup, officer = world["worker"], world["supervisor"], world["officer"]
    a = await make_person(worker, given_name="Ann", family_name="Lee")
    b = await make_person(worker, given_name="Anne", family_name="Lee")
    theirs = await make_person(officer, given_name="Ann", family_name="Lee")
    with pytest.raises(Forbidden):  # a caseworker edits but does not merge
        await persons.merge_persons(world["ctx"], worker, a["id"], b["id"], versions={a["id"]: 1, b["id"]: 1})
    with pytest.raises(NotFound):  # a record the council may not see
        await persons.merge_persons(
            world["ctx"], sup, a["id"], theirs["id"], versions={a["id"]: 1, theirs["id"]: 1}
        )
    with pytest.raises(NotFound):
        await persons.merge_persons(
            world["ctx"],
            world["police_supervisor"],
            theirs["id"],
            a["id"],
            versions={a["id"]: 1, theirs["id"]: 1},
        )
    with pytest.raises(ValidationFailed):
        await persons.merge_persons(world["ctx"], sup, a["id"], a["id"], versions={a["id"]: 1})
    await persons.update_person(worker, b["id"], expected_version=1, fields=details(b, gender="female"))
    with pytest.raises(Conflict):  # changed since the comparison was read
        await persons.merge_persons(world["ctx"], sup, a["id"], b["id"], versions={a["id"]: 1, b["id"]: 1})
    with pytest.raises(ValidationFailed):  # an entry neither record holds
        await persons.merge_persons(
            world["ctx"],
            sup,
            a["id"],
            b["id"],
            versions={a["id"]: 1, b["id"]: 2},
            identifiers=[{"type": "pnc", "value": "made up"}],
        )
    assert await PersonMerge.count() == 0
    assert await Person.count().where(Person.merged_into.is_not_null()) == 0
    await persons.merge_persons(world["ctx"], sup, a["id"], b["id"], versions={a["id"]: 1, b["id"]: 2})
    with pytest.raises(NotFound):  # a tombstone cannot be merged again, edited, or put on a case
        await persons.merge_persons(world["ctx"], sup, a["id"], b["id"], versions={a["id"]: 2, b["id"]: 3})
    with pytest.raises(NotFound):
        await persons.update_person(worker, b["id"], expected_version=3, fields=details(b))
    with pytest.raises(ValidationFailed):
        await cases.open_case(world["ctx"], worker, "noise", REPORT, subjects=[(b["id"], "subject")])


async def test_a_system_admin_of_any_agency_undoes_a_merge_without_seeing_the_persons(world, ctx):
    sup = world["supervisor"]
    a = await make_person(sup, given_name="Ann", family_name="Lee", date_of_birth="1980-01-02")
    b = await make_person(sup, given_name="Anne", family_name="Lee", date_of_birth="1980-01-02")
    merge = await persons.merge_persons(
        world["ctx"], sup, a["id"], b["id"], versions={a["id"]: 1, b["id"]: 1}
    )
    county = await make_user(await make_agency(ctx, "county-merge"), roles=("system_admin",))
    listed = await persons.list_merges(county)
    assert [m["id"] for m in listed] == [merge["merge_id"]] and "merged_name" not in listed[0]
    record = await persons.merge_record(county, merge["merge_id"])
    assert record["merged_name"] == "" and record["survivor_visible"] is False  # no names for who cannot see
    with pytest.raises(NotFound):
        await persons.get_person(county, a["id"])
    await persons.undo_merge(ctx, county, merge["merge_id"])
    assert (await persons.get_person(sup, b["id"], audit_view=False))["given_name"] == "Anne"
    with pytest.raises(Forbidden):
        await persons.list_merges(sup)
