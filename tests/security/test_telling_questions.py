"""A question asked only for some answers of a more sensitive one (``x-show-when``) is as sensitive as that one:
its answer says the hidden one was given, and usually what it was. The IOM pathways' notes on health and on drugs
and alcohol were official under special-category ratings, so a partner at ``sensitive`` read the notes of a need
it could not see. The loader now refuses such a form (tests/core/test_area_loading.py); here a partner reads the
IOM case every way it can, and the notes are in none of them while the owner reads both."""

from __future__ import annotations

import datetime as dt

from caseframe.core import clock
from caseframe.core.cases import service as cases
from caseframe.core.sharing import service as sharing
from caseframe.core.testing import (
    TEST_PASSWORD,
    demo_answers,
    make_agency,
    make_context,
    make_user,
    sign_in,
    web_client,
)

HEALTH_NOTE = "Zqhealthnote: referred to the memory clinic"
DRUGS_NOTE = "Zqdrugsnote: daily heroin use, script with the recovery service"
OFFICIAL_NOTE = "Zqaccommodationnote: bidding for a flat in Tarnford"


async def test_a_sensitive_partner_reads_no_note_of_a_special_category_pathway(db):
    ctx = make_context(builtins=True)
    today = clock.today()
    police = await make_agency(ctx, "shire-police", "police", areas=["iom"])
    probation = await make_agency(ctx, "shire-probation", "probation", areas=["iom"])
    owner = await make_user(police, ("caseworker",), name="Owen Owner")
    partner = await make_user(probation, ("caseworker",), name="Pia Partner")
    admin = await make_user(police, ("system_admin",), name="Ada Admin")
    await sharing.create_isa(
        ctx,
        admin,
        reference="ISA-IOM",
        title="IOM partnership",
        parties=[police["id"], probation["id"]],
        purposes=["crime_prevention"],
        areas=["iom"],
        legal_basis="Crime and Disorder Act 1998 s.115",
        starts_on=today - dt.timedelta(days=10),
        ends_on=today + dt.timedelta(days=100),
        max_sensitivity="sensitive",
    )
    case = await cases.open_case(ctx, owner, "iom", demo_answers(ctx, "iom"))
    pathways = {
        **demo_answers(ctx, "iom", "pathways"),
        "accommodation": "amber",
        "accommodation_notes": OFFICIAL_NOTE,
        "health": "amber",
        "health_notes": HEALTH_NOTE,
        "drugs_alcohol": "red",
        "drugs_alcohol_notes": DRUGS_NOTE,
    }
    case = await cases.save_form(
        ctx, owner, case["id"], "pathways", pathways, expected_version=case["version"]
    )
    await sharing.share_case(owner, case["id"], agency_id=probation["id"], purpose="crime_prevention")
    paths = [f"/cases/{case['id']}", f"/cases/{case['id']}?tab=timeline"]
    for who, expect_notes in ((owner, True), (partner, False)):
        async with web_client(ctx, db) as client:
            await sign_in(client, who)
            bodies = {path: (await client.get(path)).text for path in paths}
            bodies["htmx"] = (await client.get(paths[0], headers={"HX-Request": "true"})).text
            token = (
                await client.post("/api/v1/session", json={"email": who.email, "password": TEST_PASSWORD})
            ).json()["token"]
            bodies["API"] = (
                await client.get(f"/api/v1/cases/{case['id']}", headers={"Authorization": f"Bearer {token}"})
            ).text
        assert all(OFFICIAL_NOTE in body for body in bodies.values()), who.email  # the walk reads the case
        for note in (HEALTH_NOTE, DRUGS_NOTE):
            assert all((note in body) == expect_notes for body in bodies.values()), (who.email, note)
        if not expect_notes:
            assert all(
                "drugs_alcohol_notes" not in body and "health_notes" not in body for body in bodies.values()
            )
