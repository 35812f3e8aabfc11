"""The audit viewer: an event's stored words name no case its reader may not see (core/audit/reading.py).

The world is test_retention_leaks' (the council's shared noise case restricted, an older one erased; both council
cases). Events name them: the council's own (opening, restriction and erasure, with their references and reasons)
and one a police officer's action wrote, naming the restricted case and its subject. Who reads the trail
(core/permissions.py): a local admin their own agency's events, a system admin everyone's; each reads them all, but
a case reference only of a case their agency may see (its own, whatever retention decided, or one shared with it),
and no name of a hidden case's people beside it.
"""

from __future__ import annotations

import pytest

from caseframe.core.audit import service as audit
from caseframe.core.audit.reading import readable
from caseframe.core.db.tx import transaction
from caseframe.core.sharing.redaction import HIDDEN_CASE, HIDDEN_PERSON
from caseframe.core.testing import make_agency, make_user, sign_in, web_client
from tests.fixtures.counting import count_selects
from tests.security.test_leaks import world  # noqa: F401
from tests.security.test_retention_leaks import R_GIVEN, retained  # noqa: F401


@pytest.fixture
async def written(world, retained):
    hidden = retained["restricted"]["reference"]
    # a police officer wrote the case's reference and its subject's name before it was restricted
    async with transaction():
        await audit.record(
            "case.note_seen",
            world["officer"],
            object_type="case",
            object_id=retained["restricted"]["id"],
            detail={"text": f"Read {hidden} about {R_GIVEN} Hidden"},
        )
    county = await make_agency(world["ctx"], "northshire-county")
    return {
        "hidden": hidden,
        "erased": retained["erased"]["reference"],
        "county_admin": await make_user(county, ("system_admin",), name="Cora County"),
    }


async def _export(world, db, actor) -> str:
    async with web_client(world["ctx"], db) as client:
        await sign_in(client, actor)
        page = await client.get("/audit")
        assert page.status_code == 200
        response = await client.get("/audit/export.csv")
    assert response.status_code == 200
    return response.text.replace('""', '"')


async def test_another_agencys_reader_reads_no_hidden_case_in_the_audit_export(world, retained, written, db):
    police = await _export(world, db, world["police_admin"])
    assert f"Read {HIDDEN_CASE} about {HIDDEN_PERSON}" in police
    county = await _export(world, db, written["county_admin"])
    # a system admin reads every agency's events: the council's opening, restriction and erasure are there,
    # which case they were about is not
    assert "retention.restrict" in county and "retention.erase" in county and "case.create" in county
    assert f"Read {HIDDEN_CASE} about {HIDDEN_PERSON}" in county
    for body in (police, county):
        assert written["hidden"] not in body and written["erased"] not in body and R_GIVEN not in body


async def test_the_owning_agencys_admins_read_its_own_cases_as_written(world, retained, written, db):
    local = await _export(world, db, retained["local_admin"])
    assert written["hidden"] in local and written["erased"] in local
    system = await _export(world, db, world["admin"])  # the council's system admin: its own cases
    assert written["hidden"] in system and written["erased"] in system
    # the officer's event, everyone's trail
    assert f"Read {written['hidden']} about {R_GIVEN} Hidden" in system


async def test_events_are_read_in_a_fixed_number_of_queries(world, retained, written, monkeypatch):
    from caseframe.core.cases.tables import Case

    rows = [
        {
            "object_type": "case",
            "object_id": retained["restricted"]["id"],
            "detail": {"reference": written["hidden"], "more": [f"{written['hidden']} #{i}"]},
        }
        for i in range(40)
    ]
    calls = count_selects(monkeypatch, Case)
    read = await readable(world["officer"], rows)
    assert len(calls) <= 2  # the withheld cases' owners, then the redactor's one
    assert {r["detail"]["reference"] for r in read} == {HIDDEN_CASE}


async def test_another_agencys_system_admin_reads_no_document_name_in_the_audit_export(world, db):
    """A document's name is as sensitive as the document: the police's ISA is official, the council's document
    sensitive, so a police system admin (who reads every agency's events) reads that a document was added, its
    number and level, never its name. Found by a hostile review: the export's detail gave the name as uploaded."""
    from tests.security.test_leaks import DOCUMENT

    police_sysadmin = await make_user(world["police"], ("system_admin",), name="Sid Policesys")
    police = await _export(world, db, police_sysadmin)
    assert "document.upload" in police and '"sensitivity": "sensitive"' in police
    assert DOCUMENT not in police
    # the council's own system admin reads its own events as written
    assert DOCUMENT in await _export(world, db, world["admin"])
