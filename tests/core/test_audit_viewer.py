"""The audit viewer and its CSV export: scoped to the admin's agency, filtered, exported safely, itself audited."""

from __future__ import annotations

import csv
import io
import json

import pytest

from caseframe.core.audit import service as audit
from caseframe.core.audit.tables import AuditEvent
from caseframe.core.cases import service as cases
from caseframe.core.db.tx import transaction
from caseframe.core.testing import csrf_token_of, make_agency, make_user, sign_in

REPORT = {"date_of_incident": "2026-11-01", "street": "Kestrel Way", "kind": "music"}


async def test_a_local_admin_sees_their_agencys_events_filters_and_exports_them(db, ctx, client):
    council = await make_agency(ctx, "ashdown-council")
    police = await make_agency(ctx, "wealden-police")
    admin = await make_user(council, ("local_admin",), name="Dana Whitfield")
    worker = await make_user(council, ("caseworker",), name='=HYPERLINK("http://evil")')
    officer = await make_user(police, ("caseworker",), name="Pat Partner")
    case = await cases.open_case(ctx, worker, "noise", REPORT)
    await cases.save_form(
        ctx,
        worker,
        case["id"],
        "report",
        {**REPORT, "street": "Heron Court"},
        expected_version=case["version"],
    )
    police_case = await cases.open_case(ctx, officer, "noise", REPORT)
    saved = (
        await AuditEvent.select().where(AuditEvent.action == "case.form_saved").output(load_json=True).first()
    )
    assert saved["detail"]["changes"] == [{"field": "/street", "from": "Kestrel Way", "to": "Heron Court"}]
    await sign_in(client, admin)
    page = await client.get("/audit")
    assert page.status_code == 200 and "case: create" in page.text
    assert f"case {case['id']}" in page.text and f"case {police_case['id']}" not in page.text
    filtered = await client.get(f"/audit?action=case.form&object_type=case&object_id={case['id']}")
    assert "form saved" in filtered.text and "1 event match" in filtered.text
    assert "Kestrel" not in page.text  # the list says what happened, not the answers
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


async def test_the_csv_detail_column_is_json(db, ctx, client):
    council = await make_agency(ctx, "ashdown-council")
    admin = await make_user(council, ("local_admin",))
    worker = await make_user(council, ("caseworker",))
    case = await cases.open_case(ctx, worker, "noise", REPORT)
    await cases.save_form(
        ctx,
        worker,
        case["id"],
        "report",
        {**REPORT, "street": "Heron Court"},
        expected_version=case["version"],
    )
    await sign_in(client, admin)
    export = await client.get("/audit/export.csv?action=case.form_saved")
    rows = list(csv.reader(io.StringIO(export.text)))
    assert rows[0][-1] == "detail" and len(rows) == 2
    stored = (
        await AuditEvent.select().where(AuditEvent.action == "case.form_saved").output(load_json=True).first()
    )
    assert json.loads(rows[1][-1]) == stored["detail"]  # a Python repr ('{'changes': ...}') does not load


@pytest.mark.parametrize(
    "query, message",
    [
        ("from=yesterday", "From must be a real date written YYYY-MM-DD"),
        ("to=2026-02-30", "To must be a real date written YYYY-MM-DD"),
        ("from=20261130", "From must be a real date written YYYY-MM-DD"),
        ("from=2026-11-30&to=2026-11-01", "To must be the same day as From or later"),
        ("object_id=abc", "Object number must be a whole number"),
        ("user=me", "User number must be a whole number"),
    ],
)
async def test_a_filter_that_cannot_be_read_is_an_error_not_ignored(db, ctx, client, query, message):
    council = await make_agency(ctx, "ashdown-council")
    admin = await make_user(council, ("local_admin",))
    worker = await make_user(council, ("caseworker",))
    await cases.open_case(ctx, worker, "noise", REPORT)
    await sign_in(client, admin)
    page = await client.get(f"/audit?{query}")
    assert page.status_code == 400 and message in page.text and "govuk-error-summary" in page.text
    assert "case: create" not in page.text  # nothing listed as if the filter were not there
    assert "Download these events" not in page.text
    export = await client.get(f"/audit/export.csv?{query}")
    assert export.status_code == 400 and message in export.text and "Nothing was exported" in export.text
    assert await AuditEvent.count().where(AuditEvent.action == "audit.export") == 0
    good = await client.get("/audit?from=2020-01-01&to=2999-12-31")
    assert good.status_code == 200 and "case: create" in good.text


async def test_failed_sign_ins_show_the_address_tried(db, ctx, client):
    council = await make_agency(ctx, "ashdown-council")
    sysadmin = await make_user(council, ("system_admin",))
    form = await client.get("/sign-in")
    # the second: a password in the wrong box
    for email in (
        "Nobody.Here@Example.org",
        "correct horse battery",
    ):
        response = await client.post(
            "/sign-in",
            data={"email": email, "password": "wrong password", "csrf_token": csrf_token_of(form.text)},
        )
        assert response.status_code in (200, 400, 401, 422)
    await sign_in(client, sysadmin)
    page = await client.get("/audit?action=auth.sign_in_failed")
    assert "Address tried: nobody.here@example.org" in page.text
    assert "Address tried: (not an email address)" in page.text and "correct horse" not in page.text
