"""What a hostile or new user found in the browser: read-only users offered forms, disabled areas still open,
shared cases that hide who holds them, self-referrals, missing admin steps, past due dates. HTTP level."""

from __future__ import annotations

import datetime as dt

import pytest

from caseframe.core import clock
from caseframe.core.cases import service as cases
from caseframe.core.errors import NotFound
from caseframe.core.sharing import service as sharing
from caseframe.core.testing import make_agency, make_user, sign_in

REPORT = {"date_of_incident": "2026-11-01", "street": "Kestrel Way", "kind": "music"}


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
        ctx,
        admin,
        reference="ISA-2026-01",
        title="Community safety partnership",
        parties=[council["id"], police["id"]],
        purposes=["crime_prevention"],
        areas=["noise"],
        legal_basis="Crime and Disorder Act 1998 s.115",
        starts_on=today - dt.timedelta(days=30),
        ends_on=today + dt.timedelta(days=10),
        max_sensitivity="official",
    )
    await sharing.share_case(owner, case["id"], agency_id=police["id"], purpose="crime_prevention")
    return {
        "ctx": ctx,
        "owner": owner,
        "reader": reader,
        "partner": partner,
        "case": case,
        "council": council,
        "police": police,
        "admin": admin,
    }


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
        assert (
            "Save answers" not in edit.text
            and "<textarea" not in edit.text
            and 'name="version"' not in edit.text
        )
        assert (
            "Only its owning agency can change it" if who == "partner" else "does not let you change"
        ) in edit.text
        saved = await client.post(
            f"/cases/{case['id']}/forms/{form}",
            data={"csrf_token": token, "version": "1", "street": "Elsewhere"},
        )
        assert saved.status_code == 403 and "Save answers" not in saved.text
        step = await client.post(
            f"/cases/{case['id']}/transitions/close", data={"csrf_token": token, "version": "1"}
        )
        assert step.status_code == 403 and "/transitions/" not in step.text
    # the htmx fragments a reader could ask for carry no form either
    note = await client.post(
        f"/cases/{case['id']}/notes", data={"csrf_token": token, "text": "x"}, headers={"HX-Request": "true"}
    )
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
    assert closed.status_code == 409 and "closed" in closed.text and "Save answers" not in closed.text
    refused = await client.post(
        f"/cases/{case['id']}/forms/report",
        data={"csrf_token": token, "version": "2", **REPORT, "street": "Elsewhere"},
    )
    assert refused.status_code == 409
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


# -- 2. a disabled area serves no new-case form ----------------------------------------------------------------


async def test_a_disabled_area_serves_no_new_case_form_on_the_page_or_the_api(shared, client):
    from caseframe.core.agencies import service as agencies
    from caseframe.core.cases.tables import Case
    from caseframe.core.testing import TEST_PASSWORD

    ctx, owner = shared["ctx"], shared["owner"]
    await agencies.disable_area(ctx, None, shared["council"]["id"], "noise")
    token = await sign_in(client, owner)
    before = await Case.count()
    form = await client.get("/areas/noise/new")
    assert form.status_code == 403
    assert "not enabled for your agency" in form.text and "<textarea" not in form.text
    assert 'name="submission_key"' not in form.text
    posted = await client.post(
        "/areas/noise/new", data={"csrf_token": token, "submission_key": "k1", **REPORT}
    )
    assert posted.status_code == 403 and "not enabled for your agency" in posted.text
    listing = await client.get("/areas/noise")
    assert listing.status_code == 200 and "/areas/noise/new" not in listing.text
    api_token = (
        await client.post("/api/v1/session", json={"email": owner.email, "password": TEST_PASSWORD})
    ).json()["token"]
    api = await client.post(
        "/api/v1/cases",
        json={"area": "noise", "answers": REPORT},
        headers={"Authorization": f"Bearer {api_token}"},
    )
    assert api.status_code == 403 and "not enabled for your agency" in api.text
    assert await Case.count() == before
    # its cases stay readable
    assert (await client.get(f"/cases/{shared['case']['id']}")).status_code == 200


async def test_a_role_that_opens_no_cases_gets_no_new_case_form_nor_a_link_to_one(shared, client):
    from caseframe.core.testing import make_person

    person = await make_person(shared["owner"])
    await sign_in(client, shared["reader"])
    form = await client.get("/areas/noise/new")
    assert form.status_code == 403 and "does not let you open cases" in form.text
    listing = await client.get("/areas/noise")
    assert listing.status_code == 200 and "/areas/noise/new" not in listing.text
    page = await client.get(f"/persons/{person['id']}")
    assert page.status_code == 200 and "/areas/noise/new" not in page.text


# -- 4. an agency is not its own addressee unless the target names it ------------------------------------------


@pytest.fixture
async def referring(db, ctx):
    from caseframe.core.panels.tables import Panel
    from caseframe.core.testing import make_person

    council = await make_agency(ctx, "ashdown-council")
    youth = await make_agency(ctx, "ashdown-youth", agency_type="youth_service")
    youth2 = await make_agency(ctx, "wealden-youth", agency_type="youth_service")
    owner = await make_user(council, ("caseworker", "panel_chair"), name="Olive Owner")
    worker = await make_user(youth, ("caseworker",), name="Yas Youthworker")
    other = await make_user(youth2, ("caseworker",), name="Wendy Wealden")
    await Panel.insert(
        Panel(
            slug="complex-case-panel",
            name="Complex Case Panel",
            chair_agency=council["id"],
            member_agencies=[council["id"], youth["id"]],
            areas=["noise"],
            created_at=clock.now(),
        )
    )
    child = await make_person(worker, given_name="Tia", family_name="Marsh", date_of_birth="2012-05-01")
    return {"council": council, "owner": owner, "worker": worker, "other": other, "child": child}


