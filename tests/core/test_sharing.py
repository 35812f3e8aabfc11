"""Sharing a case with a partner under an ISA: who sees what, for how long, and what is hidden or recorded."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from caseframe.core import clock
from caseframe.core.audit.tables import AuditEvent
from caseframe.core.cases import service as cases
from caseframe.core.errors import Forbidden, NotFound, ValidationFailed
from caseframe.core.sharing import service as sharing
from caseframe.core.testing import make_agency, make_user, sign_in

REPORT = {"date_of_incident": "2026-11-01", "street": "Kestrel Way", "kind": "music"}
VISIT = {"risk_level": "high", "health_impact": "Panic attacks most nights since August"}


@pytest.fixture
async def world(db, ctx):
    council = await make_agency(ctx, "ashdown-council")
    police = await make_agency(ctx, "wealden-police")
    charity = await make_agency(ctx, "brightwell-charity")
    owner = await make_user(council, ("caseworker",), name="Olive Owner")
    partner = await make_user(police, ("caseworker",), name="Pat Partner")
    outsider = await make_user(charity, ("caseworker",), name="Omar Outsider")
    admin = await make_user(council, ("system_admin",), name="Sam Sysadmin")
    case = await cases.open_case(ctx, owner, "noise", REPORT)
    case = await cases.save_form(ctx, owner, case["id"], "visit", VISIT, expected_version=case["version"])
    today = clock.today()
    isa = await sharing.create_isa(
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
    return {
        "ctx": ctx,
        "owner": owner,
        "partner": partner,
        "outsider": outsider,
        "admin": admin,
        "case": case,
        "isa": isa,
        "police": police,
        "charity": charity,
    }


async def test_a_partner_reads_a_shared_case_without_answers_above_the_isa_level(world):
    ctx, case = world["ctx"], world["case"]
    with pytest.raises(NotFound):
        await cases.get_case(ctx, world["partner"], case["id"])
    result = await sharing.share_case(
        world["owner"], case["id"], agency_id=world["police"]["id"], purpose="crime_prevention"
    )
    assert result["new"]
    seen = await cases.get_case(ctx, world["partner"], case["id"])
    assert seen["access"] == "share"
    assert seen["data"]["visit"] == {"risk_level": "high"}
    assert "health_impact" in (await cases.get_case(ctx, world["owner"], case["id"]))["data"]["visit"]
    view = (
        await AuditEvent.select()
        .where((AuditEvent.action == "case.view") & (AuditEvent.actor_id == world["partner"].id))
        .output(load_json=True)
        .first()
    )
    assert view["purpose"] == "crime_prevention" and view["detail"]["isa_id"] == world["isa"]["id"]
    share = await AuditEvent.select().where(AuditEvent.action == "case.share").output(load_json=True).first()
    assert share["purpose"] == "crime_prevention" and share["detail"]["isa_id"] == world["isa"]["id"]


async def test_a_partner_cannot_change_a_shared_case(world):
    await sharing.share_case(
        world["owner"], world["case"]["id"], agency_id=world["police"]["id"], purpose="crime_prevention"
    )
    with pytest.raises(Forbidden, match="owning agency"):
        await cases.add_note(world["ctx"], world["partner"], world["case"]["id"], "A note")


async def test_access_stops_the_day_after_the_isa_ends_and_when_revoked(world):
    ctx, case = world["ctx"], world["case"]
    share = await sharing.share_case(
        world["owner"], case["id"], agency_id=world["police"]["id"], purpose="crime_prevention"
    )
    with clock.travel(10):
        assert await cases.get_case(ctx, world["partner"], case["id"])
    with clock.travel(11), pytest.raises(NotFound):
        await cases.get_case(ctx, world["partner"], case["id"])
    await sharing.revoke_share(world["owner"], case["id"], share["id"])
    with pytest.raises(NotFound):
        await cases.get_case(ctx, world["partner"], case["id"])
    assert await AuditEvent.count().where(AuditEvent.action == "case.share_revoked") == 1


async def test_sharing_needs_a_live_isa_and_an_allowed_purpose(world):
    owner, case = world["owner"], world["case"]
    with pytest.raises(ValidationFailed) as no_isa:
        await sharing.share_case(
            owner, case["id"], agency_id=world["charity"]["id"], purpose="crime_prevention"
        )
    assert no_isa.value.errors[0]["field"] == "/agency_id"
    with pytest.raises(ValidationFailed) as bad_purpose:
        await sharing.share_case(owner, case["id"], agency_id=world["police"]["id"], purpose="safeguarding")
    assert bad_purpose.value.errors[0]["field"] == "/purpose"
    with pytest.raises(NotFound):
        await sharing.share_case(
            world["outsider"], case["id"], agency_id=world["police"]["id"], purpose="crime_prevention"
        )
    await sharing.end_isa(world["admin"], world["isa"]["id"], "Partnership dissolved")
    with pytest.raises(ValidationFailed):
        await sharing.share_case(
            owner, case["id"], agency_id=world["police"]["id"], purpose="crime_prevention"
        )


@pytest.mark.parametrize(
    "starts_on, ends_on, field",
    [("0001-01-01", "2026-12-31", "/starts_on"), ("2026-01-01", "9999-12-31", "/ends_on")],
)
async def test_an_isa_starting_or_ending_years_away_is_refused_naming_the_date(
    world, starts_on, ends_on, field
):
    """A year typed wrong is refused, as on every other date a person enters, and nothing is stored: an agreement
    from 0001 to 9999 would have given access for ever, unnoticed."""
    from caseframe.core.sharing.tables import SharingAgreement

    before = await SharingAgreement.count()
    with pytest.raises(ValidationFailed) as refused:
        await sharing.create_isa(
            world["ctx"],
            world["admin"],
            reference="ISA-FAR",
            title="Far",
            parties=[world["owner"].agency_id, world["police"]["id"]],
            purposes=["crime_prevention"],
            areas=["noise"],
            legal_basis="Crime and Disorder Act 1998 s.115",
            starts_on=starts_on,
            ends_on=ends_on,
        )
    label = "start date" if field == "/starts_on" else "end date"
    assert refused.value.errors == [
        {"field": field, "message": f"The {label} must be within 20 years of today: check the year"}
    ]
    assert await SharingAgreement.count() == before


async def test_an_isa_is_checked_and_only_a_system_admin_sets_one_up(world):
    ctx = world["ctx"]
    with pytest.raises(Forbidden):
        await sharing.create_isa(
            ctx,
            world["owner"],
            reference="X",
            title="X",
            parties=[],
            purposes=[],
            areas=[],
            legal_basis="",
            starts_on="",
            ends_on="",
        )
    with pytest.raises(ValidationFailed) as bad:
        await sharing.create_isa(
            ctx,
            world["admin"],
            reference="ISA-2026-01",
            title="",
            parties=[world["police"]["id"]],
            purposes=["gossip"],
            areas=["nowhere"],
            legal_basis="",
            starts_on="2026-05-01",
            ends_on="2026-04-01",
            max_sensitivity="secret",
        )
    fields = [e["field"] for e in bad.value.errors]
    assert fields == [
        "/reference",
        "/title",
        "/parties",
        "/purposes",
        "/areas",
        "/legal_basis",
        "/max_sensitivity",
        "/ends_on",
    ]


async def test_the_case_page_for_a_partner_is_read_only_and_hides_sensitive_answers(world, client):
    case = world["case"]
    await sharing.share_case(
        world["owner"], case["id"], agency_id=world["police"]["id"], purpose="crime_prevention"
    )
    await sign_in(client, world["partner"])
    page = await client.get(f"/cases/{case['id']}")
    assert page.status_code == 200
    assert "Panic attacks" not in page.text and "High" in page.text
    assert "shared with yours" in page.text
    assert f'action="/cases/{case["id"]}/notes"' not in page.text
    assert "/transitions/" not in page.text
    assert page.headers["cache-control"] == "no-store"
    outsider = await client.get(f"/cases/{case['id'] + 1000}")
    assert outsider.status_code == 404


async def test_the_api_gives_a_partner_no_hidden_answer_in_the_case_or_its_timeline(world, client):
    from caseframe.core.testing import TEST_PASSWORD

    case = world["case"]
    await sharing.share_case(
        world["owner"], case["id"], agency_id=world["police"]["id"], purpose="crime_prevention"
    )
    token = (
        await client.post(
            "/api/v1/session", json={"email": world["partner"].email, "password": TEST_PASSWORD}
        )
    ).json()["token"]
    r = await client.get(f"/api/v1/cases/{case['id']}", headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 200
    assert "Panic attacks" not in r.text and r.json()["data"]["visit"] == {"risk_level": "high"}
    owner_token = (
        await client.post("/api/v1/session", json={"email": world["owner"].email, "password": TEST_PASSWORD})
    ).json()["token"]
    mine = await client.get(f"/api/v1/cases/{case['id']}", headers={"Authorization": f"Bearer {owner_token}"})
    assert "Panic attacks" in mine.text


async def test_the_owner_shares_from_the_case_page_sees_who_viewed_and_stops_sharing(world, client):
    from caseframe.core.sharing.tables import CaseShare

    case = world["case"]
    token = await sign_in(client, world["owner"])
    page = await client.get(f"/cases/{case['id']}")
    assert "Share with a partner agency" in page.text and "Wealden Police" in page.text
    forged = await client.post(
        f"/cases/{case['id']}/shares",
        data={"agency_id": world["police"]["id"], "purpose": "crime_prevention"},
    )
    assert forged.status_code == 403 and await CaseShare.count() == 0
    bad = await client.post(
        f"/cases/{case['id']}/shares",
        data={"agency_id": world["police"]["id"], "purpose": "safeguarding", "csrf_token": token},
    )
    assert bad.status_code == 400 and "Select a purpose the agreement allows" in bad.text
    assert await CaseShare.count() == 0
    done = await client.post(
        f"/cases/{case['id']}/shares",
        data={"agency_id": world["police"]["id"], "purpose": "crime_prevention", "csrf_token": token},
    )
    assert done.status_code == 303
    page = await client.get(f"/cases/{case['id']}")
    assert "under ISA-2026-01" in page.text and "Who has viewed this case" in page.text
    # one line per viewer: the owner has opened the page several times by now
    viewers = page.text.split('id="viewers"', 1)[1].split("</details>", 1)[0]
    assert viewers.count("Olive Owner") == 1 and re.search(
        r"Olive Owner, [^·]+ · \d+ times, last \d", viewers
    )
    share = await CaseShare.select().first()
    other = await client.post(
        f"/cases/{case['id'] + 77}/shares/{share['id']}/revoke", data={"csrf_token": token}
    )
    assert other.status_code == 404
    ended = await client.post(f"/cases/{case['id']}/shares/{share['id']}/revoke", data={"csrf_token": token})
    assert ended.status_code == 303
    assert (await CaseShare.select().first())["revoked_at"] is not None


async def test_a_partner_does_not_see_who_viewed_or_the_sharing_controls(world, client):
    case = world["case"]
    await sharing.share_case(
        world["owner"], case["id"], agency_id=world["police"]["id"], purpose="crime_prevention"
    )
    token = await sign_in(client, world["partner"])
    page = await client.get(f"/cases/{case['id']}")
    assert "Who has viewed this case" not in page.text and "Share with a partner agency" not in page.text
    attempt = await client.post(
        f"/cases/{case['id']}/shares",
        data={"agency_id": world["police"]["id"], "purpose": "crime_prevention", "csrf_token": token},
    )
    assert attempt.status_code == 403


async def test_a_system_admin_sets_up_and_ends_an_agreement_in_the_pages(world, client):
    from caseframe.core.sharing.tables import SharingAgreement

    token = await sign_in(client, world["admin"])
    page = await client.get("/sharing/agreements")
    assert page.status_code == 200 and "ISA-2026-01" in page.text and "Set up an agreement" in page.text
    bad = await client.post(
        "/sharing/agreements",
        data={
            "reference": "ISA-2026-02",
            "title": "<b>Night-time</b>",
            "starts_on": "2026-13-01",
            "csrf_token": token,
        },
    )
    assert bad.status_code == 400 and "There is a problem" in bad.text and "<b>Night-time</b>" not in bad.text
    assert await SharingAgreement.count() == 1
    ok = await client.post(
        "/sharing/agreements",
        data={
            "reference": "ISA-2026-02",
            "title": "Night-time economy",
            "parties": [str(world["police"]["id"]), str(world["charity"]["id"])],
            "purposes": ["safeguarding"],
            "areas": ["noise"],
            "legal_basis": "UK GDPR Art 6(1)(e)",
            "max_sensitivity": "sensitive",
            "starts_on": "2026-01-01",
            "ends_on": "2027-12-31",
            "csrf_token": token,
        },
    )
    assert ok.status_code == 303
    isa = await SharingAgreement.select().where(SharingAgreement.reference == "ISA-2026-02").first()
    no_reason = await client.post(f"/sharing/agreements/{isa['id']}/end", data={"csrf_token": token})
    assert no_reason.status_code == 400 and "Enter why the agreement is ending" in no_reason.text
    ended = await client.post(
        f"/sharing/agreements/{isa['id']}/end",
        data={"reason": "Replaced", "csrf_token": token, "confirmed": "yes"},
    )
    assert ended.status_code == 303
    assert (await SharingAgreement.select().where(SharingAgreement.id == isa["id"]).first())[
        "ends_on"
    ] < clock.today()


async def test_others_read_only_their_agencys_agreements_and_cannot_set_one_up(world, client):
    token = await sign_in(client, world["outsider"])
    page = await client.get("/sharing/agreements")
    assert "ISA-2026-01" not in page.text and "Set up an agreement" not in page.text
    attempt = await client.post("/sharing/agreements", data={"reference": "X", "csrf_token": token})
    assert attempt.status_code == 403
    end = await client.post(
        f"/sharing/agreements/{world['isa']['id']}/end", data={"reason": "x", "csrf_token": token}
    )
    assert end.status_code == 403


async def test_persons_are_seen_only_by_agencies_that_hold_or_share_a_record_of_them(world, client):
    from caseframe.core.persons import service as persons
    from caseframe.core.testing import make_person

    ctx, case = world["ctx"], world["case"]
    person = await make_person(world["owner"], given_name="Rowan", family_name="Ashcombe")
    await cases.add_subject(
        ctx,
        world["owner"],
        case["id"],
        person["id"],
        "complainant" if "complainant" in ctx.area("noise").roles else next(iter(ctx.area("noise").roles)),
    )
    with pytest.raises(NotFound):
        await persons.get_person(world["partner"], person["id"])
    assert await persons.find_persons(world["partner"], name="Rowan Ashcombe") == []
    with pytest.raises(ValidationFailed):
        await cases.open_case(
            ctx,
            world["partner"],
            "noise",
            REPORT,
            subjects=[(person["id"], next(iter(ctx.area("noise").roles)))],
        )
    await sharing.share_case(
        world["owner"], case["id"], agency_id=world["police"]["id"], purpose="crime_prevention"
    )
    assert (await persons.get_person(world["partner"], person["id"]))["id"] == person["id"]
    assert [p["id"] for p in await persons.find_persons(world["partner"], name="Rowan Ashcombe")] == [
        person["id"]
    ]
    assert await persons.find_persons(world["outsider"], name="Rowan Ashcombe") == []
    token = await sign_in(client, world["outsider"])
    assert (await client.get(f"/persons/{person['id']}")).status_code == 404
    page = await client.post(
        "/persons/new",
        data={
            "given_name": "Rowan",
            "family_name": "Ashcombe",
            "dob.day": "1",
            "dob.month": "1",
            "dob.year": "1990",
            "csrf_token": token,
        },
    )
    assert (
        "may already be held by another agency" in page.text and f"/persons/{person['id']}" not in page.text
    )


async def test_the_national_search_needs_a_purpose_shows_only_who_holds_a_record_and_is_audited(
    world, client
):
    from caseframe.core.testing import make_person

    person = await make_person(
        world["owner"],
        given_name="Rowan",
        family_name="Ashcombe",
        addresses=[{"line1": "4 Heron Court", "town": "Ashdown", "postcode": "AX1 2BC"}],
    )
    token = await sign_in(client, world["outsider"])
    no_purpose = await client.post("/search/national", data={"name": "Rowan Ashcombe", "csrf_token": token})
    assert no_purpose.status_code == 400 and "Select why you are searching" in no_purpose.text
    assert await AuditEvent.count().where(AuditEvent.action == "person.national_search") == 0
    bad_date = await client.post(
        "/search/national",
        data={
            "name": "Rowan",
            "purpose": "safeguarding",
            "dob-day": "31",
            "dob-month": "2",
            "dob-year": "1990",
            "csrf_token": token,
        },
    )
    assert bad_date.status_code == 400 and "Date of birth must be a real date" in bad_date.text
    found = await client.post(
        "/search/national",
        data={
            "name": "Rowan Ashcomb",
            "purpose": "safeguarding",
            "dob-day": "1",
            "dob-month": "1",
            "dob-year": "1990",
            "csrf_token": token,
        },
    )
    assert found.status_code == 200 and "1 person found" in found.text
    assert "Rowan Ashcombe" in found.text and "Ashdown Council" in found.text
    assert "Heron Court" not in found.text and f"/persons/{person['id']}" not in found.text
    row = (
        await AuditEvent.select()
        .where(AuditEvent.action == "person.national_search")
        .output(load_json=True)
        .first()
    )
    assert row["purpose"] == "safeguarding" and row["detail"]["name"] == "Rowan Ashcomb"
    assert row["actor_id"] == world["outsider"].id
    forged = await client.post("/search/national", data={"name": "Rowan", "purpose": "safeguarding"})
    assert forged.status_code == 403


async def test_access_requested_from_the_national_search_is_granted_under_the_isa(world, client):
    from caseframe.core.persons import service as persons
    from caseframe.core.sharing.tables import AccessRequest
    from caseframe.core.testing import csrf_token_of, make_person

    ctx, case = world["ctx"], world["case"]
    person = await make_person(world["owner"], given_name="Rowan", family_name="Ashcombe")
    role = next(iter(ctx.area("noise").roles))
    await cases.add_subject(ctx, world["owner"], case["id"], person["id"], role)
    token = await sign_in(client, world["partner"])
    found = await client.post(
        "/search/national",
        data={"name": "Rowan Ashcombe", "purpose": "crime_prevention", "csrf_token": token},
    )
    assert "Ask for access" in found.text
    ask = await client.post(
        "/sharing/requests/new",
        data={
            "person_id": person["id"],
            "agency_id": case["owning_agency_id"],
            "purpose": "crime_prevention",
            "csrf_token": token,
        },
    )
    assert ask.status_code == 200 and "Ask Ashdown Council for access" in ask.text
    no_reason = await client.post(
        "/sharing/requests",
        data={
            "person_id": person["id"],
            "purpose": "crime_prevention",
            "agency_id": case["owning_agency_id"],
            "csrf_token": token,
        },
    )
    assert no_reason.status_code == 400 and "Enter why you need access" in no_reason.text
    assert await AccessRequest.count() == 0
    guessed = await client.post(
        "/sharing/requests",
        data={
            "person_id": person["id"],
            "purpose": "crime_prevention",
            "agency_id": world["charity"]["id"],
            "reason": "x",
            "csrf_token": token,
        },
    )
    assert guessed.status_code == 404
    sent = await client.post(
        "/sharing/requests",
        data={
            "person_id": person["id"],
            "purpose": "crime_prevention",
            "agency_id": case["owning_agency_id"],
            "csrf_token": token,
            "reason": "Same address as three burglary reports",
        },
    )
    assert sent.status_code == 303
    request_row = await AccessRequest.select().first()
    # the caseworker who owns the case may not decide; a supervisor of the holding agency does
    from caseframe.core.sharing import requests as access

    with pytest.raises(Forbidden):
        await access.grant_access(world["owner"], request_row["id"])
    supervisor = await make_user(await _agency_of(world["owner"]), ("supervisor",), name="Sue Pervisor")
    with pytest.raises(NotFound):
        await access.grant_access(world["partner"], request_row["id"])
    shared = await access.grant_access(
        supervisor, request_row["id"], "Granted for the joint problem-solving meeting"
    )
    assert shared == 1
    assert (await persons.get_person(world["partner"], person["id"]))["id"] == person["id"]
    seen = await cases.get_case(ctx, world["partner"], case["id"])
    assert seen["access"] == "share"
    with pytest.raises(ValidationFailed):
        await access.refuse_access(supervisor, request_row["id"], "too late")
    page = await client.get("/sharing/requests")
    assert "Granted" in page.text and csrf_token_of(page.text)
    actions = [
        r["action"]
        for r in await AuditEvent.select(AuditEvent.action)
        .where(AuditEvent.action.like("access.%"))
        .order_by(AuditEvent.id)
    ]
    # naming the person on the form (twice: asking, then the form again with its error) is recorded too
    assert actions == ["access.request_form", "access.request_form", "access.request", "access.grant"]


async def test_access_cannot_be_granted_without_a_live_isa_and_can_be_refused(world):
    from caseframe.core.sharing import requests as access
    from caseframe.core.testing import make_person

    ctx, case = world["ctx"], world["case"]
    person = await make_person(world["owner"], given_name="Rowan", family_name="Ashcombe")
    await cases.add_subject(
        ctx, world["owner"], case["id"], person["id"], next(iter(ctx.area("noise").roles))
    )
    supervisor = await make_user(await _agency_of(world["owner"]), ("supervisor",))
    from caseframe.core.sharing.national import national_search

    # a request is about a person the asker may know of: here, one their national search found
    await national_search(world["outsider"], purpose="safeguarding", name="Rowan Ashcombe")
    made = await access.request_access(
        world["outsider"],
        person_id=person["id"],
        holding_agency_id=case["owning_agency_id"],
        purpose="safeguarding",
        reason="Safeguarding referral received",
    )
    again = await access.request_access(
        world["outsider"],
        person_id=person["id"],
        holding_agency_id=case["owning_agency_id"],
        purpose="safeguarding",
        reason="Again",
    )
    assert made["new"] and not again["new"]
    with pytest.raises(ValidationFailed) as no_isa:
        await access.grant_access(supervisor, made["id"])
    assert "system admin must set one up" in no_isa.value.errors[0]["message"]
    with pytest.raises(ValidationFailed):
        await access.refuse_access(supervisor, made["id"], "")
    await access.refuse_access(supervisor, made["id"], "No agreement with your agency")
    with pytest.raises(NotFound):
        await cases.get_case(ctx, world["outsider"], case["id"])


async def _agency_of(actor):
    from caseframe.core.agencies.tables import Agency

    return await Agency.select().where(Agency.id == actor.agency_id).first()
