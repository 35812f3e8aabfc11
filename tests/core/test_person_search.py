"""Person search through its index: close spellings, aliases, date of birth, identifiers, agency scoping, audit."""

from __future__ import annotations

import importlib

import pytest

from caseframe.core.audit.tables import AuditEvent
from caseframe.core.errors import ValidationFailed
from caseframe.core.persons import service as persons
from caseframe.core.persons.tables import NameWord, PersonIdentifierKey, PersonNameWord
from caseframe.core.testing import make_agency, make_person, make_user


@pytest.fixture
async def world(db, ctx):
    council = await make_agency(ctx, "ashdown-search")
    police = await make_agency(ctx, "wealden-search")
    worker = await make_user(council)
    officer = await make_user(police)
    return {"ctx": ctx, "worker": worker, "officer": officer}


async def names(actor, **query) -> list[str]:
    return [p["display_name"] for p in await persons.find_persons(actor, **query)]


async def test_close_spellings_prefixes_any_order_and_aliases_are_found_best_first(world):
    w = world["worker"]
    await make_person(w, given_name="Jordan", family_name="Reilly", aliases=["JJ Reilly"])
    await make_person(w, given_name="Jordana", family_name="Riley")
    await make_person(w, given_name="Siobhán", family_name="O'Connor-Smythe", aliases=["Shiv Connor"])
    await make_person(w, given_name="Morgan", family_name="Reid")
    assert await names(w, name="Jordan Reilly") == ["Jordan Reilly"]  # "Riley" is too far from "Reilly"
    assert await names(w, name="Jordon Reily") == ["Jordan Reilly", "Jordana Riley"]  # two typos
    assert await names(w, name="reilly jordan") == ["Jordan Reilly"]  # any order
    # letters swapped: no three-letter run shared
    assert await names(w, name="morgan ried") == ["Morgan Reid"]
    assert await names(w, name="Jor") == ["Jordan Reilly", "Jordana Riley"]  # a beginning
    assert await names(w, name="jj") == ["Jordan Reilly"]  # an alias
    assert await names(w, name="siobhan smythe") == ["Siobhán O'Connor-Smythe"]  # accents and punctuation
    assert await names(w, name="Shiv Conor") == ["Siobhán O'Connor-Smythe"]  # an alias, misspelt
    # every searched word must match one name: a given name from one and a family name from an alias do not
    assert await names(w, name="shiv smythe") == []
    assert await names(w, name="Zebedee") == []
    scores = [p["score"] for p in await persons.find_persons(w, name="Jordon Reily")]
    assert scores == sorted(scores, reverse=True) and scores[0] > scores[1]


async def test_date_of_birth_and_identifier_alone_or_with_a_name(world):
    w = world["worker"]
    reilly = await make_person(
        w,
        given_name="Jordan",
        family_name="Reilly",
        date_of_birth="1998-03-14",
        identifiers=[{"type": "nhs_number", "value": "485 777 3456"}],
    )
    await make_person(w, given_name="Casey", family_name="Reilly", date_of_birth="1998-03-14")
    await make_person(w, given_name="Jordan", family_name="Reilly", date_of_birth="2001-07-01")
    assert await names(w, date_of_birth="1998-03-14") == ["Casey Reilly", "Jordan Reilly"]
    assert [p["id"] for p in await persons.find_persons(w, identifier="4857773456")] == [reilly["id"]]
    assert [p["id"] for p in await persons.find_persons(w, identifier=" 485-777-3456 ")] == [reilly["id"]]
    assert [p["id"] for p in await persons.find_persons(w, name="jordan", date_of_birth="1998-03-14")] == [
        reilly["id"]
    ]
    assert await persons.find_persons(w, name="casey", identifier="4857773456") == []
    assert await persons.find_persons(w, identifier="999") == []
    with pytest.raises(ValidationFailed):
        await persons.find_persons(w, date_of_birth="1998-02-30")
    assert await persons.find_persons(w, name=" %_' ") == []  # nothing searchable: no query at all


async def test_a_person_is_found_only_by_agencies_that_recorded_them_or_may_see_a_case_naming_them(world):
    worker, officer = world["worker"], world["officer"]
    theirs = await make_person(
        worker,
        given_name="Rowan",
        family_name="Ashcombe",
        date_of_birth="1990-01-01",
        identifiers=[{"type": "nhs_number", "value": "4857773456"}],
    )
    mine = await make_person(officer, given_name="Rowan", family_name="Ashcombe", date_of_birth="1985-05-05")
    assert [p["id"] for p in await persons.find_persons(officer, name="Rowan Ashcombe")] == [mine["id"]]
    assert [p["id"] for p in await persons.find_persons(officer, name="Rowan Ashcomb")] == [mine["id"]]
    assert await persons.find_persons(officer, date_of_birth="1990-01-01") == []  # the council's person
    assert await persons.find_persons(officer, identifier="4857773456") == []
    assert [p["id"] for p in await persons.find_persons(worker, name="rowan ashcombe")] == [theirs["id"]]
    # (a case shared with the police naming the council's person: tests/core/test_sharing.py)


async def test_every_search_is_audited_with_the_number_found(world):
    w = world["worker"]
    await make_person(w, given_name="Jordan", family_name="Reilly")
    await persons.find_persons(w, name="Jordan")
    await persons.find_persons(w, name="Nobody")
    events = (
        await AuditEvent.select(AuditEvent.detail)
        .where(AuditEvent.action == "person.search")
        .order_by(AuditEvent.id)
        .output(load_json=True)
    )
    assert [e["detail"]["results"] for e in events] == [1, 0]


async def test_each_new_person_is_indexed_and_the_migration_indexes_persons_recorded_before_it(world):
    w = world["worker"]
    person = await make_person(
        w,
        given_name="Jordan",
        family_name="Reilly",
        aliases=["JJ"],
        identifiers=[{"type": "nhs_number", "value": "485 777 3456"}],
    )
    words = {
        r["word"]
        for r in await PersonNameWord.select(PersonNameWord.word).where(PersonNameWord.person == person["id"])
    }
    assert words == {"jordan", "reilly", "jj"}
    assert {r["value"] for r in await PersonIdentifierKey.select(PersonIdentifierKey.value)} == {"4857773456"}
    # persons recorded before the index existed: the migration builds theirs
    for table in (PersonNameWord, PersonIdentifierKey, NameWord):
        await table.delete(force=True)
    assert await names(w, name="Jordan") == []
    migration = importlib.import_module("caseframe.core.db.migrations.caseframe_2026_12_04t15_17_27_000000")
    await migration._index_existing()
    assert await names(w, name="Jordon") == ["Jordan Reilly"]
    assert [p["id"] for p in await persons.find_persons(w, identifier="4857773456")] == [person["id"]]
