"""The audit viewer and its CSV export: scoped to the admin's agency, filtered, exported safely, itself audited."""
from __future__ import annotations

import csv
import io

import pytest

from core.audit import service as audit
from core.audit.tables import AuditEvent
from core.cases import service as cases
from core.db.tx import transaction
from core.testing import make_agency, make_context, make_user, sign_in, web_client
from tests.fixtures.areas import noise_plugin

REPORT = {"date_of_incident": "2026-11-01", "street": "Kestrel Way", "kind": "music"}


@pytest.fixture
def ctx():
    return make_context(noise_plugin)


@pytest.fixture
async def client(db, ctx):
    async with web_client(ctx, db) as c:
        yield c


async def test_a_local_admin_sees_their_agencys_events_filters_and_exports_them(db, ctx, client):
    council = await make_agency(ctx, "ashdown-council")
    police = await make_agency(ctx, "wealden-police")
    admin = await make_user(council, ("local_admin",), name="Dana Whitfield")
    worker = await make_user(council, ("caseworker",), name="=HYPERLINK(\"http://evil\")")
    officer = await make_user(police, ("caseworker",), name="Pat Partner")
    case = await cases.open_case(ctx, worker, "noise", REPORT)
    await cases.save_form(ctx, worker, case["id"], "report", {**REPORT, "street": "Heron Court"},
                          expected_version=case["version"])
    police_case = await cases.open_case(ctx, officer, "noise", REPORT)
    saved = await AuditEvent.select().where(AuditEvent.action == "case.form_saved").output(load_json=True).first()
    assert saved["detail"]["changes"] == [{"field": "/street", "from": "Kestrel Way", "to": "Heron Court"}]
    await sign_in(client, admin)
    page = await client.get("/audit")
    assert page.status_code == 200 and "case: create" in page.text
    assert f"case {case['id']}" in page.text and f"case {police_case['id']}" not in page.text
    filtered = await client.get(f"/audit?action=case.form&object_type=case&object_id={case['id']}")
    assert "form saved" in filtered.text and "1 event match" in filtered.text
    assert "Kestrel" not in page.text  # the list says what happened, not the answers
    bad = await client.get("/audit?from=yesterday&object_id=abc")
    assert bad.status_code == 200
    export = await client.get("/audit/export.csv?object_type=case")
    assert export.status_code == 200 and export.headers["content-type"].startswith("text/csv")
    assert export.headers["cache-control"] == "no-store"
    rows = list(csv.reader(io.StringIO(export.text)))
    assert rows[0][:3] == ["id", "when", "user"]
    assert all(r[1] != "" for r in rows[1:]) and not any(r[2].startswith("=") for r in rows[1:])
    assert any(r[2].startswith("'=HYPERLINK") for r in rows[1:])
    assert await AuditEvent.count().where(AuditEvent.action == "audit.export") == 1


async def test_caseworkers_cannot_read_the_audit_trail(db, ctx, client):
    council = await make_agency(ctx, "ashdown-council")
    worker = await make_user(council, ("caseworker",))
    await sign_in(client, worker)
    assert (await client.get("/audit")).status_code == 403
    assert (await client.get("/audit/export.csv")).status_code == 403


async def test_a_system_admin_sees_every_agency(db, ctx, client):
    council = await make_agency(ctx, "ashdown-council")
    police = await make_agency(ctx, "wealden-police")
    sysadmin = await make_user(council, ("system_admin",))
    officer = await make_user(police, ("caseworker",))
    async with transaction():
        await audit.record("person.search", officer, detail={"results": 0})
    await sign_in(client, sysadmin)
    page = await client.get("/audit?action=person.search")
    assert "Wealden Police" in page.text

