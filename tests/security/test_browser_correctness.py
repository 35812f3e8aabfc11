"""What a hostile or new user found in the browser: read-only users offered forms, disabled areas still open,
shared cases that hide who holds them, self-referrals, missing admin steps, past due dates. HTTP level."""
from __future__ import annotations

import datetime as dt

import pytest

from core import clock
from core.cases import service as cases
from core.sharing import service as sharing
from core.testing import csrf_token_of, make_agency, make_context, make_user, sign_in, web_client
from tests.fixtures.areas import noise_plugin

REPORT = {"date_of_incident": "2026-11-01", "street": "Kestrel Way", "kind": "music"}


@pytest.fixture
def ctx():
    return make_context(noise_plugin)


@pytest.fixture
async def client(db, ctx):
    async with web_client(ctx, db) as c:
        yield c


@pytest.fixture
async def shared(db, ctx):
    """A council case shared with the police under a live ISA; a council reader who works no cases."""
    council = await make_agency(ctx, "ashdown-council", name="Ashdown Council")
    police = await make_agency(ctx, "wealden-police", agency_type="police")
    owner = await make_user(council, ("caseworker", "supervisor"), name="Olive Owner")
    reader = await make_user(council, ("local_admin",), name="Lou Localadmin")
    partner = await make_user(police, ("caseworker",), name="Pat Partner")
    admin = await make_user(council, ("system_admin",), name="Sam Sysadmin")
    case = await cases.open_case(ctx, owner, "noise", REPORT)
    today = clock.today()
    await sharing.create_isa(
        ctx, admin, reference="ISA-2026-01", title="Community safety partnership", parties=[council["id"], police["id"]],
        purposes=["crime_prevention"], areas=["noise"], legal_basis="Crime and Disorder Act 1998 s.115",
        starts_on=today - dt.timedelta(days=30), ends_on=today + dt.timedelta(days=10), max_sensitivity="official")
    await sharing.share_case(owner, case["id"], agency_id=police["id"], purpose="crime_prevention")
    return {"ctx": ctx, "owner": owner, "reader": reader, "partner": partner, "case": case, "council": council,
            "police": police, "admin": admin}


# -- 1. read-only users never get an edit form or a step button ---------------------------------------------

@pytest.mark.parametrize("who", ["partner", "reader"])
async def test_a_reader_gets_no_edit_form_save_button_or_step_button(shared, client, who):
    case = shared["case"]
    token = await sign_in(client, shared[who])
    page = await client.get(f"/cases/{case['id']}")
    assert page.status_code == 200
    assert f"/cases/{case['id']}/forms/" not in page.text
    assert "/transitions/" not in page.text and "Save answers" not in page.text
    for form in ("report", "visit"):
        edit = await client.get(f"/cases/{case['id']}/forms/{form}")
        assert edit.status_code == 403
        assert "Save answers" not in edit.text and "<textarea" not in edit.text and 'name="version"' not in edit.text
        assert ("Only its owning agency can change it" if who == "partner" else "does not let you change") in edit.text
        saved = await client.post(f"/cases/{case['id']}/forms/{form}",
                                  data={"csrf_token": token, "version": "1", "street": "Elsewhere"})
        assert saved.status_code == 403 and "Save answers" not in saved.text
        step = await client.post(f"/cases/{case['id']}/transitions/close", data={"csrf_token": token, "version": "1"})
        assert step.status_code == 403 and "/transitions/" not in step.text
    # the htmx fragments a reader could ask for carry no form either
    note = await client.post(f"/cases/{case['id']}/notes", data={"csrf_token": token, "text": "x"},
                             headers={"HX-Request": "true"})
    assert note.status_code == 403 and "<form" not in note.text.split("<main", 1)[-1].split("</main>", 1)[0]
    row = await cases.get_case(shared["ctx"], shared["owner"], case["id"], audit_view=False)
    assert row["data"]["report"]["street"] == "Kestrel Way" and row["version"] == case["version"]


async def test_the_owner_still_edits_but_not_once_the_case_is_closed(shared, client):
    case, ctx = shared["case"], shared["ctx"]
    token = await sign_in(client, shared["owner"])
    edit = await client.get(f"/cases/{case['id']}/forms/report")
    assert edit.status_code == 200 and "Save answers" in edit.text
    await cases.transition_case(ctx, shared["owner"], case["id"], "close")
    closed = await client.get(f"/cases/{case['id']}/forms/report")
    assert closed.status_code == 403 and "closed" in closed.text and "Save answers" not in closed.text
    refused = await client.post(f"/cases/{case['id']}/forms/report", data={"csrf_token": token, "version": "2",
                                                                          **REPORT, "street": "Elsewhere"})
    assert refused.status_code == 403
    page = await client.get(f"/cases/{case['id']}")
    assert f"/cases/{case['id']}/forms/" not in page.text


# -- 3. a shared case names its owning agency, lead officer and a contact --------------------------------------

async def test_a_shared_case_names_the_owning_agency_lead_officer_and_contact(shared, client):
    await sign_in(client, shared["partner"])
    page = await client.get(f"/cases/{shared['case']['id']}")
    assert page.status_code == 200
    assert "Not set" not in page.text
    assert "Olive Owner" in page.text and "Ashdown Council" in page.text
    assert "mailto:team@ashdown-council.example" in page.text


async def test_the_owner_sees_its_lead_officer_and_no_owning_agency_line(shared, client):
    await sign_in(client, shared["owner"])
    page = await client.get(f"/cases/{shared['case']['id']}")
    assert "Olive Owner" in page.text and "Owning agency" not in page.text