async def test_a_rule_referral_to_a_kind_does_not_come_back_to_the_referring_agency(ctx, referring):
    from caseframe.core.referrals import inbox
    from caseframe.core.referrals.tables import Referral

    worker, other = referring["worker"], referring["other"]
    case = await cases.open_case(
        ctx, worker, "noise", REPORT, subjects=[(referring["child"]["id"], "complainant")]
    )
    referral = await Referral.select().where(Referral.from_case == case["id"]).first()
    assert referral["target_kind"] == "agency_type" and referral["target"] == "youth_service"
    assert await inbox.inbox(ctx, worker) == []
    assert [r["id"] for r in await inbox.inbox(ctx, other)] == [referral["id"]]
    seen = await inbox.get_referral(ctx, worker, referral["id"], audit_view=False)
    assert seen["is_referrer"] and not seen["addressee"] and not seen["can_decide"]
    with pytest.raises(NotFound):
        await inbox.decline(ctx, worker, referral["id"], reason="Not for us", version=referral["version"])
    assert (await Referral.select(Referral.status).where(Referral.id == referral["id"]).first())[
        "status"
    ] == "open"


async def test_the_referral_form_offers_no_target_that_reaches_only_ones_own_agency(ctx, referring, client):
    from caseframe.core.referrals import inbox
    from caseframe.core.referrals.tables import Referral

    owner = referring["owner"]
    case = await cases.open_case(ctx, owner, "noise", REPORT)
    token = await sign_in(client, owner)
    page = await client.get(f"/cases/{case['id']}")
    assert 'value="agency:ashdown-youth"' in page.text and 'value="agency_type:youth_service"' in page.text
    assert 'value="agency:ashdown-council"' not in page.text
    assert 'value="agency_type:district_council"' not in page.text
    # a panel it chairs is named, so it stays a target and the council receives it (chosen by its number: its
    # slug was made from the name it first had, which may name a case)
    from caseframe.core.panels.tables import Panel

    panel = await Panel.select(Panel.id).where(Panel.slug == "complex-case-panel").first()
    assert f'value="panel:#{panel["id"]}"' in page.text and "panel:complex-case-panel" not in page.text
    for target, message in (
        ("agency:ashdown-council", "not go to your own"),
        ("agency_type:district_council", "No other agency would receive"),
    ):
        made = await client.post(
            f"/cases/{case['id']}/referrals",
            data={"csrf_token": token, "target": target, "reason": "Please help"},
        )
        assert made.status_code == 400 and message in made.text
    assert await Referral.count().where(Referral.from_case == case["id"]) == 0
    made = await client.post(
        f"/cases/{case['id']}/referrals",
        data={"csrf_token": token, "target": f"panel:#{panel['id']}", "reason": "Please help"},
    )
    assert made.status_code == 303
    assert len(await inbox.inbox(ctx, owner)) == 1


async def test_the_api_offers_a_reader_no_step_and_names_who_holds_the_case(shared, client):
    from caseframe.core.testing import TEST_PASSWORD

    case = shared["case"]

    async def api_case(actor):
        token = (
            await client.post("/api/v1/session", json={"email": actor.email, "password": TEST_PASSWORD})
        ).json()["token"]
        return (
            await client.get(f"/api/v1/cases/{case['id']}", headers={"Authorization": f"Bearer {token}"})
        ).json()

    partner = await api_case(shared["partner"])
    assert partner["transitions"] == []
    assert partner["holder"] == {
        "agency": "Ashdown Council",
        "contact_email": "team@ashdown-council.example",
        "lead_officer": "Olive Owner",
    }
    reader = await api_case(shared["reader"])
    assert reader["transitions"] == [] and "holder" not in reader
    owner = await api_case(shared["owner"])
    assert any(t["allowed"] for t in owner["transitions"]) and "holder" not in owner


async def test_the_api_changes_no_answer_of_a_closed_case_either(shared, db):
    """The form pages refused a closed case's answers, and the API's PUT saved them: the service refuses now."""
    import httpx

    from caseframe.core.settings import Settings
    from caseframe.core.testing import TEST_PASSWORD
    from caseframe.core.web.app import create_app

    case, ctx = shared["case"], shared["ctx"]
    closed = await cases.transition_case(ctx, shared["owner"], case["id"], "close")
    app = create_app(Settings(local_demo=True, database_url="sqlite:///unused.sqlite"), ctx=ctx, engine=db)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://testserver.local"
    ) as api:
        token = (
            await api.post(
                "/api/v1/session", json={"email": shared["owner"].email, "password": TEST_PASSWORD}
            )
        ).json()["token"]
        saved = await api.put(
            f"/api/v1/cases/{case['id']}/forms/report",
            headers={"Authorization": f"Bearer {token}"},
            json={"answers": {**REPORT, "street": "Elsewhere"}, "version": closed["version"]},
        )
    assert saved.status_code == 409 and "This case is closed: reopen it to change it." in saved.text
    row = await cases.get_case(ctx, shared["owner"], case["id"], audit_view=False)
    assert row["data"]["report"]["street"] == "Kestrel Way" and row["version"] == closed["version"]
