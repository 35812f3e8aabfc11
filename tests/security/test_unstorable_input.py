"""Input no database row can hold (PostgreSQL's 32-bit ids, a null character in text) typed into pages: a clear
message in the product's style and nothing saved, on SQLite and PostgreSQL alike. The JSON API's side is in
test_api_fuzz.py."""

from __future__ import annotations

from caseframe.core.audit.tables import AuditEvent
from caseframe.core.cases import service as cases
from caseframe.core.cases.tables import CaseSubject
from caseframe.core.testing import csrf_token_of, make_agency, make_user, sign_in

REPORT = {"date_of_incident": "2026-11-01", "street": "Kestrel Way", "kind": "music"}


async def test_numbers_too_large_for_the_database_in_forms_and_filters_get_a_clear_400(db, ctx, client):
    """Ids typed into a filter or a form beyond what the database holds (PostgreSQL's 32-bit ids): a page that
    says so, never a 500, and nothing saved."""
    council = await make_agency(ctx, "ashdown-council")
    worker = await make_user(council, ("caseworker", "local_admin"), name="Dana Whitfield")
    case = await cases.open_case(ctx, worker, "noise", REPORT)
    await sign_in(client, worker)
    huge = str(2**40)
    page = await client.get(f"/audit?object_id={huge}&user={huge}")
    assert page.status_code == 200 and "0 events match" in page.text
    before = await AuditEvent.select(AuditEvent.id).order_by(AuditEvent.id, ascending=False).first()
    page = await client.get(f"/cases/{case['id']}")
    csrf = csrf_token_of(page.text)
    added = await client.post(
        f"/cases/{case['id']}/subjects", data={"csrf_token": csrf, "person_id": huge, "role": "subject"}
    )
    assert added.status_code in (400, 404, 422), added.text[:300]
    assert "Sorry, there is a problem" not in added.text
    # the case view, and a 404 for a person id no one holds is a refused guess: nothing else is written
    written = [
        e["action"] for e in await AuditEvent.select(AuditEvent.action).where(AuditEvent.id > before["id"])
    ]
    assert sorted(written) in (["case.view"], ["access.denied", "case.view"]), written
    assert await CaseSubject.count().where(CaseSubject.case == case["id"]) == 0


async def test_a_null_character_in_a_form_is_refused_and_nothing_saved(db, ctx, client):
    from caseframe.core.cases.tables import CaseEvent

    council = await make_agency(ctx, "ashdown-council")
    worker = await make_user(council, ("caseworker",), name="Dana Whitfield")
    case = await cases.open_case(ctx, worker, "noise", REPORT)
    await sign_in(client, worker)
    csrf = csrf_token_of((await client.get(f"/cases/{case['id']}")).text)
    before = await CaseEvent.count()
    sent = await client.post(
        f"/cases/{case['id']}/notes", data={"csrf_token": csrf, "text": "Visited\x00 today"}
    )
    assert sent.status_code == 422 and "null character" in sent.text
    assert "<title>There is a problem" in sent.text  # a page in the product's style, not a bare error
    assert await CaseEvent.count() == before
